"""Volumes as the seed's API has them, over the blocking client."""
import base64
import contextlib
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Union

from . import _calls
from ._client import Client
from ._model import Descriptor, MountStatus
from ._protocol import ProgressCallback


def _volume(data: Union[str, bytes, Dict[str, Any]]) -> "Volume":
    fields = Descriptor.fields_from(data)
    return (RWVolume if fields["access"] == "rw" else ROVolume)(**fields)


def _client() -> Client:
    return Client.default()


@dataclass(frozen=True)
class Volume(Descriptor):
    """A volume descriptor: `RWVolume` for a writable line, `ROVolume` for a committed version."""

    @classmethod
    def new(cls, name: Optional[str] = None, bucket: Optional[str] = None, storage: Optional[str] = None,
            region: Optional[str] = None, metadata_store_type: Optional[str] = None,
            endpoint: Optional[str] = None) -> "RWVolume":
        """Declares a fresh empty writable volume (no I/O until its first mount formats it); the
        daemon picks a name, its default bucket and metadata store when left out."""
        volume = _volume(_client().call(*_calls.new(name, bucket, storage, region, metadata_store_type, endpoint)))
        assert isinstance(volume, RWVolume)
        return volume

    @classmethod
    def empty(cls, name: str, bucket: Optional[str] = None, storage: Optional[str] = None,
              region: Optional[str] = None, metadata_store_type: Optional[str] = None) -> "Volume":
        """`new` with a name the caller chooses (the seed's older spelling)."""
        return cls.new(name, bucket, storage, region, metadata_store_type)

    @classmethod
    def from_json(cls, data: Union[str, bytes, Dict[str, Any]]) -> "Volume":
        """The descriptor in a JSON text (or parsed), as `to_json` wrote it or the daemon answered."""
        return _volume(data)

    @classmethod
    def from_locator(cls, locator: str) -> "ROVolume":
        """The version published at `<bucket>/versions/<id>/volume.json`."""
        volume = _volume(_client().call("volume.load", {"locator": locator}))
        assert isinstance(volume, ROVolume)
        return volume

    def lineage(self) -> List["Volume"]:
        """This version and its ancestors, newest first."""
        return [_volume(item) for item in _client().call(*_calls.browse("volume.lineage", self, None))]

    def migrate_metadata_store_type(self, new_metadata_store_type: str,
                                    on_progress: Optional[ProgressCallback] = None) -> "ROVolume":
        """Republishes this version with its metadata in the other engine ("sqlite" or "redis");
        no block moves."""
        volume = _volume(_client().call(*_calls.migrate(self, new_metadata_store_type), on_progress=on_progress))
        assert isinstance(volume, ROVolume)
        return volume

    def fork(self, name: Optional[str] = None, as_: str = "rw", mount_path: Optional[str] = None,
             on_progress: Optional[ProgressCallback] = None) -> "Volume":
        """Branches this volume without copying data: a writable line (`as_="rw"`) or a read-only
        sibling version (`"ro"`). A handle mounted through this client forks its live state."""
        path = mount_path or (self.mount_path if isinstance(self, RWVolume) else None)
        return _volume(_client().call(*_calls.fork(self, path, name, as_), on_progress=on_progress))

    def ls(self, path: str = "/") -> List[Dict[str, Any]]:
        """The entries of a directory of this version (name, type, size, mode, mtime), without a mount."""
        return list(_client().call(*_calls.browse("volume.ls", self, path)))

    def cat(self, path: str) -> bytes:
        """The bytes of a file of this version (up to 64 MiB), without a mount."""
        return base64.b64decode(_client().call(*_calls.browse("volume.cat", self, path))["content_base64"])

    def status(self, mount_path: Optional[str] = None) -> MountStatus:
        """The mount this handle made (or the one at `mount_path`)."""
        return MountStatus.from_dict(_client().call(*_calls.status(_calls.required_mount_path(self, mount_path, "status"))))

    def unmount(self, abandon: bool = False, keep: bool = False, mount_path: Optional[str] = None) -> MountStatus:
        """Unmounts. A writable mount with uncommitted changes is refused (`UncommittedChanges`)
        unless `abandon` discards them or `keep` leaves the working copy for `recover`."""
        path = _calls.required_mount_path(self, mount_path, "unmount")
        status = MountStatus.from_dict(_client().call(*_calls.unmount(path, abandon, keep)))
        if path == self.mount_path:
            object.__setattr__(self, "_mount_path", None)
        return status

    def _mount(self, mount_path: str, options: Dict[str, Any], on_progress: Optional[ProgressCallback]) -> MountStatus:
        status = MountStatus.from_dict(_client().call(*_calls.mount(self, mount_path, options), on_progress=on_progress))
        object.__setattr__(self, "_mount_path", status.mount_path)
        return status


