from __future__ import annotations

import dataclasses
import os
import sqlite3
from pathlib import Path

import pytest

from loopline.core.records import InputRef, RunnerRecord, RunState, WriteBatch
from loopline.settings import Settings
from loopline.storage.artifacts import LocalArtifactStore, MemoryArtifactStore, load_value, store_value
from loopline.storage.embedded import open_artifact_store, open_stores
from loopline.storage.gc import GcReport, collect_garbage
from loopline.storage.memory import MemoryMetadataStore
from loopline.storage.values import TABLE, SqliteValueTable, TieredArtifactStore
from tests.storage.metadata_conformance import at, child, make_run


class Stores:
    """A metadata and an artifact store, and helpers to fill them."""

    def __init__(self) -> None:
        self.metadata = MemoryMetadataStore()
        self.artifacts = MemoryArtifactStore()

    def artifact(self, value: object, minutes: float = 0) -> str:
        record = dataclasses.replace(store_value(value, self.artifacts), created_at=at(minutes))
        self.metadata.write(WriteBatch(artifacts=[record]))
        return record.id

    def pipeline(self, root_id: str, *, ended: float | None, output: str | None = None) -> None:
        state = RunState.SUCCEEDED if ended is not None else RunState.RUNNING
        root = make_run(root_id, state=state, ended_at=None if ended is None else at(ended), output_id=output)
        step = child(f"{root_id}-step", root_id, inputs={"x": InputRef(output)} if output else {})
        self.metadata.write(WriteBatch(runs=[root, step]))

    def gc(self, cutoff: float, *, dry_run: bool = False, keep_artifacts: tuple[str, ...] = ()) -> GcReport:
        return collect_garbage(
            self.metadata, self.artifacts, at(cutoff), dry_run=dry_run, keep_artifacts=keep_artifacts
        )


@pytest.fixture
def stores() -> Stores:
    return Stores()


def test_pipelines_that_ended_before_the_cutoff_are_deleted_with_their_steps(stores: Stores) -> None:
    stores.pipeline("old", ended=1)
    stores.pipeline("recent", ended=20)
    report = stores.gc(10)
    assert sorted(r.id for r in stores.metadata.list_runs().runs) == ["recent", "recent-step"]
    assert (report.pipelines, report.runs) == (1, 2)


def test_unfinished_pipelines_are_kept(stores: Stores) -> None:
    stores.pipeline("running", ended=None)
    stores.gc(10)
    assert stores.metadata.count_runs() == 2


def test_artifacts_of_deleted_pipelines_are_deleted(stores: Stores) -> None:
    output = stores.artifact("result")
    stores.pipeline("old", ended=1, output=output)
    report = stores.gc(10)
    assert not stores.artifacts.exists(output) and report.artifacts == 1


def test_artifacts_still_referenced_are_kept(stores: Stores) -> None:
    shared = stores.artifact("shared")
    stores.pipeline("old", ended=1, output=shared)
    stores.pipeline("recent", ended=20, output=shared)
    stores.gc(10)
    assert stores.artifacts.exists(shared)


def test_artifacts_newer_than_the_cutoff_are_kept(stores: Stores) -> None:
    fresh = stores.artifact("being written", minutes=30)
    stores.gc(10)
    assert stores.artifacts.exists(fresh)


def test_artifacts_without_a_record_are_kept(stores: Stores) -> None:
    unrecorded = store_value("no record yet", stores.artifacts).id
    stores.gc(10)
    assert stores.artifacts.exists(unrecorded)


def test_kept_artifacts_are_kept(stores: Stores) -> None:
    pinned = stores.artifact("pinned")
    stores.gc(10, keep_artifacts=(pinned,))
    assert stores.artifacts.exists(pinned)


def test_a_dry_run_deletes_nothing_but_reports_everything(stores: Stores) -> None:
    output = stores.artifact("result")
    stores.pipeline("old", ended=1, output=output)
    report = stores.gc(10, dry_run=True)
    assert stores.metadata.count_runs() == 2 and stores.artifacts.exists(output)
    assert (report.pipelines, report.runs, report.artifacts) == (1, 2, 1)


