"""The LoopStore conformance suite, run against every backend (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator

import pytest

from loopline.cl.loop_errors import InferenceNotFoundError, TaskNotFoundError
from loopline.cl.loop_records import Feedback, InferenceQuery, InferenceRecord, LabelingTask, LoopRound
from loopline.cl.loop_sql_store import SqlLoopStore
from loopline.cl.loop_store import LoopStore, MemoryLoopStore
from loopline.errors import UsageError
from tests.cl.store_conformance import kinds_moved

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
BATCH = "a" * 64


def inference(
    request_id: str, minutes: int = 0, confidence: float | None = 0.9, version: int = 1
) -> InferenceRecord:
    return InferenceRecord(
        request_id,
        "digits",
        version,
        7,
        T0 + dt.timedelta(minutes=minutes),
        BATCH,
        confidence=confidence,
        scores=(0.1, 0.9),
        alias="production",
        metadata={"user": "u1"},
        display="image 8x8",
    )


def task(key: str, score: float = 0.5, queue: str = "digits") -> LabelingTask:
    return LabelingTask(
        queue,
        key,
        "inferences",
        BATCH,
        key,
        "low_confidence",
        "margin 0.02",
        score,
        T0,
        request_id=key,
        suggestion=7,
    )


def loop_round(loop: str = "digits-loop") -> LoopRound:
    return LoopRound(
        loop, 0, "running", T0, "digits", "digits-train", "digits-loop", production_before="digits@1"
    )


class LoopStoreConformance:
    """Subclass with a `loop_store` fixture to run the suite against a backend."""

    # -- inferences --------------------------------------------------------------------------

    def test_inferences_round_trip(self, loop_store: LoopStore) -> None:
        assert loop_store.add_inferences([inference("r1")]) == ["r1"]
        assert loop_store.get_inference("r1") == inference("r1")

    def test_logging_a_request_id_again_keeps_the_first_record(self, loop_store: LoopStore) -> None:
        loop_store.add_inferences([inference("r1")])
        again = dataclasses.replace(inference("r1"), prediction=3)
        assert loop_store.add_inferences([again, inference("r2")]) == ["r2"]
        assert loop_store.get_inference("r1").prediction == 7

    def test_an_unknown_request_id_is_named(self, loop_store: LoopStore) -> None:
        with pytest.raises(InferenceNotFoundError, match="'nope'"):
            loop_store.get_inference("nope")
        loop_store.add_inferences([inference("r1")])
        assert loop_store.known_request_ids(["r1", "nope"]) == {"r1"}

    def test_inferences_are_listed_newest_first_and_filtered(self, loop_store: LoopStore) -> None:
        loop_store.add_inferences(
            [inference("a", 0, 0.9), inference("b", 1, 0.4), inference("c", 2, None, version=2)]
        )
        assert [r.request_id for r in loop_store.list_inferences()] == ["c", "b", "a"]
        assert [r.request_id for r in loop_store.list_inferences(limit=1, offset=1)] == ["b"]
        low = InferenceQuery(max_confidence=0.5)
        assert [r.request_id for r in loop_store.list_inferences(low)] == ["b"]
        assert loop_store.count_inferences(InferenceQuery(model_version=1)) == 2
        window = InferenceQuery(since=T0 + dt.timedelta(minutes=1), until=T0 + dt.timedelta(minutes=2))
        assert [r.request_id for r in loop_store.list_inferences(window)] == ["b"]
        assert loop_store.count_inferences(InferenceQuery(request_ids=("a", "c"))) == 2

    def test_inferences_can_be_filtered_by_their_feedback(self, loop_store: LoopStore) -> None:
        loop_store.add_inferences([inference("a"), inference("b", 1), inference("c", 2)])
        loop_store.add_feedback([Feedback("a", "flag", T0, "ada"), Feedback("b", "confirmation", T0, "bob")])
        assert {r.request_id for r in loop_store.list_inferences(InferenceQuery(feedback="any"))} == {
            "a",
            "b",
        }
        assert [r.request_id for r in loop_store.list_inferences(InferenceQuery(feedback="none"))] == ["c"]
        assert [r.request_id for r in loop_store.list_inferences(InferenceQuery(feedback="flag"))] == ["a"]

    # -- feedback ----------------------------------------------------------------------------

    def test_feedback_gets_ids_and_is_listed_newest_first(self, loop_store: LoopStore) -> None:
        loop_store.add_inferences([inference("a"), inference("b")])
        saved = loop_store.add_feedback(
            [
                Feedback("a", "correction", T0, "ada", label=1),
                Feedback("b", "heuristic", T0, "ignored-all", score=0.7),
            ]
        )
        assert saved[1].id > saved[0].id > 0
        assert loop_store.list_feedback() == list(reversed(saved))
        assert loop_store.list_feedback(request_ids=["a"]) == [saved[0]]
        assert loop_store.list_feedback(kind="heuristic")[0].score == 0.7
        assert loop_store.list_feedback(request_ids=[]) == []

    def test_feedback_on_an_unknown_request_id_is_refused(self, loop_store: LoopStore) -> None:
        with pytest.raises(InferenceNotFoundError, match="log the inference first"):
            loop_store.add_feedback([Feedback("ghost", "flag", T0, "ada")])

    # -- labeling tasks ----------------------------------------------------------------------

    def test_tasks_are_queued_once_per_key(self, loop_store: LoopStore) -> None:
        first = loop_store.add_tasks([task("a"), task("b")])
        assert [t.id > 0 for t in first] == [True, True]
        assert [t.key for t in loop_store.add_tasks([task("a"), task("c")])] == ["c"]
        assert loop_store.get_task(first[0].id) == first[0]
        assert loop_store.queued_keys("digits", ["a", "z"]) == {"a"}
        assert loop_store.add_tasks([task("a", queue="other")])[0].queue == "other"
        assert loop_store.queues() == ["digits", "other"]

    def test_a_missing_task_is_named(self, loop_store: LoopStore) -> None:
        with pytest.raises(TaskNotFoundError, match="no labeling task 42"):
            loop_store.get_task(42)

    def test_tasks_are_listed_in_queue_order(self, loop_store: LoopStore) -> None:
        loop_store.add_tasks(
            [task("low", 0.1), task("high", 0.9), dataclasses.replace(task("skipped", 1.0), skips=1)]
        )
        assert [t.key for t in loop_store.list_tasks("digits")] == ["high", "low", "skipped"]
        assert loop_store.task_counts("digits") == {"open": 3}
        assert loop_store.list_tasks("digits", states=["labeled"]) == []

    def test_claims_lease_tasks_to_one_labeler(self, loop_store: LoopStore) -> None:
        loop_store.add_tasks([task("a", 0.9), task("b", 0.8), task("c", 0.7)])
        lease = T0 + dt.timedelta(minutes=10)
        ada = loop_store.claim_tasks("digits", "ada", limit=2, now=T0, lease_until=lease)
        bob = loop_store.claim_tasks("digits", "bob", limit=2, now=T0, lease_until=lease)
        assert [t.key for t in ada] == ["a", "b"] and [t.key for t in bob] == ["c"]
        assert {t.claimed_by for t in ada} == {"ada"} and ada[0].lease_until == lease
        assert loop_store.task_counts("digits") == {"claimed": 3}

    def test_an_expired_lease_can_be_claimed_again(self, loop_store: LoopStore) -> None:
        loop_store.add_tasks([task("a")])
        loop_store.claim_tasks("digits", "ada", limit=1, now=T0, lease_until=T0 + dt.timedelta(minutes=1))
        later = T0 + dt.timedelta(minutes=2)
        (taken,) = loop_store.claim_tasks("digits", "bob", limit=5, now=later, lease_until=later)
        assert taken.claimed_by == "bob"

    def test_concurrent_claims_never_share_a_task(self, loop_store: LoopStore) -> None:
        loop_store.add_tasks([task(f"k{i}", i / 100) for i in range(40)])
        got: dict[str, list[str]] = {}

        def claim(labeler: str) -> None:
            lease = T0 + dt.timedelta(hours=1)
            got[labeler] = [
                t.key for t in loop_store.claim_tasks("digits", labeler, limit=10, now=T0, lease_until=lease)
            ]

        threads = [threading.Thread(target=claim, args=(f"labeler{i}",)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        keys = [key for keys in got.values() for key in keys]
        assert len(keys) == len(set(keys)) == 40

    def test_transitions_are_compare_and_set(self, loop_store: LoopStore) -> None:
        (a,) = loop_store.add_tasks([task("a")])
        loop_store.claim_tasks("digits", "ada", limit=1, now=T0, lease_until=T0)
        labeled = {"state": "labeled", "label": 7, "labeled_by": "ada", "labeled_at": T0}
        assert (
            loop_store.transition_tasks([a.id], from_states=["claimed"], changes=labeled, holder="bob") == []
        )
        (done,) = loop_store.transition_tasks([a.id], from_states=["claimed"], changes=labeled, holder="ada")
        assert (done.state, done.label, done.labeled_by) == ("labeled", 7, "ada")
        assert loop_store.transition_tasks([a.id], from_states=["claimed"], changes={"state": "open"}) == []

    def test_only_task_fields_can_change(self, loop_store: LoopStore) -> None:
        (a,) = loop_store.add_tasks([task("a")])
        with pytest.raises(UsageError, match="no field"):
            loop_store.transition_tasks([a.id], from_states=["open"], changes={"queue": "elsewhere"})

    # -- loop rounds -------------------------------------------------------------------------

    def test_rounds_are_numbered_per_loop_and_updated(self, loop_store: LoopStore) -> None:
        first = loop_store.add_round(loop_round())
        second = loop_store.add_round(loop_round())
        loop_store.add_round(loop_round("other"))
        assert (first.round, second.round) == (1, 2)
        done = dataclasses.replace(
            first,
            state="promoted",
            promoted=True,
            metrics={"production accuracy": 0.9},
            scenarios={"digit 7": {"passed": True, "accuracy": 0.8, "size": 40}},
        )
        loop_store.update_round(done)
        assert loop_store.rounds("digits-loop") == [done, second]
        assert [(r.loop, r.round) for r in loop_store.loops()] == [("digits-loop", 2), ("other", 1)]

    def test_updating_a_missing_round_is_refused(self, loop_store: LoopStore) -> None:
        with pytest.raises(UsageError, match="no round 3"):
            loop_store.update_round(dataclasses.replace(loop_round(), round=3))

    # -- revisions --------------------------------------------------------------------------

    def test_each_write_moves_the_revision_of_its_kind_only(self, loop_store: LoopStore) -> None:
        store = loop_store
        assert kinds_moved(store, store.add_inferences, [inference("a")]) == {"inferences"}
        assert kinds_moved(store, store.add_feedback, [Feedback("a", "flag", T0, "ada")]) == {"inferences"}
        assert kinds_moved(store, store.add_tasks, [task("b")]) == {"labeling"}
        claimed = kinds_moved(store, store.claim_tasks, "digits", "ada", limit=1, now=T0, lease_until=T0)
        assert claimed == {"labeling"}
        (queued,) = store.list_tasks("digits")
        reopen = {"state": "open", "claimed_by": None}
        assert kinds_moved(
            store, store.transition_tasks, [queued.id], from_states=["claimed"], changes=reopen
        ) == {"labeling"}
        saved = store.add_round(loop_round())
        promoted = dataclasses.replace(saved, state="promoted")
        assert kinds_moved(store, store.update_round, promoted) == {"loops"}
        assert kinds_moved(store, store.loops) == set()  # reads move nothing

    # -- garbage collection ------------------------------------------------------------------

    def test_referenced_artifacts_cover_batches_tasks_and_reports(self, loop_store: LoopStore) -> None:
        loop_store.add_inferences([inference("a")])
        loop_store.add_tasks([dataclasses.replace(task("a"), artifact_id="b" * 64)])
        saved = loop_store.add_round(loop_round())
        loop_store.update_round(dataclasses.replace(saved, report_id="c" * 64))
        assert loop_store.referenced_artifact_ids() == {"a" * 64, "b" * 64, "c" * 64}


class TestMemoryLoopStore(LoopStoreConformance):
    @pytest.fixture
    def loop_store(self) -> LoopStore:
        return MemoryLoopStore()


class TestSqliteLoopStore(LoopStoreConformance):
    @pytest.fixture
    def loop_store(self, sqlite_url: str) -> Iterator[LoopStore]:
        store = SqlLoopStore(sqlite_url)
        yield store
        store.engine.dispose()


@pytest.mark.postgres
class TestPostgresLoopStore(LoopStoreConformance):
    @pytest.fixture
    def loop_store(self, postgres_url: str) -> Iterator[LoopStore]:
        store = SqlLoopStore(postgres_url)
        yield store
        store.engine.dispose()
