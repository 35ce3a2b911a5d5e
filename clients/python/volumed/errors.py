"""The daemon's errors, one class per stable error code (proto/README.md)."""
from typing import Any, Dict, Optional, Type


class VolumedError(Exception):
    """An error answer of volumed: `code` and `name` are the protocol's, `data` says what it concerns."""

    code: int = 0
    name: str = "error"

    def __init__(self, message: str, code: Optional[int] = None, name: Optional[str] = None,
                 data: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if name is not None:
            self.name = name
        self.data: Dict[str, Any] = data or {}

    def __str__(self) -> str:
        return f"{self.name} ({self.code}): {self.message}"


class DaemonUnavailable(VolumedError):
    """The socket could not be reached, or the daemon closed the connection before answering."""

    name = "daemon_unavailable"


class ParseError(VolumedError):
    """The request was not JSON."""

    code = -32700
    name = "parse_error"


class InvalidRequest(VolumedError):
    """The request was not a JSON-RPC 2.0 request."""

    code = -32600
    name = "invalid_request"


class MethodNotFound(VolumedError):
    """The daemon does not know the method."""

    code = -32601
    name = "method_not_found"


class InvalidParams(VolumedError):
    """A parameter is missing or invalid; `data['field']` names it."""

    code = -32602
    name = "invalid_params"


class InternalError(VolumedError):
    """The daemon failed on its side."""

    code = -32603
    name = "internal_error"


class NotFound(VolumedError):
    """No such version, path or left-behind mount."""

    code = 1001
    name = "not_found"


class AlreadyMounted(VolumedError):
    """Something is already mounted at the path."""

    code = 1002
    name = "already_mounted"


class NotMounted(VolumedError):
    """Nothing (live) is mounted at the path."""

    code = 1003
    name = "not_mounted"


class NotWritable(VolumedError):
    """The mount or version is read-only."""

    code = 1004
    name = "not_writable"


class NotEmpty(VolumedError):
    """A fresh volume's chunk prefix already holds objects."""

    code = 1005
    name = "not_empty"


class DrainFailed(VolumedError):
    """Blocks could not be made durable in time; nothing was published."""

    code = 1006
    name = "drain_failed"


class StorageError(VolumedError):
    """The object store failed (after retries)."""

    code = 1007
    name = "storage_error"


class MetadataError(VolumedError):
    """The metadata engine failed."""

    code = 1008
    name = "metadata_error"


class PermissionDenied(VolumedError):
    """The caller, path or bucket is not allowed."""

    code = 1009
    name = "permission_denied"


class UncommittedChanges(VolumedError):
    """Unmounting would lose changes."""

    code = 1010
    name = "uncommitted_changes"


class IntegrityError(VolumedError):
    """An index or piece does not match its hash."""

    code = 1011
    name = "integrity_error"


class MountFailed(VolumedError):
    """The FUSE mount could not be set up."""

    code = 1012
    name = "mount_failed"


class Unchanged(VolumedError):
    """The version already uses that metadata engine."""

    code = 1013
    name = "unchanged"


class Busy(VolumedError):
    """Another daemon, a mount that cannot be detached yet, or too many connections."""

    code = 1014
    name = "busy"


class LeaseLost(VolumedError):
    """The mount's lease vanished from its bucket (gc may have taken its blocks): it publishes nothing."""

    code = 1015
    name = "lease_lost"


BY_CODE: Dict[int, Type[VolumedError]] = {
    cls.code: cls for cls in (ParseError, InvalidRequest, MethodNotFound, InvalidParams, InternalError, NotFound,
                              AlreadyMounted, NotMounted, NotWritable, NotEmpty, DrainFailed, StorageError,
                              MetadataError, PermissionDenied, UncommittedChanges, IntegrityError, MountFailed,
                              Unchanged, Busy, LeaseLost)
}


def from_answer(error: Dict[str, Any]) -> VolumedError:
    """The exception for an error object of a response; an unknown code keeps its number and name."""
    code = int(error.get("code", 0))
    data = dict(error.get("data") or {})
    name = data.pop("name", None)
    cls = BY_CODE.get(code, VolumedError)
    return cls(str(error.get("message", "")), code=code, name=name or cls.name, data=data)
