"""Runtime type checks and casts for the values that flow between funcs.

`check_value(value, annotation)` returns the value, cast where a cast is lossless and expected
(`int` for a `float` parameter), or raises `TypeMismatch` describing where inside the value the
mismatch is. Values that are not known yet (`Deferred`, which the SDK's `Future` implements) are
checked by their declared type instead of their value.
"""

from __future__ import annotations

import dataclasses
import enum
import numbers
import types
import typing
from collections import abc
from typing import Any, Literal, Union, cast, get_args, get_origin


class Deferred:
    """A value computed later (the SDK's Future). Core only needs its declared type."""

    __slots__ = ()

    @property
    def declared_type(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


class TypeMismatch(Exception):
    """`value` at `path` (e.g. `[2].name`) is not an instance of `expected`."""

    def __init__(self, path: str, expected: Any, value: Any, detail: str = "") -> None:
        self.path = path
        self.expected = expected
        self.value = value
        self.detail = detail
        super().__init__(self.describe())

    def describe(self) -> str:
        where = f" at {self.path}" if self.path else ""
        got = describe_value(self.value)
        extra = f" ({self.detail})" if self.detail else ""
        return f"expected {type_name(self.expected)}{where}, got {got}{extra}"


def type_name(annotation: Any) -> str:
    """A short readable name for an annotation: `List[int]`, `Optional[str]`, `MyClass`."""
    if annotation is None or annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    origin = get_origin(annotation)
    if origin is None:
        if isinstance(annotation, type):
            return annotation.__qualname__
        return repr(annotation).replace("typing.", "")
    args = get_args(annotation)
    if origin in (Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1 and len(args) == 2:
            return f"Optional[{type_name(non_none[0])}]"
        return "Union[" + ", ".join(type_name(a) for a in args) + "]"
    if origin is Literal:
        return "Literal[" + ", ".join(repr(a) for a in args) + "]"
    base = {list: "List", tuple: "Tuple", dict: "Dict", set: "Set", frozenset: "FrozenSet"}.get(
        origin, getattr(origin, "__qualname__", repr(origin))
    )
    if not args:
        return f"{base}[()]" if annotation in _EMPTY_TUPLE else base
    inner = ", ".join("..." if a is Ellipsis else type_name(a) for a in args)
    return f"{base}[{inner}]"


def describe_value(value: Any) -> str:
    """`'abc' (str)`, `3 (int)`, `<ndarray shape=(3, 4)>`: what a user needs to spot a mistake."""
    if isinstance(value, Deferred):
        return f"a Future of {type_name(value.declared_type)}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__qualname__})"


def strip_annotated(annotation: Any) -> Any:
    if get_origin(annotation) is typing.Annotated:
        return get_args(annotation)[0]
    return annotation


def check_value(value: Any, annotation: Any, path: str = "") -> Any:
    """Return `value` (cast if needed) when it matches `annotation`, else raise TypeMismatch."""
    annotation = strip_annotated(annotation)
    if annotation is Any or isinstance(annotation, typing.TypeVar):
        return value
    if isinstance(value, Deferred):
        _check_declared(value.declared_type, annotation, path, value)
        return value
    if annotation is None or annotation is type(None):
        if value is None:
            return None
        raise TypeMismatch(path, annotation, value)
    origin = get_origin(annotation)
    if origin is None:
        return _check_class(value, annotation, path)
    if origin in (Union, types.UnionType):
        return _check_union(value, annotation, path)
    if origin is Literal:
        if any(value == option and type(value) is type(option) for option in get_args(annotation)):
            return value
        raise TypeMismatch(path, annotation, value)
    if origin in _SEQUENCE_TYPES:
        return _check_sequence(value, annotation, path, _SEQUENCE_TYPES[origin])
    if origin is tuple:
        return _check_tuple(value, annotation, path)
    if origin in (dict, abc.Mapping, abc.MutableMapping):
        return _check_dict(value, annotation, path)
    if origin in (set, frozenset, abc.Set, abc.MutableSet):
        return _check_set(value, annotation, path)
    if isinstance(origin, type):
        if isinstance(value, origin):
            return value
        raise TypeMismatch(path, annotation, value)
    return value  # an exotic typing construct: accept rather than block a valid pipeline


def _check_class(value: Any, cls: Any, path: str) -> Any:
    if not isinstance(cls, type):
        return value  # e.g. a NewType or forward reference we cannot evaluate
    if cls is float:
        if isinstance(value, float):
            return value
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return _to_float(value, path)
        raise TypeMismatch(path, cls, value)
    if cls is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        raise TypeMismatch(path, cls, value)
    if not isinstance(value, cls):
        raise TypeMismatch(path, cls, value)
    if dataclasses.is_dataclass(value):
        _check_dataclass_fields(value, path)
    return value


def _to_float(value: Any, path: str) -> float:
    """Integers become floats only when no digit is lost (above 2**53 not every int fits)."""
    try:
        result = float(value)
    except OverflowError:
        raise TypeMismatch(path, float, value, "too large for a float") from None
    if isinstance(value, numbers.Integral) and result != value:
        raise TypeMismatch(
            path, float, value, "a float cannot hold it exactly; pass float(value) to round it"
        )
    return result


def _check_dataclass_fields(value: Any, path: str) -> None:
    """Dataclasses do not enforce their annotations; funcs do (casts are not written back)."""
    hints = _dataclass_hints(type(value))
    for field in dataclasses.fields(value):
        check_value(getattr(value, field.name), hints.get(field.name, Any), f"{path}.{field.name}")


def _dataclass_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - unresolvable forward references: skip field checks
        return {}


def _check_union(value: Any, annotation: Any, path: str) -> Any:
    options = get_args(annotation)
    # An exact isinstance match wins over a cast (Union[int, float] keeps an int an int).
    for option in options:
        plain = strip_annotated(option)
        if isinstance(plain, type) and get_origin(plain) is None and type(value) is plain:
            return value
    for option in options:
        try:
            return check_value(value, option, path)
        except TypeMismatch:
            continue
    raise TypeMismatch(path, annotation, value)


# The concrete containers each abstract item-type annotation accepts. Only containers that can
# be iterated twice are accepted (a str is not taken for a Sequence[str]: that is nearly always
# a mistake).
_SEQUENCE_TYPES: dict[Any, tuple[type, ...]] = {
    list: (list,),
    abc.MutableSequence: (list,),
    abc.Sequence: (list, tuple),
    abc.Collection: (list, tuple, set, frozenset),
    abc.Iterable: (list, tuple, set, frozenset),
}


def _check_sequence(value: Any, annotation: Any, path: str, accepted: tuple[type, ...]) -> Any:
    if not isinstance(value, accepted):
        raise TypeMismatch(path, annotation, value)
    if isinstance(value, (set, frozenset)):
        return _check_set(value, annotation, path)
    (item_type,) = get_args(annotation) or (Any,)
    if item_type is Any:
        return value
    items: list[Any] | tuple[Any, ...] = cast("list[Any] | tuple[Any, ...]", value)
    checked = [check_value(item, item_type, f"{path}[{i}]") for i, item in enumerate(items)]
    return value if _same_items(checked, items) else type(items)(checked)


def _check_tuple(value: Any, annotation: Any, path: str) -> Any:
    if not isinstance(value, tuple):
        raise TypeMismatch(path, annotation, value)
    args = get_args(annotation)
    if not args and annotation not in _EMPTY_TUPLE:  # a bare Tuple: any tuple
        return value
    if len(args) == 2 and args[1] is Ellipsis:
        item_types = [args[0]] * len(value)
    else:
        if len(args) != len(value):
            raise TypeMismatch(path, annotation, value, f"{len(value)} items, not {len(args)}")
        item_types = list(args)
    checked = tuple(
        check_value(item, item_type, f"{path}[{i}]")
        for i, (item, item_type) in enumerate(zip(value, item_types))
    )
    return value if _same_items(checked, value) else checked


_EMPTY_TUPLE = (tuple[()], typing.Tuple[()])  # noqa: UP006 - both spellings: their args are (), as for a bare Tuple


def _check_dict(value: Any, annotation: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise TypeMismatch(path, annotation, value)
    args = get_args(annotation)
    if not args:
        return value
    key_type, value_type = args
    changed = False
    out = {}
    for key, item in value.items():
        new_key = check_value(key, key_type, f"{path}<key {key!r}>")
        new_item = check_value(item, value_type, f"{path}[{key!r}]")
        changed = changed or new_key is not key or new_item is not item
        out[new_key] = new_item
    return out if changed else value


def _check_set(value: Any, annotation: Any, path: str) -> Any:
    if not isinstance(value, (set, frozenset)):
        raise TypeMismatch(path, annotation, value)
    (item_type,) = get_args(annotation) or (Any,)
    checked = [check_value(item, item_type, f"{path}{{{item!r}}}") for item in value]
    if all(new is old for new, old in zip(checked, value)):
        return value
    return type(value)(checked)


def _same_items(new: Any, old: Any) -> bool:
    return all(a is b for a, b in zip(new, old))


def _check_declared(declared: Any, expected: Any, path: str, value: Any) -> None:
    """Reject a Future only when its declared type can never satisfy `expected`."""
    if not _may_satisfy(declared, expected):
        raise TypeMismatch(path, expected, value)


def _may_satisfy(declared: Any, expected: Any) -> bool:
    declared, expected = strip_annotated(declared), strip_annotated(expected)
    if declared is Any or expected is Any or declared == expected:
        return True
    if isinstance(declared, typing.TypeVar) or isinstance(expected, typing.TypeVar):
        return True
    expected_origin = get_origin(expected)
    if expected_origin in (Union, types.UnionType):
        return any(_may_satisfy(declared, option) for option in get_args(expected))
    declared_origin = get_origin(declared)
    if declared_origin in (Union, types.UnionType):
        return any(_may_satisfy(option, expected) for option in get_args(declared))
    declared_cls = _runtime_class(declared)
    expected_cls = _runtime_class(expected)
    if declared_cls is None or expected_cls is None:
        return True
    if expected_cls is float and declared_cls is int:
        return True
    return issubclass(declared_cls, expected_cls) or issubclass(expected_cls, declared_cls)


def _runtime_class(annotation: Any) -> type | None:
    if annotation is None:
        return type(None)
    origin = get_origin(annotation)
    candidate = origin if origin is not None else annotation
    if candidate is Literal:
        return None
    return candidate if isinstance(candidate, type) else None


def is_enum_type(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, enum.Enum)
