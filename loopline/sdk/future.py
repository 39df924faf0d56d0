"""Futures: the lazy nodes of a pipeline graph, returned by calling a func.

A `Future` stands for one func call. Indexing, unpacking or reading a dataclass field of a
Future gives a `Projection`: a view of part of the output that can be passed on as an input.
Anything that would need the value itself (`if future:`, arithmetic, `len`) raises
`UnsupportedFutureOperation` with the way to write it instead.
"""

from __future__ import annotations

import dataclasses
import typing
import uuid
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, get_args, get_origin

from loopline.core.types import Deferred, TypeMismatch, _dataclass_hints, check_value, type_name
from loopline.errors import (
    LooplineDeprecationWarning,
    OptionTypeError,
    UnsupportedFutureOperation,
    UsageError,
)
from loopline.sdk.context import note_created
from loopline.sdk.resources import ResourceRequirements, RetrySettings

if TYPE_CHECKING:
    from loopline.sdk.function import Function

R = TypeVar("R")


@dataclasses.dataclass(frozen=True)
class FutureProps:
    """How one call runs; defaults come from the func's decorator, `.set()` overrides them."""

    name: str
    tags: tuple[str, ...] = ()
    cache: bool = False
    retry: RetrySettings | None = None
    resources: ResourceRequirements | None = None
    timeout_mins: float | None = None
    standalone: bool = False


def _unsupported(what: str, hint: str) -> UnsupportedFutureOperation:
    return UnsupportedFutureOperation(
        f"{what} is not possible on a Future: its value is only known once the pipeline runs. {hint}"
    )


_MOVE_INTO_FUNC = (
    "Do this inside a @loopline.func that takes the future as an input; there it is a plain value "
    "(and that func may itself return other funcs' futures)."
)


_OWN_ATTRIBUTES = frozenset({"id", "function", "kwargs", "props", "source", "key"})


class AbstractFuture(Deferred, Generic[R]):
    """What Futures and Projections share: their declared type and the forbidden operations."""

    __slots__ = ()

    @property
    def declared_type(self) -> Any:
        raise NotImplementedError

    def _describe(self) -> str:
        raise NotImplementedError

    def _describe_short(self) -> str:
        raise NotImplementedError

    # -- views of part of the output ---------------------------------------------------------

    def __getitem__(self, key: Any) -> Projection[Any]:
        return Projection(self, ("item", key), _item_type(self, key))

    def __getattr__(self, name: str) -> Projection[Any]:
        # Only called for missing attributes; slots not yet set (during unpickling) are missing too.
        if name.startswith("_") or name in _OWN_ATTRIBUTES:
            raise AttributeError(name)
        return Projection(self, ("attr", name), _attr_type(self, name))

    def __iter__(self) -> Iterator[Projection[Any]]:
        declared = self.declared_type
        args = get_args(declared)
        if get_origin(declared) is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            return iter([self[i] for i in range(len(args) if args != ((),) else 0)])
        raise _unsupported(
            f"iterating over {self._describe()}",
            "Its length is not known while the pipeline is built. Iterate inside a func that "
            "takes it as an input, or return a fixed-size Tuple[...] to unpack it.",
        )

    # -- operations that need the value --------------------------------------------------------

    def __bool__(self) -> bool:
        raise _unsupported(f"using {self._describe()} as a condition (if/while/and/or)", _MOVE_INTO_FUNC)

    def __len__(self) -> int:
        raise _unsupported(f"len() of {self._describe()}", _MOVE_INTO_FUNC)

    def __contains__(self, item: Any) -> bool:
        raise _unsupported(f"`in` on {self._describe()}", _MOVE_INTO_FUNC)

    def __float__(self) -> float:
        raise _unsupported(f"float() of {self._describe()}", _MOVE_INTO_FUNC)

    def __int__(self) -> int:
        raise _unsupported(f"int() of {self._describe()}", _MOVE_INTO_FUNC)

    def __index__(self) -> int:
        raise _unsupported(f"using {self._describe()} as an index", _MOVE_INTO_FUNC)

    def __setitem__(self, key: Any, value: Any) -> None:
        raise _unsupported(f"assigning into {self._describe()}", "Futures are immutable; " + _MOVE_INTO_FUNC)


