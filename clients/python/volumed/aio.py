"""The same API for asyncio: every call that talks to the daemon is a coroutine.

    from volumed import aio
    rw = await aio.Volume.new()
    await rw.mount("/mnt/volumes/train")
    checkpoint = await rw.commit("epoch 1")
"""
import asyncio
import base64
import contextlib
from dataclasses import dataclass
from typing import Any, AsyncIterator, Dict, List, Optional, Union

from . import _calls
from ._model import Descriptor, MountStatus
from ._protocol import Exchange, ProgressCallback, socket_path, unavailable

__all__ = ["AsyncClient", "Volume", "RWVolume", "ROVolume", "Mounted", "Version", "use", "versions", "delete", "status", "recover", "daemon_status"]


class AsyncClient:
    """Talks to one volumed from an event loop; each call on a connection of its own."""

    _default: Optional["AsyncClient"] = None
    #: Lines may be long: `cat` returns up to 64 MiB, base64-encoded.
    line_limit = 128 << 20

    def __init__(self, path: Optional[str] = None, timeout: Optional[float] = None) -> None:
        self.path = socket_path(path)
        self.timeout = timeout

    @classmethod
    def default(cls) -> "AsyncClient":
        return cls._default or cls()

    async def call(self, method: str, params: Optional[Dict[str, Any]] = None,
                   on_progress: Optional[ProgressCallback] = None) -> Any:
        exchange = Exchange(method, params or {}, on_progress)
        try:
            reader, writer = await asyncio.open_unix_connection(self.path, limit=self.line_limit)
        except OSError as error:
            raise unavailable(self.path, error) from error
        try:
            writer.write(exchange.request_line())
            await writer.drain()
            while True:
                try:
                    line = await asyncio.wait_for(reader.readline(), self.timeout)
                except asyncio.TimeoutError as error:
                    raise unavailable(self.path, f"no answer to {method} within {self.timeout} s") from error
                except ValueError as error:  # a line past line_limit
                    raise unavailable(self.path, f"an answer to {method} longer than {self.line_limit} bytes") from error
                if not line:
                    raise unavailable(self.path, f"the daemon closed the connection during {method}")
                done, result = exchange.read(line)
                if done:
                    return result
        except OSError as error:
            raise unavailable(self.path, error) from error
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


def use(path: Optional[str] = None, timeout: Optional[float] = None) -> AsyncClient:
    """Makes every coroutine of this module talk to the daemon at `path`."""
    AsyncClient._default = AsyncClient(path, timeout)
    return AsyncClient._default


def _volume(data: Union[str, bytes, Dict[str, Any]]) -> "Volume":
    fields = Descriptor.fields_from(data)
    return (RWVolume if fields["access"] == "rw" else ROVolume)(**fields)


async def _call(request: _calls.Request, on_progress: Optional[ProgressCallback] = None) -> Any:
    return await AsyncClient.default().call(*request, on_progress=on_progress)


@dataclass(frozen=True)
class Volume(Descriptor):
    """`volumed.Volume`, with coroutines."""

    @classmethod
    async def new(cls, name: Optional[str] = None, bucket: Optional[str] = None, storage: Optional[str] = None,
                  region: Optional[str] = None, metadata_store_type: Optional[str] = None,
                  endpoint: Optional[str] = None) -> "RWVolume":
        volume = _volume(await _call(_calls.new(name, bucket, storage, region, metadata_store_type, endpoint)))
        assert isinstance(volume, RWVolume)
        return volume

    @classmethod
    async def empty(cls, name: str, bucket: Optional[str] = None, storage: Optional[str] = None,
                    region: Optional[str] = None, metadata_store_type: Optional[str] = None) -> "Volume":
        return await cls.new(name, bucket, storage, region, metadata_store_type)

    @classmethod
    def from_json(cls, data: Union[str, bytes, Dict[str, Any]]) -> "Volume":
        return _volume(data)

    @classmethod
    async def from_locator(cls, locator: str) -> "ROVolume":
        volume = _volume(await _call(("volume.load", {"locator": locator})))
        assert isinstance(volume, ROVolume)
        return volume

    async def lineage(self) -> List["Volume"]:
        return [_volume(item) for item in await _call(_calls.browse("volume.lineage", self, None))]

    async def migrate_metadata_store_type(self, new_metadata_store_type: str,
                                          on_progress: Optional[ProgressCallback] = None) -> "ROVolume":
        volume = _volume(await _call(_calls.migrate(self, new_metadata_store_type), on_progress))
        assert isinstance(volume, ROVolume)
        return volume

    async def fork(self, name: Optional[str] = None, as_: str = "rw", mount_path: Optional[str] = None,
                   on_progress: Optional[ProgressCallback] = None) -> "Volume":
        path = mount_path or (self.mount_path if isinstance(self, RWVolume) else None)
        return _volume(await _call(_calls.fork(self, path, name, as_), on_progress))

    async def ls(self, path: str = "/") -> List[Dict[str, Any]]:
        return list(await _call(_calls.browse("volume.ls", self, path)))

    async def cat(self, path: str) -> bytes:
        return base64.b64decode((await _call(_calls.browse("volume.cat", self, path)))["content_base64"])

    async def status(self, mount_path: Optional[str] = None) -> MountStatus:
        return MountStatus.from_dict(await _call(_calls.status(_calls.required_mount_path(self, mount_path, "status"))))

    async def unmount(self, abandon: bool = False, keep: bool = False, mount_path: Optional[str] = None) -> MountStatus:
        path = _calls.required_mount_path(self, mount_path, "unmount")
        status = MountStatus.from_dict(await _call(_calls.unmount(path, abandon, keep)))
        if path == self.mount_path:
            object.__setattr__(self, "_mount_path", None)
        return status

    async def _mount(self, mount_path: str, options: Dict[str, Any], on_progress: Optional[ProgressCallback]) -> MountStatus:
        status = MountStatus.from_dict(await _call(_calls.mount(self, mount_path, options), on_progress))
        object.__setattr__(self, "_mount_path", status.mount_path)
        return status


