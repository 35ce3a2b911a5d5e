"""Each operation of the API once: the method, its params, and how its result is read. The
blocking classes (`volumed`) and the asyncio ones (`volumed.aio`) differ only in how they send."""
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._model import Descriptor, MountStatus

Request = Tuple[str, Dict[str, Any]]


def new(name: Optional[str], bucket: Optional[str], storage: Optional[str], region: Optional[str],
        metadata_store_type: Optional[str], endpoint: Optional[str]) -> Request:
    params = {"name": name, "bucket": bucket, "storage": storage, "region": region,
              "metadata_store_type": metadata_store_type, "endpoint": endpoint}
    return "volume.new", {key: value for key, value in params.items() if value is not None}


def mount(volume: Descriptor, mount_path: str, options: Dict[str, Any]) -> Request:
    return "volume.mount", {"volume": volume.to_dict(), "mount_path": mount_path,
                            "options": {key: value for key, value in options.items() if value is not None}}


def mount_options(read_only: bool, writeback: bool, upload_delay: Optional[str], max_uploads: Optional[int],
                  attr_cache: float, entry_cache: float, dir_entry_cache: float, cache_dir: Optional[str],
                  timeout: float, metadata_url: Optional[str] = None) -> Dict[str, Any]:
    options = {"read_only": read_only, "writeback": writeback, "upload_delay": upload_delay, "max_uploads": max_uploads,
               "attr_cache": attr_cache, "entry_cache": entry_cache, "dir_entry_cache": dir_entry_cache,
               "cache_dir": cache_dir, "timeout": timeout}
    if metadata_url is not None:
        options["metadata_url"] = metadata_url
    return options


def commit(mount_path: str, message: Optional[str], finalize: bool) -> Request:
    params: Dict[str, Any] = {"mount_path": mount_path}
    if message is not None:
        params["message"] = message
    return ("volume.finalize" if finalize else "volume.commit"), params


def fork(volume: Descriptor, mount_path: Optional[str], name: Optional[str], as_: str) -> Request:
    if as_ not in ("rw", "ro"):
        raise ValueError(f"as_ must be 'rw' or 'ro', not {as_!r}")
    params: Dict[str, Any] = {"as": as_}
    if mount_path is not None:
        params["mount_path"] = mount_path
    else:
        params["volume"] = volume.to_dict()
    if name is not None:
        params["name"] = name
    return "volume.fork", params


def unmount(mount_path: str, abandon: bool, keep: bool) -> Request:
    return "volume.unmount", {"mount_path": mount_path, "abandon": abandon, "keep": keep}


def migrate(volume: Descriptor, new_metadata_store_type: str) -> Request:
    return "volume.migrate", {"volume": volume.to_dict(), "to": new_metadata_store_type}


def browse(method: str, volume: Descriptor, path: Optional[str]) -> Request:
    params: Dict[str, Any] = {"volume": volume.to_dict()}
    if path is not None:
        params["path"] = path
    return method, params


def versions(bucket: Optional[str], volume: Optional[Descriptor], name: Optional[str]) -> Request:
    if (bucket is None) == (volume is None):
        raise ValueError("versions takes exactly one of bucket= (a bucket URI) and volume= (a descriptor of the line)")
    params: Dict[str, Any] = {"bucket": bucket} if bucket is not None else {"volume": volume.to_dict()}  # type: ignore[union-attr]
    if name is not None:
        params["name"] = name
    return "volume.versions", params


def gc(bucket: str, dry_run: bool, grace: Optional[str], keep_last: Optional[int], endpoint: Optional[str],
       region: Optional[str]) -> Request:
    params: Dict[str, Any] = {"bucket": bucket, "dry_run": dry_run}
    for key, value in (("grace", grace), ("keep_last", keep_last), ("endpoint", endpoint), ("region", region)):
        if value is not None:
            params[key] = value
    return "bucket.gc", params


def status(mount_path: str) -> Request:
    return "mount.status", {"mount_path": mount_path}


def recover(mount_path: str, abandon: bool) -> Request:
    return "mount.recover", {"mount_path": mount_path, "abandon": abandon}


def mount_statuses(result: Any) -> List[MountStatus]:
    return [MountStatus.from_dict(item) for item in result]


def required_mount_path(volume: Descriptor, given: Optional[str], action: str) -> str:
    path = given or volume.mount_path
    if path is None:
        raise ValueError(f"{action} needs the mount path: this handle was not mounted through this client; pass mount_path=")
    return path


MakeVolume = Callable[[Dict[str, Any]], Any]
