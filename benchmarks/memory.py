"""Item 2 of issue 19: memory held per step, and pipelines of a million steps.

    python -m benchmarks.memory [--steps 20000] [--million N]

- A chain of 20,000 steps on `LocalRunner()`: its peak RSS minus the RSS before it started
  (stores open, a small run done), per step; and, in a second process, the peak of the Python
  memory that tracemalloc sees during the run, per step (the part that grows with steps, without
  SQLite's and the allocator's fixed overheads). Target: <= 1 KiB per step.
- A chain and a fan-out (a producer, N steps, a reducer) of a million steps: each process's peak
  RSS (ru_maxrss) and its time per step. Target: <= 1 GiB.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc
from typing import Any

from benchmarks.harness import (
    Cell,
    cell_record,
    emit,
    module_command,
    peak_rss_mib,
    progress,
    rss_mib,
    run_child,
    scratch_dir,
)

STEPS = 20_000
MILLION = 1_000_000
MAX_BYTES_PER_STEP = 1024
MAX_PEAK_MIB = 1024


def loopline_cell(workload: str, n: int, trace: bool) -> Cell:
    import loopline
    from benchmarks.workloads import PIPELINES, steps_of
    from loopline.core.records import RunFilter, RunState

    pipeline, _ = PIPELINES[workload]
    with scratch_dir(f"memory-{workload}") as home:
        os.environ["LOOPLINE_HOME"] = str(home)
        runner = loopline.LocalRunner(echo=False)
        runner.run(pipeline(10))  # the stores open, the threads start: what every run has
        future = pipeline(n)
        gc.collect()
        before = rss_mib()
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        value = runner.run(future)
        run_s = time.perf_counter() - start
        traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
        tracemalloc.stop()
        peak = peak_rss_mib()
        del future
        metadata, _ = runner.stores()
        succeeded = metadata.count_runs(RunFilter(states=(RunState.SUCCEEDED,)))
    steps = steps_of(workload, n)
    record = cell_record(
        "loopline",
        "local",
        workload,
        steps,
        size=n,
        run_s=[run_s],
        value=value,
        rss_before_mib=before,
        peak_mib=peak,
        traced_peak_bytes=traced_peak,
        recorded_runs=succeeded,
    )
    if succeeded < steps:
        record["error"] = f"only {succeeded} of {steps} steps recorded as succeeded"
    return record


def run(steps: int = STEPS, million: int = MILLION) -> list[Cell]:
    cells = []
    for trace in (False, True):
        progress(f"memory: L1 chain of {steps:,} steps{' (tracemalloc)' if trace else ''}")
        command = module_command("benchmarks.memory", "--cell", "L1", steps, "trace" if trace else "rss")
        cells.append({"kind": "per step", "trace": trace, **run_child(command)})
    if million:
        for workload in ("L1", "L2"):
            progress(f"memory: {workload} with {million:,} steps (minutes)")
            command = module_command("benchmarks.memory", "--cell", workload, million, "rss")
            cells.append({"kind": "million", **run_child(command, timeout_s=3 * 3600)})
    return cells


def per_step_bytes(cell: Cell) -> float:
    if cell.get("trace"):
        return float(cell["traced_peak_bytes"]) / cell["steps"]
    return float((cell["peak_mib"] - cell["rss_before_mib"]) * 2**20 / cell["steps"])


def targets(cells: list[Cell]) -> list[tuple[str, str, str]]:
    rows = []
    for cell in cells:
        if "run_s" not in cell:
            continue
        if cell["kind"] == "per step":
            what = "Python memory (tracemalloc peak)" if cell["trace"] else "peak RSS growth"
            value = per_step_bytes(cell)
            rows.append(
                (
                    f"2: {what} per step of a {cell['steps']:,}-step chain <= 1 KiB",
                    f"{value:,.0f} B/step",
                    "PASS" if value <= MAX_BYTES_PER_STEP else "**MISS**",
                )
            )
        else:
            name = "chain" if cell["workload"] == "L1" else "fan-out"
            rows.append(
                (
                    f"2: a {cell['steps']:,}-step {name} finishes within 1 GiB peak RSS",
                    f"{cell['peak_mib']:,.0f} MiB ({cell['run_s'][0]:.0f} s)",
                    "PASS" if cell["peak_mib"] <= MAX_PEAK_MIB else "**MISS**",
                )
            )
    return rows


def table(cells: list[Cell]) -> str:
    lines = [
        "| workload | steps | measured | RSS before MiB | peak RSS MiB | per step | run s | ms/step | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        if "run_s" not in c:
            lines.append(f"| {c.get('workload', '')} | | {c.get('error')} | | | | | | |")
            continue
        name = {"L1": "chain", "L2": "fan-out + reduce"}[c["workload"]]
        measured = (
            "tracemalloc peak"
            if c.get("trace")
            else "peak RSS - before"
            if c["kind"] == "per step"
            else "peak RSS"
        )
        per_step = f"{per_step_bytes(c):,.0f} B" if c["kind"] == "per step" else ""
        run_s = c["run_s"][0]
        lines.append(
            f"| {name} | {c['steps']:,} | {measured} | {c['rss_before_mib']:.0f} | {c['peak_mib']:.0f} "
            f"| {per_step} | {run_s:.1f} | {1000 * run_s / c['steps']:.3f} | {c['load']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--cell", nargs=3, metavar=("WORKLOAD", "STEPS", "HOW"), help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--million", type=int, default=MILLION, help="steps of the large cells (0: skip)")
    args = parser.parse_args(argv)
    if args.cell:
        workload, n, how = args.cell
        record: dict[str, Any] = loopline_cell(workload, int(n), how == "trace")
        record.pop("value")
        emit(record)
        return
    print(table(run(args.steps, args.million)))


if __name__ == "__main__":
    main()
