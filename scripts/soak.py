#!/usr/bin/env python3
"""A bounded soak of volumed: random POSIX work on a mount, faults on every S3 request, a kill -9.

    soak.py [--seed N] [--seconds S] [--engines sqlite[,redis]] [--bin DIR] [--kill-at-op K[,K]]
            [--keep]

Needs the test services' environment (scripts/test.sh runs it after `source "$state/env"`;
by hand: `python3 scripts/test_services.py start /tmp/soaksvc && source /tmp/soaksvc/env`) and
root (FUSE). A missing variable is a failure naming it, never a skip.

It starts its own volumed (binaries from --bin, else $VOLUMED_BIN, else .build/debug) in a
temporary directory, with every S3 request going through the fault proxy
($VOLUMED_TEST_FAULT_PROXY), where a probabilistic rule fails 10 % of the requests under the
soak's unique bucket prefix (a 503, a reset before forwarding, or a response cut after the
server acted). For each engine (a round):
  * `volumectl new` and a writable mount, then S seconds (split between the rounds) of a
    seeded random mix of operations from one worker process: create/write/close, overwrite,
    append, truncate (shrink and grow), rename (files and directories, over existing ones),
    unlink, mkdir/rmdir, hard links, symlinks, chmod, fsync, read-back. A model holds what
    the tree must be after every acknowledged operation, and every step inside one;
  * `volumectl commit` every 400-900 operations (seeded), recording the descriptor and the model;
  * `kill -9` of the daemon while an operation runs, at a seeded moment; a restart must list
    the mount as `stale`; after `volumectl recover` the tree must be the model after some
    prefix of the operations (or of the steps of one: open, each write) no shorter than the
    last fsync or commit, and no operation acknowledged more than LOST_WINDOW seconds before
    the kill may be missing (volumed loses at most ~10 ms of namespace changes);
    `volumectl finalize` then publishes that tree.
Then every version (each commit and each final one) is mounted read-only by a fresh volumed
with an empty state directory and cache (as on another machine: every block comes from the
bucket, through the faults) and compared with its model: files (their length and a BLAKE2
digest of each 4 MiB block), directories, symlink targets, modes, link counts.
`--kill-at-op` replays a run's kill points exactly (the timing of the daemon's own work still
varies).
Prints one report paragraph and exits 1 on any mismatch (with the first differing paths).
Everything it made goes at the end: mounts (aborting their FUSE connection if need be), its
volumed (by PID) and the temporary directory.
"""
import argparse
import collections
import concurrent.futures
import hashlib
import json
import math
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUIRED_ENV = ("VOLUMED_TEST_S3_BUCKET", "VOLUMED_TEST_S3_ACCESS_KEY", "VOLUMED_TEST_S3_SECRET_KEY",
                "VOLUMED_TEST_FAULT_PROXY")
FAULT_PROBABILITY = 0.10
FAULT_ACTIONS = ["503", "reset", "cut_response"]
MIB = 1 << 20
BLOCK = 4 * MIB
MAX_TOTAL_BYTES = 32 * MIB     # of the model's files; past it the generator shrinks the tree
MAX_ENTRIES = 220
COMMIT_EVERY = (400, 900)      # operations between commits (seeded)
LOST_WINDOW = 2.0              # seconds: an op acknowledged this long before the kill must survive it
OP_TIMEOUT = 60                # seconds for one operation on the mount
SCAN_TIMEOUT = 180
FILE_MODES = (0o644, 0o644, 0o600, 0o640, 0o664, 0o755, 0o444)
DIR_MODES = (0o755, 0o755, 0o700, 0o750, 0o775)


class SoakFailure(Exception):
    pass


