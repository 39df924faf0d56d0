"""Serving benchmark (not part of the test suite): `loopline serve` next to a bare FastAPI
endpoint and `mlflow models serve`, the same scikit-learn model, measured in one run.

    .venv/bin/python -m benchmarks.serve_bench [--seconds 6] [--rounds 3] [--connections 16]
        [--mlflow /tmp/mlflow-venv/bin/mlflow] [--out benchmarks/RESULTS_serve.md]

The model: scikit-learn's digits (1,797 8x8 images), `StandardScaler` + `LogisticRegression`, as
in the demo. Each server runs in a process of its own, with its own defaults (uvicorn, one
worker), on 127.0.0.1:

- `loopline serve digits@production` on a fresh embedded store: the input checked against the
  model's 64 features, `predict_proba`, every prediction logged (request id, version, input,
  scores) through the batched inference log into SQLite;
- the bare endpoint (`benchmarks/serve_bare.py`): the same pickled model, `predict_proba` on
  the pydantic-parsed input, no logging;
- `mlflow models serve --env-manager local` of the same model saved with
  `pyfunc_predict_fn="predict_proba"`, from its own virtualenv (`--mlflow`; skipped when absent).

The load generator is this process: asyncio, HTTP/1.1 keep-alive connections, request bodies
encoded beforehand, each answer read whole and its status checked. Two phases per server and
round, the servers taking turns in each round:

- throughput: `--connections` connections sending back to back for `--seconds` (after one
  second of warm-up): requests/s, and the latency percentiles under that saturation;
- latency: one connection sending back to back for `--seconds`: p50 and p99 of a request on
  its own (an open loop at a fixed rate measured mostly this machine's other load).

The server's CPU time per request (user and system, from /proc) is counted too: it is what
the throughput of a server on a core of its own comes to, and it is less shaken by the other
processes of a shared machine than the rates are.

After the runs the loopline server is stopped (it writes what it logged) and the store is
checked to hold one inference record per request it answered.

Goals (issue 13): at least 80% of the bare endpoint's throughput, p99 within +2 ms of it at the
same load; faster than `mlflow models serve`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import pickle
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MLFLOW = Path("/tmp/mlflow-venv/bin/mlflow")
MIN_THROUGHPUT_RATIO = 0.8
MAX_P99_EXTRA_MS = 2.0


@dataclasses.dataclass
class Target:
    name: str
    path: str
    bodies: list[bytes]
    process: subprocess.Popen[bytes] | None = None
    port: int = 0


@dataclasses.dataclass(frozen=True)
class Sample:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float = 0.0  # the server process's CPU time (all its threads) per request
    cpu_with_children_ms: float = 0.0  # and its child processes' (loopline serve's writer)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user and system) a process has used so far, and its child processes (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            children += sum(cpu_seconds(int(child)))
    return own, children


async def measured(target: Target, phase: Any) -> tuple[Sample, int]:
    """A phase's sample with the server's CPU time per request counted in (its own, and with its
    child processes: `loopline serve`'s writer)."""
    assert target.process is not None
    own, children = cpu_seconds(target.process.pid)
    sample, served = await phase
    own_after, children_after = cpu_seconds(target.process.pid)
    per = 1000 / max(served, 1)
    return dataclasses.replace(
        sample,
        cpu_ms=per * (own_after - own),
        cpu_with_children_ms=per * (own_after + children_after - own - children),
    ), served


# -- the load generator ------------------------------------------------------------------------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        """Send one request and read its answer whole; returns the status."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(head[9:12])

    def close(self) -> None:
        self.writer.close()


def requests_for(target: Target) -> list[bytes]:
    return [
        (
            f"POST {target.path} HTTP/1.1\r\nHost: 127.0.0.1:{target.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
        for body in target.bodies
    ]


async def closed_loop(target: Target, connections: int, seconds: float) -> tuple[Sample, int]:
    """Every connection sends back to back, one second of warm-up first: (the sample, every
    request answered 200, the warm-up's included)."""
    requests = requests_for(target)
    latencies: list[float] = []
    errors = served = 0

    async def client(i: int, until: float, record: bool) -> None:
        nonlocal errors, served
        connection = await Connection.open(target.port)
        try:
            n = i
            while time.perf_counter() < until:
                start = time.perf_counter()
                status = await connection.send(requests[n % len(requests)])
                served += status == 200
                if record:
                    latencies.append(time.perf_counter() - start)
                    errors += status != 200
                n += connections
        finally:
            connection.close()

    await asyncio.gather(*(client(i, time.perf_counter() + 1.0, False) for i in range(connections)))
    started = time.perf_counter()
    await asyncio.gather(*(client(i, started + seconds, True) for i in range(connections)))
    elapsed = time.perf_counter() - started
    return _sample(latencies, elapsed, errors), served


def _sample(latencies: list[float], elapsed: float, errors: int) -> Sample:
    ms = np.asarray(latencies) * 1000
    return Sample(
        len(latencies) / elapsed, float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), errors
    )


# -- the servers ---------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(target: Target, command: list[str], env: dict[str, str], ready: str) -> None:
    target.port = free_port()
    command = [part.replace("{port}", str(target.port)) for part in command]
    target.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if target.process.poll() is not None:
            error = target.process.stderr.read().decode() if target.process.stderr else ""
            raise RuntimeError(f"{target.name} exited: {error[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{target.port}{ready}", timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{target.name} did not answer within 120 s")


def stop(target: Target) -> None:
    if target.process is not None and target.process.poll() is None:
        target.process.send_signal(signal.SIGTERM)
        try:
            target.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            target.process.kill()


def train(folder: Path) -> tuple[Any, Path]:
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    digits = load_digits()
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000)).fit(
        digits.data, digits.target
    )
    path = folder / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    return model, path


