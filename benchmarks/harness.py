"""What every benchmark shares: timing, one JSON record per cell, child processes, machine facts.

A *cell* is one framework x runner x workload x size. Each cell runs in a fresh child process
(so one cell's memory, threads and garbage never weigh on the next), does one warm-up run and
`RUNS` counted runs, and prints its result as one JSON line, which the parent reads back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3
WARMUP = 1
Cell = dict[str, Any]  # the JSON record of one cell (see `cell_record`)


def measure(
    prepare: Callable[[], Callable[[], Any]], *, runs: int = RUNS, warmup: int = WARMUP
) -> tuple[list[float], list[float]]:
    """Seconds of `warmup` calls, then of `runs` counted calls. `prepare()` builds each call
    untimed (e.g. a fresh runner and future), and only the call it returns is timed."""
    samples = [timed(prepare()) for _ in range(warmup + runs)]
    return samples[:warmup], samples[warmup:]


def timed(call: Callable[[], Any]) -> float:
    """Seconds `call()` takes."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def times(ratio: float) -> str:
    """A ratio for a table: two decimals below 10x, whole numbers above."""
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:,.0f}x"


def rss_mib() -> float:
    """This process's resident memory now."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cell_record(framework: str, runner: str, workload: str, steps: int, **fields: Any) -> Cell:
    return {"framework": framework, "runner": runner, "workload": workload, "steps": steps, **fields}


def emit(record: Cell) -> None:
    """A child's answer: one JSON line on stdout (the last one wins), with the machine's load."""
    print(json.dumps({**record, "load": os.getloadavg()[0]}), flush=True)


def run_child(
    command: Sequence[str], *, env: dict[str, str] | None = None, timeout_s: float = 3600, cwd: Path = ROOT
) -> Cell:
    """Run one cell in a child process and return its JSON record, or `{"error": ...}`."""
    try:
        done = subprocess.run(
            list(command),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s"}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            record: Cell = json.loads(line)
            if "run_s" in record:
                progress(f"  median {median(record['run_s']):.3f} s of {len(record['run_s'])} runs")
            return record
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    progress(f"  failed: exit code {done.returncode}")
    return {"error": f"exit code {done.returncode}: " + " | ".join(tail)}


def module_command(module: str, *args: object) -> list[str]:
    return [sys.executable, "-m", module, *(str(a) for a in args)]


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder on the benchmark disk (BENCH_TMP, default: the system's temp folder)."""
    path = Path(tempfile.mkdtemp(prefix=f"loopline-bench-{prefix}-", dir=os.environ.get("BENCH_TMP")))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def progress(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# -- machine facts ------------------------------------------------------------------------------


def _cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _filesystem(path: Path) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["df", "-T", str(path)], capture_output=True, text=True, check=True, timeout=10
        ).stdout.splitlines()[-1]
        device, fstype = out.split()[:2]
        return f"{fstype} on {device}"
    return "unknown"


def _git_commit() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return commit + (" (uncommitted changes)" if dirty else "")
    return "unknown"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_info() -> dict[str, str]:
    import numpy
    import sqlalchemy

    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        disk = _filesystem(Path(tmp))
    return {
        "date (UTC)": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
        "cpu": f"{_cpu_model()}, {os.cpu_count()} logical cores",
        "memory": f"{_memory_gib():.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "loopline": _git_commit(),
        "numpy / sqlalchemy": f"{numpy.__version__} / {sqlalchemy.__version__}",
        "benchmark disk": disk,
    }