def test_an_old_artifact_put_again_by_a_run_in_progress_is_kept(tmp_path: Path) -> None:
    """A running step produced bytes an old, unreferenced artifact already held, and has not
    recorded its output yet: gc must not delete the file under it."""
    metadata, artifacts = MemoryMetadataStore(), LocalArtifactStore(tmp_path / "artifacts")
    for value in ("shared result", "really unused"):
        record = dataclasses.replace(store_value(value, artifacts), created_at=at(0))
        metadata.write(WriteBatch(artifacts=[record]))
        os.utime(artifacts.path(record.id), (1_000_000, 1_000_000))  # written long ago
    metadata.save_runner(RunnerRecord("runner", "host", os.getpid(), at(0), at(0)))  # live, working
    shared = store_value("shared result", artifacts).id  # its running step puts it again
    assert collect_garbage(metadata, artifacts, at(10), dry_run=True).artifacts == 1
    metadata.save_runner(RunnerRecord("runner", "host", os.getpid(), at(0), at(0), stopped_at=at(1)))
    assert collect_garbage(metadata, artifacts, at(10), dry_run=True).artifacts == 2  # nobody is running
    metadata.save_runner(RunnerRecord("runner2", "host", os.getpid(), at(0), at(0)))
    assert collect_garbage(metadata, artifacts, at(10)).artifacts == 1 and artifacts.exists(shared)


def test_gc_discards_writes_that_crashed_long_ago(tmp_path: Path) -> None:
    artifacts = LocalArtifactStore(tmp_path / "artifacts")
    crashed = artifacts.root / "tmp" / "4242-abcdef"
    crashed.write_bytes(b"half of an array")
    os.utime(crashed, (1_000_000, 1_000_000))
    assert collect_garbage(MemoryMetadataStore(), artifacts, at(10), dry_run=True).partial_writes == 0
    assert collect_garbage(MemoryMetadataStore(), artifacts, at(10)).partial_writes == 1
    assert not crashed.exists()


def test_gc_deletes_exactly_the_unreferenced_values_small_and_large(tmp_path: Path) -> None:
    metadata, artifacts = open_stores(Settings.for_home(tmp_path))
    values = [f"small {i}" for i in range(6)] + [b"large" * 10_000 + bytes([i]) for i in range(2)]
    ids = []
    for value in values:
        record = dataclasses.replace(store_value(value, artifacts), created_at=at(0))
        metadata.write(WriteBatch(artifacts=[record]))
        ids.append(record.id)
    for index, artifact_id in enumerate(ids):  # the even ones stay referenced
        metadata.write(
            WriteBatch(
                runs=[
                    make_run(
                        f"p{index}",
                        state=RunState.SUCCEEDED,
                        ended_at=at(1 if index % 2 else 20),
                        output_id=artifact_id,
                    )
                ]
            )
        )
    report = collect_garbage(metadata, artifacts, at(10))
    assert sorted(artifacts.ids()) == sorted(ids[0::2]) and report.artifacts == 4
    assert {load_value(i, artifacts) for i in ids[0::2] if i != ids[6]} == {"small 0", "small 2", "small 4"}
    metadata.close()


def test_an_old_small_value_put_again_by_a_run_in_progress_is_kept(tmp_path: Path) -> None:
    metadata, artifacts = MemoryMetadataStore(), open_artifact_store(tmp_path / "artifacts")
    assert isinstance(artifacts, TieredArtifactStore) and isinstance(artifacts.small, SqliteValueTable)
    for value in ("shared result", "really unused"):
        metadata.write(
            WriteBatch(artifacts=[dataclasses.replace(store_value(value, artifacts), created_at=at(0))])
        )
    with sqlite3.connect(artifacts.small.path) as connection:
        connection.execute(f"UPDATE {TABLE} SET written_at = 1000000")  # written long ago
    metadata.save_runner(RunnerRecord("runner", "host", os.getpid(), at(0), at(0)))  # live, working
    shared = store_value("shared result", artifacts).id  # its running step puts it again
    assert collect_garbage(metadata, artifacts, at(10)).artifacts == 1 and artifacts.exists(shared)
