"""`@loopline.func`: turn a typed Python function into a tracked pipeline step."""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import importlib
import inspect
import marshal
import sys
import textwrap
import typing
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, ParamSpec, TypeVar, cast, overload

from loopline.core.serialization import is_by_value_module
from loopline.core.types import (
    Conversions,
    ParameterMismatch,
    TypeMismatch,
    check_value,
    describe_value,
    open_arguments,
    type_name,
)
from loopline.errors import (
    ArgumentTypeError,
    FunctionDefinitionError,
    FunctionError,
    LooplineDeprecationWarning,
    LooplineWarning,
    OutputTypeError,
)
from loopline.sdk import notebook
from loopline.sdk.future import Future, FutureProps, _check_timeout, _expect, _expect_bool
from loopline.sdk.resources import ResourceRequirements, RetrySettings

P = ParamSpec("P")
R = TypeVar("R")


@dataclasses.dataclass(frozen=True)
class FunctionOptions:
    cache: bool = False
    retry: RetrySettings | None = None
    resources: ResourceRequirements | None = None
    timeout_mins: float | None = None
    standalone: bool = False
    version: str | None = None
    strict_types: bool = False


class Function(Generic[P, R]):
    """A func: calling it checks the arguments and returns a `Future` of its output.

    The type checkers see the wrapped signature, and a call typed as returning the function's
    own output type so that funcs compose (`add(add(1, 2), 3)`); at runtime the call returns a
    `Future`, on which `.set(...)` works.
    """

    def __init__(
        self, fn: Callable[P, R], options: FunctionOptions, *, hints: dict[str, Any] | None = None
    ) -> None:
        # First: it explains what is wrong with `fn`. A func rebuilt in another process brings
        # its hints, which may name types its module's globals do not carry there.
        self.hints = _definition_hints(fn) if hints is None else hints
        self.fn = fn
        self._body: Callable[..., Any] = fn
        self.options = options
        self.name = fn.__name__
        self.path = function_path(fn)
        self.signature = inspect.signature(fn)
        self.parameters = tuple(self.signature.parameters)  # their names, in order
        # A call that gives every parameter by position needs no `Signature.bind` (a third of a call).
        self._all_positional = all(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in self.signature.parameters.values()
        )
        self.output_type = self.hints.get("return", type(None))  # none: it returns nothing
        # Shared by every call (frozen; `.set()` makes a call its own): a million calls hold one.
        self._props = FutureProps(
            name=self.name,
            cache=options.cache,
            retry=options.retry,
            resources=options.resources,
            timeout_mins=options.timeout_mins,
            standalone=options.standalone,
        )
        functools.update_wrapper(self, fn)

    @property
    def input_types(self) -> dict[str, Any]:
        """The annotation of each parameter (Sematic's name)."""
        return {name: hint for name, hint in self.hints.items() if name != "return"}

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        if not kwargs and self._all_positional and len(args) == len(self.parameters):
            arguments: dict[str, Any] = dict(zip(self.parameters, args, strict=True))
        else:
            try:
                bound = self.signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise ArgumentTypeError(f"{self.name}(): {exc}") from None
            bound.apply_defaults()
            arguments = bound.arguments
        conversions = None if self.options.strict_types else Conversions()
        checked = {name: self._check_argument(name, value, conversions) for name, value in arguments.items()}
        props = self._props
        if conversions:
            props = dataclasses.replace(props, conversions=conversions.describe())
        return cast(R, Future(self, checked, props))

    def _check_argument(self, name: str, value: Any, conversions: Conversions | None) -> Any:
        expected = self.hints[name]
        try:
            return check_value(value, expected, name, conversions)
        except TypeMismatch as exc:
            raise self._argument_error(name, exc) from None

    def _argument_error(self, name: str, exc: TypeMismatch) -> ArgumentTypeError:
        path = exc.path.removeprefix(name)
        where = f" (at {path})" if path else ""
        detail = f" ({exc.detail})" if exc.detail else ""
        return ArgumentTypeError(
            f"{self.name}() got a wrong value for parameter {name!r}{where}: expected "
            f"{type_name(exc.expected)}, got {describe_value(exc.value)}{detail}"
        )

    def check_output(self, value: Any, conversions: Conversions | None = None) -> Any:
        """The value cast to the declared output type, or OutputTypeError. With `conversions`,
        Sematic's conversions are made too (and recorded there)."""
        try:
            return check_value(value, self.output_type, "", conversions)
        except TypeMismatch as exc:
            where = f" at {exc.path}" if exc.path else ""
            detail = f" ({exc.detail})" if exc.detail else ""
            raise OutputTypeError(
                f"{self.name}() returned {describe_value(exc.value)}{where}, but its return "
                f"annotation says {type_name(self.output_type)}{detail}; return a matching value or "
                "fix the annotation"
            ) from None

    def run_body(self, kwargs: dict[str, Any]) -> Any:
        """Run the function body (or its mock, see `loopline.testing`) on the arguments in the
        form their annotations ask for (a table snapshot as a DataFrame, say: core.types); what
        runners call."""
        try:
            arguments = open_arguments(kwargs, self.hints)
        except ParameterMismatch as exc:
            raise self._argument_error(exc.parameter, exc) from None
        return self._body(**arguments)

    def execute(self, **kwargs: Any) -> Any:
        """Run the body directly with these arguments (Sematic's API, for tests): what it raises
        comes as a `FunctionError` chained to the exception."""
        try:
            return self._body(**kwargs)
        except Exception as error:
            raise FunctionError(f"{self.name}() raised {type(error).__name__}: {error}") from error

    @functools.cached_property
    def source(self) -> str:
        try:
            return textwrap.dedent(inspect.getsource(self.fn))
        except (OSError, TypeError):
            return ""

    @functools.cached_property
    def recorded_source(self) -> str:
        """The source a run shows: the function's, or for a func defined in a notebook, the
        whole cell it came from, headed by the notebook and the cell."""
        cell = notebook.cell_of(self.fn)
        if cell is None:
            return self.source
        return f"# {cell.where}\n{cell.text.rstrip()}\n"

    @functools.cached_property
    def docstring(self) -> str | None:
        return inspect.getdoc(self.fn)

    @functools.cached_property
    def code_version(self) -> str:
        """What caching keys on: the pinned `version=`, else a hash of the function's code."""
        if self.options.version is not None:
            return hashlib.sha256(f"pinned:{self.path}:{self.options.version}".encode()).hexdigest()
        if self.source:
            return hashlib.sha256(self.source.encode()).hexdigest()
        return hashlib.sha256(marshal.dumps(self.fn.__code__)).hexdigest()

    def __reduce__(self) -> Any:
        # Importable funcs travel by reference; funcs from scripts and notebooks by value.
        module = getattr(self.fn, "__module__", "")
        if not is_by_value_module(module) and _lookup(module, self.fn.__qualname__) is self:
            return (_import_function, (module, self.fn.__qualname__))
        body = self._body if self._body is not self.fn else None
        return (_rebuild, (self.fn, self.options, body, self.hints))

    def __repr__(self) -> str:
        return f"<loopline.func {self.path}>"


