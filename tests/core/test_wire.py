"""Records travel to a server and back unchanged (`loopline.core.wire`)."""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import datetime as dt
import json
import math
import types
import typing
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopline.cl.store import records as cl_records
from loopline.core import records
from loopline.core.wire import WireError, from_wire, to_wire
from loopline.storage.base import PipelineStats, RunPage

RECORDS = [
    cls
    for module in (records, cl_records)
    for cls in vars(module).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == module.__name__
] + [RunPage, PipelineStats]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


SHARES = st.floats(min_value=0.0, max_value=1.0)
# Fields of records that check their values: drawn among the values they accept.
FIELDS: dict[tuple[type, str], st.SearchStrategy[Any]] = {
    (cl_records.QualityControl, "agreement"): SHARES,
    (cl_records.QualityControl, "gold_share"): st.floats(min_value=0.0, max_value=0.5),
    (cl_records.QualityControl, "min_accuracy"): SHARES,
    (cl_records.QualityControl, "min_gold"): st.integers(min_value=1, max_value=1000),
    (cl_records.QualityControl, "gold"): st.just("digits-gold@1"),  # the shares above need one
}


def strategy(tp: Any) -> st.SearchStrategy[Any]:
    """Values of the type hint `tp`, JSON for `Any` (what such record fields hold)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return JSON_VALUES
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy(a) for a in args])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin in (list, cabc.Sequence, cabc.Collection):
        return st.lists(strategy(args[0]), max_size=3)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(strategy(args[0]), max_size=3).map(tuple)
        return st.tuples(*[strategy(a) for a in args])
    if origin in (set, frozenset, cabc.Set):
        return st.frozensets(strategy(args[0]), max_size=3)
    if origin in (dict, cabc.Mapping):
        return st.dictionaries(strategy(args[0]), strategy(args[1]), max_size=3)
    if tp is dt.datetime:
        return st.datetimes(timezones=st.just(dt.UTC))
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        fields = {
            f.name: FIELDS[(tp, f.name)] if (tp, f.name) in FIELDS else strategy(hints[f.name])
            for f in dataclasses.fields(tp)
        }
        return st.builds(tp, **fields)
    return st.from_type(tp)


def through_json(data: Any) -> Any:
    return json.loads(json.dumps(data, allow_nan=False))


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
@settings(deadline=None, max_examples=25)
@given(data=st.data())
def test_every_record_comes_back_as_it_went(cls: type, data: st.DataObject) -> None:
    value = data.draw(strategy(cls))
    wire = through_json(to_wire(value))
    assert to_wire(from_wire(cls, wire)) == wire


def test_dates_bytes_and_odd_floats_come_back_even_inside_any() -> None:
    when = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    value = {"at": when, "blob": b"\x00\xff", "nan": math.nan, "inf": -math.inf, "list": [when]}
    back = from_wire(Any, through_json(to_wire(value)))
    assert back["at"] == when and back["blob"] == b"\x00\xff" and back["list"] == [when]
    assert math.isnan(back["nan"]) and back["inf"] == -math.inf


def test_a_union_of_records_picks_the_record_whose_fields_arrived() -> None:
    cron = cl_records.CronTrigger("0 2 * * *")
    assert from_wire(cl_records.Trigger, through_json(to_wire(cron))) == cron


def test_a_value_that_does_not_fit_names_where() -> None:
    wire = through_json(
        to_wire(records.RunnerRecord("r", "host", 1, dt.datetime.now(dt.UTC), dt.datetime.now(dt.UTC)))
    )
    wire["pid"] = "one"
    with pytest.raises(WireError, match=r"runner\.pid: expected an integer"):
        from_wire(records.RunnerRecord, wire, "runner")


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(WireError, match="has no field"):
        from_wire(records.GitInfo, {"commit": "abc", "evil": 1})


def test_a_live_object_cannot_be_sent() -> None:
    with pytest.raises(WireError, match="cannot send a object"):
        to_wire(object())
