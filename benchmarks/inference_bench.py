"""Inference-logging benchmark (not part of the test suite).

    .venv/bin/python -m benchmarks.inference_bench [--records 100000] [--batch 1000]
        [--out benchmarks/RESULTS_loop.md]

Logs digit-like records (an input of 64 floats, a prediction, 10 class scores, a request id)
into an embedded store (SQLite in WAL mode and a local artifact folder; every run adds to the
same store, so later runs write into larger tables), timed from the first `log()` to the
durable commit of the last (the final `flush()` returns once the database committed it), with
batches of 1,000 records:

- `InferenceLog.log()` one record per call, as a service would;
- `InferenceLog.log_batch()` one call per batch of 1,000 (a batch model's call);
- `ingest_inferences()` on JSON objects, what `POST /api/v1/inferences` calls per request
  (without HTTP: the endpoint's own figure is measured with the server).

Target (issue 5): at least 20,000 records/s through the SDK into the embedded store.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from loopline import models
from loopline.cl.store.workspace import Workspace
from loopline.inferences import InferenceLog, ingest_inferences
from loopline.settings import Settings

TARGET_PER_S = 20_000
RESULTS = Path(__file__).with_name("RESULTS_loop.md")


class Model:
    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.zeros(len(features), dtype=int)


def records(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    inputs = rng.integers(0, 17, size=(n, 64)).astype(np.float64)
    scores = rng.dirichlet(np.ones(10), size=n)
    return inputs, scores.argmax(axis=1), scores, [f"req-{seed}-{i:08d}" for i in range(n)]


def fresh_workspace(root: Path) -> Workspace:
    ws = Workspace.open(Settings.for_home(root))
    models.register("digits", Model(), workspace=ws)
    models.promote("digits@1", "production", workspace=ws)
    return ws


def time_log(ws: Workspace, n: int, batch: int, seed: int) -> float:
    inputs, predictions, scores, ids = records(n, seed)
    rows = [(inputs[i], int(predictions[i]), scores[i], ids[i]) for i in range(n)]
    log = InferenceLog(ws, batch_size=batch, background=False)
    start = time.perf_counter()
    for features, prediction, row_scores, request_id in rows:
        log.log(
            "digits@production",
            features,
            prediction,
            scores=row_scores,
            request_id=request_id,
            display="image 8x8",
        )
    log.flush()
    return time.perf_counter() - start


def time_log_batch(ws: Workspace, n: int, batch: int, seed: int) -> float:
    inputs, predictions, scores, ids = records(n, seed)
    log = InferenceLog(ws, batch_size=batch, background=False)
    start = time.perf_counter()
    for at in range(0, n, batch):
        end = at + batch
        log.log_batch(
            "digits@production",
            inputs[at:end],
            predictions[at:end],
            scores=scores[at:end],
            request_ids=ids[at:end],
        )
    log.flush()
    return time.perf_counter() - start


def time_ingest(ws: Workspace, n: int, batch: int, seed: int) -> float:
    inputs, predictions, scores, ids = records(n, seed)
    payloads: list[list[dict[str, Any]]] = [
        [
            {
                "request_id": ids[i],
                "model": "digits@production",
                "input": inputs[i].tolist(),
                "prediction": int(predictions[i]),
                "scores": scores[i].tolist(),
            }
            for i in range(at, min(at + batch, n))
        ]
        for at in range(0, n, batch)
    ]
    start = time.perf_counter()
    for payload in payloads:
        result = ingest_inferences(payload, workspace=ws)
        assert not result.rejected
    return time.perf_counter() - start


def write_section(path: Path, title: str, body: str) -> None:
    """Replace (or add) the section `## title` of the results file."""
    head = "# Continuous-improvement loop benchmarks\n"
    text = path.read_text() if path.exists() else head
    marker = f"\n## {title}\n"
    start = text.find(marker)
    if start >= 0:
        end = text.find("\n## ", start + len(marker))
        text = text[:start] + text[end if end >= 0 else len(text) :]
    path.write_text(text.rstrip("\n") + "\n" + marker + "\n" + body.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="loopline-inference-bench-"))
    try:
        ws = fresh_workspace(root)
        rates: dict[str, list[float]] = {"log": [], "log_batch": [], "ingest": []}
        seeds = iter(range(1_000_000))  # every run logs new request ids
        for _ in range(args.repeat):
            for name, timed in (("log", time_log), ("log_batch", time_log_batch), ("ingest", time_ingest)):
                rates[name].append(args.records / timed(ws, args.records, args.batch, seed=next(seeds)))
        recorded = ws.store.count_inferences()
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20
    finally:
        shutil.rmtree(root, ignore_errors=True)
    best = {name: max(values) for name, values in rates.items()}
    median = {name: sorted(values)[len(values) // 2] for name, values in rates.items()}
    lines = [
        f"`python -m benchmarks.inference_bench` on {platform.machine()}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, numpy {np.__version__}.",
        "",
        f"{args.records:,} records per run (input: 64 floats shown as an 8x8 image; prediction; 10 class "
        f"scores; request id), batches of {args.batch:,}, into one embedded store (SQLite, WAL) that every "
        f"run adds to, timed from the first call to the durable commit of the last record; median (best) of "
        f"{args.repeat} runs.",
        "",
        "| path | records/s | target |",
        "|---|---|---|",
        f"| `InferenceLog.log()`, one record per call | {median['log']:,.0f} ({best['log']:,.0f}) | >= {TARGET_PER_S:,} |",
        f"| `InferenceLog.log_batch()`, 1,000 per call | {median['log_batch']:,.0f} ({best['log_batch']:,.0f}) | |",
        f"| `ingest_inferences()` on JSON objects (the REST endpoint's store side) | {median['ingest']:,.0f} ({best['ingest']:,.0f}) | |",
        "",
        f"{recorded:,} records in the store at the end ({size:.0f} MiB with their batch artifacts).",
        "",
        f"Within target: {'yes' if median['log'] >= TARGET_PER_S else 'NO'}.",
    ]
    body = "\n".join(lines)
    print(body)
    if args.out:
        write_section(args.out, "Logging inferences (SDK into the embedded store)", body)


if __name__ == "__main__":
    main()
