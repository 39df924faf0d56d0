"""Records as JSON and back, driven by their type hints: what travels between a client and a
Loopline server (`loopline.storage.rpc`).

    data = to_wire(run)                      # plain JSON: dicts, lists, strings, numbers
    run = from_wire(RunRecord, data)         # the same frozen dataclass again

Handles what the stores' records are made of: `None`, bool, int, float (NaN and infinities
too), str, bytes, datetimes, enums, dataclasses, tuples, lists, sets, mappings, `Optional` and
unions, `Literal`, and `Any`. Datetimes, bytes and non-finite floats are tagged
(`{"$datetime": "..."}`), so they come back as themselves even inside an `Any` value. A value that does not
fit its type raises `WireError` naming the path to it, so a malformed request is refused with a
message, never half-applied.
"""

from __future__ import annotations

import base64
import collections.abc as cabc
import dataclasses
import datetime as dt
import enum
import math
import types
import typing
from functools import cache
from typing import Any

from loopline.errors import LooplineError

JSON = Any


class WireError(LooplineError, ValueError):
    """A JSON value does not fit the type it is read as."""


def to_wire(value: Any) -> JSON:
    """`value` as plain JSON (see the module's docstring for what is supported)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, enum.Enum):
        return to_wire(value.value)
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_wire(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, cabc.Mapping):
        return {str(key.value if isinstance(key, enum.Enum) else key): to_wire(v) for key, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return [to_wire(v) for v in sorted(value, key=repr)]
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    raise WireError(f"cannot send a {type(value).__qualname__} to or from a Loopline server")


def from_wire(tp: Any, data: JSON, path: str = "value") -> Any:
    """The value of type `tp` that `data` (from `to_wire`) stands for."""
    if tp is Any or tp is object or isinstance(tp, typing.TypeVar):
        return _revived(data)
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return _union(typing.get_args(tp), data, path)
    if origin is typing.Literal:
        if data not in typing.get_args(tp):
            raise WireError(f"{path}: {data!r} is not one of {typing.get_args(tp)!r}")
        return data
    if tp is type(None):
        if data is not None:
            raise WireError(f"{path}: expected null, got {data!r}")
        return None
    if origin is not None:
        return _generic(origin, typing.get_args(tp), data, path)
    if isinstance(tp, type):
        return _plain(tp, data, path)
    raise WireError(f"{path}: cannot read a value of type {tp!r}")


def _plain(tp: type, data: JSON, path: str) -> Any:
    if dataclasses.is_dataclass(tp):
        if not isinstance(data, dict):
            raise WireError(f"{path}: expected an object for {tp.__qualname__}, got {type(data).__name__}")
        hints = _hints(tp)
        unknown = set(data) - set(hints)
        if unknown:
            raise WireError(f"{path}: {tp.__qualname__} has no field(s) {', '.join(sorted(unknown))}")
        try:
            return tp(**{name: from_wire(hints[name], v, f"{path}.{name}") for name, v in data.items()})
        except TypeError as error:  # a required field is missing
            raise WireError(f"{path}: {error}") from None
    if issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError:
            raise WireError(f"{path}: {data!r} is not a {tp.__qualname__}") from None
    if tp is bool:
        if not isinstance(data, bool):
            raise WireError(f"{path}: expected true or false, got {data!r}")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise WireError(f"{path}: expected an integer, got {data!r}")
        return data
    if tp is float:
        if isinstance(data, dict) and set(data) == {"$float"}:
            return float(data["$float"])
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise WireError(f"{path}: expected a number, got {data!r}")
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise WireError(f"{path}: expected a string, got {data!r}")
        return data
    if tp is bytes:
        if not (isinstance(data, dict) and set(data) == {"$bytes"}):
            raise WireError(f"{path}: expected bytes, got {data!r}")
        return base64.b64decode(data["$bytes"])
    if tp is dt.datetime:
        text = data.get("$datetime") if isinstance(data, dict) and len(data) == 1 else data
        if not isinstance(text, str):
            raise WireError(f"{path}: expected a date and time, got {data!r}")
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            raise WireError(f"{path}: {text!r} is not an ISO 8601 date and time") from None
    if tp in (dict, list, tuple, set, frozenset):
        return _generic(tp, (), data, path)
    raise WireError(f"{path}: cannot read a value of type {tp.__qualname__}")


def _revived(data: JSON) -> Any:
    """A value of unknown type (an `Any` field): dates, bytes and odd floats come back as such."""
    if isinstance(data, dict):
        if len(data) == 1:
            ((key, value),) = data.items()
            if key == "$datetime" and isinstance(value, str):
                return dt.datetime.fromisoformat(value)
            if key == "$bytes" and isinstance(value, str):
                return base64.b64decode(value)
            if key == "$float" and isinstance(value, str):
                return float(value)
        return {k: _revived(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_revived(v) for v in data]
    return data


def _generic(origin: Any, args: tuple[Any, ...], data: JSON, path: str) -> Any:
    if origin in (dict, cabc.Mapping, cabc.MutableMapping):
        if not isinstance(data, dict):
            raise WireError(f"{path}: expected an object, got {type(data).__name__}")
        key_type, value_type = args or (str, Any)
        return {_key(key_type, k, path): from_wire(value_type, v, f"{path}[{k!r}]") for k, v in data.items()}
    if not isinstance(data, list):
        raise WireError(f"{path}: expected a list, got {type(data).__name__}")
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_wire(args[0], v, f"{path}[{i}]") for i, v in enumerate(data))
        if args and len(args) != len(data):
            raise WireError(f"{path}: expected {len(args)} items, got {len(data)}")
        items = args or (Any,) * len(data)
        return tuple(from_wire(t, v, f"{path}[{i}]") for i, (t, v) in enumerate(zip(items, data)))
    item = args[0] if args else Any
    values = [from_wire(item, v, f"{path}[{i}]") for i, v in enumerate(data)]
    if origin in (set, cabc.Set, cabc.MutableSet):
        return set(values)
    if origin is frozenset:
        return frozenset(values)
    if origin in (list, cabc.MutableSequence):
        return values
    return tuple(values)  # Sequence, Collection, Iterable: an immutable sequence


def _key(key_type: Any, key: str, path: str) -> Any:
    if key_type is int:
        try:
            return int(key)
        except ValueError:
            raise WireError(f"{path}: key {key!r} is not an integer") from None
    return from_wire(key_type, key, f"{path} key")


def _union(options: tuple[Any, ...], data: JSON, path: str) -> Any:
    if data is None:
        if type(None) in options:
            return None
        raise WireError(f"{path}: expected a value, got null")
    candidates = [t for t in options if t is not type(None)]
    records = [t for t in candidates if isinstance(t, type) and dataclasses.is_dataclass(t)]
    if isinstance(data, dict) and len(records) > 1:  # pick the record whose fields these are
        fitting = [t for t in records if set(data) <= set(_hints(t)) and _required(t) <= set(data)]
        if len(fitting) == 1:
            return from_wire(fitting[0], data, path)
    problems = []
    for option in candidates:
        try:
            return from_wire(option, data, path)
        except WireError as error:
            problems.append(str(error))
    raise WireError("; ".join(problems) or f"{path}: {data!r} fits none of {options!r}")


@cache
def _hints(cls: type) -> dict[str, Any]:
    names = _field_names(cls)
    hints = typing.get_type_hints(cls)
    return {name: hints[name] for name in names}


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@cache
def _required(cls: type) -> frozenset[str]:
    return frozenset(
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    )
