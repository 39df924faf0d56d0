"""Runtime type checks and casts for the values that flow between funcs.

`check_value(value, annotation)` returns the value, cast where a cast is lossless and expected
(`int` for a `float` parameter), or raises `TypeMismatch` describing where inside the value the
mismatch is. Values that are not known yet (`Deferred`, which the SDK's `Future` implements) are
checked by their declared type instead of their value.

Given a `Conversions` record, it also converts the way Sematic did, and records each kind of
conversion so that the run's log can say so once: a tuple, set or array where a `List` is
declared, a list for a `Tuple`, a mapping for a `Dict`, a float that is a whole number for an
`int`, a dict for a dataclass (and its fields), an array for a pandas `Series` or a `DataFrame`,
a `Series` for a `DataFrame`, a list for a numpy array, a str for a `Path`. Where Sematic lost
data without a word (`int(3.7)` is 3, `float("3.14")` parses text), Loopline refuses and says
what to write instead.

Packages that bring values standing for data kept elsewhere (`loopline.data`'s table sources)
register a `ValueAdapter`: it checks (and snapshots) them for the annotations it knows, and
`open_arguments` hands them to a func's body in the form each parameter's annotation asks for.
"""

from __future__ import annotations

import copy
import dataclasses
import enum
import numbers
import types
import typing
from abc import ABC, abstractmethod
from collections import abc
from pathlib import PurePath
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


class Conversions:
    """The Sematic-style conversions one check made, by kind (`"tuple to List[int]"`), with
    where they happened. Passing one to `check_value` allows them; without one it refuses them."""

    def __init__(self) -> None:
        self.made: dict[str, list[str]] = {}

    def add(self, value: Any, target: Any, path: str) -> None:
        kind = f"{_value_kind(value)} to {type_name(target)}"
        self.made.setdefault(kind, []).append(path)

    def __bool__(self) -> bool:
        return bool(self.made)

    def describe(self) -> tuple[str, ...]:
        """Each kind of conversion, counted, with where (at most three places)."""
        parts = []
        for kind, paths in self.made.items():
            count = f"{len(paths)} values" if len(paths) > 1 else "a value"
            places = [p for p in paths if p][:3]
            where = f" (at {', '.join(places)}{', ...' if len(paths) > 3 else ''})" if places else ""
            parts.append(f"{count}: {kind}{where}")
        return tuple(parts)

    def note(self, subject: str) -> str:
        """One line for the run's log: `subject` (e.g. "train() returned") and what converted."""
        return conversion_note(subject, self.describe())


def conversion_note(subject: str, conversions: tuple[str, ...]) -> str:
    return (
        f"loopline: {subject} values that Loopline converted, as Sematic did: {'; '.join(conversions)} "
        "(@func(strict_types=True) or LOOPLINE_STRICT_TYPES=1 refuses them)"
    )


def _value_kind(value: Any) -> str:
    cls = type(value)
    return (
        cls.__qualname__
        if cls.__module__ == "builtins"
        else f"{cls.__module__.split('.')[0]}.{cls.__qualname__}"
    )


def strip_annotated(annotation: Any) -> Any:
    if get_origin(annotation) is typing.Annotated:
        return get_args(annotation)[0]
    return annotation


class ValueAdapter(ABC):
    """Values that stand for data kept elsewhere, and the annotations that accept them.

    A warehouse table (`loopline.data`) is one: passed to a func, it is checked and snapshotted
    by `check` when the func is called; its snapshot is what gets stored and cached; and `open`
    hands it to the body in the form the parameter's annotation asks for (a pandas DataFrame,
    an Arrow table, an iterator of batches). The core knows no such library: a package
    registers its adapter with `register_adapter` when it is imported.
    """

    @abstractmethod
    def check(self, value: Any, annotation: Any, path: str) -> Any:
        """The value to pass along (e.g. a snapshot), NOT_ADAPTED when neither the value nor
        the annotation is this adapter's, or TypeMismatch."""

    @abstractmethod
    def may_satisfy(self, declared: Any, expected: Any) -> bool:
        """Whether a Future declared as `declared` may become a value for `expected`."""

    @abstractmethod
    def open(self, value: Any, annotation: Any) -> Any:
        """`value` in the form `annotation` asks for (the value itself when it is not one of
        this adapter's)."""


NOT_ADAPTED: Any = object()
_ADAPTERS: list[ValueAdapter] = []


