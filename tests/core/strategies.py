"""Hypothesis strategies for values Loopline stores, and `same`: equality that also checks types."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import math
from pathlib import PurePosixPath
from typing import Any

from hypothesis import strategies as st


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Permission(enum.Flag):
    READ = 1
    WRITE = 2


@dataclasses.dataclass
class Point:
    x: float
    y: float
    label: str = ""


@dataclasses.dataclass(frozen=True)
class Labeled:
    value: Any
    color: Color
    points: tuple[Point, ...] = ()


@dataclasses.dataclass
class Derived:
    """A dataclass with an attribute that is not a field."""

    x: int

    def __post_init__(self) -> None:
        self.doubled = self.x * 2


class Plain:
    """A class no codec knows: stored with pickle."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Plain) and same(self.payload, other.payload)

    __hash__ = None  # type: ignore[assignment]


def same(a: Any, b: Any) -> bool:
    """`a == b`, with NaN equal to NaN, -0.0 unequal to 0.0, and types that must match."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a):
            return math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    return bool(a == b)


timezones = st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))])

hashable_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.datetimes(timezones=timezones),
    st.dates(),
    st.times(),
    st.timedeltas(),
    st.uuids(),
    st.decimals(allow_nan=False),
    st.sampled_from(list(Color)),
)

scalars = st.one_of(
    hashable_scalars,
    st.floats(),  # NaN and infinities too
    st.sampled_from([Permission.READ | Permission.WRITE, Permission(0)]),
    st.builds(PurePosixPath, st.text(alphabet="abc/", max_size=10)),
)

hashables = st.recursive(
    hashable_scalars,
    lambda inner: st.one_of(st.tuples(inner, inner), st.frozensets(inner, max_size=4)),
    max_leaves=8,
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(hashables, inner, max_size=5),
        st.sets(hashables, max_size=5),
        st.frozensets(hashables, max_size=5),
        st.builds(Point, st.floats(), st.floats(), st.text(max_size=5)),
        st.builds(Labeled, inner, st.sampled_from(list(Color))),
        st.builds(Plain, inner),
    )


values = st.recursive(scalars, _containers, max_leaves=20)
