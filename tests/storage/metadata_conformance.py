"""What every MetadataStore must do. Each backend subclasses `MetadataStoreConformance` and
provides the `store` fixture (see test_metadata_stores.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import pytest

from loopline.core.records import (
    ArtifactRecord,
    ErrorInfo,
    GitInfo,
    InputRef,
    LaunchSpec,
    LogChunk,
    MetricPoint,
    Note,
    Resources,
    RunFilter,
    RunnerRecord,
    RunRecord,
    RunState,
    WriteBatch,
)
from loopline.errors import ArtifactNotFoundError, RunNotFoundError, UsageError
from loopline.storage.base import MetadataStore

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def make_run(run_id: str, **changes: Any) -> RunRecord:
    """A running root run created at T0, unless `changes` say otherwise."""
    run = RunRecord(
        id=run_id,
        root_id=run_id,
        parent_id=None,
        function="pkg.pipeline",
        name=run_id,
        state=RunState.RUNNING,
        created_at=T0,
    )
    return run.replace(**changes)


def child(run_id: str, parent: str, *, root: str | None = None, **changes: Any) -> RunRecord:
    return make_run(run_id, root_id=root or parent, parent_id=parent, function="pkg.step", **changes)


def full_run() -> RunRecord:
    """A run with every field set to something other than its default."""
    return make_run(
        "full",
        tags=("nightly", "gpu"),
        inputs={"data": InputRef("a" * 64, ("up1", "up2")), "lr": InputRef("b" * 64)},
        output_id="c" * 64,
        started_at=at(1),
        ended_at=at(2),
        cache_key="k" * 64,
        cached_from="other",
        code_version="v1",
        source="def f(): ...",
        docstring="Does f.",
        resources=Resources(cpus=1.5, gpus=2, memory_bytes=2**33),
        attempts=3,
        error=ErrorInfo("ValueError", "bad", "Traceback...", user_error=False),
        runner_id="runner-1",
        executor="process",
        user="ada",
        git=GitInfo("abc123", "main", True, "git@example.com:x.git"),
        launch=LaunchSpec("pkg:pipeline", "pkg", None, "/usr/bin/python", "/work", ("--epochs", "3")),
    )


def artifact(artifact_id: str, **changes: Any) -> ArtifactRecord:
    record = ArtifactRecord(artifact_id, "builtins:int", 12, {"kind": "int", "value": 1}, T0)
    return dataclasses.replace(record, **changes)


def log(run_id: str, text: str) -> LogChunk:
    return LogChunk(run_id, "stdout", text, T0)


def metric(run_id: str, value: float, *, root_id: str | None = None, step: int | None = None) -> MetricPoint:
    return MetricPoint(run_id, root_id or run_id, "loss", value, step, T0)


def without_store_fields(run: RunRecord) -> RunRecord:
    return run.replace(updated_at=None)


class MetadataStoreConformance:
    """Subclasses provide a `store` fixture: an empty store of their backend."""

    @pytest.fixture
    def store(self) -> MetadataStore:
        raise NotImplementedError

    @staticmethod
    def write(store: MetadataStore, *runs: RunRecord, **batch: Any) -> None:
        store.write(WriteBatch(runs=list(runs), **batch))

    def as_recorded(self, run: RunRecord) -> RunRecord:
        """`run` as this backend records it (a team server records who sent it as its user)."""
        return run

    # -- the protocol ------------------------------------------------------------------------

    def test_implements_the_protocol(self, store: MetadataStore) -> None:
        assert isinstance(store, MetadataStore)

    # -- writing and reading runs ------------------------------------------------------------

    def test_a_run_reads_back_as_written(self, store: MetadataStore) -> None:
        self.write(store, full_run())
        assert without_store_fields(store.get_run("full")) == self.as_recorded(full_run())

    def test_a_minimal_run_reads_back_as_written(self, store: MetadataStore) -> None:
        self.write(store, make_run("r"))
        assert without_store_fields(store.get_run("r")) == self.as_recorded(make_run("r"))

    def test_the_latest_snapshot_wins(self, store: MetadataStore) -> None:
        self.write(store, make_run("r"))
        self.write(store, make_run("r", state=RunState.SUCCEEDED, output_id="d" * 64))
        assert store.get_run("r").state is RunState.SUCCEEDED and store.get_run("r").output_id == "d" * 64

    def test_the_last_snapshot_in_a_batch_wins(self, store: MetadataStore) -> None:
        self.write(store, make_run("r"), make_run("r", state=RunState.FAILED))
        assert store.get_run("r").state is RunState.FAILED

    def test_created_at_is_kept_from_the_first_write(self, store: MetadataStore) -> None:
        self.write(store, make_run("r", created_at=at(0)))
        self.write(store, make_run("r", created_at=at(5)))
        assert store.get_run("r").created_at == at(0)

    def test_cancel_requested_is_kept_by_the_store(self, store: MetadataStore) -> None:
        self.write(store, make_run("r"))
        store.request_cancel("r")
        self.write(store, make_run("r", state=RunState.CANCELLED))
        assert store.get_run("r").cancel_requested

    def test_a_snapshot_cannot_request_a_cancel(self, store: MetadataStore) -> None:
        self.write(store, make_run("r", cancel_requested=True))
        assert not store.get_run("r").cancel_requested and store.cancel_requested(["r"]) == set()

    def test_the_store_stamps_updated_at_on_every_write(self, store: MetadataStore) -> None:
        self.write(store, make_run("r"))
        first = store.get_run("r").updated_at
        self.write(store, make_run("r", state=RunState.SUCCEEDED))
        second = store.get_run("r").updated_at
        assert first is not None and second is not None and second >= first

    def test_datetimes_come_back_in_utc(self, store: MetadataStore) -> None:
        paris = dt.timezone(dt.timedelta(hours=1))
        self.write(store, make_run("r", created_at=dt.datetime(2030, 1, 1, 1, tzinfo=paris)))
        assert store.get_run("r").created_at == T0

    def test_runs_with_the_same_code_version_share_its_source(self, store: MetadataStore) -> None:
        self.write(store, make_run("a", code_version="v1", source="src", docstring="doc"))
        self.write(store, make_run("b", code_version="v1", source="src", docstring="doc"))
        assert (store.get_run("b").source, store.get_run("b").docstring) == ("src", "doc")

    def test_an_empty_batch_writes_nothing(self, store: MetadataStore) -> None:
        store.write(WriteBatch())
        assert store.count_runs() == 0

    def test_an_unknown_run_raises_run_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(RunNotFoundError, match="'nope'"):
            store.get_run("nope")

    def test_run_not_found_is_a_key_error(self, store: MetadataStore) -> None:
        with pytest.raises(KeyError):
            store.get_run("nope")

    def test_get_runs_returns_the_runs_that_exist(self, store: MetadataStore) -> None:
        self.write(store, make_run("a"), make_run("b"))
        assert sorted(r.id for r in store.get_runs(["a", "missing", "b"])) == ["a", "b"]

    def test_get_runs_of_many_ids(self, store: MetadataStore) -> None:
        self.write(store, *(make_run(f"r{i}") for i in range(1200)))
        assert len(store.get_runs([f"r{i}" for i in range(1200)])) == 1200

    # -- artifacts ----------------------------------------------------------------------------

    def test_an_artifact_record_reads_back(self, store: MetadataStore) -> None:
        self.write(store, artifacts=[artifact("a" * 64)])
        assert store.get_artifact("a" * 64) == artifact("a" * 64)

    def test_an_artifact_record_is_written_once(self, store: MetadataStore) -> None:
        self.write(store, artifacts=[artifact("a" * 64, size=1), artifact("a" * 64, size=2)])
        self.write(store, artifacts=[artifact("a" * 64, size=3)])
        assert store.get_artifact("a" * 64).size == 1

    def test_an_unknown_artifact_raises_artifact_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(ArtifactNotFoundError):
            store.get_artifact("f" * 64)

    def test_deleted_artifact_records_are_gone(self, store: MetadataStore) -> None:
        self.write(store, artifacts=[artifact("a" * 64), artifact("b" * 64)])
        store.delete_artifact_records(["a" * 64])
        with pytest.raises(ArtifactNotFoundError):
            store.get_artifact("a" * 64)
        assert store.get_artifact("b" * 64)

    def test_referenced_artifacts_are_every_input_and_output(self, store: MetadataStore) -> None:
        self.write(store, full_run(), make_run("plain"))
        assert store.referenced_artifact_ids() == {"a" * 64, "b" * 64, "c" * 64}

    # -- listing, filtering and paging --------------------------------------------------------

    @pytest.fixture
    def catalog(self, store: MetadataStore) -> MetadataStore:
        """Two pipelines with children, created a minute apart (oldest first: root1 ... c2b)."""
        self.write(
            store,
            make_run(
                "root1",
                name="Train Model",
                tags=("nightly", "gpu"),
                state=RunState.SUCCEEDED,
                created_at=at(0),
            ),
            child("c1", "root1", name="load data", created_at=at(1), state=RunState.FAILED),
            make_run(
                "root2",
                name="Évaluer 100%_done",
                function="pkg.other",
                tags=("adhoc", "équipe"),
                created_at=at(2),
            ),
            child("c2a", "root2", name="score", created_at=at(3), tags=("nightly",)),
            child("c2b", "c2a", root="root2", name="score part", created_at=at(4), state=RunState.SUCCEEDED),
        )
        return store

    @staticmethod
    def ids(store: MetadataStore, **filters: Any) -> list[str]:
        return [run.id for run in store.list_runs(RunFilter(**filters), limit=1000).runs]

    def test_runs_are_found_by_an_artifact_they_produced_or_took(self, store: MetadataStore) -> None:
        consumer = make_run("consumer", inputs={"x": InputRef("c" * 64, ("full",))})
        self.write(store, full_run(), consumer, make_run("plain"))
        assert sorted(self.ids(store, artifact="c" * 64)) == ["consumer", "full"]
        assert self.ids(store, artifact="a" * 64) == ["full"]
        assert self.ids(store, artifact="d" * 64) == []
        assert store.count_runs(RunFilter(artifact="c" * 64)) == 2

    def test_runs_are_listed_newest_first(self, catalog: MetadataStore) -> None:
        assert self.ids(catalog) == ["c2b", "c2a", "root2", "c1", "root1"]

    @pytest.mark.parametrize(
        ("filters", "expected"),
        [
            ({"states": [RunState.SUCCEEDED, RunState.FAILED]}, ["c2b", "c1", "root1"]),
            ({"states": []}, []),
            ({"name": "score"}, ["c2b", "c2a"]),
            ({"name": "MODEL"}, ["root1"]),
            ({"name": "Évaluer"}, ["root2"]),
            ({"name": "100%_"}, ["root2"]),
            ({"name": "%"}, ["root2"]),
            ({"function": "pkg.other"}, ["root2"]),
            ({"function": "pkg"}, []),
            ({"tags": ["nightly"]}, ["c2a", "root1"]),
            ({"tags": ["nightly", "gpu"]}, ["root1"]),
            ({"tags": ["night"]}, []),
            ({"tags": ["GPU"]}, []),
            ({"tags": ["équipe"]}, ["root2"]),
            ({"root_only": True}, ["root2", "root1"]),
            ({"root_id": "root2"}, ["c2b", "c2a", "root2"]),
            ({"parent_id": "c2a"}, ["c2b"]),
            ({"created_after": at(2)}, ["c2b", "c2a", "root2"]),
            ({"created_before": at(2)}, ["c1", "root1"]),
            ({"created_after": at(1), "created_before": at(3)}, ["root2", "c1"]),
            ({"search": "train"}, ["root1"]),
            ({"search": "ADHOC"}, ["root2"]),
            ({"search": "pkg.step"}, ["c2b", "c2a", "c1"]),
            ({"search": "c2"}, ["c2b", "c2a"]),
            ({"search": "gpu"}, ["root1"]),
            ({"search": "_"}, ["root2"]),
            ({"search": '"'}, []),
            ({"search": "Évaluer"}, ["root2"]),
            ({"search": "équipe"}, ["root2"]),
            ({"search": "00e9"}, []),
            ({"search": ", "}, []),
            ({"search": "["}, []),
            ({"root_only": True, "states": [RunState.RUNNING], "search": "val"}, ["root2"]),
        ],
        ids=lambda v: repr(v) if isinstance(v, dict) else "",
    )
    def test_filters(self, catalog: MetadataStore, filters: dict[str, Any], expected: list[str]) -> None:
        assert self.ids(catalog, **filters) == expected

    @pytest.mark.parametrize(
        "filters",
        [{}, {"root_only": True}, {"tags": ["nightly"]}, {"search": "score"}, {"states": [RunState.RUNNING]}],
    )
    def test_count_agrees_with_list(self, catalog: MetadataStore, filters: dict[str, Any]) -> None:
        assert catalog.count_runs(RunFilter(**filters)) == len(self.ids(catalog, **filters))

    @pytest.mark.parametrize("limit", [1, 2, 3, 7, 40])
    def test_pages_cover_every_run_once_even_with_equal_timestamps(
        self, store: MetadataStore, limit: int
    ) -> None:
        self.write(store, *(make_run(f"r{i:02}", created_at=at(i % 3)) for i in range(20)))
        seen, cursor = [], None
        while True:
            page = store.list_runs(limit=limit, cursor=cursor)
            seen += [run.id for run in page.runs]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == self.ids(store) and sorted(seen) == [f"r{i:02}" for i in range(20)]

    def test_paging_follows_the_filter(self, catalog: MetadataStore) -> None:
        first = catalog.list_runs(RunFilter(root_id="root2"), limit=2)
        second = catalog.list_runs(RunFilter(root_id="root2"), limit=2, cursor=first.next_cursor)
        assert [r.id for r in second.runs] == ["root2"] and second.next_cursor is None

    def test_a_page_that_ends_the_list_has_no_cursor(self, catalog: MetadataStore) -> None:
        assert catalog.list_runs(limit=5).next_cursor is None

    @pytest.mark.parametrize("cursor", ["garbage!", "", "bm9waXBl"])
    def test_an_invalid_cursor_is_a_usage_error(self, store: MetadataStore, cursor: str) -> None:
        with pytest.raises(UsageError, match="cursor"):
            store.list_runs(cursor=cursor)

    def test_changed_runs_are_those_written_since(self, catalog: MetadataStore) -> None:
        since = catalog.get_run("root1").updated_at
        assert since is not None
        self.write(catalog, make_run("root1", state=RunState.FAILED))
        changed = catalog.changed_runs(since)
        assert "root1" in [r.id for r in changed]
        assert catalog.changed_runs(since + dt.timedelta(days=1)) == []

    # -- the cache ------------------------------------------------------------------------------

    def test_find_cached_returns_a_succeeded_run_with_the_key(self, store: MetadataStore) -> None:
        self.write(store, make_run("r", cache_key="k", state=RunState.SUCCEEDED, ended_at=at(1)))
        hit = store.find_cached("k")
        assert hit is not None and hit.id == "r"

    @pytest.mark.parametrize("state", [s for s in RunState if s not in (RunState.SUCCEEDED, RunState.CACHED)])
    def test_find_cached_ignores_runs_that_did_not_succeed(
        self, store: MetadataStore, state: RunState
    ) -> None:
        self.write(store, make_run("r", cache_key="k", state=state, ended_at=at(1)))
        assert store.find_cached("k") is None

    def test_find_cached_prefers_a_run_that_executed_to_one_that_reused_it(
        self, store: MetadataStore
    ) -> None:
        self.write(
            store,
            make_run("reused", cache_key="k", state=RunState.CACHED, ended_at=at(9), output_id="a" * 64),
            make_run("executed", cache_key="k", state=RunState.SUCCEEDED, ended_at=at(1), output_id="a" * 64),
        )
        hit = store.find_cached("k")
        assert hit is not None and hit.id == "executed"
        store.delete_runs(["executed"])  # gc deleted the pipeline that executed it
        hit = store.find_cached("k")
        assert hit is not None and hit.id == "reused"

    def test_find_cached_prefers_the_latest_run(self, store: MetadataStore) -> None:
        self.write(
            store,
            make_run("old", cache_key="k", state=RunState.SUCCEEDED, ended_at=at(1)),
            make_run("new", cache_key="k", state=RunState.SUCCEEDED, ended_at=at(9)),
            make_run("other", cache_key="j", state=RunState.SUCCEEDED, ended_at=at(20)),
        )
        hit = store.find_cached("k")
        assert hit is not None and hit.id == "new"

    def test_find_cached_prefers_a_run_that_has_ended(self, store: MetadataStore) -> None:
        self.write(
            store,
            make_run("ended", cache_key="k", state=RunState.SUCCEEDED, created_at=at(0), ended_at=at(5)),
            make_run("no_end", cache_key="k", state=RunState.SUCCEEDED, created_at=at(1)),
        )
        hit = store.find_cached("k")
        assert hit is not None and hit.id == "ended"

    # -- logs, metrics, notes --------------------------------------------------------------------

    def test_logs_come_back_in_write_order(self, store: MetadataStore) -> None:
        self.write(store, logs=[log("r", "one"), log("r", "two")])
        self.write(store, logs=[log("r", "three")])
        assert [c.text for c in store.read_logs("r")] == ["one", "two", "three"]

    def test_log_sequence_numbers_increase(self, store: MetadataStore) -> None:
        self.write(store, logs=[log("r", "a"), log("other", "b"), log("r", "c")])
        seqs = [c.seq for c in store.read_logs("r")]
        assert seqs == sorted(seqs) and len(set(seqs)) == 2 and seqs[0] > 0

    def test_logs_after_a_sequence_number(self, store: MetadataStore) -> None:
        self.write(store, logs=[log("r", "a"), log("r", "b"), log("r", "c")])
        first = store.read_logs("r")[0]
        assert [c.text for c in store.read_logs("r", after_seq=first.seq)] == ["b", "c"]

    def test_logs_are_limited(self, store: MetadataStore) -> None:
        self.write(store, logs=[log("r", str(i)) for i in range(5)])
        assert [c.text for c in store.read_logs("r", limit=2)] == ["0", "1"]

    def test_logs_keep_their_fields(self, store: MetadataStore) -> None:
        chunk = LogChunk("r", "stderr", "oops\n\ttrace ✓", at(3))
        self.write(store, logs=[chunk])
        assert dataclasses.replace(store.read_logs("r")[0], seq=0) == chunk

    # -- a pipeline's output, merged ------------------------------------------------------------

    @pytest.fixture
    def pipeline(self, store: MetadataStore) -> MetadataStore:
        """Pipeline p: steps a and b, b with a nested step b1; another pipeline q writes between."""
        runs = [make_run("p"), child("a", "p"), child("b", "p"), child("b1", "b", root="p"), make_run("q")]
        self.write(store, *runs)
        self.write(store, logs=[log("p", "start\n"), log("a", "a1\n"), log("q", "other\n")])
        self.write(
            store, logs=[LogChunk("b1", "stderr", "B1 warns\n", T0), log("a", "a2\n"), log("b", "b\n")]
        )
        return store

    @staticmethod
    def texts(page: Any) -> list[str]:
        return [c.text for c in page.chunks]

    def test_pipeline_logs_merge_every_step_in_write_order(self, pipeline: MetadataStore) -> None:
        page = pipeline.read_pipeline_logs("p", limit=100, max_chars=1000)
        assert self.texts(page) == ["start\n", "a1\n", "B1 warns\n", "a2\n", "b\n"]
        assert page.names == {"p": "p", "a": "a", "b": "b", "b1": "b1"}
        assert not page.earlier and not page.later

    def test_pipeline_logs_of_a_nested_run_are_its_subtree(self, pipeline: MetadataStore) -> None:
        assert self.texts(pipeline.read_pipeline_logs("b", limit=100, max_chars=1000)) == [
            "B1 warns\n",
            "b\n",
        ]

    def test_pipeline_logs_filter_by_step_stream_and_text(self, pipeline: MetadataStore) -> None:
        read = pipeline.read_pipeline_logs
        assert self.texts(read("p", limit=100, max_chars=1000, step="a")) == ["a1\n", "a2\n"]
        assert self.texts(read("p", limit=100, max_chars=1000, stream="stderr")) == ["B1 warns\n"]
        assert self.texts(read("p", limit=100, max_chars=1000, text="b1 W")) == ["B1 warns\n"]
        assert self.texts(read("p", limit=100, max_chars=1000, text="%")) == []  # not a wildcard

    def test_pipeline_logs_page_from_the_end_and_on_from_a_cursor(self, pipeline: MetadataStore) -> None:
        last = pipeline.read_pipeline_logs("p", limit=2, max_chars=1000)
        assert self.texts(last) == ["a2\n", "b\n"] and last.earlier and not last.later
        before = pipeline.read_pipeline_logs("p", before_seq=last.chunks[0].seq, limit=2, max_chars=1000)
        assert self.texts(before) == ["a1\n", "B1 warns\n"] and before.earlier and before.later
        after = pipeline.read_pipeline_logs("p", after_seq=before.chunks[0].seq, limit=2, max_chars=1000)
        assert self.texts(after) == ["B1 warns\n", "a2\n"] and after.earlier and after.later

    def test_pipeline_logs_between_two_cursors(self, pipeline: MetadataStore) -> None:
        seqs = [c.seq for c in pipeline.read_pipeline_logs("p", limit=100, max_chars=1000).chunks]
        page = pipeline.read_pipeline_logs(
            "p", after_seq=seqs[0], before_seq=seqs[3], limit=100, max_chars=1000
        )
        assert self.texts(page) == ["a1\n", "B1 warns\n"] and page.earlier and page.later

    def test_pipeline_logs_keep_to_the_character_budget(self, pipeline: MetadataStore) -> None:
        page = pipeline.read_pipeline_logs("p", limit=100, max_chars=5)
        assert self.texts(page) == ["a2\n", "b\n"] and page.earlier
        assert self.texts(pipeline.read_pipeline_logs("p", limit=100, max_chars=4, step="b1")) == ["B1 w"]

    def test_pipeline_logs_of_an_unknown_run(self, store: MetadataStore) -> None:
        with pytest.raises(RunNotFoundError):
            store.read_pipeline_logs("nope", limit=10, max_chars=10)

    def test_the_steps_that_wrote_output(self, pipeline: MetadataStore) -> None:
        steps = pipeline.pipeline_log_steps("p")
        assert [(s.run_id, s.name, s.chunks) for s in steps] == [
            ("p", "p", 1),
            ("a", "a", 2),
            ("b1", "b1", 1),
            ("b", "b", 1),
        ]
        assert [s.run_id for s in pipeline.pipeline_log_steps("p", limit=2)] == ["p", "a"]

    def test_metrics_read_by_run_and_by_pipeline(self, store: MetadataStore) -> None:
        self.write(
            store, metrics=[metric("a", 1.0, root_id="p"), metric("b", 2.0, root_id="p"), metric("c", 3.0)]
        )
        assert [m.value for m in store.read_metrics(run_id="b")] == [2.0]
        assert [m.value for m in store.read_metrics(root_id="p")] == [1.0, 2.0]
        assert len(store.read_metrics()) == 3

    def test_metrics_keep_their_fields(self, store: MetadataStore) -> None:
        point = MetricPoint("r", "p", "accuracy", 0.5, 7, at(1))
        self.write(store, metrics=[point])
        assert store.read_metrics(run_id="r") == [point]

    @pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
    def test_non_finite_metrics_are_kept(self, store: MetadataStore, value: float) -> None:
        self.write(store, make_run("r"), metrics=[metric("r", value)])
        (stored,) = store.read_metrics(run_id="r")
        assert (math.isnan(stored.value) and math.isnan(value)) or stored.value == value
        assert store.get_run("r")  # the rest of the batch was written too

    def test_notes_get_increasing_ids_and_read_back_in_order(self, store: MetadataStore) -> None:
        self.write(store, make_run("r"))
        first = store.add_note(Note("r", "ada", "looks good", at(1)))
        second = store.add_note(Note("r", "bob", "**agreed**", at(2)))
        assert 0 < first.id < second.id
        assert store.notes("r") == [first, second]

    def test_a_note_on_an_unknown_run_is_refused(self, store: MetadataStore) -> None:
        with pytest.raises(RunNotFoundError):
            store.add_note(Note("nope", "ada", "hi", T0))

    def test_note_ids_are_not_reused_after_a_delete(self, store: MetadataStore) -> None:
        self.write(store, make_run("a"), make_run("b"))
        store.add_note(Note("a", "ada", "1", T0))
        kept = store.add_note(Note("b", "ada", "2", T0))
        store.delete_runs(["a"])
        assert store.add_note(Note("b", "ada", "3", T0)).id != kept.id

    # -- runners, orphans and cancellation -------------------------------------------------------

    @staticmethod
    def runner(runner_id: str, **changes: Any) -> RunnerRecord:
        return dataclasses.replace(RunnerRecord(runner_id, "host", 42, T0, T0), **changes)

    def test_live_runners_are_those_not_stopped(self, store: MetadataStore) -> None:
        store.save_runner(self.runner("live"))
        store.save_runner(self.runner("gone", stopped_at=at(1)))
        assert [r.id for r in store.live_runners()] == ["live"]

    def test_saving_a_runner_again_updates_its_heartbeat_and_stop(self, store: MetadataStore) -> None:
        store.save_runner(self.runner("r"))
        store.save_runner(self.runner("r", heartbeat_at=at(5)))
        assert store.live_runners() == [self.runner("r", heartbeat_at=at(5))]
        store.save_runner(self.runner("r", heartbeat_at=at(6), stopped_at=at(6)))
        assert store.live_runners() == []

    @pytest.fixture
    def two_runners(self, store: MetadataStore) -> MetadataStore:
        store.save_runner(self.runner("dead"))
        store.save_runner(self.runner("alive"))
        self.write(
            store,
            make_run("running", runner_id="dead"),
            make_run("waiting", runner_id="dead", state=RunState.WAITING),
            make_run("done", runner_id="dead", state=RunState.SUCCEEDED, ended_at=at(1)),
            make_run("elsewhere", runner_id="alive"),
            make_run("unowned"),
        )
        return store

    def test_orphan_runs_marks_only_unfinished_runs_of_those_runners(
        self, two_runners: MetadataStore
    ) -> None:
        marked = two_runners.orphan_runs(["dead"], at(10), "runner dead")
        assert sorted(marked) == ["running", "waiting"]
        states = {r.id: r.state for r in two_runners.list_runs().runs}
        assert states == {
            "running": RunState.ORPHANED,
            "waiting": RunState.ORPHANED,
            "done": RunState.SUCCEEDED,
            "elsewhere": RunState.RUNNING,
            "unowned": RunState.RUNNING,
        }

    def test_an_orphaned_run_says_why_and_when(self, two_runners: MetadataStore) -> None:
        two_runners.orphan_runs(["dead"], at(10), "host rebooted")
        run = two_runners.get_run("running")
        assert run.ended_at == at(10) and run.error is not None
        assert (run.error.message, run.error.user_error) == ("host rebooted", False)

    def test_orphaning_stops_the_runners(self, two_runners: MetadataStore) -> None:
        two_runners.orphan_runs(["dead"], at(10), "gone")
        assert [r.id for r in two_runners.live_runners()] == ["alive"]

    def test_unfinished_runners_are_those_an_unfinished_run_names_stopped_or_not(
        self, two_runners: MetadataStore
    ) -> None:
        two_runners.save_runner(self.runner("alive", stopped_at=at(5)))
        two_runners.save_runner(self.runner("idle"))
        assert sorted(r.id for r in two_runners.unfinished_runners()) == ["alive", "dead"]
        two_runners.orphan_runs(["dead", "alive"], at(10), "gone")
        assert two_runners.unfinished_runners() == []

    def test_orphaning_no_runners_marks_nothing(self, two_runners: MetadataStore) -> None:
        assert two_runners.orphan_runs([], at(10), "x") == []

    def test_a_cancel_is_requested_on_the_root(self, store: MetadataStore) -> None:
        self.write(store, make_run("root"), child("step", "root"), make_run("other"))
        assert store.request_cancel("step") == "root"
        assert store.cancel_requested(["root", "other"]) == {"root"}
        assert store.get_run("root").cancel_requested

    def test_cancelling_an_unknown_run_raises_run_not_found(self, store: MetadataStore) -> None:
        with pytest.raises(RunNotFoundError):
            store.request_cancel("nope")

    def test_no_cancel_is_requested_by_default(self, store: MetadataStore) -> None:
        self.write(store, make_run("r"))
        assert store.cancel_requested(["r", "unknown"]) == set() and store.cancel_requested([]) == set()

    # -- deleting ---------------------------------------------------------------------------------

    def test_deleting_runs_removes_their_logs_metrics_and_notes(self, store: MetadataStore) -> None:
        self.write(
            store,
            make_run("a"),
            make_run("b"),
            logs=[log("a", "x"), log("b", "y")],
            metrics=[metric("a", 1.0)],
        )
        store.add_note(Note("a", "ada", "note", T0))
        store.delete_runs(["a", "never-existed"])
        assert (
            self.ids(store) == ["b"] and store.read_logs("a") == [] and store.read_metrics(run_id="a") == []
        )
        assert store.notes("a") == [] and [c.text for c in store.read_logs("b")] == ["y"]

    def test_deleting_runs_keeps_artifact_records(self, store: MetadataStore) -> None:
        self.write(store, make_run("a", output_id="a" * 64), artifacts=[artifact("a" * 64)])
        store.delete_runs(["a"])
        assert store.get_artifact("a" * 64) and store.referenced_artifact_ids() == set()

    # -- pipeline statistics ------------------------------------------------------------------

    def test_pipeline_stats_count_root_runs_per_state(self, catalog: MetadataStore) -> None:
        stats = {s.function: s for s in catalog.pipeline_stats()}
        assert stats["pkg.pipeline"].counts == {"succeeded": 1} and stats["pkg.other"].counts == {
            "running": 1
        }

    def test_pipeline_stats_are_newest_pipeline_first_with_recent_runs(self, catalog: MetadataStore) -> None:
        stats = catalog.pipeline_stats(recent=1)
        assert [s.function for s in stats] == ["pkg.other", "pkg.pipeline"]
        assert [r.id for r in stats[0].recent] == ["root2"]