def register_adapter(adapter: ValueAdapter) -> None:
    if all(type(known) is not type(adapter) for known in _ADAPTERS):
        _ADAPTERS.append(adapter)


class ParameterMismatch(TypeMismatch):
    """A TypeMismatch found while handing the argument of `parameter` to a func's body."""

    def __init__(self, parameter: str, mismatch: TypeMismatch) -> None:
        self.parameter = parameter
        super().__init__(mismatch.path, mismatch.expected, mismatch.value, mismatch.detail)


def open_arguments(kwargs: dict[str, Any], hints: dict[str, Any]) -> dict[str, Any]:
    """The arguments as a func body receives them: each in the form its annotation asks for
    (ParameterMismatch when a value turns out not to fit, e.g. a table's declared schema)."""
    if not _ADAPTERS:
        return kwargs
    opened = {}
    for name, value in kwargs.items():
        for adapter in _ADAPTERS:
            try:
                value = adapter.open(value, hints.get(name, Any))
            except TypeMismatch as mismatch:
                raise ParameterMismatch(name, mismatch) from None
        opened[name] = value
    return opened


def check_value(value: Any, annotation: Any, path: str = "", conversions: Conversions | None = None) -> Any:
    """Return `value` (cast if needed) when it matches `annotation`, else raise TypeMismatch.

    With `conversions`, Sematic's conversions are made too (and recorded there)."""
    if _ADAPTERS and not (type(annotation) is type and annotation.__module__ == "builtins"):
        for adapter in _ADAPTERS:  # builtins are no adapter's: skipped, they are hot
            converted = adapter.check(value, annotation, path)
            if converted is not NOT_ADAPTED:
                return converted
    annotation = strip_annotated(annotation)
    if annotation is Any or isinstance(annotation, typing.TypeVar):
        return value
    if isinstance(value, Deferred):
        _check_declared(value.declared_type, annotation, path, value, conversions is not None)
        return value
    if annotation is None or annotation is type(None):
        if value is None:
            return None
        raise TypeMismatch(path, annotation, value)
    origin = get_origin(annotation)
    if origin is None:
        return _check_class(value, annotation, path, conversions)
    if origin in (Union, types.UnionType):
        return _check_union(value, annotation, path, conversions)
    if origin is Literal:
        if any(value == option and type(value) is type(option) for option in get_args(annotation)):
            return value
        raise TypeMismatch(path, annotation, value)
    if origin in _SEQUENCE_TYPES:
        return _check_sequence(value, annotation, path, _SEQUENCE_TYPES[origin], conversions)
    if origin is tuple:
        return _check_tuple(value, annotation, path, conversions)
    if origin in (dict, abc.Mapping, abc.MutableMapping):
        return _check_dict(value, annotation, path, conversions)
    if origin in (set, frozenset, abc.Set, abc.MutableSet):
        return _check_set(value, annotation, path, conversions)
    if isinstance(origin, type):
        if isinstance(value, origin):
            return value
        raise TypeMismatch(path, annotation, value)
    return value  # an exotic typing construct: accept rather than block a valid pipeline


def _check_class(value: Any, cls: Any, path: str, conversions: Conversions | None) -> Any:
    if not isinstance(cls, type):
        return value  # e.g. a NewType or forward reference we cannot evaluate
    if cls is float:
        if isinstance(value, float):
            return value
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return _to_float(value, path)
        raise TypeMismatch(path, cls, value, _TEXT_IS_NOT_A_NUMBER if isinstance(value, str) else "")
    if cls is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and conversions is not None:
            return _whole_number(value, path, conversions)
        raise TypeMismatch(path, cls, value, _TEXT_IS_NOT_A_NUMBER if isinstance(value, str) else "")
    if not isinstance(value, cls):
        converted = _NOT_ADAPTED if conversions is None else _convert(value, cls, path, conversions)
        if converted is _NOT_ADAPTED:
            raise TypeMismatch(path, cls, value)
        return converted
    if dataclasses.is_dataclass(value):
        return _check_dataclass_fields(value, path, conversions)
    return value


_TEXT_IS_NOT_A_NUMBER = (
    "text is not read as a number (Sematic did): convert it where it is read, e.g. float(text)"
)
_NOT_ADAPTED = object()


