"""REST inference-logging benchmark (not part of the test suite).

    .venv/bin/python -m benchmarks.inference_rest_bench [--records 100000] [--batch 1000]
        [--clients 1 4] [--out benchmarks/RESULTS_loop.md]

Starts `loopline server` (a separate process, as in production) on a fresh embedded store
(SQLite in WAL mode and a local artifact folder) with an API key, and sends digit-like records
(an input of 64 floats shown as an 8x8 image, a prediction, 10 class scores, a request id)
through `POST /api/v1/inferences` in batches of 1,000, timed from the first request to the
answer of the last, which the server sends once the database committed it. The request bodies
are encoded beforehand (the client's own cost is not the server's). Each run is checked: every
record is in the store, none rejected.

With `--clients N` the batches are shared by N connections sending at once (a fleet of serving
processes); 1 is one process sending batch after batch.

Target (issue 5): at least 5,000 records/s through the REST API.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.inference_bench import Model, records, write_section
from loopline import models
from loopline.cl.store.workspace import Workspace
from loopline.server.background import free_port
from loopline.settings import Settings

TARGET_PER_S = 5_000
API_KEY = "bench-" + "k" * 24
SECTION = "Logging inferences through the REST API (POST /api/v1/inferences)"


def payloads(n: int, batch: int, seed: int) -> list[bytes]:
    inputs, predictions, scores, ids = records(n, seed)
    bodies = []
    for at in range(0, n, batch):
        batch_records = [
            {
                "request_id": ids[i],
                "model": "digits@production",
                "input": inputs[i].tolist(),
                "prediction": int(predictions[i]),
                "scores": scores[i].round(6).tolist(),
                "display": "image 8x8",
            }
            for i in range(at, min(at + batch, n))
        ]
        bodies.append(json.dumps({"records": batch_records}).encode())
    return bodies


def start_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LOOPLINE_HOME": str(root),
        "LOOPLINE_API_KEY": API_KEY,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    env.pop("LOOPLINE_DATABASE_URL", None)
    env.pop("LOOPLINE_ARTIFACTS_URL", None)
    command = [sys.executable, "-m", "loopline.cli.main", "server", "--port", str(port), "--no-schedules"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/datasets", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the server did not answer on port {port} within 60 s")


def send(url: str, bodies: list[bytes]) -> int:
    """Send these batches one after the other on one connection; returns the records accepted."""
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
    accepted = 0
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        for body in bodies:
            response = client.post("/api/v1/inferences", content=body)
            response.raise_for_status()
            result = response.json()
            if result["rejected"]:
                raise RuntimeError(f"records rejected: {result['rejected'][:3]}")
            accepted += len(result["accepted"])
    return accepted


def timed_run(url: str, bodies: list[bytes], clients: int) -> float:
    shares = [bodies[i::clients] for i in range(clients)]
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        accepted = sum(pool.map(lambda share: send(url, share), shares))
    elapsed = time.perf_counter() - start
    expected = sum(len(json.loads(b)["records"]) for b in bodies)
    if accepted != expected:
        raise RuntimeError(f"{accepted} records accepted of {expected}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="loopline-rest-bench-"))
    port = free_port()
    server = None
    try:
        ws = Workspace.open(Settings.for_home(root))
        models.register("digits", Model(), workspace=ws)
        models.promote("digits@1", "production", workspace=ws)
        server = start_server(root, port)
        url = f"http://127.0.0.1:{port}"
        send(url, payloads(args.batch, args.batch, seed=999_999))  # warm up (imports, first artifact)
        seeds = iter(range(1_000_000))
        rates: dict[int, list[float]] = {c: [] for c in args.clients}
        for _ in range(args.repeat):
            for clients in args.clients:
                bodies = payloads(args.records, args.batch, seed=next(seeds))
                rates[clients].append(args.records / timed_run(url, bodies, clients))
        recorded = ws.store.count_inferences()
        expected = args.batch + args.records * args.repeat * len(args.clients)
        if recorded != expected:
            raise RuntimeError(f"the store holds {recorded:,} records, not {expected:,}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    median = {c: sorted(v)[len(v) // 2] for c, v in rates.items()}
    best = {c: max(v) for c, v in rates.items()}
    lines = [
        f"`python -m benchmarks.inference_rest_bench` on {platform.machine()} ({os.cpu_count()} CPUs), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, numpy {np.__version__}, "
        f"httpx {httpx.__version__}.",
        "",
        f"`loopline server` in its own process on a fresh embedded store, API key required; "
        f"{args.records:,} records per run (input: 64 floats shown as an 8x8 image; prediction; 10 class "
        f"scores; request id) in batches of {args.batch:,} per `POST /api/v1/inferences`, timed from the first "
        f"request to the answer to the last (sent once the database committed it); median (best) of "
        f"{args.repeat} runs, into one store that grows run after run. Every run checked: every record "
        "accepted, none rejected, all in the store.",
        "",
        "| clients sending at once | records/s | target |",
        "|---|---|---|",
        *(f"| {c} | {median[c]:,.0f} ({best[c]:,.0f}) | >= {TARGET_PER_S:,} |" for c in args.clients),
        "",
        f"{recorded:,} records in the store at the end.",
        "",
        f"Within target: {'yes' if min(median.values()) >= TARGET_PER_S else 'NO'}.",
    ]
    body = "\n".join(lines)
    print(body)
    if args.out:
        write_section(args.out, SECTION, body)  # reads the file again now: other sections are kept


if __name__ == "__main__":
    main()