def _arithmetic(symbol: str) -> Any:
    def operation(self: AbstractFuture[Any], *_: Any) -> Any:
        raise _unsupported(f"`{symbol}` on {self._describe()}", _MOVE_INTO_FUNC)

    return operation


for _name, _symbol in {
    "add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%", "pow": "**",
    "matmul": "@", "and": "&", "or": "|", "xor": "^", "lshift": "<<", "rshift": ">>",
}.items():  # fmt: skip
    setattr(AbstractFuture, f"__{_name}__", _arithmetic(_symbol))
    setattr(AbstractFuture, f"__r{_name}__", _arithmetic(_symbol))
for _name, _symbol in {
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "neg": "-",
    "pos": "+",
    "abs": "abs()",
    "invert": "~",
}.items():
    setattr(AbstractFuture, f"__{_name}__", _arithmetic(_symbol))


def _item_type(future: AbstractFuture[Any], key: Any) -> Any:
    declared = typing_strip(future.declared_type)
    origin, args = get_origin(declared), get_args(declared)
    if declared is Any:
        return Any
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        if not isinstance(key, int) or not -len(args) <= key < len(args):
            raise UsageError(f"index {key!r} is out of range for {future._describe()} ({len(args)} items)")
        return args[key]
    if origin is list:
        if not isinstance(key, int):
            raise UsageError(f"{future._describe()} can only be indexed with an int, not {key!r}")
        return args[0] if args else Any
    if origin is dict:
        key_type, value_type = args or (Any, Any)
        try:
            check_value(key, key_type)
        except TypeMismatch as exc:
            raise UsageError(f"key {key!r} does not fit {future._describe()}: {exc}") from None
        return value_type
    raise _unsupported(
        f"indexing {future._describe()}",
        "Only Tuple, List and Dict outputs can be indexed while building a pipeline.",
    )


def _attr_type(future: AbstractFuture[Any], name: str) -> Any:
    declared = typing_strip(future.declared_type)
    if declared is Any:
        return Any
    if isinstance(declared, type) and dataclasses.is_dataclass(declared):
        fields = {f.name for f in dataclasses.fields(declared)}
        if name in fields:
            return _dataclass_hints(declared).get(name, Any)
        raise AttributeError(
            f"{future._describe()} has no field {name!r}; its fields are: {', '.join(sorted(fields))}"
        )
    raise AttributeError(
        f"{future._describe()} has no attribute {name!r}: attributes of a Future are only available "
        "for dataclass outputs. " + _MOVE_INTO_FUNC
    )


def typing_strip(annotation: Any) -> Any:
    if get_origin(annotation) is typing.Annotated:
        return get_args(annotation)[0]
    return annotation


class Projection(AbstractFuture[R]):
    """Part of another future's value: `future[0]`, `future["key"]` or `future.field`."""

    __slots__ = ("_declared", "key", "source")
    source: AbstractFuture[Any]
    key: tuple[str, Any]
    _declared: Any

    def __init__(self, source: AbstractFuture[Any], key: tuple[str, Any], declared: Any) -> None:
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "_declared", declared)

    @property
    def declared_type(self) -> Any:
        return self._declared

    def root(self) -> Future[Any]:
        node: AbstractFuture[Any] = self
        while isinstance(node, Projection):
            node = node.source
        assert isinstance(node, Future)
        return node

    def apply(self, value: Any) -> Any:
        kind, key = self.key
        return getattr(value, key) if kind == "attr" else value[key]

    def _describe(self) -> str:
        kind, key = self.key
        suffix = f".{key}" if kind == "attr" else f"[{key!r}]"
        return f"the Future {self.source._describe_short()}{suffix}"

    def _describe_short(self) -> str:
        kind, key = self.key
        return self.source._describe_short() + (f".{key}" if kind == "attr" else f"[{key!r}]")

    def __getstate__(self) -> dict[str, Any]:
        return {"source": self.source, "key": self.key, "_declared": self._declared}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)

    def __repr__(self) -> str:
        return f"<Projection {self._describe_short()}: {type_name(self._declared)}>"