def _whole_number(value: Any, path: str, conversions: Conversions) -> int:
    """A float that is a whole number, as an int; any other refused (Sematic truncated it)."""
    try:
        whole = float(value).is_integer()
    except (OverflowError, ValueError):
        whole = False
    if not whole:
        raise TypeMismatch(
            path, int, value, "not a whole number; pass round(value) or int(value) to choose how to round"
        )
    conversions.add(value, int, path)
    return int(value)


def _convert(value: Any, cls: type, path: str, conversions: Conversions) -> Any:
    """`value` as an instance of `cls` by one of Sematic's conversions (recorded), or
    _NOT_ADAPTED."""
    converted = _construct(value, cls, path, conversions)
    if converted is not _NOT_ADAPTED:
        conversions.add(value, cls, path)
    return converted


def _construct(value: Any, cls: type, path: str, conversions: Conversions) -> Any:
    if dataclasses.is_dataclass(cls) and isinstance(value, abc.Mapping):
        return _dataclass_from_mapping(value, cls, path, conversions)
    if issubclass(cls, PurePath) and isinstance(value, str):
        return cls(value)
    target = f"{cls.__module__.split('.')[0]}.{cls.__qualname__}"
    source = f"{type(value).__module__.split('.')[0]}.{type(value).__qualname__}"
    if target == "pandas.Series" and (
        (source == "numpy.ndarray" and value.ndim == 1) or isinstance(value, (list, tuple))
    ):
        return cls(value)
    if target == "pandas.DataFrame":
        if source == "pandas.Series":
            return value.to_frame()
        if source == "numpy.ndarray" and value.ndim == 2:
            return cls(value)
    if target == "numpy.ndarray" and (
        isinstance(value, (list, tuple)) or source in ("pandas.Series", "pandas.DataFrame")
    ):
        import numpy  # only reached for a numpy annotation, so numpy is installed

        return numpy.asarray(value)
    return _NOT_ADAPTED


def _dataclass_from_mapping(
    value: abc.Mapping[Any, Any], cls: type, path: str, conversions: Conversions
) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in value if k not in fields]
    missing = [
        name
        for name, f in fields.items()
        if name not in value and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if unknown or missing:
        problems = ([f"unknown keys {unknown}"] if unknown else []) + (
            [f"missing keys {missing}"] if missing else []
        )
        raise TypeMismatch(path, cls, value, "; ".join(problems))
    hints = _dataclass_hints(cls)
    kwargs = {
        name: check_value(item, hints.get(name, Any), f"{path}.{name}", conversions)
        for name, item in value.items()
    }
    return cls(**kwargs)


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


def _check_dataclass_fields(value: Any, path: str, conversions: Conversions | None) -> Any:
    """Dataclasses do not enforce their annotations; funcs do. Casts are written back into a copy
    only with `conversions` (Sematic's behaviour): otherwise the value is returned unchanged."""
    hints = _dataclass_hints(type(value))
    changed = {}
    for field in dataclasses.fields(value):
        item = getattr(value, field.name)
        checked = check_value(item, hints.get(field.name, Any), f"{path}.{field.name}", conversions)
        if checked is not item and conversions is not None:
            changed[field.name] = checked
    if not changed:
        return value
    clone = copy.copy(value)
    for name, item in changed.items():
        object.__setattr__(clone, name, item)
    return clone


def _dataclass_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001 - unresolvable forward references: skip field checks
        return {}


def _check_union(value: Any, annotation: Any, path: str, conversions: Conversions | None) -> Any:
    options = get_args(annotation)
    # An exact isinstance match wins over a cast (Union[int, float] keeps an int an int), and a
    # match without Sematic's conversions over one that needs them.
    for option in options:
        plain = strip_annotated(option)
        if isinstance(plain, type) and get_origin(plain) is None and type(value) is plain:
            return value
    for allowed in (None, conversions) if conversions is not None else (None,):
        for option in options:
            try:
                return check_value(value, option, path, allowed)
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


def _is_collection(value: Any) -> bool:
    """Iterable more than once, and not text, bytes or a mapping (which Sematic's casts took)."""
    return (
        isinstance(value, abc.Collection) or type(value).__module__.split(".")[0] in ("numpy", "pandas")
    ) and not isinstance(value, (str, bytes, bytearray, abc.Mapping))


def _check_sequence(
    value: Any, annotation: Any, path: str, accepted: tuple[type, ...], conversions: Conversions | None
) -> Any:
    if not isinstance(value, accepted):
        if conversions is None or not _is_collection(value):
            raise TypeMismatch(path, annotation, value)
        conversions.add(value, annotation, path)
        value = list(value)
    if isinstance(value, (set, frozenset)):
        return _check_set(value, annotation, path, conversions)
    (item_type,) = get_args(annotation) or (Any,)
    if item_type is Any:
        return value
    items: list[Any] | tuple[Any, ...] = cast("list[Any] | tuple[Any, ...]", value)
    checked = [check_value(item, item_type, f"{path}[{i}]", conversions) for i, item in enumerate(items)]
    return value if _same_items(checked, items) else type(items)(checked)


def _check_tuple(value: Any, annotation: Any, path: str, conversions: Conversions | None) -> Any:
    if not isinstance(value, tuple):
        if conversions is None or not _is_collection(value) or isinstance(value, (set, frozenset)):
            raise TypeMismatch(path, annotation, value)
        conversions.add(value, annotation, path)
        value = tuple(value)
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
        check_value(item, item_type, f"{path}[{i}]", conversions)
        for i, (item, item_type) in enumerate(zip(value, item_types))
    )
    return value if _same_items(checked, value) else checked