def _lookup(module: str, qualname: str) -> Any:
    obj: Any = sys.modules.get(module)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    return obj


def _import_function(module: str, qualname: str) -> Function[Any, Any]:
    importlib.import_module(module)
    return cast(Function[Any, Any], _lookup(module, qualname))


def _rebuild(
    fn: Callable[..., Any],
    options: FunctionOptions,
    body: Callable[..., Any] | None,
    hints: dict[str, Any] | None = None,
) -> Function[Any, Any]:
    function = Function(fn, options, hints=hints)
    if body is not None:
        function._body = body
    return function


def function_path(fn: Callable[..., Any]) -> str:
    """`module.qualname`, with a script's `__main__` replaced by its module or file name, and a
    notebook cell's by the notebook's name (`sdk.notebook`)."""
    module = fn.__module__
    if notebook.is_cell_function(fn):
        module = notebook.identity() or module
    elif module in ("__main__", "__mp_main__"):
        main = sys.modules.get("__main__")
        spec = getattr(main, "__spec__", None)
        if spec is not None and spec.name:
            module = spec.name.removesuffix(".__main__")
        elif getattr(main, "__file__", None):
            module = Path(main.__file__).stem  # type: ignore[union-attr,arg-type]
    return f"{module}.{fn.__qualname__}"


