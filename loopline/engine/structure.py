"""Finding futures inside values (lists, tuples, dicts, sets, dataclasses) and replacing them."""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Callable
from typing import Any

from loopline.errors import LooplineWarning
from loopline.sdk.function import Function
from loopline.sdk.future import AbstractFuture, Future, Projection, is_call

_CONTAINERS = (list, tuple, dict, set, frozenset)


def _children(value: Any) -> list[Any] | None:
    cls = type(value)
    if cls in (list, tuple, set, frozenset):
        return list(value)
    if cls is dict:
        return list(value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [getattr(value, f.name) for f in dataclasses.fields(value)]
    return None


_ATOMS = frozenset({int, float, complex, str, bytes, bool, type(None)})  # hold no futures


def deferred_leaves(value: Any) -> list[AbstractFuture[Any]]:
    """Every Future or Projection inside `value`, in order of appearance."""
    if isinstance(value, AbstractFuture):
        return [value]
    cls = type(value)
    if cls in _ATOMS:
        return []
    if cls is tuple or cls is list:  # a call's arguments, a list of futures: one flat pass
        found: list[AbstractFuture[Any]] = []
        for item in value:
            if isinstance(item, AbstractFuture):
                found.append(item)
            elif type(item) not in _ATOMS:
                return _walk(value)  # something nested
        return found
    return _walk(value)


def _walk(value: Any) -> list[AbstractFuture[Any]]:
    found: list[AbstractFuture[Any]] = []
    stack = [value]
    opened: set[int] = set()  # containers already looked into: a value may contain itself
    while stack:
        item = stack.pop()
        if isinstance(item, AbstractFuture):
            found.append(item)
            continue
        if type(item) in _ATOMS:
            continue
        children = _children(item)
        if children and id(item) not in opened:
            opened.add(id(item))
            stack.extend(reversed(children))
    return found


def root_future(deferred: AbstractFuture[Any]) -> Future[Any]:
    return deferred.root() if isinstance(deferred, Projection) else deferred  # type: ignore[return-value]


def substitute(value: Any, resolve: Callable[[AbstractFuture[Any]], Any]) -> Any:
    """`value` with every future replaced by `resolve(future)` (containers are rebuilt)."""
    if isinstance(value, AbstractFuture):
        return resolve(value)
    cls = type(value)
    if cls is list:
        return [substitute(v, resolve) for v in value]
    if cls is tuple:
        return tuple(substitute(v, resolve) for v in value)
    if cls is dict:
        return {k: substitute(v, resolve) for k, v in value.items()}
    if cls in (set, frozenset):
        return cls(substitute(v, resolve) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if not deferred_leaves(value):
            return value
        clone = copy.copy(value)
        for field in dataclasses.fields(value):
            object.__setattr__(clone, field.name, substitute(getattr(value, field.name), resolve))
        return clone
    return value


def unused_futures(created: list[object], output: Any) -> list[Future[Any]]:
    """The futures in `created` that `output` does not lead to (directly or through the inputs
    of the futures it holds): they would never run. The walk stops once all are found."""
    pending = {f.id for f in created if is_call(f)}
    reached: set[str] = set()
    work = deferred_leaves(output)
    while work and pending:
        future = root_future(work.pop())
        if future.id not in reached:
            reached.add(future.id)
            pending.discard(future.id)
            work += deferred_leaves(future.args)
    return [f for f in created if is_call(f) and f.id in pending]


def warn_unused(parent: Function[..., Any], created: list[object], output: Any) -> None:
    """Warn, at the definition of `parent`, that funcs called in its body will not run: their
    futures were neither returned nor passed to a func whose future was."""
    unused = unused_futures(created, output) if created else []
    if unused:
        names = ", ".join(dict.fromkeys(f"{f.function.name}()" for f in unused))
        code = parent.fn.__code__
        warnings.warn_explicit(
            f"{parent.name}() called {names} but neither returned the result nor passed it to "
            "another func that it returns, so it will not run. Return it (e.g. in a tuple or a "
            "dataclass) or pass it as an input to a func whose future is returned",
            LooplineWarning,
            code.co_filename,
            code.co_firstlineno,
        )