def save_for_mlflow(mlflow: Path, pickled: Path, folder: Path) -> Path:
    python = mlflow.with_name("python")
    out = folder / "mlflow-model"
    code = (
        "import pickle, sys, mlflow.sklearn; "
        "m = pickle.load(open(sys.argv[1], 'rb')); "
        "mlflow.sklearn.save_model(m, sys.argv[2], pyfunc_predict_fn='predict_proba')"
    )
    subprocess.run([str(python), "-c", code, str(pickled), str(out)], check=True, capture_output=True)
    return out


def mlflow_version(mlflow: Path) -> str:
    done = subprocess.run([str(mlflow), "--version"], capture_output=True, text=True, check=True)
    return done.stdout.strip().split()[-1]


@contextlib.contextmanager
def servers(folder: Path, mlflow: Path | None) -> Iterator[tuple[list[Target], Path]]:
    from loopline import models
    from loopline.cl.store.workspace import Workspace
    from loopline.settings import Settings

    model, pickled = train(folder)
    home = folder / "home"
    ws = Workspace.open(Settings.for_home(home))
    version = models.register("digits", model, workspace=ws)
    models.promote(version, "production", workspace=ws)
    from sklearn.datasets import load_digits

    rows = load_digits().data[:64]
    single = [json.dumps({"input": row.tolist()}).encode() for row in rows]
    targets = [
        Target("loopline serve", "/predict", single),
        Target("bare FastAPI", "/predict", single),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOOPLINE_HOME": str(home)}
    for name in ("LOOPLINE_DATABASE_URL", "LOOPLINE_ARTIFACTS_URL", "LOOPLINE_SERVER", "LOOPLINE_API_KEY"):
        env.pop(name, None)
    try:
        python = sys.executable
        start(
            targets[0],
            [python, "-m", "loopline.cli.main", "serve", "digits@production", "--port", "{port}"],
            env,
            "/health",
        )
        start(targets[1], [python, "-m", "benchmarks.serve_bare", str(pickled), "{port}"], env, "/docs")
        if mlflow is not None:
            saved = save_for_mlflow(mlflow, pickled, folder)
            target = Target(
                "mlflow models serve",
                "/invocations",
                [json.dumps({"inputs": [r.tolist()]}).encode() for r in rows],
            )
            targets.append(target)
            mlflow_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
            mlflow_env["PATH"] = f"{mlflow.parent}{os.pathsep}{os.environ.get('PATH', '')}"  # its uvicorn
            command = [
                str(mlflow),
                "models",
                "serve",
                "-m",
                str(saved),
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                "{port}",
            ]
            start(target, command, mlflow_env, "/ping")
        yield targets, home
    finally:
        for target in targets:
            stop(target)


# -- the report ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--mlflow", type=Path, default=DEFAULT_MLFLOW)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    mlflow = args.mlflow if args.mlflow.exists() else None
    folder = Path(tempfile.mkdtemp(prefix="loopline-serve-bench-"))
    load_before = os.getloadavg()
    throughput: dict[str, list[Sample]] = {}
    latency: dict[str, list[Sample]] = {}
    answered = 0
    try:
        with servers(folder, mlflow) as (targets, home):
            for _ in range(args.rounds):
                for target in targets:
                    sample, ok = asyncio.run(
                        measured(target, closed_loop(target, args.connections, args.seconds))
                    )
                    throughput.setdefault(target.name, []).append(sample)
                    answered += ok if target.name == "loopline serve" else 0
                for target in targets:
                    sample, ok = asyncio.run(measured(target, closed_loop(target, 1, args.seconds)))
                    latency.setdefault(target.name, []).append(sample)
                    answered += ok if target.name == "loopline serve" else 0
            stop(targets[0])  # writes what it logged
            logged = _logged(home)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    load_after = os.getloadavg()
    body = report(args, throughput, latency, mlflow, load_before, load_after, logged, answered)
    print(body)
    if args.out:
        args.out.write_text(f"# Serving (loopline serve)\n\n{body}\n")


def _logged(home: Path) -> int:
    from loopline.cl.store.workspace import Workspace
    from loopline.settings import Settings

    return Workspace.open(Settings.for_home(home)).store.count_inferences()


def _cpu(samples: list[Sample]) -> str:
    """CPU per request of the server's processes; for `loopline serve`, the writer's share too."""
    own = statistics.median(s.cpu_ms for s in samples)
    total = statistics.median(s.cpu_with_children_ms for s in samples)
    if own < 0.01 or total < own * 1.01:  # one process (mlflow's CLI starts uvicorn and waits)
        return f"{total:.3f}"
    return f"{total:.3f} ({own:.3f} serving + {total - own:.3f} writer)"


def report(
    args: argparse.Namespace,
    throughput: dict[str, list[Sample]],
    latency: dict[str, list[Sample]],
    mlflow: Path | None,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    logged: int,
    answered: int,
) -> str:
    def med(samples: list[Sample], field: str) -> float:
        return statistics.median(getattr(s, field) for s in samples)

    bare = med(throughput["bare FastAPI"], "requests_per_s")
    bare_p99 = med(latency["bare FastAPI"], "p99_ms")
    import sklearn

    lines = [
        f"`python -m benchmarks.serve_bench` on {platform.machine()} with **{os.cpu_count()} CPU cores** "
        f"(servers and load generator share them), Python {platform.python_version()}, scikit-learn "
        f"{sklearn.__version__}"
        + (f", MLflow {mlflow_version(mlflow)} in its own virtualenv" if mlflow else "")
        + f". Load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (a shared machine: "
        "compare the ratios, measured in the same run, not the absolute numbers).",
        "",
        f"One input per request (64 pixels of a digit); median of {args.rounds} rounds, the servers taking "
        f"turns in each. Throughput: {args.connections} keep-alive connections back to back for "
        f"{args.seconds:g} s. Latency: one connection, requests back to back for {args.seconds:g} s. CPU: "
        "user and system time of the server's processes per request answered, saturated (for "
        "`loopline serve`, the serving process and its writer process, which checks and writes the "
        "logged records).",
        "",
        "| server | requests/s | vs bare | CPU ms per request | p50 / p99 ms (saturated) | p50 / p99 ms (one connection) | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, samples in throughput.items():
        rps = med(samples, "requests_per_s")
        fixed = latency[name]
        errors = sum(s.errors for s in samples) + sum(s.errors for s in fixed)
        lines.append(
            f"| {name} | {rps:,.0f} | {rps / bare:.2f}x | {_cpu(samples)} "
            f"| {med(samples, 'p50_ms'):.2f} / {med(samples, 'p99_ms'):.2f} "
            f"| {med(fixed, 'p50_ms'):.2f} / {med(fixed, 'p99_ms'):.2f} | {errors} |"
        )
    ours = med(throughput["loopline serve"], "requests_per_s")
    ours_p99 = med(latency["loopline serve"], "p99_ms")
    lines += [
        "",
        f"- Throughput of `loopline serve`: {ours / bare:.0%} of the bare endpoint's (goal: at least "
        f"{MIN_THROUGHPUT_RATIO:.0%}): **{'met' if ours / bare >= MIN_THROUGHPUT_RATIO else 'NOT met'}**.",
        f"- p99 on one connection: {ours_p99:.2f} ms against {bare_p99:.2f} ms, {ours_p99 - bare_p99:+.2f} ms "
        f"(goal: within +{MAX_P99_EXTRA_MS:g} ms): **{'met' if ours_p99 - bare_p99 <= MAX_P99_EXTRA_MS else 'NOT met'}**.",
    ]
    if "mlflow models serve" in throughput:
        theirs = med(throughput["mlflow models serve"], "requests_per_s")
        lines.append(
            f"- Against `mlflow models serve --env-manager local`: {ours / theirs:.2f}x its throughput "
            f"(goal: faster): **{'met' if ours > theirs else 'NOT met'}**."
        )
    else:
        lines.append("- `mlflow models serve`: not measured (no MLflow virtualenv at --mlflow).")
    lines.append(
        f"- Logged: the store holds {logged:,} inference records, one per request `loopline serve` answered "
        f"({answered:,}, warm-ups included): **{'all logged' if logged == answered else 'NOT all logged'}**."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
