"""The change feed: every change reaches listeners once, even in bursts."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from loopline.core.records import RunRecord, RunState, WriteBatch
from loopline.server import live
from loopline.server.live import ChangeFeed
from loopline.storage.memory import MemoryMetadataStore

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def record(i: int, state: RunState = RunState.RUNNING) -> RunRecord:
    return RunRecord(f"run{i}", f"run{i}", None, "m.f", "f", state, T0)


def test_each_change_is_announced_once() -> None:
    store = MemoryMetadataStore()
    feed = ChangeFeed(store, 0.1)
    store.write(WriteBatch(runs=[record(1)]))
    assert [r.id for r in feed.poll()] == ["run1"]
    assert feed.poll() == []  # the overlap window sees it again, but it was announced
    store.write(WriteBatch(runs=[record(1, RunState.SUCCEEDED)]))
    assert [r.state for r in feed.poll()] == [RunState.SUCCEEDED]
    assert feed.versions["run1"] is not None


def test_a_burst_bigger_than_a_batch_makes_listeners_resync(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "BATCH", 10)
    store = MemoryMetadataStore()
    feed = ChangeFeed(store, 0.1)
    store.write(WriteBatch(runs=[record(i) for i in range(25)]))  # one timestamp for all 25

    async def scenario() -> bool:
        async with feed.listen(lambda run: True) as listener:
            for _ in range(3):
                feed.publish(feed.poll())
            store.write(WriteBatch(runs=[record(99)]))
            fresh = feed.poll()
            feed.publish(fresh)
            return listener.overflowed and [r.id for r in fresh] == ["run99"] and feed.epoch == 1

    assert asyncio.run(scenario())


def test_record_changes_reach_the_listeners_of_their_kind() -> None:
    revisions = {"models": 1, "reports": 4}
    feed = ChangeFeed(MemoryMetadataStore(), 0.1, lambda: dict(revisions))
    assert feed.poll_records() == frozenset()  # the first poll only sets the baseline

    async def scenario() -> tuple[object, int]:
        async with (
            feed.listen(lambda run: False, frozenset({"models"})) as models,
            feed.listen(lambda run: False, frozenset({"datasets"})) as datasets,
        ):
            revisions["models"] = 2
            revisions["loops"] = 1
            changed = feed.poll_records()
            assert changed == {"models", "loops"}
            feed.publish_records(changed)
            assert feed.poll_records() == frozenset()  # announced once
            return models.queue.get_nowait(), datasets.queue.qsize()

    assert asyncio.run(scenario()) == (live.RecordsChanged(frozenset({"models"})), 0)
