"""Futures: the lazy nodes of a pipeline graph, returned by calling a func.

A `Future` stands for one func call. Indexing, unpacking or reading a dataclass field of a
Future gives a `Projection`: a Future too (as in Sematic), a view of part of the output that can
be passed on as an input. Anything that would need the value itself (`if future:`, arithmetic,
comparing with a value, `len`) raises `UnsupportedFutureOperation` with the way to write it
instead.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import typing
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Generic, Never, TypeGuard, TypeVar, cast, get_args, get_origin

from loopline.core import html
from loopline.core.records import RunRecord
from loopline.core.serialization import short_repr
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
    """How one call runs; defaults come from the func's decorator, `.set()` overrides them.

    `retry_settings` and `resource_requirements` are Sematic's names for `retry` and `resources`.
    `conversions` says which arguments were converted the way Sematic converted them."""

    name: str
    tags: list[str] = dataclasses.field(default_factory=list)
    cache: bool = False
    retry: RetrySettings | None = None
    resources: ResourceRequirements | None = None
    timeout_mins: float | None = None
    standalone: bool = False
    conversions: tuple[str, ...] = ()

    @property
    def retry_settings(self) -> RetrySettings | None:
        return self.retry

    @property
    def resource_requirements(self) -> ResourceRequirements | None:
        return self.resources


_FUTURES_DOC = "docs/sematic.md#futures"
# Sematic's page on the same thing, for users who know it (and their tests, which look for it).
_SEMATIC_DOC = "https://docs.sematic.dev/diving-deeper/future-algebra"


def _unsupported(what: str, hint: str) -> UnsupportedFutureOperation:
    return UnsupportedFutureOperation(
        f"{what} is not possible on a Future: its value is only known once the pipeline runs. {hint} "
        f"(see {_FUTURES_DOC}; in Sematic's docs: {_SEMATIC_DOC})"
    )


_MOVE_INTO_FUNC = (
    "Do this inside a @loopline.func that takes the future as an input; there it is a plain value "
    "(and that func may itself return other funcs' futures)."
)


class _RunIds:
    """Run ids: 16 random bytes from the OS as 32 hex digits (as a uuid4's), taken from a pool the
    OS fills 256 ids at a time (a system call per id cost more than the rest of a call). A forked
    child starts with an empty pool, so it never hands out its parent's ids."""

    def __init__(self) -> None:
        self._pool = b""
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._pool, self._lock = b"", threading.Lock()

    def new(self) -> str:
        with self._lock:
            if not self._pool:
                self._pool = os.urandom(16 * 256)
            taken, self._pool = self._pool[:16], self._pool[16:]
        return taken.hex()


new_run_id = _RunIds().new


_OWN_ATTRIBUTES = frozenset({"id", "function", "args", "kwargs", "props", "source", "key"})


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

    def __eq__(self, other: object) -> bool:
        # Comparing futures with each other is identity (they are graph nodes); comparing one
        # with a value would compare values that do not exist yet.
        if isinstance(other, AbstractFuture):
            return self is other
        raise _unsupported(f"`==` on {self._describe()}", _MOVE_INTO_FUNC)

    def __ne__(self, other: object) -> bool:
        if isinstance(other, AbstractFuture):
            return self is not other
        raise _unsupported(f"`!=` on {self._describe()}", _MOVE_INTO_FUNC)

    __hash__ = object.__hash__


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


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a future run as a pipeline ended (kept by the future, for its display): the pipeline
    run and, when it succeeded, the value (the one `runner.run()` returned)."""

    run: RunRecord
    value: Any = None


class Future(AbstractFuture[R]):
    """One call of a func, not yet executed. Pass it to other funcs, or to `runner.run()`."""

    __slots__ = ("_outcome", "args", "function", "id", "props")
    id: str
    function: Function[..., R]
    args: tuple[Any, ...]  # every parameter's value, in the signature's order
    props: FutureProps
    _outcome: Outcome | None

    def __init__(self, function: Function[..., R], kwargs: dict[str, Any], props: FutureProps) -> None:
        object.__setattr__(self, "id", new_run_id())
        object.__setattr__(self, "function", function)
        # A tuple rather than the dict: a pipeline of a million calls holds a million of these.
        object.__setattr__(self, "args", tuple(kwargs[name] for name in function.parameters))
        object.__setattr__(self, "props", props)
        object.__setattr__(self, "_outcome", None)
        note_created(self)

    @property
    def kwargs(self) -> dict[str, Any]:
        """The call's arguments by parameter name (every parameter, defaults applied)."""
        return dict(zip(self.function.parameters, self.args, strict=True))

    @property
    def declared_type(self) -> Any:
        return self.function.output_type

    def _describe(self) -> str:
        return f"the Future of {self.function.name}() (a {type_name(self.declared_type)})"

    def _describe_short(self) -> str:
        return f"{self.function.name}()"

    def __getstate__(self) -> dict[str, Any]:
        return {"id": self.id, "function": self.function, "args": self.args, "props": self.props}

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "_outcome", None)
        for k, v in state.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Futures are immutable; use .set({name}=...) to change how this call runs")

    def __repr__(self) -> str:
        outcome = self._outcome
        ran = f" {outcome.run.state.value}" if outcome is not None else ""
        return f"<Future {self.props.name} id={self.id[:8]}: {type_name(self.declared_type)}{ran}>"

    def note_outcome(self, run: RunRecord, value: Any = None) -> None:
        """Called by the runner that ran this future as a pipeline, when it ended."""
        object.__setattr__(self, "_outcome", Outcome(run, value))

    def _repr_html_(self) -> str:
        """In Jupyter: the call, and once it ran, its pipeline run and its result."""
        outcome = self._outcome
        if outcome is not None:
            value = outcome.value if outcome.run.state.is_success else None
            shown = getattr(value, "_repr_html_", None)
            result = (
                shown()
                if callable(shown) and not isinstance(value, type)
                else html.Markup(f'<pre style="margin:4px 0">{html.escape(short_repr(value, 2000))}</pre>')
            )
            return outcome.run._repr_html_() + (result if outcome.run.state.is_success else "")
        inputs = ", ".join(f"{name}={_shown_input(value)}" for name, value in self.kwargs.items())
        return html.card(
            html.Markup(f"Future {html.escape(self.props.name)}() {html.badge('not run', 'muted')}"),
            [("returns", html.code(type_name(self.declared_type))), ("inputs", inputs or None)],
            html.Markup('<div style="color:#666">run it with loopline.LocalRunner().run(future)</div>'),
        )

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
        **unknown: Never,  # mypy refuses any other option; at run time, Sematic's ValueError
    ) -> Future[R]:
        """Change how this call runs (its display name, tags, caching, retries, resources,
        timeout). Returns the future, so calls chain: `train(cfg).set(name="train", cache=True)`.

        `resource_requirements=` and `inline=` are Sematic's spellings and keep working.
        """
        if unknown:
            raise OptionTypeError(
                f"Cannot mutate fields {', '.join(map(repr, sorted(unknown)))} with .set(): it "
                "takes name, tags, cache, retry, resources, timeout_mins and standalone"
            )
        changes: dict[str, Any] = {}
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise UsageError(f"Invalid `name` for .set(): it must be a non-empty string, got {name!r}")
            changes["name"] = name
        if tags is not None:
            if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) and t for t in tags):
                raise OptionTypeError(
                    f"Invalid `tags` for .set(): it must be a list of non-empty strings, got {tags!r}"
                )
            changes["tags"] = list(dict.fromkeys(tags))
        if cache is not None:
            changes["cache"] = _expect_bool("cache", cache, where=".set()")
        if retry is not None:
            changes["retry"] = _expect(retry, RetrySettings, "retry", where=".set()")
        resources = resources if resources is not None else resource_requirements
        if resources is not None:
            option = "resources" if resource_requirements is None else "resource_requirements"
            changes["resources"] = _expect(resources, ResourceRequirements, option, where=".set()")
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
            changes["standalone"] = _expect_bool("standalone", standalone, where=".set()")
        object.__setattr__(self, "props", dataclasses.replace(self.props, **changes))
        return self

    def resolve(self, resolver: Any = None, tracking: bool = True) -> R:
        """Run the pipeline this future is the root of (Sematic's way; the same as
        `LocalRunner().run(future)`, or `SilentRunner()` with `tracking=False`, or `resolver`)."""
        if resolver is not None:
            return cast(R, resolver.run(self))
        # A compatibility shim at the SDK's edge: the runners live in a higher layer.
        from loopline.engine.local import LocalRunner
        from loopline.engine.silent import SilentRunner

        runner = LocalRunner() if tracking else SilentRunner()
        return cast(R, runner.run(self))


