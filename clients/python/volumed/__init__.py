"""volumed's Python client: the seed's `Volume` / `RWVolume` / `ROVolume` API, served by the
local volumed daemon over its Unix socket (`$VOLUMED_SOCKET`, else /run/volumed/volumed.sock).

    import volumed
    rw = volumed.Volume.new()
    rw.mount("/mnt/volumes/train")
    for epoch in range(3):
        ...                                   # write under /mnt/volumes/train
        checkpoint = rw.commit(message=f"epoch {epoch}")
    final = rw.finalize()

`volumed.aio` has the same API as coroutines.
"""
from ._client import Client, use
from ._model import ActionRef, IndexRef, MountStatus, Progress
from ._volume import Mounted, ROVolume, RWVolume, Version, Volume, daemon_status, delete, gc, recover, status, versions
from .errors import (AlreadyMounted, Busy, DaemonUnavailable, DrainFailed, IntegrityError, InternalError, LeaseLost,
                     InvalidParams, InvalidRequest, MetadataError, MethodNotFound, MountFailed, NotEmpty, NotFound,
                     NotMounted, NotWritable, ParseError, PermissionDenied, StorageError, Unchanged,
                     UncommittedChanges, VolumedError)

__version__ = "0.1.0"

__all__ = [
    "Volume", "RWVolume", "ROVolume", "Mounted", "Version", "versions", "delete", "gc", "ActionRef", "IndexRef", "MountStatus", "Progress", "Client", "use",
    "status", "recover", "daemon_status", "VolumedError", "DaemonUnavailable", "ParseError", "InvalidRequest",
    "MethodNotFound", "InvalidParams", "InternalError", "NotFound", "AlreadyMounted", "NotMounted", "NotWritable",
    "NotEmpty", "DrainFailed", "StorageError", "MetadataError", "PermissionDenied", "UncommittedChanges",
    "IntegrityError", "MountFailed", "Unchanged", "Busy", "LeaseLost",
]