@dataclass(frozen=True)
class RWVolume(Volume):
    """A writable line: mount it, write, `commit` checkpoints, `finalize` at the end."""

    def mount(self, mount_path: str, read_only: bool = False, writeback: bool = True,
              upload_delay: Optional[str] = None, max_uploads: Optional[int] = None, attr_cache: float = 60.0,
              entry_cache: float = 60.0, dir_entry_cache: float = 60.0, cache_dir: Optional[str] = None,
              timeout: float = 3600.0, on_progress: Optional[ProgressCallback] = None,
              metadata_url: Optional[str] = None) -> MountStatus:
        """Formats the volume if fresh and mounts it at `mount_path` (under the daemon's mount root);
        `metadata_url` (redis://host:port/db, an allowed_redis server) keeps a Redis volume's namespace there."""
        options = _calls.mount_options(read_only, writeback, upload_delay, max_uploads, attr_cache, entry_cache,
                                       dir_entry_cache, cache_dir, timeout, metadata_url)
        return self._mount(mount_path, options, on_progress)

    def commit(self, message: Optional[str] = None, mount_path: Optional[str] = None,
               on_progress: Optional[ProgressCallback] = None) -> "ROVolume":
        """Drains the writeback and publishes the current state as an immutable version; the
        mount stays live and writable."""
        path = _calls.required_mount_path(self, mount_path, "commit")
        volume = _volume(_client().call(*_calls.commit(path, message, finalize=False), on_progress=on_progress))
        assert isinstance(volume, ROVolume)
        return volume

    def finalize(self, message: Optional[str] = None, mount_path: Optional[str] = None, timeout: Optional[float] = None,
                 on_progress: Optional[ProgressCallback] = None) -> "ROVolume":
        """Commits, then unmounts: the version holds everything the volume got."""
        path = _calls.required_mount_path(self, mount_path, "finalize")
        result = _client().call(*_calls.commit(path, message, finalize=True), on_progress=on_progress, timeout=timeout)
        if path == self.mount_path:
            object.__setattr__(self, "_mount_path", None)
        volume = _volume(result)
        assert isinstance(volume, ROVolume)
        return volume

    @contextlib.contextmanager
    def mounted(self, mount_path: str, message: Optional[str] = None, **options: Any) -> Iterator["Mounted"]:
        """Mounts for the `with` block and finalizes when it ends; the version is `.version`
        afterwards. When the block raises, the mount is unmounted with its working copy kept
        (uncommitted changes included): `volumed.recover(mount_path)` continues it, and
        `recover(mount_path, abandon=True)` drops it."""
        self.mount(mount_path, **options)
        mounted = Mounted(self, mount_path)
        try:
            yield mounted
        except BaseException:
            with contextlib.suppress(Exception):
                self.unmount(keep=True, mount_path=mount_path)
            raise
        mounted.version = self.finalize(message, mount_path=mount_path)


@dataclass(frozen=True)
class ROVolume(Volume):
    """A committed, immutable version: mount it read-only, browse it, fork it."""

    def mount(self, mount_path: str, attr_cache: float = 60.0, entry_cache: float = 60.0,
              dir_entry_cache: float = 60.0, cache_dir: Optional[str] = None, timeout: float = 3600.0,
              on_progress: Optional[ProgressCallback] = None) -> MountStatus:
        """Mounts the version read-only at `mount_path`."""
        options = _calls.mount_options(True, True, None, None, attr_cache, entry_cache, dir_entry_cache, cache_dir, timeout)
        return self._mount(mount_path, options, on_progress)

    @contextlib.contextmanager
    def mounted(self, mount_path: str, **options: Any) -> Iterator["Mounted"]:
        """Mounts read-only for the `with` block, and unmounts when it ends."""
        self.mount(mount_path, **options)
        try:
            yield Mounted(self, mount_path)
        finally:
            self.unmount(mount_path=mount_path)


class Mounted:
    """A mount made by `mounted()`: its `path`, the `volume`, and after a writable block ends,
    the `version` it finalized into."""

    def __init__(self, volume: Volume, path: str) -> None:
        self.volume = volume
        self.path = path
        self.version: Optional[ROVolume] = None

    def commit(self, message: Optional[str] = None) -> ROVolume:
        if not isinstance(self.volume, RWVolume):
            raise TypeError("a read-only mount has nothing to commit")
        return self.volume.commit(message, mount_path=self.path)


@dataclass(frozen=True)
class Version:
    """A published version as `versions` lists it: its id (ids sort by publication time), the
    version, and the mounts of the daemon based on it."""

    id: str
    volume: "ROVolume"
    mounted_here: List[str]
    #: Live mounts on any machine based on it, as host:/mount/path.
    held_by: List[str]


def delete(*versions: Volume) -> List[str]:
    """Removes versions from the catalogue (blocks stay for gc); returns their locators. A
    version a live mount anywhere is based on refuses the whole call (`Busy`)."""
    return list(_client().call("volume.delete", {"volumes": [version.to_dict() for version in versions]}))


def versions(bucket: Optional[str] = None, volume: Optional[Volume] = None, name: Optional[str] = None) -> List[Version]:
    """The versions of a bucket, or of one volume's line, newest first; `name` keeps one name's."""
    entries = _client().call(*_calls.versions(bucket, volume, name))
    return [Version(entry["id"], _volume(entry["volume"]), list(entry["mounted_here"]), list(entry["held_by"]))  # type: ignore[arg-type]
            for entry in entries]


def gc(bucket: str, dry_run: bool = False, grace: Optional[str] = None, keep_last: Optional[int] = None,
       endpoint: Optional[str] = None, region: Optional[str] = None,
       on_progress: Optional[ProgressCallback] = None) -> Dict[str, Any]:
    """Deletes what no version, fork or live mount of `bucket` reaches and `grace` (default 24h)
    no longer protects; `keep_last` first retires all but the newest N versions of each line.
    Returns the report (examined, kept, garbage, deleted, kinds, retired, held_by, ...)."""
    return dict(_client().call(*_calls.gc(bucket, dry_run, grace, keep_last, endpoint, region), on_progress=on_progress))


def status() -> List[MountStatus]:
    """Every mount of the daemon, this caller's and others' (left-behind ones as `stale`)."""
    return _calls.mount_statuses(_client().call("mount.list"))


def recover(mount_path: str, abandon: bool = False) -> MountStatus:
    """Serves a left-behind mount again from its working copy, or with `abandon` drops it."""
    return MountStatus.from_dict(_client().call(*_calls.recover(mount_path, abandon)))


def daemon_status() -> Dict[str, Any]:
    """The daemon: version, uptime, default bucket, mounts, retries, transfer bounds."""
    return dict(_client().call("daemon.status"))
