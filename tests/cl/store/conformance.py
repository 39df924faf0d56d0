"""The CLStore conformance suite: every backend must behave the same (see test_store.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest

from loopline.cl.store.errors import (
    AliasMovedError,
    DatasetConflictError,
    DatasetNotFoundError,
    InferenceNotFoundError,
    ModelNotFoundError,
    ScheduleNotFoundError,
    TaskNotFoundError,
)
from loopline.cl.store.protocol import CLStore
from loopline.cl.store.records import (
    AliasMove,
    CronTrigger,
    DatasetSource,
    DatasetTrigger,
    DatasetVersion,
    Feedback,
    InferenceQuery,
    InferenceRecord,
    LabelingTask,
    LoopRound,
    ModelVersion,
    QualityControl,
    QueueSettings,
    ReportEntry,
    Schedule,
    Slot,
    Webhook,
)
from loopline.errors import UsageError

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def dataset(name: str = "digits", artifact: str = "a" * 64, size: int = 10) -> DatasetVersion:
    return DatasetVersion(name, 0, artifact, size, size, 0, 0, None, T0, "ada", "first import")


def model(name: str = "digits", artifact: str = "b" * 64) -> ModelVersion:
    return ModelVersion(
        name, 0, artifact, "sklearn:LogisticRegression", T0, "ada", metrics={"accuracy": 0.9}, dataset="d@1"
    )


def move(version: int, previous: int | None, alias: str = "production") -> AliasMove:
    return AliasMove("digits", alias, version, previous, T0, "ada", reason="better")


def schedule(name: str = "nightly") -> Schedule:
    return Schedule(
        name,
        "/src/pipeline.py:pipeline",
        ("--lr", "0.1"),
        CronTrigger("0 2 * * *"),
        T0,
        "ada",
        T0,
        cwd="/src",
        webhooks=(Webhook("http://hooks/x", "slack"),),
    )


def kinds_moved(store: Any, write: Callable[..., object], *args: Any, **kwargs: Any) -> set[str]:
    """The kinds of record whose revision `write(*args, **kwargs)` moved in `store`."""
    before = store.revisions()
    write(*args, **kwargs)
    after = store.revisions()
    return {kind for kind in after if after[kind] != before.get(kind)}


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


class CLStoreConformance:
    """Subclass with a `cl_store` fixture to run the suite against a backend."""

    def test_dataset_versions_are_numbered_by_the_store(self, cl_store: CLStore) -> None:
        first = cl_store.add_dataset_version(dataset())
        second = cl_store.add_dataset_version(dataclasses.replace(dataset(artifact="c" * 64), parent=1))
        assert (first.version, second.version) == (1, 2)
        assert cl_store.get_dataset_version("digits") == second
        assert cl_store.get_dataset_version("digits", 1) == first
        assert [v.version for v in cl_store.dataset_versions("digits")] == [1, 2]

    def test_a_version_can_require_the_latest_to_be_unchanged(self, cl_store: CLStore) -> None:
        assert cl_store.add_dataset_version(dataset(), expected_latest=0).version == 1
        with pytest.raises(DatasetConflictError, match="is at version 1, not 0"):
            cl_store.add_dataset_version(dataset(), expected_latest=0)
        assert cl_store.add_dataset_version(dataset(), expected_latest=1).version == 2
        assert len(cl_store.dataset_versions("digits")) == 2

    def test_missing_datasets_and_versions_say_what_exists(self, cl_store: CLStore) -> None:
        with pytest.raises(DatasetNotFoundError, match="loopline datasets ls"):
            cl_store.get_dataset_version("nope")
        cl_store.add_dataset_version(dataset())
        with pytest.raises(DatasetNotFoundError, match="versions are 1 to 1"):
            cl_store.get_dataset_version("digits", 7)
        assert cl_store.dataset_versions("nope") == []

    def test_a_version_keeps_the_table_it_was_imported_from(self, cl_store: CLStore) -> None:
        source = DatasetSource("5" * 64, "query", "duckdb:///w.duckdb", "id", 10, T0, query="SELECT 1")
        saved = cl_store.add_dataset_version(dataclasses.replace(dataset(), source=source))
        assert cl_store.get_dataset_version("digits", saved.version).source == source
        assert cl_store.dataset_versions("digits")[0].source == source
        assert cl_store.latest_dataset_versions()[0].source == source
        assert "5" * 64 in cl_store.referenced_artifact_ids()

    def test_latest_versions_list_one_row_per_dataset(self, cl_store: CLStore) -> None:
        for name in ("b", "a", "b"):
            cl_store.add_dataset_version(dataset(name))
        assert [(v.name, v.version) for v in cl_store.latest_dataset_versions()] == [("a", 1), ("b", 2)]

    def test_model_versions_keep_their_lineage(self, cl_store: CLStore) -> None:
        saved = cl_store.add_model_version(model())
        assert saved.version == 1
        assert cl_store.get_model_version("digits", 1) == saved
        assert saved.metrics == {"accuracy": 0.9} and saved.dataset == "d@1"
        cl_store.add_model_version(model("other"))
        assert [m.name for m in cl_store.latest_model_versions()] == ["digits", "other"]
        with pytest.raises(ModelNotFoundError):
            cl_store.get_model_version("digits", 2)

    def test_aliases_move_with_recorded_history(self, cl_store: CLStore) -> None:
        cl_store.add_model_version(model())
        cl_store.add_model_version(model())
        first = cl_store.move_alias(move(1, None))
        second = cl_store.move_alias(dataclasses.replace(move(2, 1), report_id="r" * 64))
        assert cl_store.aliases("digits") == {"production": 2}
        assert cl_store.alias_history("digits") == [first, second]
        assert second.id > first.id and second.report_id == "r" * 64
        assert cl_store.alias_history("digits", "candidate") == []

    def test_an_alias_move_from_a_stale_holder_is_refused(self, cl_store: CLStore) -> None:
        cl_store.add_model_version(model())
        cl_store.add_model_version(model())
        cl_store.move_alias(move(1, None))
        with pytest.raises(AliasMovedError, match="points at version 1"):
            cl_store.move_alias(move(2, None))
        assert cl_store.aliases("digits") == {"production": 1}
        assert len(cl_store.alias_history("digits")) == 1

    def test_an_alias_cannot_point_at_a_missing_version(self, cl_store: CLStore) -> None:
        with pytest.raises(ModelNotFoundError):
            cl_store.move_alias(move(1, None))

    def test_reports_are_indexed_once_and_listed_newest_first(self, cl_store: CLStore) -> None:
        def entry(report_id: str, minutes: int, model: str | None = "digits") -> ReportEntry:
            when = T0 + dt.timedelta(minutes=minutes)
            return ReportEntry(
                report_id, when, "gate", "digits@2", "digits@1", "golden@1", True, 10, 0, model=model
            )

        cl_store.save_report(entry("1" * 64, 0))
        cl_store.save_report(entry("2" * 64, 5, model="other"))
        cl_store.save_report(dataclasses.replace(entry("1" * 64, 0), passed=False))
        assert [e.id[0] for e in cl_store.list_reports()] == ["2", "1"]
        assert [e.id[0] for e in cl_store.list_reports(model="digits")] == ["1"]
        assert cl_store.get_report("1" * 64).passed is True
        with pytest.raises(UsageError):
            cl_store.get_report("9" * 64)

    def test_schedules_round_trip_and_can_be_paused(self, cl_store: CLStore) -> None:
        cl_store.add_schedule(schedule())
        cl_store.add_schedule(
            dataclasses.replace(schedule("on-data"), trigger=DatasetTrigger("train", 500, since_version=3))
        )
        assert cl_store.get_schedule("nightly") == schedule()
        assert cl_store.get_schedule("on-data").trigger == DatasetTrigger("train", 500, 3)
        cl_store.update_schedule(dataclasses.replace(schedule(), paused=True))
        assert cl_store.get_schedule("nightly").paused
        assert [s.name for s in cl_store.list_schedules()] == ["nightly", "on-data"]

    def test_schedule_names_are_unique_and_missing_ones_are_named(self, cl_store: CLStore) -> None:
        cl_store.add_schedule(schedule())
        with pytest.raises(UsageError, match="exists already"):
            cl_store.add_schedule(schedule())
        with pytest.raises(ScheduleNotFoundError, match="loopline schedule ls"):
            cl_store.get_schedule("weekly")
        with pytest.raises(ScheduleNotFoundError):
            cl_store.remove_schedule("weekly")
        with pytest.raises(ScheduleNotFoundError):
            cl_store.update_schedule(schedule("weekly"))

    def test_a_slot_is_claimed_once(self, cl_store: CLStore) -> None:
        cl_store.add_schedule(schedule())
        slot = Slot("nightly", "2030-01-02T02:00:00+00:00", T0, T0)
        assert cl_store.claim_slot(slot) is True
        assert cl_store.claim_slot(dataclasses.replace(slot, fired_at=T0 + dt.timedelta(hours=1))) is False
        cl_store.update_slot("nightly", slot.key, state="running", run_id="r1")
        cl_store.update_slot("nightly", slot.key, state="succeeded")
        (recorded,) = cl_store.slots("nightly")
        assert (recorded.state, recorded.run_id, recorded.fired_at) == ("succeeded", "r1", T0)

    def test_concurrent_claims_of_one_slot_have_one_winner(self, cl_store: CLStore) -> None:
        cl_store.add_schedule(schedule())
        slot = Slot("nightly", "k", T0, T0)
        wins: list[bool] = []
        threads = [threading.Thread(target=lambda: wins.append(cl_store.claim_slot(slot))) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(wins) == [False] * 7 + [True]

    def test_slots_are_listed_latest_first_and_removed_with_their_schedule(self, cl_store: CLStore) -> None:
        cl_store.add_schedule(schedule())
        for hours in (1, 3, 2):
            due = T0 + dt.timedelta(hours=hours)
            cl_store.claim_slot(Slot("nightly", due.isoformat(), due, due))
        assert [s.due_at.hour for s in cl_store.slots("nightly")] == [3, 2, 1]
        cl_store.remove_schedule("nightly")
        assert cl_store.slots("nightly") == []

    def test_each_write_moves_the_revision_of_its_kind_only(self, cl_store: CLStore) -> None:
        store = cl_store
        report = ReportEntry("1" * 64, T0, "gate", "digits@2", "digits@1", "golden@1", True, 10, 0)
        assert kinds_moved(store, store.add_dataset_version, dataset()) == {"datasets"}
        assert kinds_moved(store, store.add_model_version, model()) == {"models"}
        assert kinds_moved(store, store.move_alias, move(1, None)) == {"models"}
        assert kinds_moved(store, store.save_report, report) == {"reports"}
        assert kinds_moved(store, store.add_schedule, schedule()) == {"schedules"}
        paused = dataclasses.replace(schedule(), paused=True)
        assert kinds_moved(store, store.update_schedule, paused) == {"schedules"}
        assert kinds_moved(store, store.claim_slot, Slot("nightly", "k", T0, T0)) == {"schedules"}
        assert kinds_moved(store, store.update_slot, "nightly", "k", state="running") == {"schedules"}
        assert kinds_moved(store, store.remove_schedule, "nightly") == {"schedules"}
        assert kinds_moved(store, store.model_versions, "digits") == set()  # reads move nothing

    def test_referenced_artifacts_cover_datasets_models_and_reports(self, cl_store: CLStore) -> None:
        cl_store.add_dataset_version(dataset(artifact="1" * 64))
        cl_store.add_model_version(model(artifact="2" * 64))
        cl_store.save_report(ReportEntry("3" * 64, T0, "gate", "c", None, None, True, 1, 0))
        cl_store.move_alias(dataclasses.replace(move(1, None), report_id="4" * 64))
        assert cl_store.referenced_artifact_ids() == {"1" * 64, "2" * 64, "3" * 64, "4" * 64}

    def test_inferences_round_trip(self, cl_store: CLStore) -> None:
        assert cl_store.add_inferences([inference("r1")]) == ["r1"]
        assert cl_store.get_inference("r1") == inference("r1")

    def test_logging_a_request_id_again_keeps_the_first_record(self, cl_store: CLStore) -> None:
        cl_store.add_inferences([inference("r1")])
        again = dataclasses.replace(inference("r1"), prediction=3)
        assert cl_store.add_inferences([again, inference("r2")]) == ["r2"]
        assert cl_store.get_inference("r1").prediction == 7

    def test_an_unknown_request_id_is_named(self, cl_store: CLStore) -> None:
        with pytest.raises(InferenceNotFoundError, match="'nope'"):
            cl_store.get_inference("nope")
        cl_store.add_inferences([inference("r1")])
        assert cl_store.known_request_ids(["r1", "nope"]) == {"r1"}

    def test_inferences_are_listed_newest_first_and_filtered(self, cl_store: CLStore) -> None:
        cl_store.add_inferences(
            [inference("a", 0, 0.9), inference("b", 1, 0.4), inference("c", 2, None, version=2)]
        )
        assert [r.request_id for r in cl_store.list_inferences()] == ["c", "b", "a"]
        assert [r.request_id for r in cl_store.list_inferences(limit=1, offset=1)] == ["b"]
        low = InferenceQuery(max_confidence=0.5)
        assert [r.request_id for r in cl_store.list_inferences(low)] == ["b"]
        assert cl_store.count_inferences(InferenceQuery(model_version=1)) == 2
        window = InferenceQuery(since=T0 + dt.timedelta(minutes=1), until=T0 + dt.timedelta(minutes=2))
        assert [r.request_id for r in cl_store.list_inferences(window)] == ["b"]
        assert cl_store.count_inferences(InferenceQuery(request_ids=("a", "c"))) == 2

    def test_inferences_can_be_filtered_by_their_feedback(self, cl_store: CLStore) -> None:
        cl_store.add_inferences([inference("a"), inference("b", 1), inference("c", 2)])
        cl_store.add_feedback([Feedback("a", "flag", T0, "ada"), Feedback("b", "confirmation", T0, "bob")])
        assert {r.request_id for r in cl_store.list_inferences(InferenceQuery(feedback="any"))} == {
            "a",
            "b",
        }
        assert [r.request_id for r in cl_store.list_inferences(InferenceQuery(feedback="none"))] == ["c"]
        assert [r.request_id for r in cl_store.list_inferences(InferenceQuery(feedback="flag"))] == ["a"]

    def test_feedback_gets_ids_and_is_listed_newest_first(self, cl_store: CLStore) -> None:
        cl_store.add_inferences([inference("a"), inference("b")])
        saved = cl_store.add_feedback(
            [
                Feedback("a", "correction", T0, "ada", label=1),
                Feedback("b", "heuristic", T0, "ignored-all", score=0.7),
            ]
        )
        assert saved[1].id > saved[0].id > 0
        assert cl_store.list_feedback() == list(reversed(saved))
        assert cl_store.list_feedback(request_ids=["a"]) == [saved[0]]
        assert cl_store.list_feedback(kind="heuristic")[0].score == 0.7
        assert cl_store.list_feedback(request_ids=[]) == []

    def test_feedback_on_an_unknown_request_id_is_refused(self, cl_store: CLStore) -> None:
        with pytest.raises(InferenceNotFoundError, match="log the inference first"):
            cl_store.add_feedback([Feedback("ghost", "flag", T0, "ada")])

    def test_tasks_are_queued_once_per_key(self, cl_store: CLStore) -> None:
        first = cl_store.add_tasks([task("a"), task("b")])
        assert [t.id > 0 for t in first] == [True, True]
        assert [t.key for t in cl_store.add_tasks([task("a"), task("c")])] == ["c"]
        assert cl_store.get_task(first[0].id) == first[0]
        assert cl_store.queued_keys("digits", ["a", "z"]) == {"a"}
        assert cl_store.add_tasks([task("a", queue="other")])[0].queue == "other"
        assert cl_store.queues() == ["digits", "other"]

    def test_a_missing_task_is_named(self, cl_store: CLStore) -> None:
        with pytest.raises(TaskNotFoundError, match="no labeling task 42"):
            cl_store.get_task(42)

    def test_tasks_are_listed_in_queue_order(self, cl_store: CLStore) -> None:
        cl_store.add_tasks(
            [task("low", 0.1), task("high", 0.9), dataclasses.replace(task("skipped", 1.0), skips=1)]
        )
        assert [t.key for t in cl_store.list_tasks("digits")] == ["high", "low", "skipped"]
        assert cl_store.task_counts("digits") == {"open": 3}
        assert cl_store.list_tasks("digits", states=["labeled"]) == []

    def test_claims_lease_tasks_to_one_labeler(self, cl_store: CLStore) -> None:
        cl_store.add_tasks([task("a", 0.9), task("b", 0.8), task("c", 0.7)])
        lease = T0 + dt.timedelta(minutes=10)
        ada = cl_store.claim_tasks("digits", "ada", limit=2, now=T0, lease_until=lease)
        bob = cl_store.claim_tasks("digits", "bob", limit=2, now=T0, lease_until=lease)
        assert [t.key for t in ada] == ["a", "b"] and [t.key for t in bob] == ["c"]
        assert {t.claimed_by for t in ada} == {"ada"} and ada[0].lease_until == lease
        assert cl_store.task_counts("digits") == {"claimed": 3}

    def test_an_expired_lease_can_be_claimed_again(self, cl_store: CLStore) -> None:
        cl_store.add_tasks([task("a")])
        cl_store.claim_tasks("digits", "ada", limit=1, now=T0, lease_until=T0 + dt.timedelta(minutes=1))
        later = T0 + dt.timedelta(minutes=2)
        (taken,) = cl_store.claim_tasks("digits", "bob", limit=5, now=later, lease_until=later)
        assert taken.claimed_by == "bob"

    def test_concurrent_claims_never_share_a_task(self, cl_store: CLStore) -> None:
        cl_store.add_tasks([task(f"k{i}", i / 100) for i in range(40)])
        got: dict[str, list[str]] = {}

        def claim(labeler: str) -> None:
            lease = T0 + dt.timedelta(hours=1)
            got[labeler] = [
                t.key for t in cl_store.claim_tasks("digits", labeler, limit=10, now=T0, lease_until=lease)
            ]

        threads = [threading.Thread(target=claim, args=(f"labeler{i}",)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        keys = [key for keys in got.values() for key in keys]
        assert len(keys) == len(set(keys)) == 40

    def test_transitions_are_compare_and_set(self, cl_store: CLStore) -> None:
        (a,) = cl_store.add_tasks([task("a")])
        cl_store.claim_tasks("digits", "ada", limit=1, now=T0, lease_until=T0)
        labeled = {"state": "labeled", "label": 7, "labeled_by": "ada", "labeled_at": T0}
        assert cl_store.transition_tasks([a.id], from_states=["claimed"], changes=labeled, holder="bob") == []
        (done,) = cl_store.transition_tasks([a.id], from_states=["claimed"], changes=labeled, holder="ada")
        assert (done.state, done.label, done.labeled_by) == ("labeled", 7, "ada")
        assert cl_store.transition_tasks([a.id], from_states=["claimed"], changes={"state": "open"}) == []

    def test_only_task_fields_can_change(self, cl_store: CLStore) -> None:
        (a,) = cl_store.add_tasks([task("a")])
        with pytest.raises(UsageError, match="no field"):
            cl_store.transition_tasks([a.id], from_states=["open"], changes={"queue": "elsewhere"})

    def test_rounds_are_numbered_per_loop_and_updated(self, cl_store: CLStore) -> None:
        first = cl_store.add_round(loop_round())
        second = cl_store.add_round(loop_round())
        cl_store.add_round(loop_round("other"))
        assert (first.round, second.round) == (1, 2)
        done = dataclasses.replace(
            first,
            state="promoted",
            promoted=True,
            metrics={"production accuracy": 0.9},
            scenarios={"digit 7": {"passed": True, "accuracy": 0.8, "size": 40}},
        )
        cl_store.update_round(done)
        assert cl_store.rounds("digits-loop") == [done, second]
        assert [(r.loop, r.round) for r in cl_store.loops()] == [("digits-loop", 2), ("other", 1)]

    def test_updating_a_missing_round_is_refused(self, cl_store: CLStore) -> None:
        with pytest.raises(UsageError, match="no round 3"):
            cl_store.update_round(dataclasses.replace(loop_round(), round=3))

    def test_each_loop_write_moves_the_revision_of_its_kind_only(self, cl_store: CLStore) -> None:
        store = cl_store
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

    def test_referenced_artifacts_cover_batches_tasks_and_reports(self, cl_store: CLStore) -> None:
        cl_store.add_inferences([inference("a")])
        cl_store.add_tasks([dataclasses.replace(task("a"), artifact_id="b" * 64)])
        saved = cl_store.add_round(loop_round())
        cl_store.update_round(dataclasses.replace(saved, report_id="c" * 64))
        assert cl_store.referenced_artifact_ids() == {"a" * 64, "b" * 64, "c" * 64}

    # -- candidate dataset versions, quality control, re-logged inferences (issue 15) ---------

    def test_a_candidate_version_is_not_the_latest_until_it_is_decided(self, cl_store: CLStore) -> None:
        cl_store.add_dataset_version(dataset())
        proposed = dataclasses.replace(dataset(artifact="c" * 64), parent=1, state="candidate")
        candidate = cl_store.add_dataset_version(proposed, expected_latest=1)
        assert (candidate.version, candidate.state) == (2, "candidate")
        assert cl_store.get_dataset_version("digits").version == 1
        assert [v.version for v in cl_store.latest_dataset_versions()] == [1]
        assert [v.state for v in cl_store.dataset_versions("digits")] == ["canonical", "candidate"]
        accepted = cl_store.decide_dataset_version(
            "digits", 2, state="canonical", by="ada", at=T0, reason="the gate passed"
        )
        assert (accepted.state, accepted.decided_by, accepted.decision) == (
            "canonical",
            "ada",
            "the gate passed",
        )
        assert cl_store.get_dataset_version("digits") == accepted

    def test_a_rejected_candidate_stays_in_the_history_and_numbers_go_on(self, cl_store: CLStore) -> None:
        cl_store.add_dataset_version(dataset())
        cl_store.add_dataset_version(dataclasses.replace(dataset(), parent=1, state="candidate"))
        rejected = cl_store.decide_dataset_version(
            "digits", 2, state="rejected", by="loop", at=T0, reason="blocked"
        )
        assert rejected.state == "rejected"
        after = cl_store.add_dataset_version(dataclasses.replace(dataset(), parent=1), expected_latest=1)
        assert after.version == 3 and cl_store.get_dataset_version("digits").version == 3
        with pytest.raises(DatasetConflictError, match="rejected, not a candidate"):
            cl_store.decide_dataset_version("digits", 2, state="rejected", by="ada", at=T0, reason="")
        with pytest.raises(DatasetConflictError, match="canonical already"):
            cl_store.decide_dataset_version("digits", 3, state="rejected", by="ada", at=T0, reason="")

    def test_a_person_can_overturn_a_rejection_while_nothing_moved(self, cl_store: CLStore) -> None:
        cl_store.add_dataset_version(dataset())
        cl_store.add_dataset_version(dataclasses.replace(dataset(), parent=1, state="candidate"))
        cl_store.decide_dataset_version("digits", 2, state="rejected", by="loop", at=T0, reason="blocked")
        accepted = cl_store.decide_dataset_version(
            "digits", 2, state="canonical", by="ada", at=T0, reason="ok"
        )
        assert (accepted.state, cl_store.get_dataset_version("digits").version) == ("canonical", 2)

    def test_a_candidate_behind_the_latest_version_cannot_become_canonical(self, cl_store: CLStore) -> None:
        cl_store.add_dataset_version(dataset())
        cl_store.add_dataset_version(dataclasses.replace(dataset(), parent=1, state="candidate"))
        cl_store.add_dataset_version(dataclasses.replace(dataset(), parent=1), expected_latest=1)
        with pytest.raises(
            DatasetConflictError, match="proposed on top of version 1, but digits is at version 3"
        ):
            cl_store.decide_dataset_version("digits", 2, state="canonical", by="ada", at=T0, reason="")
        assert cl_store.get_dataset_version("digits", 2).state == "candidate"

    def test_a_dataset_with_only_candidates_has_no_latest(self, cl_store: CLStore) -> None:
        cl_store.add_dataset_version(dataclasses.replace(dataset(), state="candidate"))
        with pytest.raises(DatasetNotFoundError, match="no canonical version yet"):
            cl_store.get_dataset_version("digits")
        assert cl_store.latest_dataset_versions() == []
        assert cl_store.get_dataset_version("digits", 1).state == "candidate"

    def test_deciding_moves_the_datasets_revision(self, cl_store: CLStore) -> None:
        cl_store.add_dataset_version(dataset())
        cl_store.add_dataset_version(dataclasses.replace(dataset(), parent=1, state="candidate"))
        decide = cl_store.decide_dataset_version
        assert kinds_moved(cl_store, decide, "digits", 2, state="rejected", by="a", at=T0, reason="") == {
            "datasets"
        }

    def test_a_request_id_logged_again_is_counted_on_its_first_record(self, cl_store: CLStore) -> None:
        cl_store.add_inferences([inference("r1")])
        again = [
            dataclasses.replace(inference("r1", 5), prediction=3),
            inference("r2", 1),
            inference("r2", 9),
        ]
        assert cl_store.add_inferences(again) == ["r2"]
        first, second = cl_store.get_inference("r1"), cl_store.get_inference("r2")
        assert (first.prediction, first.relogged, first.relogged_at) == (7, 1, T0 + dt.timedelta(minutes=5))
        assert (second.relogged, second.relogged_at) == (1, T0 + dt.timedelta(minutes=9))
        since = InferenceQuery(relogged_since=T0 + dt.timedelta(minutes=6))
        assert [r.request_id for r in cl_store.list_inferences(since)] == ["r2"]
        assert cl_store.count_inferences(InferenceQuery(relogged_since=T0)) == 2

    def test_tasks_keep_their_quality_control_fields(self, cl_store: CLStore) -> None:
        gold = dataclasses.replace(
            task("gold:g1:ada"), kind="gold", gold_label=3, fingerprint="f" * 16, review_reason="why"
        )
        second = dataclasses.replace(task("a#second"), kind="second", of_task=1, excluded_labeler="ada")
        saved = cl_store.add_tasks([gold, second])
        assert [cl_store.get_task(t.id) for t in saved] == saved
        assert (saved[0].kind, saved[0].gold_label, saved[1].excluded_labeler) == ("gold", 3, "ada")
        assert cl_store.queued_fingerprints("digits", ["f" * 16, "0" * 16]) == {"f" * 16}
        assert cl_store.queued_fingerprints("other", ["f" * 16]) == set()

    def test_tasks_are_listed_by_kind_labeler_and_proposed_version(self, cl_store: CLStore) -> None:
        cl_store.add_tasks(
            [
                dataclasses.replace(task("a"), labeled_by="ada", state="labeled"),
                dataclasses.replace(task("b"), kind="gold", claimed_by="ada", state="claimed"),
                dataclasses.replace(task("c"), labeled_by="bob", proposed_to="d@2", state="proposed"),
            ]
        )
        assert [t.key for t in cl_store.list_tasks("digits", labeler="ada")] == ["a", "b"]
        assert [t.key for t in cl_store.list_tasks("digits", kinds=["gold"])] == ["b"]
        assert [t.key for t in cl_store.list_tasks("digits", proposed_to="d@2")] == ["c"]
        assert cl_store.list_tasks("digits", kinds=["label"], labeler="bob", states=["labeled"]) == []

    def test_a_claim_never_gives_a_labeler_a_task_they_are_excluded_from(self, cl_store: CLStore) -> None:
        cl_store.add_tasks([dataclasses.replace(task("a"), excluded_labeler="ada"), task("b", 0.1)])
        lease = T0 + dt.timedelta(minutes=10)
        assert [t.key for t in cl_store.claim_tasks("digits", "ada", limit=5, now=T0, lease_until=lease)] == [
            "b"
        ]
        assert [t.key for t in cl_store.claim_tasks("digits", "bob", limit=5, now=T0, lease_until=lease)] == [
            "a"
        ]

    def test_queue_settings_round_trip_and_are_replaced(self, cl_store: CLStore) -> None:
        assert cl_store.queue_settings("digits") is None
        quality = QualityControl(agreement=0.1, gold="gold@1", gold_share=0.2, min_accuracy=0.9, min_gold=8)
        settings = QueueSettings("digits", "digits-train", True, quality, T0, "ada", "int", (0, 1, 2))
        cl_store.save_queue_settings(settings)
        assert cl_store.queue_settings("digits") == settings
        cl_store.save_queue_settings(dataclasses.replace(settings, review=False))
        assert cl_store.queue_settings("digits") == dataclasses.replace(settings, review=False)

    def test_rounds_keep_what_the_loop_records(self, cl_store: CLStore) -> None:
        saved = cl_store.add_round(loop_round())
        done = dataclasses.replace(
            saved,
            state="accepted",
            proposed="digits-train@2",
            waiting=3,
            returned=40,
            blamed={"req-1": 0.9, "req-2": 0.5},
            quality={"ada": {"labels": 20, "gold_accuracy": 1.0}},
            relogged=2,
            accepted_by="ada",
            accepted_at=T0,
            accept_reason="the labels are right",
        )
        cl_store.update_round(done)
        assert cl_store.rounds("digits-loop") == [done]