class Future(AbstractFuture[R]):
    """One call of a func, not yet executed. Pass it to other funcs, or to `runner.run()`."""

    __slots__ = ("function", "id", "kwargs", "props")
    id: str
    function: Function[..., R]
    kwargs: dict[str, Any]
    props: FutureProps

    def __init__(self, function: Function[..., R], kwargs: dict[str, Any], props: FutureProps) -> None:
        object.__setattr__(self, "id", uuid.uuid4().hex)
        object.__setattr__(self, "function", function)
        object.__setattr__(self, "kwargs", kwargs)
        object.__setattr__(self, "props", props)
        note_created(self)

    @property
    def declared_type(self) -> Any:
        return self.function.output_type

    def _describe(self) -> str:
        return f"the Future of {self.function.name}() (a {type_name(self.declared_type)})"

    def _describe_short(self) -> str:
        return f"{self.function.name}()"

    def __getstate__(self) -> dict[str, Any]:
        return {"id": self.id, "function": self.function, "kwargs": self.kwargs, "props": self.props}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Futures are immutable; use .set({name}=...) to change how this call runs")

    def __repr__(self) -> str:
        return f"<Future {self.props.name} id={self.id[:8]}: {type_name(self.declared_type)}>"

    def set(
        self,
        *,
        name: str | None = None,
        tags: list[str] | tuple[str, ...] | None = None,
        cache: bool | None = None,
        retry: RetrySettings | None = None,
        resources: ResourceRequirements | None = None,
        timeout_mins: float | None = None,
        standalone: bool | None = None,
        resource_requirements: ResourceRequirements | None = None,
        inline: bool | None = None,
        base_image_tag: str | None = None,
    ) -> Future[R]:
        """Change how this call runs (its display name, tags, caching, retries, resources,
        timeout). Returns the future, so calls chain: `train(cfg).set(name="train", cache=True)`.

        `resource_requirements=` and `inline=` are Sematic's spellings and keep working.
        """
        changes: dict[str, Any] = {}
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise UsageError(f".set(name=...) must be a non-empty string, got {name!r}")
            changes["name"] = name
        if tags is not None:
            if isinstance(tags, str) or not all(isinstance(t, str) for t in tags):
                raise OptionTypeError(f".set(tags=...) must be a list of strings, got {tags!r}")
            changes["tags"] = tuple(dict.fromkeys(tags))
        if cache is not None:
            changes["cache"] = _expect_bool("cache", cache)
        if retry is not None:
            changes["retry"] = _expect(retry, RetrySettings, "retry")
        resources = resources if resources is not None else resource_requirements
        if resources is not None:
            changes["resources"] = _expect(resources, ResourceRequirements, "resources")
        if timeout_mins is not None:
            changes["timeout_mins"] = _check_timeout(timeout_mins)
        if inline is not None:
            warnings.warn(
                ".set(inline=...) is Sematic's spelling; use .set(standalone=not inline)",
                LooplineDeprecationWarning,
                stacklevel=2,
            )
            standalone = not inline
        if standalone is not None:
            changes["standalone"] = _expect_bool("standalone", standalone)
        object.__setattr__(self, "props", dataclasses.replace(self.props, **changes))
        return self

    def resolve(self, tracking: bool = True) -> R:
        """Sematic's way to run a pipeline; use `LocalRunner().run(future)` instead."""
        warnings.warn(
            "Future.resolve() is deprecated; use loopline.LocalRunner().run(future) "
            "(or SilentRunner() for tracking=False)",
            LooplineDeprecationWarning,
            stacklevel=2,
        )
        # A compatibility shim at the SDK's edge: the runners live in a higher layer.
        from loopline.engine.local import LocalRunner
        from loopline.engine.silent import SilentRunner

        runner = LocalRunner() if tracking else SilentRunner()
        return cast(R, runner.run(self))


def _expect(value: Any, cls: type, option: str) -> Any:
    if not isinstance(value, cls):
        raise OptionTypeError(f"{option}=... must be a {cls.__name__}, got {value!r}")
    return value


def _expect_bool(option: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise OptionTypeError(f"{option}=... must be True or False, got {value!r}")
    return value


def _check_timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise UsageError(f"timeout_mins=... must be a positive number of minutes, got {value!r}")
    return float(value)
