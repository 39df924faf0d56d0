"""A store's methods called over HTTP: the client sends a method's arguments as JSON, the server
calls the same method of its own store and sends the result (or the error) back.

A store protocol (`MetadataStore`, `CLStore`) is the whole interface: the methods it declares,
with their type hints, say what travels and how it is read back (`loopline.core.wire`). Only
Loopline's own errors travel back as themselves; anything else arrives as a `StoreError`.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any

from loopline.core.wire import JSON, WireError, from_wire, to_wire
from loopline.errors import LooplineError, StoreError, UsageError

LOCAL_ONLY = frozenset({"close"})  # methods a remote store answers itself


@dataclasses.dataclass(frozen=True)
class Method:
    """One method of a store protocol, as the wire sees it."""

    name: str
    parameters: Mapping[str, Any]  # name -> type hint
    returns: Any
    required: frozenset[str] = frozenset()  # the parameters without a default


@cache
def methods(protocol: type) -> Mapping[str, Method]:
    """The remotely callable methods `protocol` declares, by name."""
    found = {}
    for name, function in vars(protocol).items():
        if name.startswith("_") or name in LOCAL_ONLY or not inspect.isfunction(function):
            continue
        hints = typing.get_type_hints(function)
        parameters = [p for p in inspect.signature(function).parameters.values() if p.name != "self"]
        required = frozenset(p.name for p in parameters if p.default is inspect.Parameter.empty)
        found[name] = Method(name, {p.name: hints[p.name] for p in parameters}, hints.get("return"), required)
    return found


def method(protocol: type, name: str) -> Method:
    try:
        return methods(protocol)[name]
    except KeyError:
        raise UsageError(f"{protocol.__name__} has no method {name!r}") from None


def encode_arguments(protocol: type, name: str, arguments: Mapping[str, Any]) -> dict[str, JSON]:
    """The client side: the arguments of a call as JSON."""
    wanted = method(protocol, name).parameters
    return {key: to_wire(value) for key, value in arguments.items() if key in wanted}


def decode_result(protocol: type, name: str, data: JSON) -> Any:
    """The client side: the server's answer, read as the method's return type."""
    returns = method(protocol, name).returns
    return None if returns is type(None) or returns is None else from_wire(returns, data, "result")


def decode_arguments(protocol: type, name: str, arguments: Mapping[str, JSON]) -> dict[str, Any]:
    """The server side: a call's arguments as the method's types (`WireError` if malformed)."""
    wanted = method(protocol, name)
    unknown = set(arguments) - set(wanted.parameters)
    if unknown:
        raise WireError(f"{protocol.__name__}.{name} takes no argument(s) {', '.join(sorted(unknown))}")
    missing = wanted.required - set(arguments)
    if missing:
        raise WireError(f"{protocol.__name__}.{name} needs the argument(s) {', '.join(sorted(missing))}")
    return {
        key: from_wire(wanted.parameters[key], value, f"{name}({key}=...)")
        for key, value in arguments.items()
    }


def invoke(store: Any, name: str, values: Mapping[str, Any]) -> JSON:
    """The server side: call `store.name(**values)` and return the result as JSON."""
    return to_wire(getattr(store, name)(**values))


def error_to_wire(error: BaseException) -> dict[str, str]:
    cls = type(error)
    return {"type": f"{cls.__module__}:{cls.__qualname__}", "message": str(error)}


def error_from_wire(data: Mapping[str, Any], where: str) -> LooplineError:
    """The error the server raised, as the same class when it is one of Loopline's own."""
    message = str(data.get("message", "the server failed"))
    cls = _loopline_error_class(str(data.get("type", "")))
    if cls is not None:
        try:
            return cls(message)
        except TypeError:  # an error class with arguments of its own
            pass
    return StoreError(f"{where}: {message}")


def _loopline_error_class(path: str) -> type[LooplineError] | None:
    module_name, _, qualname = path.partition(":")
    if not module_name.startswith("loopline.") and module_name != "loopline":
        return None
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj if isinstance(obj, type) and issubclass(obj, LooplineError) else None