# -- decoration-time checks ------------------------------------------------------------------


def _definition_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    problems = definition_problems(fn)
    hints: dict[str, Any] = {}
    if not problems:
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception as exc:  # noqa: BLE001 - NameError and friends from user annotations
            problems.append(
                f"its annotations cannot be evaluated ({exc}); define the types they use at "
                "module level, before the function"
            )
    if not problems:
        problems += [
            f"{_where(name)} is annotated `Any`: say what it really is (Loopline checks and "
            "stores values by their type)"
            for name, hint in hints.items()
            if hint is Any
        ]
    if problems:
        location = _location(fn)
        listing = "\n".join(f"  - {p}" for p in problems)
        raise FunctionDefinitionError(f"@loopline.func cannot wrap {_name(fn)}{location}:\n{listing}")
    return hints


def _name(fn: Any) -> str:
    return f"`{getattr(fn, '__qualname__', repr(fn))}`"


def _location(fn: Any) -> str:
    code = getattr(fn, "__code__", None)
    return f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""


def _where(name: str) -> str:
    return "the return value" if name == "return" else f"parameter `{name}`"


def definition_problems(fn: Any) -> list[str]:
    """Everything that keeps `fn` from being a func, each with how to fix it."""
    if isinstance(fn, (staticmethod, classmethod)):
        return [
            "it is a staticmethod/classmethod: funcs can only be plain functions, not methods. "
            "Instead, define it at module level and call it from your class"
        ]
    if not inspect.isfunction(fn):
        return [f"it is a {type(fn).__name__}, not a function defined with `def`"]
    problems: list[str] = []
    qualname_parts = fn.__qualname__.split(".")
    if len(qualname_parts) > 1 and qualname_parts[-2] != "<locals>":
        problems.append(
            f"it is defined inside class `{qualname_parts[-2]}`: funcs can only be used with "
            "functions, not methods. Instead, consider defining it at module level and passing "
            "what it needs from the object as arguments"
        )
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        problems.append(
            "it is `async`: funcs must be plain `def` functions (run asyncio inside if you need it)"
        )
    elif inspect.isgeneratorfunction(fn):
        problems.append("it is a generator (uses `yield`): return a list instead")
    signature = inspect.signature(fn)
    unannotated = [
        name
        for name, param in signature.parameters.items()
        if param.annotation is inspect.Parameter.empty
        and param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
    ]
    if unannotated:  # Sematic's words first, so tests that match them still do
        problems.append(
            "Missing function type annotations. The following arguments are not annotated: "
            f"{', '.join(map(repr, unannotated))}: add one to each, e.g. `{unannotated[0]}: int`"
        )
    for param in signature.parameters.values():
        if param.kind is param.VAR_POSITIONAL:
            problems.append(
                f"Variadic arguments are not supported (`*{param.name}`): list the parameters "
                "explicitly, or take a List"
            )
        elif param.kind is param.VAR_KEYWORD:
            problems.append(
                f"Variadic arguments are not supported (`**{param.name}`): list the parameters "
                "explicitly, or take a Dict"
            )
    if signature.return_annotation is inspect.Signature.empty and not returns_nothing(fn):
        problems.append("the return type is not annotated: add one, e.g. `-> float` (or `-> None`)")
    return problems