_EMPTY_TUPLE = (tuple[()], typing.Tuple[()])  # noqa: UP006 - both spellings: their args are (), as for a bare Tuple


def _check_dict(value: Any, annotation: Any, path: str, conversions: Conversions | None) -> Any:
    if not isinstance(value, dict):
        if conversions is None or not isinstance(value, abc.Mapping):
            raise TypeMismatch(path, annotation, value)
        conversions.add(value, annotation, path)
        value = dict(value)
    args = get_args(annotation)
    if not args:
        return value
    key_type, value_type = args
    changed = False
    out = {}
    for key, item in value.items():
        new_key = check_value(key, key_type, f"{path}<key {key!r}>", conversions)
        new_item = check_value(item, value_type, f"{path}[{key!r}]", conversions)
        changed = changed or new_key is not key or new_item is not item
        out[new_key] = new_item
    return out if changed else value


def _check_set(value: Any, annotation: Any, path: str, conversions: Conversions | None) -> Any:
    if not isinstance(value, (set, frozenset)):
        if conversions is None or not _is_collection(value):
            raise TypeMismatch(path, annotation, value)
        conversions.add(value, annotation, path)
        value = set(value)
    (item_type,) = get_args(annotation) or (Any,)
    checked = [check_value(item, item_type, f"{path}{{{item!r}}}", conversions) for item in value]
    if all(new is old for new, old in zip(checked, value)):
        return value
    return type(value)(checked)


def _same_items(new: Any, old: Any) -> bool:
    return all(a is b for a, b in zip(new, old))


def _check_declared(declared: Any, expected: Any, path: str, value: Any, lenient: bool) -> None:
    """Reject a Future only when its declared type can never satisfy `expected` (`lenient`: not
    even by Sematic's conversions)."""
    if not _may_satisfy(declared, expected, lenient):
        raise TypeMismatch(path, expected, value)


# The declared types Sematic let a future of one type feed a parameter of another type.
_LENIENT_FEEDS = {
    int: (float,),
    float: (int,),
    list: (tuple, set, frozenset),
    tuple: (list,),
    set: (list, tuple, frozenset),
    dict: (abc.Mapping,),
}


def _may_satisfy(declared: Any, expected: Any, lenient: bool = False) -> bool:
    if any(adapter.may_satisfy(declared, expected) for adapter in _ADAPTERS):
        return True
    declared, expected = strip_annotated(declared), strip_annotated(expected)
    if declared is Any or expected is Any or declared == expected:
        return True
    if isinstance(declared, typing.TypeVar) or isinstance(expected, typing.TypeVar):
        return True
    expected_origin = get_origin(expected)
    if expected_origin in (Union, types.UnionType):
        return any(_may_satisfy(declared, option, lenient) for option in get_args(expected))
    declared_origin = get_origin(declared)
    if declared_origin in (Union, types.UnionType):
        return any(_may_satisfy(option, expected, lenient) for option in get_args(declared))
    declared_cls = _runtime_class(declared)
    expected_cls = _runtime_class(expected)
    if declared_cls is None or expected_cls is None:
        return True
    if expected_cls is float and declared_cls is int:
        return True
    if lenient and any(issubclass(declared_cls, feed) for feed in _LENIENT_FEEDS.get(expected_cls, ())):
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