def log(message):
    print(f"soak: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# The worker: a child process that performs the operations on the mount, so that a hung FUSE
# request costs a timeout in the parent, never the soak itself.

def _write_all(fd, data, offset=None):
    view = memoryview(data)
    while view:
        written = os.write(fd, view) if offset is None else os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(5, "short write")
        view = view[written:]
        if offset is not None:
            offset += written


def perform(root, op):
    """Does `op` on the tree at `root`; returns what a read gives back, else None."""
    kind = op[0]
    path = lambda rel: os.path.join(root, rel)  # noqa: E731
    if kind == "write_file":
        _, rel, mode, chunks = op
        fd = os.open(path(rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
        finally:
            os.close(fd)
    elif kind in ("pwrite", "fsync"):
        _, rel, offset, data = op
        fd = os.open(path(rel), os.O_RDWR)
        try:
            _write_all(fd, data, offset)
            if kind == "fsync":
                os.fsync(fd)
        finally:
            os.close(fd)
    elif kind == "append":
        _, rel, data = op
        fd = os.open(path(rel), os.O_WRONLY | os.O_APPEND)
        try:
            _write_all(fd, data)
        finally:
            os.close(fd)
    elif kind == "truncate":
        os.truncate(path(op[1]), op[2])
    elif kind == "rename":
        os.rename(path(op[1]), path(op[2]))
    elif kind == "unlink":
        os.unlink(path(op[1]))
    elif kind == "mkdir":
        os.mkdir(path(op[1]), op[2])
    elif kind == "rmdir":
        os.rmdir(path(op[1]))
    elif kind == "link":
        os.link(path(op[1]), path(op[2]))
    elif kind == "symlink":
        os.symlink(op[1], path(op[2]))
    elif kind == "chmod":
        os.chmod(path(op[1]), op[2])
    elif kind == "verify":
        with open(path(op[1]), "rb") as f:
            return f.read()
    else:
        raise ValueError(f"unknown op {kind}")
    return None


def digest(data):
    """A file's content in little room: ("blocks", length, a digest per 4 MiB block)."""
    return ("blocks", len(data), tuple(hashlib.blake2b(data[i:i + BLOCK], digest_size=16).digest()
                                       for i in range(0, len(data), BLOCK)))


def digested(tree):
    """A tree (as scan() returns it) with every file's bytes replaced by their digest()."""
    return {rel: (e[0], e[1], digest(e[2]) if e[0] == "file" and isinstance(e[2], bytes) else e[2], e[3])
            for rel, e in tree.items()}


def scan(root, digests=False):
    """The tree under root: relative path -> (kind, permission bits, bytes or target, link count);
    with digests, a file's bytes are its digest(). A file whose size disagrees with what reads
    return has ("st_size", size, content) as content, which matches nothing. Files are read by a
    few threads at once: a cold version's blocks each cost a GET."""
    out = {}
    files = []

    def walk(rel):
        with os.scandir(os.path.join(root, rel) if rel else root) as entries:
            names = sorted(entry.name for entry in entries)
        for name in names:
            r = f"{rel}/{name}" if rel else name
            full = os.path.join(root, r)
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode):
                out[r] = ("dir", stat.S_IMODE(st.st_mode), None, None)
                walk(r)
            elif stat.S_ISREG(st.st_mode):
                files.append((r, st))
            elif stat.S_ISLNK(st.st_mode):
                out[r] = ("symlink", None, os.readlink(full), None)
            else:
                out[r] = ("other", stat.S_IMODE(st.st_mode), None, None)

    def read(item):
        r, st = item
        with open(os.path.join(root, r), "rb") as f:
            data = f.read()
        size = len(data)
        if digests:
            data = digest(data)
        if size != st.st_size:
            data = ("st_size", st.st_size, data)
        return r, ("file", stat.S_IMODE(st.st_mode), data, st.st_nlink)

    walk("")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        out.update(pool.map(read, files))
    return out


def worker_main(conn):
    os.umask(0)
    os.chdir("/")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if request[0] == "op":
                result = perform(request[1], request[2])
            elif request[0] == "scan":
                result = scan(request[1], request[2])
            else:
                raise ValueError(f"unknown request {request[0]}")
            conn.send(("ok", result))
        except OSError as error:
            conn.send(("err", error.errno, f"{type(error).__name__}: {error}"))
        except Exception as error:  # noqa: BLE001 - reported to the parent as a failure
            conn.send(("err", None, repr(error)))


class Worker:
    def __init__(self, soak):
        self.soak = soak
        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=worker_main, args=(child,), daemon=True)
        self.process.start()
        child.close()

    def send(self, request):
        self.conn.send(request)

    def receive(self, timeout, mount):
        """The answer to the last request; a hang aborts the mount's FUSE connection first."""
        if self.conn.poll(timeout):
            return self.conn.recv()
        log(f"no answer from the mount {mount} in {timeout:.0f}s: aborting its FUSE connection")
        self.soak.abort_fuse(mount)
        if self.conn.poll(15):
            answer = self.conn.recv()
            raise SoakFailure(f"an operation on {mount} hung for {timeout:.0f}s (answered {answer[:2]} only "
                              f"after its FUSE connection was aborted)")
        raise SoakFailure(f"an operation on {mount} hung for {timeout:.0f}s, even after aborting the connection")

    def call(self, request, timeout, mount):
        self.send(request)
        return self.receive(timeout, mount)

    def stop(self):
        if self.process.pid and self.process.is_alive():
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(10)
        self.conn.close()


# ---------------------------------------------------------------------------------------------
# The model: entries (relative path -> inode number) and inodes (number -> node); a node is
# ("file", mode, bytes), ("dir", mode, None) or ("symlink", None, target). Both dicts are copied
# for a snapshot; nodes are immutable tuples, so a snapshot shares every file's bytes.

class Model:
    def __init__(self):
        self.entries = {}
        self.inodes = {}
        self.next_ino = 1

    def snapshot(self):
        return dict(self.entries), dict(self.inodes)

    def node(self, rel):
        return self.inodes[self.entries[rel]]

    def kind(self, rel):
        if rel == "":
            return "dir"
        ino = self.entries.get(rel)
        return None if ino is None else self.inodes[ino][0]

    def new_inode(self, node):
        ino = self.next_ino
        self.next_ino += 1
        self.inodes[ino] = node
        return ino

    def set_data(self, rel, data):
        ino = self.entries[rel]
        kind, mode, _ = self.inodes[ino]
        self.inodes[ino] = (kind, mode, data)

    def unlink(self, rel):
        ino = self.entries.pop(rel)
        if ino not in self.entries.values():
            del self.inodes[ino]

    def total_bytes(self):
        return sum(len(node[2]) for node in self.inodes.values() if node[0] == "file")

    def paths(self, kind):
        return sorted(rel for rel, ino in self.entries.items() if self.inodes[ino][0] == kind)

    def apply(self, op):
        """Applies op; returns a snapshot after each of its steps that changes the tree."""
        kind = op[0]
        steps = []
        if kind == "write_file":
            _, rel, mode, chunks = op
            if rel in self.entries:
                self.set_data(rel, b"")
            else:
                self.entries[rel] = self.new_inode(("file", mode, b""))
            steps.append(self.snapshot())
            data = b""
            for chunk in chunks:
                data += chunk
                self.set_data(rel, data)
                steps.append(self.snapshot())
        elif kind in ("pwrite", "fsync"):
            _, rel, offset, data = op
            old = self.node(rel)[2]
            new = old[:offset].ljust(offset, b"\0") + data + old[offset + len(data):]
            self.set_data(rel, new)
            steps.append(self.snapshot())
        elif kind == "append":
            self.set_data(op[1], self.node(op[1])[2] + op[2])
            steps.append(self.snapshot())
        elif kind == "truncate":
            _, rel, length = op
            old = self.node(rel)[2]
            self.set_data(rel, old[:length].ljust(length, b"\0"))
            steps.append(self.snapshot())
        elif kind == "rename":
            _, src, dst = op
            if self.kind(src) == "dir":
                if dst in self.entries:
                    self.unlink(dst)  # an empty directory
                moved = {rel: ino for rel, ino in self.entries.items() if rel == src or rel.startswith(src + "/")}
                for rel in moved:
                    del self.entries[rel]
                for rel, ino in moved.items():
                    self.entries[dst + rel[len(src):]] = ino
            else:
                if dst in self.entries:
                    self.unlink(dst)
                self.entries[dst] = self.entries.pop(src)
            steps.append(self.snapshot())
        elif kind in ("unlink", "rmdir"):
            self.unlink(op[1])
            steps.append(self.snapshot())
        elif kind == "mkdir":
            self.entries[op[1]] = self.new_inode(("dir", op[2], None))
            steps.append(self.snapshot())
        elif kind == "link":
            self.entries[op[2]] = self.entries[op[1]]
            steps.append(self.snapshot())
        elif kind == "symlink":
            self.entries[op[2]] = self.new_inode(("symlink", None, op[1]))
            steps.append(self.snapshot())
        elif kind == "chmod":
            ino = self.entries[op[1]]
            node_kind, _, payload = self.inodes[ino]
            self.inodes[ino] = (node_kind, op[2], payload)
            steps.append(self.snapshot())
        elif kind == "verify":
            pass
        else:
            raise ValueError(kind)
        return steps


def canonical(snapshot):
    """A snapshot in the form scan() returns."""
    entries, inodes = snapshot
    links = collections.Counter(entries.values())
    out = {}
    for rel, ino in entries.items():
        kind, mode, payload = inodes[ino]
        out[rel] = (kind, mode, payload, links[ino] if kind == "file" else None)
    return out


def category(model, op):
    """The kind of an operation for the report, finer than its syscall."""
    kind = op[0]
    if kind == "write_file":
        return "overwrite" if op[1] in model.entries else "create"
    if kind == "truncate":
        length = len(model.node(op[1])[2])
        return "truncate_shrink" if op[2] < length else "truncate_grow" if op[2] > length else "truncate_same"
    if kind == "rename":
        what = "rename_dir" if model.kind(op[1]) == "dir" else "rename"
        return what + ("_over" if op[2] in model.entries else "")
    return kind


def describe(op):
    kind = op[0]
    if kind == "write_file":
        return f"write_file {op[1]} mode {op[2]:o}, {sum(map(len, op[3]))} bytes in {len(op[3])} write(s)"
    if kind in ("pwrite", "fsync"):
        return f"{kind} {op[1]} {len(op[3])} bytes at {op[2]}"
    if kind == "append":
        return f"append {op[1]} {len(op[2])} bytes"
    if kind in ("truncate",):
        return f"truncate {op[1]} to {op[2]}"
    if kind in ("mkdir", "chmod"):
        return f"{kind} {op[1]} {op[2]:o}"
    if kind == "symlink":
        return f"symlink {op[2]} -> {op[1]}"
    if kind in ("rename", "link"):
        return f"{kind} {op[1]} {op[2]}"
    return f"{kind} {op[1]}"


def diff(expected, actual, limit=6):
    """Lines describing the first differing paths (expected: the model, actual: the mount)."""
    lines = []
    for rel in sorted(set(expected) | set(actual)):
        e, a = expected.get(rel), actual.get(rel)
        if e == a:
            continue
        if e is None:
            lines.append(f"  {rel}: unexpected {a[0]} on the mount{_detail(a)}")
        elif a is None:
            lines.append(f"  {rel}: missing on the mount (model: {e[0]}{_detail(e)})")
        elif e[0] != a[0]:
            lines.append(f"  {rel}: model has a {e[0]}, the mount a {a[0]}")
        else:
            parts = []
            if e[1] != a[1]:
                parts.append(f"mode {e[1]:o} in the model, {a[1]:o} on the mount")
            if e[2] != a[2]:
                if e[0] == "file":
                    parts.append(_data_diff(e[2], a[2]))
                else:
                    parts.append(f"target {e[2]!r} in the model, {a[2]!r} on the mount")
            if e[3] != a[3]:
                parts.append(f"{e[3]} link(s) in the model, {a[3]} on the mount")
            lines.append(f"  {rel}: " + "; ".join(parts))
        if len(lines) >= limit:
            lines.append("  ...")
            break
    return lines


def _length(content):
    if isinstance(content, bytes):
        return len(content)
    return content[1]  # ("blocks", length, digests) or ("st_size", size, content)


def _detail(entry):
    if entry[0] == "file":
        return f", {_length(entry[2])} bytes"
    if entry[0] == "symlink":
        return f" -> {entry[2]!r}"
    return ""


def _data_diff(expected, actual):
    note = ""
    if isinstance(actual, tuple) and actual[0] == "st_size":
        note = f" (but its st_size is {actual[1]})"
        actual = actual[2]
    if not isinstance(expected, bytes) or not isinstance(actual, bytes):
        expected = expected if not isinstance(expected, bytes) else digest(expected)
        actual = actual if not isinstance(actual, bytes) else digest(actual)
        blocks = [i for i in range(max(len(expected[2]), len(actual[2])))
                  if expected[2][i:i + 1] != actual[2][i:i + 1]]
        where = f"; {BLOCK >> 20} MiB blocks {blocks[0]}..{blocks[-1]} differ" if blocks else ""
        return f"{expected[1]} bytes in the model, {actual[1]} on the mount{note}{where}"
    first = next((i for i in range(min(len(expected), len(actual))) if expected[i] != actual[i]), None)
    if first is None:
        return f"{len(expected)} bytes in the model, {len(actual)} on the mount{note} (the shorter is a prefix)"
    last = first
    for i in range(min(len(expected), len(actual)) - 1, first - 1, -1):
        if expected[i] != actual[i]:
            last = i
            break
    zeros = " (the mount has zeros there)" if not any(actual[first:last + 1]) else ""
    return (f"{len(expected)} bytes in the model, {len(actual)} on the mount{note}; bytes differ from offset "
            f"{first} to {last} (4 MiB blocks {first // BLOCK}..{last // BLOCK}){zeros}")


def difference_count(expected, actual):
    return sum(1 for rel in set(expected) | set(actual) if expected.get(rel) != actual.get(rel))


# ---------------------------------------------------------------------------------------------
# The generator: seeded, and only ever asks for operations valid on the model.

class Generator:
    WEIGHTS = [("write_file", 16), ("overwrite_file", 3), ("pwrite", 11), ("append", 8), ("truncate", 8),
               ("rename_file", 6), ("rename_dir", 2), ("unlink", 7), ("mkdir", 5), ("rmdir", 2), ("link", 4),
               ("symlink", 4), ("chmod", 4), ("fsync", 3), ("verify", 4)]

    def __init__(self, rng):
        self.rng = rng
        self.counter = 0
        names, weights = zip(*self.WEIGHTS)
        self.names, self.weights = names, weights

    def fresh(self, model, prefix, parents=None):
        dirs = parents if parents is not None else [d for d in [""] + model.paths("dir") if d.count("/") < 3]
        parent = self.rng.choice(dirs)
        self.counter += 1
        name = f"{prefix}{self.counter}"
        return f"{parent}/{name}" if parent else name

    def size(self):
        """A new file's size: mostly small, up to ~3 MiB, now and then past a 4 MiB block
        (about 0.2 MiB on average: the bucket of the test run holds every byte written)."""
        r = self.rng.random()
        if r < 0.4:
            return self.rng.randint(0, 4096)
        if r < 0.85:
            return self.rng.randint(4097, 64 << 10)
        if r < 0.99:
            return int(math.exp(self.rng.uniform(math.log(64 << 10), math.log(3 * MIB))))
        return self.rng.randint(BLOCK + 1, 8 * MIB)

    def data(self, n):
        return self.rng.randbytes(n)

    def chunks(self, n):
        data = self.data(n)
        cuts = sorted(self.rng.randint(0, n) for _ in range(self.rng.choice((0, 0, 1, 2))))
        bounds = [0] + cuts + [n]
        return [data[a:b] for a, b in zip(bounds, bounds[1:])] or [b""]

    def offset_in(self, length):
        """An offset in or just past a file of `length` bytes, often near a block boundary."""
        if length > BLOCK and self.rng.random() < 0.4:
            return max(0, BLOCK * self.rng.randint(1, length // BLOCK) - self.rng.randint(0, 64 << 10))
        return self.rng.randint(0, length + (64 << 10) if self.rng.random() < 0.2 else length)

    def next(self, model):
        files, dirs = model.paths("file"), model.paths("dir")
        over_bytes, over_entries = model.total_bytes() > MAX_TOTAL_BYTES, len(model.entries) > MAX_ENTRIES
        for _ in range(10):
            if (over_bytes or over_entries) and self.rng.random() < 0.5:
                choice = self.rng.choice(("unlink", "truncate_shrink") if over_bytes else ("unlink", "rmdir"))
            else:
                choice = self.rng.choices(self.names, self.weights)[0]
            op = self.make(choice, model, files, dirs)
            if op:
                return op
        small = self.chunks(self.rng.randint(0, 4096))
        return ("write_file", self.fresh(model, "f"), self.rng.choice(FILE_MODES), small)

    def pause(self):
        """Now and then a short pause after an op: a crash then meets idle time as well as a busy stream."""
        return self.rng.uniform(0, 0.02) if self.rng.random() < 0.1 else 0

    def make(self, choice, model, files, dirs):
        rng = self.rng
        if choice == "write_file":
            return ("write_file", self.fresh(model, "f"), rng.choice(FILE_MODES), self.chunks(self.size()))
        if choice == "overwrite_file" and files:
            return ("write_file", rng.choice(files), rng.choice(FILE_MODES), self.chunks(self.size()))
        if choice in ("pwrite", "fsync") and files:
            rel = rng.choice(files)
            length = len(model.node(rel)[2])
            size = rng.randint(1, 64 << 10) if rng.random() < 0.9 else rng.randint(1, MIB)
            return (choice, rel, self.offset_in(length), self.data(size))
        if choice == "append" and files:
            return ("append", rng.choice(files), self.data(rng.randint(1, 64 << 10)))
        if choice in ("truncate", "truncate_shrink") and files:
            rel = rng.choice(files)
            length = len(model.node(rel)[2])
            if choice == "truncate_shrink" or rng.random() < 0.55:
                return ("truncate", rel, rng.randint(0, length))
            return ("truncate", rel, length + rng.choice((1, rng.randint(1, 64 << 10), rng.randint(1, 5 * MIB))))
        if choice == "rename_file":
            movable = files + model.paths("symlink")
            if not movable:
                return None
            src = rng.choice(movable)
            targets = [p for p in movable if p != src and model.entries[p] != model.entries[src]]
            if targets and rng.random() < 0.45:
                return ("rename", src, rng.choice(targets))
            return ("rename", src, self.fresh(model, "r"))
        if choice == "rename_dir" and dirs:
            src = rng.choice(dirs)
            height = max(rel.count("/") for rel in model.entries if rel == src or rel.startswith(src + "/")) \
                - src.count("/")
            parents = [d for d in [""] + dirs if d != src and not d.startswith(src + "/")
                       and d.count("/") + 1 + height < 5]
            empty = [d for d in dirs if d != src and not d.startswith(src + "/")
                     and not any(rel.startswith(d + "/") for rel in model.entries)
                     and d.count("/") + height < 5]
            if empty and rng.random() < 0.3:
                return ("rename", src, rng.choice(empty))
            if parents:
                return ("rename", src, self.fresh(model, "d", parents))
            return None
        if choice == "unlink":
            victims = files + model.paths("symlink")
            if not victims:
                return None
            if model.total_bytes() > MAX_TOTAL_BYTES:
                victims = sorted(files, key=lambda rel: -len(model.node(rel)[2]))[:5] or victims
            return ("unlink", rng.choice(victims))
        if choice == "mkdir":
            return ("mkdir", self.fresh(model, "d"), rng.choice(DIR_MODES))
        if choice == "rmdir":
            empty = [d for d in dirs if not any(rel.startswith(d + "/") for rel in model.entries)]
            return ("rmdir", rng.choice(empty)) if empty else None
        if choice == "link" and files:
            return ("link", rng.choice(files), self.fresh(model, "l"))
        if choice == "symlink":
            target = rng.choice(files + dirs + ["missing", "../outside", "a/b/../c"])
            if rng.random() < 0.1:
                target = "long-" + "x" * rng.randint(100, 900)
            return ("symlink", target, self.fresh(model, "s"))
        if choice == "chmod" and (files or dirs):
            rel = rng.choice(files + dirs)
            return ("chmod", rel, rng.choice(FILE_MODES if model.kind(rel) == "file" else DIR_MODES))
        if choice == "verify" and files:
            return ("verify", rng.choice(files))
        return None


# ---------------------------------------------------------------------------------------------

class Soak:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.unique = f"soak-{secrets.token_hex(4)}"
        base = os.path.realpath(os.environ.get("TMPDIR") or "/tmp")
        self.tmp = tempfile.mkdtemp(prefix=f"{self.unique}.", dir=base)
        os.chmod(self.tmp, 0o755)
        self.state_dir = os.path.join(self.tmp, "state")
        self.mount_root = os.path.join(self.tmp, "mnt")
        self.descriptors = os.path.join(self.tmp, "descriptors")
        for d in (self.state_dir, self.mount_root, self.descriptors):
            os.makedirs(d)
        self.use_daemon("volumed", self.state_dir)
        self.proxy = os.environ["VOLUMED_TEST_FAULT_PROXY"].rstrip("/")
        self.daemon = None
        self.daemon_logs = []
        self.worker = None
        self.failures = []
        self.rule_id = None

    # -- processes ---------------------------------------------------------------------------

    def use_daemon(self, name, state_dir):
        """Points start_daemon and volumectl at the daemon `name` with its own state directory."""
        self.socket = os.path.join(self.tmp, f"{name}.sock")
        self.config = os.path.join(self.tmp, f"{name}.json")
        with open(self.config, "w") as f:
            json.dump({"socket": self.socket, "socket_group": None, "state_dir": state_dir,
                       "mount_root": self.mount_root,
                       "default_bucket": f"s3://{os.environ['VOLUMED_TEST_S3_BUCKET']}/{self.unique}",
                       "log_level": "info"}, f)

    def daemon_env(self):
        env = dict(os.environ)
        for key in ("VOLUME_BUCKET", "VOLUME_METADATA_STORE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN",
                    "AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_SHARED_CREDENTIALS_FILE"):
            env.pop(key, None)
        env.update({"AWS_ACCESS_KEY_ID": os.environ["VOLUMED_TEST_S3_ACCESS_KEY"],
                    "AWS_SECRET_ACCESS_KEY": os.environ["VOLUMED_TEST_S3_SECRET_KEY"],
                    "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.proxy})
        return env

    def start_daemon(self):
        log_path = os.path.join(self.tmp, f"volumed-{len(self.daemon_logs) + 1}.log")
        self.daemon_logs.append(log_path)
        with open(log_path, "w") as out:
            self.daemon = subprocess.Popen([self.args.volumed, "--config", self.config], stdout=out,
                                           stderr=subprocess.STDOUT, env=self.daemon_env(), start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                raise SoakFailure(f"volumed exited with status {self.daemon.returncode} at start (log {log_path})")
            if self.volumectl("status", "--json", check=False, timeout=10).returncode == 0:
                return
            time.sleep(0.2)
        raise SoakFailure("volumed did not answer on its socket within 60s")

    def kill_daemon(self):
        os.kill(self.daemon.pid, signal.SIGKILL)
        self.daemon.wait(30)

    def stop_daemon(self):
        if self.daemon is None or self.daemon.poll() is not None:
            return
        self.daemon.send_signal(signal.SIGTERM)
        try:
            self.daemon.wait(30)
        except subprocess.TimeoutExpired:
            log(f"volumed (pid {self.daemon.pid}) did not stop within 30s of SIGTERM: SIGKILL")
            os.kill(self.daemon.pid, signal.SIGKILL)
            self.daemon.wait(30)

    def volumectl(self, *argv, check=True, timeout=120):
        env = dict(os.environ, VOLUMED_SOCKET=self.socket)
        try:
            result = subprocess.run([self.args.volumectl, *argv], capture_output=True, text=True, env=env,
                                    timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SoakFailure(f"volumectl {' '.join(argv)} did not finish within {timeout}s")
        if check and result.returncode != 0:
            raise SoakFailure(f"volumectl {' '.join(argv)} failed with status {result.returncode}: "
                              f"{result.stderr.strip()[-2000:]}")
        return result

    def status(self):
        return json.loads(self.volumectl("status", "--json", timeout=30).stdout)

    def proxy_stats(self):
        with urllib.request.urlopen(f"{self.proxy}/__stats", timeout=30) as response:
            return json.load(response)

    def add_fault_rule(self):
        rule = {"method": "ANY", "contains": self.unique, "probability": FAULT_PROBABILITY,
                "actions": FAULT_ACTIONS, "seed": self.seed}
        request = urllib.request.Request(f"{self.proxy}/__faults", data=json.dumps(rule).encode(), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:
            raise SoakFailure(f"the fault proxy at {self.proxy} refused the probabilistic rule: "
                              f"HTTP {error.code} {error.read()[:200]!r} (is it scripts/fault_proxy.py of this tree?)")
        self.rule_id = answer.get("id")

    # -- mounts ------------------------------------------------------------------------------

    def mounts_under(self, root):
        """Mount points at or under root, deepest first, with their device numbers."""
        found = []
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                point = fields[4].encode().decode("unicode_escape")
                if point == root or point.startswith(root + "/"):
                    found.append((point, fields[2]))
        return sorted(found, key=lambda item: -len(item[0]))

    def abort_fuse(self, mount):
        for point, device in self.mounts_under(mount):
            if point != mount:
                continue
            abort = f"/sys/fs/fuse/connections/{int(device.split(':')[1])}/abort"
            try:
                with open(abort, "w") as f:
                    f.write("1")
            except OSError as error:
                log(f"could not abort the FUSE connection of {mount} ({abort}): {error}")

    def force_unmount(self, root):
        for point, _device in self.mounts_under(root):
            if subprocess.run(["umount", point], capture_output=True, timeout=20).returncode == 0:
                continue
            self.abort_fuse(point)
            result = subprocess.run(["umount", "-l", point], capture_output=True, text=True, timeout=20)
            if result.returncode != 0:
                log(f"could not unmount {point}: {result.stderr.strip()}")

    def worker_call(self, request, timeout, mount):
        return self.worker.call(request, timeout, mount)

    def scan(self, mount, digests=False):
        answer = self.worker_call(("scan", mount, digests), SCAN_TIMEOUT, mount)
        if answer[0] != "ok":
            raise SoakFailure(f"reading the tree at {mount} failed: {answer[2]}")
        return answer[1]

    # -- one round ---------------------------------------------------------------------------

    def run_round(self, engine, seconds, kill_at_op, rng, kill_rng):
        mount = os.path.join(self.mount_root, f"rw-{engine}")
        descriptor = self.volumectl("new", "--name", f"vol-{engine}", "--metadata-store", engine).stdout
        path = os.path.join(self.descriptors, f"{engine}-v0.json")
        with open(path, "w") as f:
            f.write(descriptor)
        self.volumectl("mount", path, mount)
        log(f"[{engine}] mounted {mount}; random operations for ~{seconds:.0f}s")

        model, generator = Model(), Generator(rng)
        versions = []            # (label, descriptor path, expected tree)
        # The states the tree may be in after a crash: (label, snapshot, op index, the op's last step?),
        # from the last fsync or commit on.
        history = [("the empty volume (the mount)", model.snapshot(), None, None)]
        acked_at = {}
        start = time.monotonic()
        kill_time = start + seconds * kill_rng.uniform(0.7, 1.0)
        kill_delay = kill_rng.uniform(0, 0.003)  # most operations take a few ms: often mid-operation
        next_commit = rng.randint(COMMIT_EVERY[0], COMMIT_EVERY[1])
        index = 0
        counts = collections.Counter()
        fsyncs = 0
        before = None
        commit_seconds = 0.0
        while True:
            if index >= next_commit:
                k = len(versions) + 1
                commit_started = time.monotonic()
                out = self.volumectl("commit", mount, "-m", f"soak {k}").stdout
                commit_seconds += time.monotonic() - commit_started
                path = os.path.join(self.descriptors, f"{engine}-v{k}.json")
                with open(path, "w") as f:
                    f.write(out)
                snapshot = model.snapshot()
                versions.append((f"commit {k} (after op {index - 1})", path, digested(canonical(snapshot))))
                history = [(f"commit {k} (after op {index - 1})", snapshot, index - 1, True)]
                next_commit = index + rng.randint(COMMIT_EVERY[0], COMMIT_EVERY[1])
                continue
            if kill_at_op is None and time.monotonic() >= kill_time:
                # A few ops on, so that the kill does not always follow the commit that took the time.
                kill_at_op = index + kill_rng.randint(20, 100)
            if kill_at_op is not None and before is None and index >= kill_at_op - 20:
                before = self.status()
            kill_now = index == kill_at_op
            op = generator.next(model)
            expected_read = model.node(op[1])[2] if op[0] == "verify" else None
            kind = category(model, op)
            steps = model.apply(op)
            last = len(steps) - 1
            labelled = [(f"op {index} ({describe(op)})" + ("" if i == last else f" after step {i + 1} of {len(steps)}"),
                         snapshot, index, i == last) for i, snapshot in enumerate(steps)]
            if kill_now:
                self.worker.send(("op", mount, op))
                time.sleep(kill_delay)
                killed_at = time.monotonic()
                self.kill_daemon()
                answer = self.worker.receive(20, mount)
                history.extend(labelled)
                in_flight = (index, describe(op), "acknowledged" if answer[0] == "ok" else answer[2])
                break
            answer = self.worker_call(("op", mount, op), OP_TIMEOUT, mount)
            if answer[0] != "ok":
                raise SoakFailure(f"[{engine}] op {index} ({describe(op)}) failed with the daemon alive: {answer[2]}")
            if op[0] == "verify" and answer[1] != expected_read:
                raise SoakFailure(f"[{engine}] op {index} read back {op[1]} and got other bytes than written: "
                                  + _data_diff(expected_read, answer[1]))
            acked_at[index] = time.monotonic()
            counts[kind] += 1
            time.sleep(generator.pause())
            if op[0] == "fsync":
                fsyncs += 1
                history = labelled[-1:]
            else:
                history.extend(labelled)
            index += 1
            if time.monotonic() - start > seconds * 3:
                raise SoakFailure(f"[{engine}] the operations ran past {seconds * 3:.0f}s without reaching the kill")

        ops_seconds = killed_at - start
        log(f"[{engine}] killed volumed (-9) during op {index} after {index} acknowledged ops in {ops_seconds:.1f}s: "
            f"{in_flight[2]}")
        phase = time.monotonic()
        self.start_daemon()
        status = self.status()
        stale = [m for m in status.get("mounts", []) if m.get("mount_path") == mount]
        if not stale or stale[0].get("state") != "stale":
            raise SoakFailure(f"[{engine}] after the restart, status does not list {mount} as stale: {stale}")
        self.volumectl("recover", mount)
        tree = self.scan(mount)

        matched = None
        for position in range(len(history) - 1, -1, -1):
            if canonical(history[position][1]) == tree:
                matched = position
                break
        recovery = {}
        if matched is None:
            closest = min(range(len(history)), key=lambda p: difference_count(canonical(history[p][1]), tree))
            self.failures.append(
                f"[{engine}] the recovered tree matches no state between the last fsync/commit "
                f"({history[0][0]}) and the in-flight op {index}; closest: {history[closest][0]}:\n"
                + "\n".join(diff(canonical(history[closest][1]), tree))
                + ("\n against the in-flight op's end:\n" + "\n".join(diff(canonical(history[-1][1]), tree))
                   if closest != len(history) - 1 else ""))
            recovery["matched"] = "nothing"
        else:
            label, _, op_index, final_step = history[matched]
            lost = [i for i in acked_at if op_index is None or i > op_index or (i == op_index and not final_step)]
            oldest = min(lost) if lost else None
            recovery["matched"] = label
            recovery["lost"] = len(lost)
            if oldest is not None:
                age = killed_at - acked_at[oldest]
                recovery["lost_age"] = age
                if age > LOST_WINDOW:
                    self.failures.append(
                        f"[{engine}] recovery lost op {oldest} acknowledged {age:.3f}s before the kill "
                        f"(recovered tree = {label}); volumed promises at most ~10 ms of namespace changes lost")
        final = self.volumectl("finalize", mount, "-m", "final").stdout
        path = os.path.join(self.descriptors, f"{engine}-final.json")
        with open(path, "w") as f:
            f.write(final)
        versions.append(("final", path, digested(tree)))
        log(f"[{engine}] restart, recover, compare and finalize took {time.monotonic() - phase:.1f}s; "
            f"{commit_seconds:.1f}s went to {len(versions) - 1} commits during the operations")
        after = self.status()
        return {"engine": engine, "ops": index, "ops_seconds": ops_seconds, "counts": counts, "fsyncs": fsyncs,
                "commits": len(versions) - 1, "versions": versions, "in_flight": in_flight, "recovery": recovery,
                "kill_op": index, "retries_before": (before.get("storage_retries"), before.get("resolved_outcomes")),
                "retries_after": (after.get("storage_retries"), after.get("resolved_outcomes")),
                "files": len(model.paths("file")), "bytes": model.total_bytes()}

    def verify_versions(self, rounds):
        """Mounts every version read-only on a fresh daemon (empty state and cache, as on another
        machine: every block comes from the bucket through the proxy) and compares it with its model."""
        started = time.monotonic()
        self.stop_daemon()
        self.use_daemon("verifier", os.path.join(self.tmp, "state-verifier"))
        self.start_daemon()
        checked = 0
        for r in rounds:
            for k, (label, path, expected) in enumerate(r["versions"]):
                ro = os.path.join(self.mount_root, f"ro-{r['engine']}-{k}")
                self.volumectl("mount", path, ro, "--read-only")
                try:
                    actual = self.scan(ro, digests=True)
                finally:
                    self.volumectl("unmount", ro, timeout=120)
                checked += 1
                if actual != expected:
                    self.failures.append(f"[{r['engine']}] version '{label}' ({path}) differs from its model:\n"
                                         + "\n".join(diff(expected, actual)))
        status = self.status()
        log(f"verified {checked} versions in {time.monotonic() - started:.1f}s")
        return checked, (status.get("storage_retries"), status.get("resolved_outcomes"))

    # -- the whole run -----------------------------------------------------------------------

    def run(self):
        started = time.monotonic()
        engines = self.args.engines
        kill_ops = self.args.kill_at_op or [None] * len(engines)
        self.add_fault_rule()
        self.start_daemon()
        self.worker = Worker(self)
        rounds = []
        rng = random.Random(self.seed)
        kill_rng = random.Random(self.seed * 7919 + 17)
        for engine, kill_at_op in zip(engines, kill_ops):
            rounds.append(self.run_round(engine, self.args.seconds / len(engines), kill_at_op, rng, kill_rng))
        checked, verifier_retries = self.verify_versions(rounds)
        rule = next((r for r in self.proxy_stats().get("rules", []) if r.get("id") == self.rule_id), {})
        return rounds, rule, checked, verifier_retries, time.monotonic() - started

    def cleanup(self):
        if self.worker is not None:
            self.worker.stop()
        try:
            self.stop_daemon()
        except Exception as error:  # noqa: BLE001 - cleanup goes on
            log(f"stopping volumed: {error}")
        self.force_unmount(self.tmp)
        # A private redis-server of a mount exits with its daemon; give it a moment to save.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.processes_using_tmp():
            time.sleep(0.2)
        if self.failures or self.args.keep:
            for path in self.daemon_logs:
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        tail = [line.rstrip("\n")[:300] for line in f.readlines()[-15:]]
                    log(f"last lines of {path}:\n" + "\n".join(tail))
        if self.args.keep:
            log(f"kept {self.tmp}")
            return
        if self.mounts_under(self.tmp):
            log(f"not deleting {self.tmp}: something is still mounted under it")
            return
        subprocess.run(["rm", "-rf", "--one-file-system", self.tmp], timeout=120)

    def processes_using_tmp(self):
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if self.tmp.encode() in f.read():
                        found.append(int(pid))
            except OSError:
                pass
        return found


def report(soak, rounds, rule, checked, verifier_retries, elapsed):
    faults = rule.get("faults_by_action", {})
    parts = [f"soak seed {soak.seed} ({soak.unique}, {elapsed:.0f}s):"]
    for r in rounds:
        recovered = r["recovery"].get("matched")
        lost = r["recovery"].get("lost")
        lost_text = "" if lost is None else (
            f", {lost} acknowledged op(s) lost" + (f" (oldest acknowledged {r['recovery']['lost_age'] * 1000:.0f} ms "
                                                    f"before the kill)" if lost else ""))
        parts.append(
            f"[{r['engine']}] {r['ops']} operations in {r['ops_seconds']:.0f}s ({r['fsyncs']} fsyncs, "
            f"{r['files']} files / {r['bytes'] / MIB:.1f} MiB at the end; "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(r["counts"].items()))
            + f"), {r['commits']} commits + final, "
            f"kill -9 during op {r['kill_op']} ({r['in_flight'][1]}: {r['in_flight'][2]}), 1 recovery to "
            f"'{recovered}'{lost_text}; daemon storage_retries/resolved_outcomes "
            f"{r['retries_before'][0]}/{r['retries_before'][1]} before the kill, "
            f"{r['retries_after'][0]}/{r['retries_after'][1]} after it (recover, finalize).")
    parts.append(f"{checked} versions verified read-only on a fresh daemon with an empty cache "
                 f"(storage_retries/resolved_outcomes {verifier_retries[0]}/{verifier_retries[1]}).")
    parts.append(f"Fault proxy rule: {rule.get('faults', '?')} faults injected on {rule.get('matched', '?')} matching "
                 f"requests (" + ", ".join(f"{a}: {faults.get(a, 0)}" for a in FAULT_ACTIONS) + ").")
    parts.append(f"Recoveries: {len(rounds)}. {'FAIL' if soak.failures else 'PASS'}.")
    print(" ".join(parts), flush=True)
    if rounds:
        print(f"reproduce: python3 scripts/soak.py --seed {soak.seed} --engines {','.join(r['engine'] for r in rounds)}"
              f" --kill-at-op {','.join(str(r['kill_op']) for r in rounds)}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="the random seed (else a random one, printed)")
    parser.add_argument("--seconds", type=float, default=40, help="seconds of random operations, over all rounds")
    parser.add_argument("--engines", default="sqlite,redis", help="metadata engines, one round each (sqlite,redis)")
    parser.add_argument("--bin", default=os.environ.get("VOLUMED_BIN") or os.path.join(REPO, ".build", "debug"),
                        help="directory of volumed and volumectl (else $VOLUMED_BIN, else .build/debug)")
    parser.add_argument("--kill-at-op", default=None,
                        help="kill volumed during this op (one per round, comma-separated) instead of at a seeded time")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, state)")
    args = parser.parse_args()
    args.engines = [e for e in args.engines.split(",") if e]
    if any(e not in ("sqlite", "redis") for e in args.engines) or not args.engines:
        parser.error("--engines takes sqlite and/or redis")
    if args.kill_at_op is not None:
        args.kill_at_op = [int(k) for k in args.kill_at_op.split(",")]
        if len(args.kill_at_op) != len(args.engines):
            parser.error("--kill-at-op needs one op index per round")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1 << 31)
    print(f"soak: seed {args.seed}", flush=True)

    missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
    if missing:
        print(f"soak: FAIL: {', '.join(missing)} not set; run it through scripts/test.sh, or start the services: "
              f"python3 scripts/test_services.py start DIR && source DIR/env", file=sys.stderr)
        return 1
    if os.geteuid() != 0:
        print("soak: FAIL: needs root (it mounts FUSE file systems)", file=sys.stderr)
        return 1
    args.volumed, args.volumectl = (os.path.join(args.bin, name) for name in ("volumed", "volumectl"))
    for binary in (args.volumed, args.volumectl):
        if not os.access(binary, os.X_OK):
            print(f"soak: FAIL: {binary} is missing (swift build, or --bin DIR)", file=sys.stderr)
            return 1

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)

    soak = Soak(args)
    try:
        rounds, rule, checked, verifier_retries, elapsed = soak.run()
    except (SoakFailure, KeyboardInterrupt) as error:
        soak.failures.append(f"{type(error).__name__}: {error}" if isinstance(error, KeyboardInterrupt) else str(error))
        rounds = None
    except Exception:
        import traceback
        soak.failures.append("the soak itself crashed:\n" + traceback.format_exc())
        rounds = None
    finally:
        soak.cleanup()
    if rounds is not None:
        report(soak, rounds, rule, checked, verifier_retries, elapsed)
    else:
        print(f"soak seed {soak.seed} ({soak.unique}): FAIL.", flush=True)
    for failure in soak.failures:
        print(f"soak: FAIL: {failure}", flush=True)
    if soak.failures and rounds is None:
        print(f"reproduce: python3 scripts/soak.py --seed {soak.seed} --engines {','.join(args.engines)}", flush=True)
    return 1 if soak.failures else 0


if __name__ == "__main__":
    sys.exit(main())