def returns_nothing(fn: Callable[..., Any]) -> bool:
    """True when `fn`'s source shows that it never returns a value: then a missing return
    annotation means `-> None`, as in Sematic. False when unsure (no source)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    definition = tree.body[0] if tree.body else None
    if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    pending: list[ast.AST] = list(definition.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue  # their returns are their own
        if isinstance(node, ast.Return) and not (
            node.value is None or (isinstance(node.value, ast.Constant) and node.value.value is None)
        ):
            return False
        pending.extend(ast.iter_child_nodes(node))
    return True


# -- the decorator ---------------------------------------------------------------------------


@overload
def func(fn: Callable[P, R], /) -> Function[P, R]: ...


@overload
def func(
    fn: None = None,
    /,
    *,
    cache: bool = False,
    retry: RetrySettings | None = None,
    resources: ResourceRequirements | None = None,
    timeout_mins: float | None = None,
    standalone: bool = False,
    version: str | None = None,
    strict_types: bool = False,
    resource_requirements: ResourceRequirements | None = None,
    inline: bool | None = None,
    base_image_tag: str | None = None,
) -> Callable[[Callable[P, R]], Function[P, R]]: ...


def func(
    fn: Callable[P, R] | None = None,
    /,
    *,
    cache: bool = False,
    retry: RetrySettings | None = None,
    resources: ResourceRequirements | None = None,
    timeout_mins: float | None = None,
    standalone: bool = False,
    version: str | None = None,
    strict_types: bool = False,
    resource_requirements: ResourceRequirements | None = None,
    inline: bool | None = None,
    base_image_tag: str | None = None,
) -> Function[P, R] | Callable[[Callable[P, R]], Function[P, R]]:
    """Make a typed function a pipeline step. Use as `@func` or `@func(cache=True, ...)`.

    - `cache`: reuse an earlier output for the same code and inputs.
    - `retry`: `RetrySettings(exceptions=..., retries=...)`.
    - `resources`: `ResourceRequirements(cpus=, gpus=, memory=)`.
    - `timeout_mins`: fail the step when it runs longer.
    - `standalone`: run it in a worker process (CPU-bound Python code uses every core).
    - `version`: pin the code version, so editing the function keeps its cache.
    - `strict_types`: refuse values that only fit the annotations after one of Sematic's
      conversions (a tuple for a List, 3.0 for an int, an array for a Series, ...); by default
      they are converted, and the run's log says so once. `LOOPLINE_STRICT_TYPES=1` makes
      every func strict on LocalRunner.

    `resource_requirements=` and `inline=` are Sematic's spellings and keep working.
    """
    if inline is not None:
        warnings.warn(
            "@func(inline=...) is Sematic's spelling; use @func(standalone=not inline)",
            LooplineDeprecationWarning,
            stacklevel=2,
        )
        standalone = not inline
    if base_image_tag is not None:
        warnings.warn("@func(base_image_tag=...) has no effect in Loopline", LooplineWarning, stacklevel=2)
    if version is not None and (not isinstance(version, str) or not version):
        raise FunctionDefinitionError(f"@func(version=...) must be a non-empty string, got {version!r}")
    options = FunctionOptions(
        cache=_expect_bool("cache", cache),
        retry=None if retry is None else _expect(retry, RetrySettings, "retry"),
        resources=_resources(resources, resource_requirements),
        timeout_mins=None if timeout_mins is None else _check_timeout(timeout_mins),
        standalone=_expect_bool("standalone", standalone),
        version=version,
        strict_types=_expect_bool("strict_types", strict_types),
    )

    def decorate(target: Callable[P, R]) -> Function[P, R]:
        return Function(target, options)

    return decorate if fn is None else decorate(fn)


def _resources(*candidates: ResourceRequirements | None) -> ResourceRequirements | None:
    for candidate in candidates:
        if candidate is not None:
            return cast(ResourceRequirements, _expect(candidate, ResourceRequirements, "resources"))
    return None