class Projection(Future[R]):
    """Part of another future's value: `future[0]`, `future["key"]` or `future.field`.

    It is a Future (Sematic's `f()[0]` was one) that runs nothing of its own: it reads part of
    its source's output when a func that takes it starts."""

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
        """The func call this is part of the output of."""
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

    def set(self, **changes: Any) -> Future[R]:
        raise UsageError(
            f"{self._describe()} is part of the output of {self.root()._describe_short()}: call "
            f".set(...) on {self.root()._describe_short()} itself, which computes it"
        )

    def resolve(self, resolver: Any = None, tracking: bool = True) -> R:
        raise UsageError(
            f"{self._describe()} is part of another future's output: run that future "
            f"({self.root()._describe_short()}) and take the part from its value"
        )


def _shown_input(value: Any) -> str:
    if isinstance(value, AbstractFuture):
        return f"<{value._describe_short()}>"
    return short_repr(value, 60)


def is_call(value: object) -> TypeGuard[Future[Any]]:
    """Whether `value` is a Future of a func call (not a part of another future's value)."""
    return isinstance(value, Future) and not isinstance(value, Projection)


def _expect(value: Any, cls: type, option: str, where: str = "") -> Any:
    if not isinstance(value, cls):
        raise OptionTypeError(f"Invalid `{option}`{_for(where)}: it must be a {cls.__name__}, got {value!r}")
    return value


def _expect_bool(option: str, value: Any, where: str = "") -> bool:
    if not isinstance(value, bool):
        raise OptionTypeError(f"Invalid `{option}`{_for(where)}: it must be True or False, got {value!r}")
    return value


def _for(where: str) -> str:
    return f" for {where}" if where else ""


def _check_timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise UsageError(f"timeout_mins=... must be a positive number of minutes, got {value!r}")
    return float(value)
