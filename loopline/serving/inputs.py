"""What a served model takes, and requests checked against it before the model sees them.

    Array((64,))                       # each input: 64 numbers (a batch: an (n, 64) float64 array)
    Array((8, 8), dtype="float32")     # each input: an 8x8 grid
    Record({"age": float, "city": str})  # each input: a JSON object with these fields
    AnyInput()                         # each input: any JSON value (the model checks it)

A predictor declares its input (`@loopline.predictor(input=Array((8, 8)))`); without one the
model's own declaration is read: scikit-learn's `n_features_in_` (an Array) or
`feature_names_in_` (a Record, given to the model as a pandas DataFrame), the first layer of a
torch module when it is a `Linear` (an Array of its `in_features`). `check(spec, values, field)`
turns the JSON inputs of a request into the batch the predictor gets, or raises `InvalidInput`
naming every bad field (its `loc`, as FastAPI writes one) and what was expected.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from loopline.errors import LooplineError, UsageError

Loc = tuple[str | int, ...]
_SHOWN = 10  # problems named in one answer
_FIELD_TYPES: dict[type, str] = {
    float: "number",
    int: "integer",
    str: "string",
    bool: "boolean",
    object: "any",
}


class InvalidInput(LooplineError, ValueError):
    """A request's input does not match what the model takes; `problems` are (loc, message)
    pairs, `loc` the path to the bad value as FastAPI writes it (("body", "input", 3))."""

    def __init__(self, problems: Sequence[tuple[Loc, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{'.'.join(map(str, loc))}: {message}" for loc, message in self.problems))

    @classmethod
    def at(cls, loc: Loc, message: str) -> InvalidInput:
        return cls([(loc, message)])


@dataclasses.dataclass(frozen=True)
class Array:
    """Each input is a numeric array of `shape` (None: any length on that axis); the predictor
    gets the batch as one numpy array of `dtype`, shaped (n, *shape)."""

    shape: tuple[int | None, ...]
    dtype: str = "float64"

    def __post_init__(self) -> None:
        if not isinstance(self.shape, tuple) or not all(
            d is None or (type(d) is int and d > 0) for d in self.shape
        ):
            raise UsageError(f"Array(shape=...) takes a tuple of positive ints or None, got {self.shape!r}")
        if self.dtype not in {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8"}:
            raise UsageError(
                f"Array(dtype=...) must be a numeric dtype such as 'float32', got {self.dtype!r}"
            )

    def describe(self) -> dict[str, Any]:
        return {"kind": "array", "shape": list(self.shape), "dtype": self.dtype}

    def json_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer" if self.dtype[0] in "iu" else "number"}
        for length in reversed(self.shape):
            schema = {"type": "array", "items": schema}
            if length is not None:
                schema |= {"minItems": length, "maxItems": length}
        return schema

    def probe(self) -> Any:
        """A batch of one input of zeros (a warm-up for a newly loaded version)."""
        import numpy as np

        return np.zeros((1, *(d or 1 for d in self.shape)), dtype=self.dtype)


@dataclasses.dataclass(frozen=True)
class Record:
    """Each input is a JSON object with exactly these fields (name -> float, int, str, bool, or
    object for any JSON value). The predictor gets a list of dicts, a list of `make(**fields)`
    when `make` is given (a dataclass), or a pandas DataFrame with these columns when `frame`."""

    fields: Mapping[str, type]
    make: Any = None
    frame: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.fields, Mapping) or not self.fields:
            raise UsageError(f"Record(fields=...) takes a dict of field names to types, got {self.fields!r}")
        wrong = {name: kind for name, kind in self.fields.items() if kind not in _FIELD_TYPES}
        if wrong:
            raise UsageError(
                f"Record fields are float, int, str, bool or object (any JSON value); got {wrong!r}"
            )

    @classmethod
    def of(cls, datacls: type) -> Record:
        """The fields of a dataclass (each float, int, str, bool or object); inputs become instances."""
        hints = typing.get_type_hints(datacls)
        return cls({f.name: hints[f.name] for f in dataclasses.fields(datacls)}, make=datacls)

    def describe(self) -> dict[str, Any]:
        return {"kind": "record", "fields": {name: _FIELD_TYPES[kind] for name, kind in self.fields.items()}}

    def json_schema(self) -> dict[str, Any]:
        properties = {
            name: {} if kind is object else {"type": _FIELD_TYPES[kind]} for name, kind in self.fields.items()
        }
        return {
            "type": "object",
            "properties": properties,
            "required": list(self.fields),
            "additionalProperties": False,
        }

    def probe(self) -> Any:
        return None  # no value can be made up for every field


@dataclasses.dataclass(frozen=True)
class AnyInput:
    """Each input is any JSON value; the predictor gets the list of them (the model checks them)."""

    def describe(self) -> dict[str, Any]:
        return {"kind": "any"}

    def json_schema(self) -> dict[str, Any]:
        return {}

    def probe(self) -> Any:
        return None


InputSpec = Array | Record | AnyInput


def spec_of(value: Any) -> InputSpec:
    """A predictor's `input=`: an Array, a Record, AnyInput, or a dataclass (a Record of its fields)."""
    if isinstance(value, (Array, Record, AnyInput)):
        return value
    if isinstance(value, type) and dataclasses.is_dataclass(value):
        return Record.of(value)
    raise UsageError(f"input= takes Array(shape), Record(fields), AnyInput() or a dataclass, got {value!r}")


