"""Team mode under load and faults (issue 12): one `loopline server` on PostgreSQL.

    python -m benchmarks.team_bench [--pipelines 20] [--steps 1000] [--out benchmarks/RESULTS_team.md]

1. Overhead: one 1,000-step chain tracked over HTTP through the server, next to the same chain
   tracked in the embedded SQLite store, interleaved in the same run (fresh process each).
2. Load: `--pipelines` processes at once, each a `--steps` chain through the server. Every
   request's latency is recorded by the clients; after the load the database is counted: every
   pipeline succeeded, no run lost or written twice, no 5xx answer.
3. Faults: the same load, with the server killed (kill -9) midway and started again.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from benchmarks.harness import ROOT, load_average, machine_info, median, times
from tools.postgres import free_port, postgres_server

RESULTS = ROOT / "benchmarks" / "RESULTS_team.md"
OVERHEAD_REPEATS = 3
GOAL_HTTP_RATIO = 3.0

CLIENT = r"""
import json, sys, time
import httpx
import loopline
from loopline.storage.remote.client import ServerConnection
from loopline.storage.remote.metadata import HttpMetadataStore
from loopline.storage.remote.artifacts import HttpArtifactStore

url, key, steps, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
latencies, statuses = [], {}

class Timed(ServerConnection):
    def request(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            response = super().request(*args, **kwargs)
        except Exception as error:
            statuses[type(error).__name__] = statuses.get(type(error).__name__, 0) + 1
            raise
        latencies.append(time.perf_counter() - start)
        statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
        return response

@loopline.func
def inc(x: int) -> int:
    return x + 1

@loopline.func
def chain(n: int) -> int:
    x = inc(0)
    for _ in range(n - 1):
        x = inc(x)
    return x

connection = Timed(url, key)
runner = loopline.LocalRunner(metadata=HttpMetadataStore(connection), artifacts=HttpArtifactStore(connection))
if len(sys.argv) > 5:  # the overhead cells: warm, as the embedded one is
    runner.run(chain(10))
    latencies.clear()
future = chain(steps)
start = time.perf_counter()
error = None
try:
    assert runner.run(future) == steps
except Exception as caught:
    error = f"{type(caught).__name__}: {caught}"
elapsed = time.perf_counter() - start
json.dump({"root": future.id, "seconds": elapsed, "latencies": latencies, "statuses": statuses, "error": error}, open(out, "w"))
"""

EMBEDDED = r"""
import json, sys, time
import loopline

@loopline.func
def inc(x: int) -> int:
    return x + 1

@loopline.func
def chain(n: int) -> int:
    x = inc(0)
    for _ in range(n - 1):
        x = inc(x)
    return x

home, steps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runner = loopline.LocalRunner(home=home)
runner.run(chain(10))  # the store opened and migrated, as the server's is
start = time.perf_counter()
assert runner.run(chain(steps)) == steps
json.dump({"seconds": time.perf_counter() - start}, open(out, "w"))
"""


class Server:
    """`loopline server --auth` on PostgreSQL in its own process, which may be killed and restarted."""

    def __init__(self, database_url: str, artifacts: Path, port: int) -> None:
        self.env = {
            **os.environ,
            "LOOPLINE_DATABASE_URL": database_url,
            "LOOPLINE_ARTIFACTS_URL": str(artifacts),
        }
        self.env.pop("LOOPLINE_SERVER", None)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        command = [sys.executable, "-m", "loopline.cli.main", *args]
        return subprocess.run(command, env=self.env, check=True, capture_output=True, text=True).stdout

    def start(self) -> None:
        command = [sys.executable, "-m", "loopline.cli.main", "server", "--port", str(self.port), "--auth"]
        self.process = subprocess.Popen([*command, "--no-schedules"], env=self.env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def run_clients(
    server: Server,
    key: str,
    pipelines: int,
    steps: int,
    work: Path,
    *,
    kill_after_s: float | None = None,
    warm: bool = False,
) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    script = work / "client.py"
    script.write_text(CLIENT)
    outs = [work / f"client-{i}.json" for i in range(pipelines)]
    start = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), server.url, key, str(steps), str(out), *(["warm"] if warm else [])],
            cwd=work,
        )
        for out in outs
    ]
    killed_at = None
    if kill_after_s is not None:
        time.sleep(kill_after_s)
        server.kill()
        killed_at = time.perf_counter() - start
        time.sleep(1.0)
        server.start()
    for process in processes:
        process.wait()
    wall = time.perf_counter() - start
    results = [json.loads(out.read_text()) for out in outs]
    latencies = sorted(x for r in results for x in r["latencies"])
    statuses: dict[str, int] = {}
    for r in results:
        for status, n in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    return {
        "wall_s": wall,
        "killed_at_s": killed_at,
        "roots": [r["root"] for r in results],
        "errors": [r["error"] for r in results if r["error"]],
        "requests": len(latencies),
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p95_ms": 1000 * latencies[int(len(latencies) * 0.95)] if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
        "statuses": statuses,
    }


def count(database_url: str, roots: list[str], steps: int) -> dict[str, Any]:
    """What the database holds for these pipelines: their runs by state, and duplicated logs."""
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT root_id, state, count(*) FROM runs WHERE root_id = ANY(:roots) GROUP BY root_id, state"
            ),
            {"roots": roots},
        ).all()
    engine.dispose()
    per_root: dict[str, dict[str, int]] = {}
    for root, state, n in rows:
        per_root.setdefault(root, {})[state] = int(n)
    expected = steps + 1
    complete = sum(1 for r in roots if per_root.get(r, {}).get("succeeded", 0) == expected)
    total = sum(sum(states.values()) for states in per_root.values())
    return {
        "pipelines": len(roots),
        "complete": complete,
        "runs": total,
        "expected_runs": len(roots) * expected,
    }


def overhead(server: Server, key: str, steps: int, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    (work / "embedded.py").write_text(EMBEDDED)
    http, embedded = [], []
    for i in range(OVERHEAD_REPEATS):  # interleaved: both see the same machine
        one = run_clients(server, key, 1, steps, work / f"http-{i}", warm=True)
        if one["errors"]:
            raise RuntimeError(one["errors"])
        http.append(json.loads((work / f"http-{i}" / "client-0.json").read_text())["seconds"])
        out = work / f"embedded-{i}.json"
        home = work / f"embedded-home-{i}"
        subprocess.run(
            [sys.executable, str(work / "embedded.py"), str(home), str(steps), str(out)], check=True
        )
        embedded.append(json.loads(out.read_text())["seconds"])
    return {"http_s": median(http), "embedded_s": median(embedded), "steps": steps}


def render(
    machine: dict[str, Any], cost: dict[str, Any], load: dict[str, Any], faults: dict[str, Any]
) -> str:
    ratio = cost["http_s"] / cost["embedded_s"]
    per_step = lambda s: f"{1000 * s / cost['steps']:.3f} ms"  # noqa: E731
    lines = [
        "# Team mode: one server under load and faults",
        "",
        f"Machine: {machine['cpu']}, Python {machine['python']}, load average {machine['load']} at the end. "
        "`python -m benchmarks.team_bench` (a `loopline server --auth` on PostgreSQL 15, "
        "clients with an editor's API key).",
        "",
        "## Tracked overhead of one pipeline",
        "",
        f"A {cost['steps']:,}-step chain, median of {OVERHEAD_REPEATS} runs each, interleaved:",
        "",
        "| store | run time | per step | vs embedded |",
        "|---|---|---|---|",
        f"| embedded SQLite (`LOOPLINE_HOME`) | {cost['embedded_s']:.2f} s | {per_step(cost['embedded_s'])} | 1.00x |",
        f"| over HTTP (`LOOPLINE_SERVER`) | {cost['http_s']:.2f} s | {per_step(cost['http_s'])} | {times(ratio)} |",
        "",
        f"Goal: at most {GOAL_HTTP_RATIO:g}x the embedded store — "
        + ("met." if ratio <= GOAL_HTTP_RATIO else f"**not met** ({times(ratio)})."),
        "",
    ]
    for title, result in (("Load", load), ("Load with the server killed (kill -9) and restarted", faults)):
        fives = sum(n for status, n in result["statuses"].items() if status.startswith("5"))
        counted = result["counted"]
        lines += [
            f"## {title}",
            "",
            f"{counted['pipelines']} pipelines x {result['steps']:,} steps, from {counted['pipelines']} processes at once"
            + (
                f"; the server was killed after {result['killed_at_s']:.1f} s and restarted 1 s later"
                if result["killed_at_s"]
                else ""
            )
            + ".",
            "",
            "| measure | value |",
            "|---|---|",
            f"| wall time | {result['wall_s']:.1f} s |",
            f"| pipelines complete (every run succeeded) | {counted['complete']} of {counted['pipelines']} |",
            f"| runs in the database | {counted['runs']:,} (expected {counted['expected_runs']:,}: none lost, none twice) |",
            f"| pipelines that failed | {len(result['errors'])} |",
            f"| requests | {result['requests']:,} |",
            f"| 5xx answers | {fives} |",
            f"| latency p50 / p95 / p99 | {result['p50_ms']:.1f} / {result['p95_ms']:.1f} / {result['p99_ms']:.1f} ms |",
            f"| answers by status | {', '.join(f'{k}: {v:,}' for k, v in sorted(result['statuses'].items()))} |",
            "",
        ]
        if result["errors"]:
            lines += ["Failures:", "", *[f"- {e}" for e in result["errors"][:5]], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", type=int, default=20)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, postgres_server() as pg:
        work = Path(tmp)
        admin = sa.create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql("CREATE DATABASE team")
        admin.dispose()
        database_url = pg.rsplit("/", 1)[0] + "/team"
        server = Server(database_url, work / "artifacts", free_port())
        server.cli("users", "add", "ci", "--role", "editor")
        key = server.cli("keys", "create", "ci").strip().splitlines()[-1]
        server.start()
        try:
            print("overhead ...", flush=True)
            cost = overhead(server, key, 1000, work / "overhead")
            print("load ...", flush=True)
            load = run_clients(server, key, args.pipelines, args.steps, work / "load")
            load["counted"], load["steps"] = count(database_url, load["roots"], args.steps), args.steps
            print("faults ...", flush=True)
            faults = run_clients(
                server, key, args.pipelines, args.steps, work / "faults", kill_after_s=load["wall_s"] / 2
            )
            faults["counted"], faults["steps"] = count(database_url, faults["roots"], args.steps), args.steps
        finally:
            server.stop()
    machine = {**machine_info(), "load": load_average()}
    text = render(machine, cost, load, faults)
    args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
