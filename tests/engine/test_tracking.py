"""StoreTracker: runs written in batches, a just-created run written once it moved on, bursts
written at once so that what waits in memory stays bounded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from loopline.core.records import RunRecord, RunState, utcnow
from loopline.engine import tracking
from loopline.engine.tracking import StoreTracker
from loopline.storage.memory import MemoryMetadataStore


def run(run_id: str, state: RunState = RunState.CREATED, age_s: float = 0.0) -> RunRecord:
    created = utcnow() - dt.timedelta(seconds=age_s)
    return RunRecord(run_id, "root", "root", "pkg.step", "step", state, created)


@pytest.fixture
def store() -> MemoryMetadataStore:
    return MemoryMetadataStore()


@pytest.fixture
def tracker(store: MemoryMetadataStore) -> Iterator[StoreTracker]:
    tracker = StoreTracker(store, interval_s=3600)  # writes only when the test says so
    yield tracker
    tracker.close()


def test_a_run_that_was_just_created_waits_for_its_next_state(tracker: StoreTracker) -> None:
    tracker.on_run_update(run=run("a"))
    assert tracker._take(hold_young=True).runs == []
    tracker.on_run_update(run=run("a", RunState.SUCCEEDED))
    assert [r.state for r in tracker._take(hold_young=True).runs] == [RunState.SUCCEEDED]


def test_a_run_created_a_while_ago_is_written_as_it_is(tracker: StoreTracker) -> None:
    tracker.on_run_update(run=run("a", age_s=tracking.HOLD_CREATED_S + 1))
    assert [r.id for r in tracker._take(hold_young=True).runs] == ["a"]


def test_flush_writes_every_run_at_once(tracker: StoreTracker, store: MemoryMetadataStore) -> None:
    tracker.on_run_update(run=run("a"))
    tracker.flush()
    assert store.get_run("a").state is RunState.CREATED


def test_a_burst_of_updates_is_written_without_waiting(
    tracker: StoreTracker, store: MemoryMetadataStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracking, "FLUSH_AT", 10)
    for i in range(10):
        tracker.on_run_update(run=run(f"r{i}"))
    assert store.count_runs() == 10


def test_output_is_written_as_it_comes_so_little_waits_in_memory(
    tracker: StoreTracker, store: MemoryMetadataStore
) -> None:
    line = "x" * 1023 + "\n"
    waited = 0
    for _ in range(3 * tracking.LOGS_FLUSH_AT // len(line)):
        tracker.on_log(run_id="a", stream="stdout", text=line)
        waited = max(waited, tracker._log_chars)
    assert waited < tracking.LOGS_FLUSH_AT
    tracker.flush()
    chunks = store.read_logs("a")
    assert "".join(c.text for c in chunks) == line * (3 * tracking.LOGS_FLUSH_AT // len(line))
    assert max(len(c.text) for c in chunks) <= tracking.CHUNK_CHARS


def test_one_huge_write_is_stored_in_bounded_chunks(
    tracker: StoreTracker, store: MemoryMetadataStore
) -> None:
    text = "y" * (2 * tracking.LOGS_FLUSH_AT + 5)
    tracker.on_log(run_id="a", stream="stderr", text=text)
    tracker.flush()
    chunks = store.read_logs("a")
    assert "".join(c.text for c in chunks) == text
    assert max(len(c.text) for c in chunks) == tracking.CHUNK_CHARS