def declared_by(model: Any) -> InputSpec | None:
    """The input the model itself declares (scikit-learn's fitted attributes, a torch module's
    first layer), None when it declares none."""
    names = getattr(model, "feature_names_in_", None)
    if names is not None and len(names):
        return Record({str(name): object for name in list(names)}, frame=True)
    count = getattr(model, "n_features_in_", None)
    if type(count) is int and count > 0:
        return Array((count,))
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(model, torch.nn.Module):
        first = next((m for m in model.modules() if not list(m.children())), None)
        if isinstance(first, torch.nn.Linear):
            return Array((int(first.in_features),), "float32")
    return None


# -- checking requests ----------------------------------------------------------------------


def check(spec: InputSpec, values: list[Any], loc: Loc, *, single: bool = False) -> Any:
    """The batch the predictor gets for these JSON inputs: `values[i]` is at `(*loc, i)` of the
    request, or at `loc` when it is a `single` input."""
    if isinstance(spec, Array):
        return _array(spec, values, loc, single)
    if isinstance(spec, Record):
        return _records(spec, values, loc, single)
    return values


def at(loc: Loc, i: int, single: bool) -> Loc:
    """Where input `i` is in the request."""
    return loc if single else (*loc, i)


def _array(spec: Array, values: list[Any], loc: Loc, single: bool) -> Any:
    import numpy as np

    try:  # the common case: well-formed numbers, converted in one call
        given = np.asarray(values)
    except (ValueError, TypeError):  # ragged: found below, element by element
        given = None
    if given is not None and given.dtype.kind in "iuf" and given.shape[1:] == _fixed(spec, given.shape[1:]):
        if spec.dtype[0] in "iu" and given.dtype.kind == "f":
            if not np.all(np.isfinite(given)) or not np.all(given == np.round(given)):
                raise InvalidInput(_array_problems(spec, values, loc, single))
        elif given.dtype.kind == "f" and not np.all(np.isfinite(given)):
            raise InvalidInput(_array_problems(spec, values, loc, single))
        return given.astype(spec.dtype, copy=False)
    problems = _array_problems(spec, values, loc, single)
    raise InvalidInput(problems or [(loc, f"expected inputs of shape {_dims(spec.shape)}")])


def _fixed(spec: Array, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """`shape` when it fits the spec (None axes take any length), else None."""
    if len(shape) != len(spec.shape):
        return None
    return shape if all(want is None or want == got for want, got in zip(spec.shape, shape)) else None


def _array_problems(spec: Array, values: list[Any], loc: Loc, single: bool) -> list[tuple[Loc, str]]:
    problems: list[tuple[Loc, str]] = []
    integer = spec.dtype[0] in "iu"
    for i, value in enumerate(values):
        _walk(value, spec.shape, at(loc, i, single), integer, problems)
        if len(problems) >= _SHOWN:
            break
    return problems[:_SHOWN]


def _walk(
    value: Any, shape: tuple[int | None, ...], loc: Loc, integer: bool, out: list[tuple[Loc, str]]
) -> None:
    if not shape:
        if type(value) is bool or not isinstance(value, (int, float)):
            out.append((loc, f"expected {'an integer' if integer else 'a number'}, got {_kind(value)}"))
        elif not math.isfinite(value):
            out.append((loc, f"expected a finite number, got {value!r}"))
        elif integer and value != int(value):
            out.append((loc, f"expected an integer, got {value!r}"))
        return
    length = shape[0]
    if not isinstance(value, list):
        out.append(
            (
                loc,
                f"expected a list of {_count(length)}{' (an array of shape ' + _dims(shape) + ')' if len(shape) > 1 else ''}, got {_kind(value)}",
            )
        )
        return
    if length is not None and len(value) != length:
        out.append((loc, f"expected {_count(length)}, got {len(value)}"))
        return
    for j, item in enumerate(value):
        _walk(item, shape[1:], (*loc, j), integer, out)
        if len(out) >= _SHOWN:
            return


def _records(spec: Record, values: list[Any], loc: Loc, single: bool) -> Any:
    problems: list[tuple[Loc, str]] = []
    names = ", ".join(spec.fields)
    for i, value in enumerate(values):
        where = at(loc, i, single)
        if not isinstance(value, dict):
            problems.append((where, f"expected an object with the fields {names}, got {_kind(value)}"))
            continue
        problems += [((*where, name), "field required") for name in spec.fields if name not in value]
        problems += [
            ((*where, name), f"unknown field; the fields are {names}")
            for name in value
            if name not in spec.fields
        ]
        for name, kind in spec.fields.items():
            if name in value and not _is(value[name], kind):
                problems.append(((*where, name), f"expected {_article(kind)}, got {_kind(value[name])}"))
        if len(problems) >= _SHOWN:
            break
    if problems:
        raise InvalidInput(problems[:_SHOWN])
    if spec.make is not None:
        return [_made(spec.make, value, at(loc, i, single)) for i, value in enumerate(values)]
    if spec.frame:
        import pandas as pd

        return pd.DataFrame(values, columns=list(spec.fields))
    return values


def _made(make: Any, fields: dict[str, Any], loc: Loc) -> Any:
    try:
        return make(**fields)
    except (TypeError, ValueError) as error:  # the dataclass's own checks (__post_init__)
        raise InvalidInput.at(loc, f"{type(error).__name__}: {error}") from None


def _is(value: Any, kind: type) -> bool:
    if kind is object:
        return True
    if kind is float:
        return type(value) in (int, float) and math.isfinite(value)
    if kind is int:
        return type(value) is int
    return type(value) is kind


def _article(kind: type) -> str:
    return {float: "a number", int: "an integer", str: "a string", bool: "a boolean"}[kind]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 20 else value[:17] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _count(length: int | None) -> str:
    return "values" if length is None else f"{length} value{'s' if length != 1 else ''}"


def _dims(shape: tuple[int | None, ...]) -> str:
    return (
        "("
        + ", ".join("any" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )
