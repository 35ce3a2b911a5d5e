"""What a call sends and how its answer is read, shared by the blocking and asyncio clients:
one JSON-RPC 2.0 request per line, `progress` notifications for it, then its response."""
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

from . import errors
from ._model import Progress

DEFAULT_SOCKET = "/run/volumed/volumed.sock"

ProgressCallback = Callable[[Progress], None]


def socket_path(explicit: Optional[str] = None) -> str:
    """`explicit`, else `$VOLUMED_SOCKET`, else the daemon's default socket, as volumectl does."""
    return explicit or os.environ.get("VOLUMED_SOCKET") or DEFAULT_SOCKET


@dataclass
class Exchange:
    """One request on a connection of its own, and the reading of its answer line by line."""

    method: str
    params: Dict[str, Any] = field(default_factory=dict)
    on_progress: Optional[ProgressCallback] = None
    id: int = 1

    def request_line(self) -> bytes:
        params = dict(self.params)
        if self.on_progress is not None:
            params["progress"] = True
        return (json.dumps({"jsonrpc": "2.0", "id": self.id, "method": self.method, "params": params}) + "\n").encode()

    def read(self, line: bytes) -> "tuple[bool, Any]":
        """(True, result) for the response; (False, None) for a notification, after feeding it
        to `on_progress`. An error response raises its `VolumedError`."""
        message = json.loads(line)
        if message.get("method") == "progress":
            params = message.get("params") or {}
            if self.on_progress is not None and params.get("id") == self.id:
                self.on_progress(Progress.from_dict(params.get("progress") or {}))
            return False, None
        if "error" in message:
            raise errors.from_answer(message["error"])
        if message.get("id") != self.id:
            return False, None
        return True, message.get("result")


def unavailable(path: str, cause: object) -> errors.DaemonUnavailable:
    return errors.DaemonUnavailable(f"cannot reach volumed at {path}: {cause} (is it running? set VOLUMED_SOCKET)")