@dataclass(frozen=True)
class RWVolume(Volume):
    """`volumed.RWVolume`, with coroutines."""

    async def mount(self, mount_path: str, read_only: bool = False, writeback: bool = True,
                    upload_delay: Optional[str] = None, max_uploads: Optional[int] = None, attr_cache: float = 60.0,
                    entry_cache: float = 60.0, dir_entry_cache: float = 60.0, cache_dir: Optional[str] = None,
                    timeout: float = 3600.0, on_progress: Optional[ProgressCallback] = None,
                    metadata_url: Optional[str] = None) -> MountStatus:
        options = _calls.mount_options(read_only, writeback, upload_delay, max_uploads, attr_cache, entry_cache,
                                       dir_entry_cache, cache_dir, timeout, metadata_url)
        return await self._mount(mount_path, options, on_progress)

    async def commit(self, message: Optional[str] = None, mount_path: Optional[str] = None,
                     on_progress: Optional[ProgressCallback] = None) -> "ROVolume":
        path = _calls.required_mount_path(self, mount_path, "commit")
        volume = _volume(await _call(_calls.commit(path, message, finalize=False), on_progress))
        assert isinstance(volume, ROVolume)
        return volume

    async def finalize(self, message: Optional[str] = None, mount_path: Optional[str] = None,
                       on_progress: Optional[ProgressCallback] = None) -> "ROVolume":
        path = _calls.required_mount_path(self, mount_path, "finalize")
        result = await _call(_calls.commit(path, message, finalize=True), on_progress)
        if path == self.mount_path:
            object.__setattr__(self, "_mount_path", None)
        volume = _volume(result)
        assert isinstance(volume, ROVolume)
        return volume

    @contextlib.asynccontextmanager
    async def mounted(self, mount_path: str, message: Optional[str] = None, **options: Any) -> AsyncIterator["Mounted"]:
        """As `volumed.RWVolume.mounted`: finalizes on success, keeps the working copy on an exception."""
        await self.mount(mount_path, **options)
        mounted = Mounted(self, mount_path)
        try:
            yield mounted
        except BaseException:
            with contextlib.suppress(Exception):
                await self.unmount(keep=True, mount_path=mount_path)
            raise
        mounted.version = await self.finalize(message, mount_path=mount_path)


@dataclass(frozen=True)
class ROVolume(Volume):
    """`volumed.ROVolume`, with coroutines."""

    async def mount(self, mount_path: str, attr_cache: float = 60.0, entry_cache: float = 60.0,
                    dir_entry_cache: float = 60.0, cache_dir: Optional[str] = None, timeout: float = 3600.0,
                    on_progress: Optional[ProgressCallback] = None) -> MountStatus:
        options = _calls.mount_options(True, True, None, None, attr_cache, entry_cache, dir_entry_cache, cache_dir, timeout)
        return await self._mount(mount_path, options, on_progress)

    @contextlib.asynccontextmanager
    async def mounted(self, mount_path: str, **options: Any) -> AsyncIterator["Mounted"]:
        """Mounts read-only for the `async with` block, and unmounts when it ends."""
        await self.mount(mount_path, **options)
        try:
            yield Mounted(self, mount_path)
        finally:
            await self.unmount(mount_path=mount_path)


class Mounted:
    """`volumed.Mounted`, with a coroutine `commit`."""

    def __init__(self, volume: Volume, path: str) -> None:
        self.volume = volume
        self.path = path
        self.version: Optional[ROVolume] = None

    async def commit(self, message: Optional[str] = None) -> ROVolume:
        if not isinstance(self.volume, RWVolume):
            raise TypeError("a read-only mount has nothing to commit")
        return await self.volume.commit(message, mount_path=self.path)


@dataclass(frozen=True)
class Version:
    """`volumed.Version`, with an asyncio volume."""

    id: str
    volume: "ROVolume"
    mounted_here: List[str]
    held_by: List[str]


async def delete(*versions: Volume) -> List[str]:
    return list(await _call(("volume.delete", {"volumes": [version.to_dict() for version in versions]})))


async def versions(bucket: Optional[str] = None, volume: Optional[Volume] = None, name: Optional[str] = None) -> List[Version]:
    entries = await _call(_calls.versions(bucket, volume, name))
    return [Version(entry["id"], _volume(entry["volume"]), list(entry["mounted_here"]), list(entry["held_by"]))  # type: ignore[arg-type]
            for entry in entries]


async def gc(bucket: str, dry_run: bool = False, grace: Optional[str] = None, keep_last: Optional[int] = None,
             endpoint: Optional[str] = None, region: Optional[str] = None,
             on_progress: Optional[ProgressCallback] = None) -> Dict[str, Any]:
    return dict(await _call(_calls.gc(bucket, dry_run, grace, keep_last, endpoint, region), on_progress=on_progress))


async def status() -> List[MountStatus]:
    return _calls.mount_statuses(await _call(("mount.list", {})))


async def recover(mount_path: str, abandon: bool = False) -> MountStatus:
    return MountStatus.from_dict(await _call(_calls.recover(mount_path, abandon)))


async def daemon_status() -> Dict[str, Any]:
    return dict(await _call(("daemon.status", {})))
