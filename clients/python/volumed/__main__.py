"""`python -m volumed status [--json]`: the daemon's mounts, as `volumectl status` lists them."""
import argparse
import dataclasses
import json
import sys
from typing import List, Optional

from . import VolumedError, status


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m volumed", description="A tiny volumed CLI.")
    commands = parser.add_subparsers(dest="command", required=True)
    show = commands.add_parser("status", help="the daemon's mounts")
    show.add_argument("--json", action="store_true", help="print them as JSON")
    args = parser.parse_args(argv)
    try:
        mounts = status()
    except VolumedError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([dataclasses.asdict(mount) for mount in mounts], indent=2))
    elif not mounts:
        print("no mounts")
    else:
        for mount in mounts:
            print(f"{mount.mount_path}  {mount.volume}  {mount.mode}  {mount.state}  "
                  f"staged {mount.staged_blocks} blocks / {mount.staged_bytes} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
