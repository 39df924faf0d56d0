"""Turn values into artifact bytes and back.

An artifact is one byte stream:

    b"LLA1" | u32 header length | header JSON | blob 0 | blob 1 | ...

The header holds the value as a canonical JSON tree (builtins, containers, dataclasses, enums,
dates) in which every value that is better stored as raw bytes (numpy arrays, DataFrames,
tensors, images, anything pickled) is a reference `{"$blob": i}` to a blob that follows. Blobs
are written straight from the value's memory (a numpy array is never copied) and read straight
into freshly allocated memory. The same value always gives the same bytes: sets are sorted, so
an artifact's id (the hash of these bytes) is stable across processes.

Libraries such as numpy, pandas and torch are imported only when a value of their type is
encoded or decoded; user types plug in with `register_type`. A blob may also be read from a file
as it is written out (`FileChunks`: a table snapshot's Parquet file), so a value larger than
memory can be stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import importlib
import json
import math
import os
import struct
import sys
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import PurePath
from typing import Any, BinaryIO, Protocol, cast

from loopline.errors import SerializationError

MAGIC = b"LLA1"
_LENGTH = struct.Struct("<I")
FORMAT_VERSION = 1
JSON = Any  # a JSON-compatible value


class BlobReader(Protocol):
    """What a codec reads its blob from (the artifact store's verifying reader)."""

    def read(self, size: int) -> bytes: ...

    def readinto(self, buffer: memoryview) -> int: ...


class FileChunks:
    """A blob's bytes read from a file in chunks as they are written out, so a value kept in a
    large file (a table snapshot) is never held in memory. Iterable more than once."""

    CHUNK = 8 * 1024 * 1024

    def __init__(self, path: str | PurePath, *, owner: object = None) -> None:
        self.path = str(path)
        self.nbytes = os.path.getsize(self.path)
        self.owner = owner  # what keeps the file alive (a temporary file's owner deletes it)

    def __iter__(self) -> Iterator[bytes]:
        with open(self.path, "rb") as stream:
            while chunk := stream.read(self.CHUNK):
                yield chunk


@dataclasses.dataclass(frozen=True)
class Blob:
    """Raw bytes of one leaf value; `buffers` are written back to back without copying."""

    codec: str
    meta: dict[str, JSON]
    buffers: Sequence[bytes | memoryview] | FileChunks

    @property
    def nbytes(self) -> int:
        if isinstance(self.buffers, FileChunks):
            return self.buffers.nbytes
        return sum(memoryview(b).nbytes for b in self.buffers)


class Codec(ABC):
    """Stores one family of types as a blob. Subclass it, or use `register_type`."""

    name: str = ""

    @abstractmethod
    def handles(self, value: Any) -> bool: ...

    @abstractmethod
    def encode(self, value: Any) -> Blob: ...

    @abstractmethod
    def decode(self, meta: dict[str, JSON], reader: BlobReader, nbytes: int) -> Any: ...

    def summary(self, value: Any) -> dict[str, JSON]:
        return {"kind": "object", "type": qualified_name(type(value)), "repr": short_repr(value)}


def read_exactly(reader: BlobReader, nbytes: int) -> bytes:
    data = reader.read(nbytes)
    if len(data) != nbytes:
        raise SerializationError(f"artifact ends early: expected {nbytes} bytes, got {len(data)}")
    return data


class CodecRegistry:
    """Codecs by name; the first codec (most recently registered first) that handles a value wins."""

    def __init__(self) -> None:
        self._codecs: list[Codec] = []
        self._by_name: dict[str, Codec] = {}
        self._by_type: dict[type, Codec | None] = {}

    def add(self, codec: Codec) -> None:
        if not codec.name:
            raise SerializationError(f"codec {codec!r} needs a non-empty `name`")
        self._codecs.insert(0, codec)
        self._by_name[codec.name] = codec
        self._by_type.clear()

    def get(self, name: str) -> Codec:
        if name not in self._by_name and name in CODEC_MODULES:
            importlib.import_module(CODEC_MODULES[name])  # registers the codec
        try:
            return self._by_name[name]
        except KeyError:
            raise SerializationError(
                f"this artifact needs the codec {name!r}, which is not registered here; "
                "register the type (loopline.register_type) before reading it"
            ) from None

    def for_value(self, value: Any) -> Codec | None:
        cls = type(value)
        if cls in self._by_type:
            codec = self._by_type[cls]
            if codec is None or codec.handles(value):
                return codec
        codec = next((c for c in self._codecs if c.handles(value)), None)
        self._by_type[cls] = codec
        return codec


REGISTRY = CodecRegistry()

# Codecs of Loopline's own optional packages, registered when their module is imported: reading
# an artifact that needs one imports it (a worker process may not have imported it yet).
CODEC_MODULES = {"table-snapshot": "loopline.data"}


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


# Modules of Loopline's own types that moved: values stored before the move name the old path.
MOVED_MODULES = {
    "loopline.cl.candidates": "loopline.cl.mining.candidates",
    "loopline.cl.ci": "loopline.cl.regression.gate",
    "loopline.cl.commit": "loopline.cl.labeling.commit",
    "loopline.cl.cron": "loopline.cl.schedules.cron",
    "loopline.cl.datasets": "loopline.cl.datasets.dataset",
    "loopline.cl.errors": "loopline.cl.store.errors",
    "loopline.cl.evaluation": "loopline.cl.regression.evaluation",
    "loopline.cl.examples": "loopline.cl.datasets.examples",
    "loopline.cl.inference_checks": "loopline.cl.production.checks",
    "loopline.cl.inference_sinks": "loopline.cl.production.sinks",
    "loopline.cl.inference_table": "loopline.cl.production.table",
    "loopline.cl.inferences": "loopline.cl.production.log",
    "loopline.cl.ingest": "loopline.cl.production.ingest",
    "loopline.cl.label_errors": "loopline.cl.mining.label_errors",
    "loopline.cl.label_studio": "loopline.cl.labeling.label_studio",
    "loopline.cl.labeling": "loopline.cl.labeling.queue",
    "loopline.cl.loop_errors": "loopline.cl.store.errors",
    "loopline.cl.loop_records": "loopline.cl.store.records",
    "loopline.cl.loop_sql_store": "loopline.cl.store.sql",
    "loopline.cl.loop_store": "loopline.cl.store.protocol",
    "loopline.cl.metrics": "loopline.cl.regression.metrics",
    "loopline.cl.miners": "loopline.cl.mining.miners",
    "loopline.cl.models": "loopline.cl.registry.versions",
    "loopline.cl.notify": "loopline.cl.regression.notify",
    "loopline.cl.overlap": "loopline.cl.regression.overlap",
    "loopline.cl.predictors": "loopline.cl.regression.predictors",
    "loopline.cl.provenance": "loopline.cl.store.provenance",
    "loopline.cl.records": "loopline.cl.store.records",
    "loopline.cl.regression": "loopline.cl.regression.compare",
    "loopline.cl.report": "loopline.cl.regression.report",
    "loopline.cl.reports": "loopline.cl.regression.report",
    "loopline.cl.revisions": "loopline.cl.store.revisions",
    "loopline.cl.scenarios": "loopline.cl.regression.scenarios",
    "loopline.cl.schedule_worker": "loopline.cl.schedules.worker",
    "loopline.cl.schedules": "loopline.cl.schedules.scheduler",
    "loopline.cl.sql_revisions": "loopline.cl.store.sql_base",
    "loopline.cl.sql_store": "loopline.cl.store.sql",
    "loopline.cl.stats": "loopline.cl.regression.stats",
    "loopline.cl.store": "loopline.cl.store.protocol",
    "loopline.cl.target_check": "loopline.cl.schedules.target_check",
    "loopline.cl.workspace": "loopline.cl.store.workspace",
}


def import_qualified(path: str) -> Any:
    module_name, _, qualname = path.partition(":")
    module_name = MOVED_MODULES.get(module_name, module_name)
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise SerializationError(
            f"cannot import {path!r} to rebuild a stored value ({exc}); "
            "make sure the module that defines it is importable here"
        ) from exc
    return obj


def short_repr(value: Any, limit: int = 200) -> str:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not break tracking
        text = f"<{type(value).__qualname__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------
# Encoding


@dataclasses.dataclass
class Encoded:
    """A value turned into artifact bytes (not yet written anywhere)."""

    header: bytes
    blobs: list[Blob]
    type_name: str

    def chunks(self) -> Iterator[bytes | memoryview]:
        yield self.header
        for blob in self.blobs:
            yield from blob.buffers

    @property
    def size(self) -> int:
        return len(self.header) + sum(blob.nbytes for blob in self.blobs)

    def to_bytes(self) -> bytes:
        return b"".join(bytes(chunk) for chunk in self.chunks())


_BY_VALUE_MODULES = {"__main__", "__mp_main__"}
_BIG_INT = 2**64


def is_by_value_type(cls: type) -> bool:
    """Types that other processes cannot import by name: defined in a script or a notebook, or
    not reachable under their own name (made inside a function, or by `enum.Enum("Name", ...)`)."""
    return not _reachable_by_name(cls) or is_by_value_module(cls.__module__)


def is_by_value_module(module: str) -> bool:
    """Modules that other processes cannot import: a script's or notebook's `__main__`, and
    those registered with cloudpickle to travel by value (a notebook file run as a module)."""
    if module in _BY_VALUE_MODULES:
        return True
    try:
        import cloudpickle

        return module in cloudpickle.list_registry_pickle_by_value()  # module names
    except (ImportError, AttributeError):
        return False


def _reachable_by_name(cls: type) -> bool:
    obj: Any = sys.modules.get(cls.__module__)
    for part in cls.__qualname__.split("."):
        obj = getattr(obj, part, None)
    return obj is cls


class _Encoder:
    def __init__(self, registry: CodecRegistry) -> None:
        self.registry = registry
        self.blobs: list[Blob] = []

    def blob(self, blob: Blob) -> JSON:
        self.blobs.append(blob)
        return {"$blob": len(self.blobs) - 1}

    def encode(self, value: Any) -> JSON:
        cls = type(value)
        if cls is str or cls is bool or value is None:
            return value
        if cls is int:  # JSON (and int <-> str) cap digits; huge ints are stored as hex
            return value if -_BIG_INT < value < _BIG_INT else {"$int": hex(value)}
        if cls is float:
            return value if math.isfinite(value) else {"$float": repr(value)}
        if cls is list:
            return [self.encode(item) for item in value]
        if cls is tuple:
            return {"$tuple": [self.encode(item) for item in value]}
        if cls is dict:
            return {"$dict": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        codec = self.registry.for_value(value)
        if codec is not None:
            return self.blob(_checked_blob(codec, value))
        if cls is set or cls is frozenset:
            return {"$set" if cls is set else "$frozenset": self.encode_sorted(value)}
        if cls is bytes:
            return self.blob(Blob("bytes", {}, [value]))
        if isinstance(value, enum.Enum):
            # Flag combinations have no single name; those (and script-defined enums) are pickled.
            if not is_by_value_type(cls) and cls.__members__.get(value.name or "") is value:
                return {"$enum": qualified_name(cls), "name": value.name}
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = dataclasses.fields(value)
            # Attributes beyond the fields (set in __post_init__, say) only survive pickling.
            extra = getattr(value, "__dict__", {}).keys() - {f.name for f in fields}
            if not extra and not is_by_value_type(cls):
                encoded = {f.name: self.encode(getattr(value, f.name)) for f in fields}
                return {"$dataclass": qualified_name(cls), "fields": encoded}
        # Exact types only: a subclass (pandas.Timestamp is a datetime) is pickled, not truncated.
        elif cls is dt.datetime:
            return {"$datetime": value.isoformat()}
        elif cls is dt.date:
            return {"$date": value.isoformat()}
        elif cls is dt.time:
            return {"$time": value.isoformat()}
        elif cls is dt.timedelta:
            return {"$timedelta": [value.days, value.seconds, value.microseconds]}
        elif cls is uuid.UUID:
            return {"$uuid": str(value)}
        elif cls is Decimal:
            return {"$decimal": str(value)}
        elif isinstance(value, PurePath):
            return {"$path": str(value), "class": qualified_name(cls)}
        return self.blob(_checked_blob(self.registry.get("pickle"), value))

    def encode_sorted(self, items: Any) -> list[JSON]:
        """Set items in a canonical order: sorted by their own encoding, blobs included, so the
        bytes do not depend on iteration order (which varies with PYTHONHASHSEED)."""
        encoded = []
        for item in items:
            sub = _Encoder(self.registry)
            tree = sub.encode(item)
            key = _canonical(tree) + "".join(_blob_digest(blob) for blob in sub.blobs)
            encoded.append((key, tree, sub.blobs))
        encoded.sort(key=lambda entry: entry[0])
        out = []
        for _, tree, blobs in encoded:
            out.append(_shift_blob_refs(tree, len(self.blobs)) if blobs else tree)
            self.blobs.extend(blobs)
        return out


def _blob_digest(blob: Blob) -> str:
    hasher = hashlib.sha256(_canonical([blob.codec, blob.meta]).encode())
    for buffer in blob.buffers:
        hasher.update(buffer)
    return hasher.hexdigest()


def _shift_blob_refs(tree: JSON, offset: int) -> JSON:
    if isinstance(tree, list):
        return [_shift_blob_refs(item, offset) for item in tree]
    if isinstance(tree, dict):
        if "$blob" in tree:
            return {"$blob": tree["$blob"] + offset}
        return {key: _shift_blob_refs(item, offset) for key, item in tree.items()}
    return tree


def _checked_blob(codec: Codec, value: Any) -> Blob:
    try:
        return codec.encode(value)
    except SerializationError:
        raise
    except Exception as exc:
        raise SerializationError(
            f"cannot store a {type(value).__qualname__} with the {codec.name!r} codec: {exc}. "
            "Return a value of a supported type, or register one with loopline.register_type()"
        ) from exc


def _canonical(tree: JSON) -> str:
    return json.dumps(tree, separators=(",", ":"), ensure_ascii=False)


def encode(value: Any, registry: CodecRegistry = REGISTRY) -> Encoded:
    """Turn `value` into artifact bytes; raises SerializationError for unsupported values."""
    encoder = _Encoder(registry)
    try:
        tree = encoder.encode(value)
    except RecursionError:
        raise SerializationError(
            f"cannot store this {type(value).__qualname__}: it contains itself (a cycle) or is "
            "nested too deeply; pass and return values without cycles"
        ) from None
    header = {
        "v": FORMAT_VERSION,
        "type": qualified_name(type(value)),
        "tree": tree,
        "blobs": [{"codec": b.codec, "n": b.nbytes, "meta": b.meta} for b in encoder.blobs],
    }
    try:
        body = json.dumps(header, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:  # a codec put something odd into its meta
        raise SerializationError(f"cannot store a {type(value).__qualname__}: {exc}") from exc
    raw = body.encode("utf-8")
    return Encoded(MAGIC + _LENGTH.pack(len(raw)) + raw, encoder.blobs, header["type"])


# --------------------------------------------------------------------------------------------
# Decoding


def read_header(stream: BinaryIO | BlobReader) -> dict[str, JSON]:
    start = stream.read(len(MAGIC) + _LENGTH.size)
    if len(start) < len(MAGIC) + _LENGTH.size or start[: len(MAGIC)] != MAGIC:
        raise SerializationError("not a Loopline artifact (bad magic bytes)")
    (length,) = _LENGTH.unpack(start[len(MAGIC) :])
    raw = stream.read(length)
    if len(raw) != length:
        raise SerializationError("artifact header is truncated")
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise SerializationError(f"artifact header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("v") != FORMAT_VERSION:
        version = header.get("v") if isinstance(header, dict) else None
        raise SerializationError(f"unsupported artifact format version {version!r}")
    return header


def decode(stream: BinaryIO | BlobReader, registry: CodecRegistry = REGISTRY) -> Any:
    """Read one value written by `encode` from `stream`."""
    header = read_header(stream)
    reader = cast(BlobReader, stream)  # file objects have `readinto` too
    blobs = [registry.get(spec["codec"]).decode(spec["meta"], reader, spec["n"]) for spec in header["blobs"]]
    return _decode_tree(header["tree"], blobs)


def _decode_tree(tree: JSON, blobs: list[Any]) -> Any:
    if isinstance(tree, list):
        return [_decode_tree(item, blobs) for item in tree]
    if not isinstance(tree, dict):
        return tree
    tag, payload = next(iter(tree.items()))
    if tag == "$blob":
        return blobs[payload]
    if tag == "$float":
        return float(payload)
    if tag == "$int":
        return int(payload, 16)
    if tag == "$tuple":
        return tuple(_decode_tree(item, blobs) for item in payload)
    if tag == "$dict":
        return {_decode_tree(k, blobs): _decode_tree(v, blobs) for k, v in payload}
    if tag == "$set":
        return {_decode_tree(item, blobs) for item in payload}
    if tag == "$frozenset":
        return frozenset(_decode_tree(item, blobs) for item in payload)
    if tag == "$enum":
        return import_qualified(payload)[tree["name"]]
    if tag == "$dataclass":
        cls = import_qualified(payload)
        obj = cls.__new__(cls)
        for name, field_tree in tree["fields"].items():
            object.__setattr__(obj, name, _decode_tree(field_tree, blobs))
        return obj
    if tag == "$datetime":
        return dt.datetime.fromisoformat(payload)
    if tag == "$date":
        return dt.date.fromisoformat(payload)
    if tag == "$time":
        return dt.time.fromisoformat(payload)
    if tag == "$timedelta":
        days, seconds, micros = payload
        return dt.timedelta(days=days, seconds=seconds, microseconds=micros)
    if tag == "$uuid":
        return uuid.UUID(payload)
    if tag == "$decimal":
        return Decimal(payload)
    if tag == "$path":
        return import_qualified(tree["class"])(payload)
    raise SerializationError(f"unknown tag {tag!r} in artifact (written by a newer Loopline?)")


# --------------------------------------------------------------------------------------------
# User types


class _UserCodec(Codec):
    def __init__(
        self,
        cls: type,
        serialize: Callable[[Any], bytes],
        deserialize: Callable[[bytes], Any],
        summary: Callable[[Any], dict[str, JSON]] | None,
    ) -> None:
        self.cls = cls
        self.name = "user:" + qualified_name(cls)
        self._serialize = serialize
        self._deserialize = deserialize
        self._summary = summary

    def handles(self, value: Any) -> bool:
        return isinstance(value, self.cls)

    def encode(self, value: Any) -> Blob:
        data = self._serialize(value)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise SerializationError(
                f"the serializer registered for {self.cls.__qualname__} returned "
                f"{type(data).__qualname__}; it must return bytes"
            )
        return Blob(self.name, {}, [data])

    def decode(self, meta: dict[str, JSON], reader: BlobReader, nbytes: int) -> Any:
        return self._deserialize(read_exactly(reader, nbytes))

    def summary(self, value: Any) -> dict[str, JSON]:
        if self._summary is None:
            return super().summary(value)
        return {"kind": "custom", "type": qualified_name(type(value)), **self._summary(value)}


def register_type(
    cls: type,
    *,
    serialize: Callable[[Any], bytes],
    deserialize: Callable[[bytes], Any],
    summary: Callable[[Any], dict[str, JSON]] | None = None,
    registry: CodecRegistry = REGISTRY,
) -> None:
    """Teach Loopline to store values of `cls` (and its subclasses).

    `serialize(value) -> bytes` and `deserialize(bytes) -> value` must round-trip, and the same
    value must always give the same bytes (the artifact id is their hash). `summary(value)` returns
    a small JSON dict the dashboard shows, e.g. `{"text": "...", "size": 3}`.
    """
    registry.add(_UserCodec(cls, serialize, deserialize, summary))
