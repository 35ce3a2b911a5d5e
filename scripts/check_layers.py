#!/usr/bin/env python3
"""Checks that no source file imports a target above its own layer (docs/ARCHITECTURE.md).

    check_layers.py [ROOT]

Each target has a rank; a file may import targets of a lower rank only (siblings of one
rank never import each other), plus the toolchain's and the packages' modules. Exits 1
listing every import that breaks the order.
"""
import os
import re
import sys

RANKS = {
    # C libraries behind module maps.
    "CFuse": 0, "CSQLite": 0, "CHiredis": 0, "CCurl": 0, "CCrypto": 0, "CChecksum": 0, "CLinux": 0, "CSocket": 0, "CTLS": 0,
    # Thin bridges: the only Swift code that touches C calls and raw pointers.
    "SystemBridge": 1, "HTTP": 1, "SQLite": 1, "Redis": 1,
    "Cryptography": 2,
    # The storage format, then the storage layers.
    "StorageFormat": 3,
    "ObjectStorage": 4,
    "Metadata": 5, "ChunkStore": 5,
    "VFS": 6,
    "FuseBridge": 7,
    # What crosses the socket: above every storage layer, so none of them can import it.
    "VolumeModel": 8,
    "Volumes": 9,
    "VolumeDaemon": 10, "VolumeClient": 10,
    "volumed": 11, "volumectl": 11,
}
OUTSIDE = {"Foundation", "FoundationEssentials", "Glibc", "Musl", "Dispatch", "Synchronization",
           "SystemPackage", "Logging", "ArgumentParser", "CoreMetrics", "Prometheus"}


def main(root):
    problems = []
    sources = os.path.join(root, "Sources")
    for target in sorted(os.listdir(sources)):
        if target not in RANKS:
            problems.append(f"Sources/{target}: a target without a layer; give it a rank in scripts/check_layers.py")
            continue
        for folder, _, files in os.walk(os.path.join(sources, target)):
            for name in files:
                if not name.endswith(".swift"):
                    continue
                path = os.path.join(folder, name)
                for number, line in enumerate(open(path, encoding="utf-8"), 1):
                    match = re.match(r"\s*(?:@testable\s+)?import\s+(\w+)", line)
                    if not match or match.group(1) in OUTSIDE:
                        continue
                    module = match.group(1)
                    if module not in RANKS:
                        problems.append(f"{os.path.relpath(path, root)}:{number}: imports {module}, which has no layer")
                    elif RANKS[module] >= RANKS[target]:
                        problems.append(f"{os.path.relpath(path, root)}:{number}: {target} (layer {RANKS[target]}) "
                                        f"imports {module} (layer {RANKS[module]})")
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"layers: every import of Sources/ goes down ({len(RANKS)} targets)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")))
