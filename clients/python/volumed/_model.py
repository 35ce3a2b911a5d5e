"""The values that cross the socket, as immutable dataclasses (proto/volumed.schema.json)."""
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Type, TypeVar, Union

KIND = "flyte.volume/v1"

T = TypeVar("T")


def _known(cls: Type[T], data: Dict[str, Any]) -> Dict[str, Any]:
    """The fields of `data` that `cls` declares: a newer daemon may add others."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return {key: value for key, value in data.items() if key in names}


@dataclass(frozen=True)
class ActionRef:
    """Who produced a version (a run, a task's output), and where the version lives (`locator`)."""

    name: Optional[str] = None
    run_name: Optional[str] = None
    project: Optional[str] = None
    domain: Optional[str] = None
    org: Optional[str] = None
    output_name: Optional[str] = None
    locator: Optional[str] = None

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ActionRef":
        return cls(**_known(cls, data))

    def to_dict(self) -> Dict[str, Any]:
        return {key: value for key, value in dataclasses.asdict(self).items() if value is not None}


@dataclass(frozen=True)
class IndexRef:
    """A committed version's index: its manifest's path in the bucket, size and SHA-256."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Progress:
    """How far a long operation has come: `phase` (flush, drain, upload_index, …), `done` of `total` `unit`s."""

    phase: str
    done: int = 0
    total: Optional[int] = None
    unit: str = ""

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Progress":
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class MountStatus:
    """One mount as `volumectl status` shows it."""

    mount_path: str
    mount_id: str
    volume: str
    mode: str
    state: str
    metadata_store_type: str
    owner_uid: Optional[int] = None
    slice_domain: Optional[int] = None
    last_version: Optional[str] = None
    staged_blocks: int = 0
    staged_bytes: int = 0
    uploads_in_flight: int = 0
    uploaded_bytes: int = 0
    uploaded_blocks: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    upload_errors: int = 0
    download_errors: int = 0
    upload_bytes_per_second: float = 0.0
    cache_bytes: int = 0
    cache_budget_bytes: int = 0
    open_handles: int = 0
    mounted_at: Optional[str] = None
    storage_retries: int = 0
    resolved_outcomes: int = 0

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "MountStatus":
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class Descriptor:
    """A volume's descriptor: every field of the seed's model, plus where its blocks live
    (`chunk_prefix`), an S3 `endpoint`, and `access` (rw for a writable line, ro for a version)."""

    name: str
    bucket: str
    storage: str
    chunk_prefix: str
    metadata_store_type: str
    access: str
    kind: str = KIND
    region: Optional[str] = None
    endpoint: Optional[str] = None
    index: Optional[IndexRef] = None
    used_bytes: Optional[int] = None
    inode_count: Optional[int] = None
    index_bytes: Optional[int] = None
    message: Optional[str] = None
    produced_by: Optional[ActionRef] = None
    parent_produced_by: Optional[ActionRef] = None
    _mount_path: Optional[str] = field(default=None, compare=False, repr=False)

    def to_dict(self) -> Dict[str, Any]:
        """The descriptor as the daemon reads it."""
        data: Dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name.startswith("_"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, ActionRef):
                value = value.to_dict()
            elif isinstance(value, IndexRef):
                value = dataclasses.asdict(value)
            data[f.name] = value
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @staticmethod
    def fields_from(data: Union[str, bytes, Dict[str, Any]]) -> Dict[str, Any]:
        """Constructor arguments from a descriptor's JSON (text or parsed)."""
        if not isinstance(data, dict):
            data = json.loads(data)
        if data.get("kind", KIND) != KIND:
            raise ValueError(f"not a volume descriptor: kind {data.get('kind')!r}, expected {KIND!r}")
        values = {key: value for key, value in data.items() if key in {f.name for f in dataclasses.fields(Descriptor)}}
        if isinstance(values.get("index"), dict):
            values["index"] = IndexRef(**_known(IndexRef, values["index"]))
        for key in ("produced_by", "parent_produced_by"):
            if isinstance(values.get(key), dict):
                values[key] = ActionRef.from_dict(values[key])
        values.setdefault("access", "ro" if values.get("index") else "rw")
        values.pop("_mount_path", None)
        return values

    @property
    def locator(self) -> Optional[str]:
        """Where this version is published (`<bucket>/versions/<id>/volume.json`); `None` before its first commit."""
        return self.produced_by.locator if self.produced_by else None

    @property
    def mount_path(self) -> Optional[str]:
        """Where this handle was last mounted through this client, if it was."""
        return self._mount_path
