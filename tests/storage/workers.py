"""Functions that run in worker processes for the concurrency tests (importable by `spawn`)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections.abc import Callable
from typing import Any

from loopline.core.records import LogChunk, MetricPoint, RunRecord, RunState, WriteBatch
from loopline.storage.sql.sqlite import SqliteMetadataStore
from loopline.storage.sql.store import SqlMetadataStore


def in_processes(target: Callable[..., None], *args_per_process: tuple[Any, ...]) -> list[int | None]:
    """Run `target(barrier, *args)` in one fresh process per args tuple, all released at once by
    `barrier`; return their exit codes (a worker that raised prints its traceback and exits 1).

    The processes fork from a server process that has imported this module once (forkserver),
    so they start fast without inheriting the test process's threads or connections."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    barrier = context.Barrier(len(args_per_process))
    processes = [context.Process(target=target, args=(barrier, *args)) for args in args_per_process]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    return [process.exitcode for process in processes]


def open_store(barrier: Any, url: str) -> None:
    barrier.wait()
    SqlMetadataStore(url).close()


def open_embedded_store(barrier: Any, url: str) -> None:
    barrier.wait()
    SqliteMetadataStore(url).close()


def write_batches(barrier: Any, url: str, worker: int, batches: int, runs_per_batch: int) -> None:
    store = SqlMetadataStore(url)
    now = dt.datetime.now(dt.UTC)
    barrier.wait()
    for b in range(batches):
        runs = [
            RunRecord(f"w{worker}-b{b}-r{r}", f"w{worker}", None, "pkg.f", "f", RunState.RUNNING, now)
            for r in range(runs_per_batch)
        ]
        logs = [LogChunk(run.id, "stdout", "line\n", now) for run in runs]
        metrics = [MetricPoint(run.id, run.root_id, "loss", 0.5, b, now) for run in runs]
        store.write(WriteBatch(runs=runs, logs=logs, metrics=metrics))
    store.close()
