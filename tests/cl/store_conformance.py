"""The CLStore conformance suite: every backend must behave the same (see test_store.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest

from loopline.cl.errors import (
    AliasMovedError,
    DatasetConflictError,
    DatasetNotFoundError,
    ModelNotFoundError,
    ScheduleNotFoundError,
)
from loopline.cl.records import (
    AliasMove,
    CronTrigger,
    DatasetTrigger,
    DatasetVersion,
    ModelVersion,
    ReportEntry,
    Schedule,
    Slot,
    Webhook,
)
from loopline.cl.store import CLStore
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
