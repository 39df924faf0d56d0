"""Finding futures inside values (lists, tuples, dicts, sets, dataclasses) and replacing them."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from loopline.sdk.future import AbstractFuture, Future, Projection

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


def deferred_leaves(value: Any) -> list[AbstractFuture[Any]]:
    """Every Future or Projection inside `value`, in order of appearance."""
    if isinstance(value, AbstractFuture):
        return [value]
    found: list[AbstractFuture[Any]] = []
    stack = [value]
    opened: set[int] = set()  # containers already looked into: a value may contain itself
    while stack:
        item = stack.pop()
        if isinstance(item, AbstractFuture):
            found.append(item)
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
