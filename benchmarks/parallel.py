"""L6: 8 CPU-bound pure-Python `standalone=True` steps of about 0.5 s each, fanned out.

    python -m benchmarks.parallel

The steps run in LocalRunner's warm worker processes (one per core); the reference is the same
8 functions called one after another in this process. Target: at least 1.7x faster than
sequential on 2 cores. The step size is calibrated on this machine first, so a step takes about
0.5 s here.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from benchmarks.harness import (
    Cell,
    cell_record,
    emit,
    measure,
    median,
    module_command,
    progress,
    run_child,
    scratch_dir,
)


def loopline_cell() -> Cell:
    import loopline
    from benchmarks.workloads import PARALLEL_STEPS, iterations_for, parallel, parallel_direct

    iterations = iterations_for(0.5)
    with scratch_dir("L6") as home:
        os.environ["LOOPLINE_HOME"] = str(home)

        def prepare() -> Any:
            runner, future = loopline.LocalRunner(), parallel(iterations)
            return lambda: runner.run(future)

        warmup_s, run_s = measure(prepare)
        _, sequential_s = measure(lambda: lambda: parallel_direct(iterations))
    return cell_record(
        "loopline",
        "local",
        "L6",
        PARALLEL_STEPS,
        run_s=run_s,
        direct_s=sequential_s,
        warmup_s=warmup_s[0],
        iterations=iterations,
        cores=os.cpu_count(),
    )


def speedup(cell: Cell) -> float:
    return median(cell["direct_s"]) / median(cell["run_s"])


def run() -> list[Cell]:
    progress("L6 loopline-local")
    return [run_child(module_command("benchmarks.parallel", "--cell"))]


def table(cells: list[Cell]) -> str:
    lines = [
        "| framework | runner | cores | sequential s | run s, median (min-max) | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for c in cells:
        if "run_s" not in c:
            lines.append(f"| loopline | local | | | {c.get('error')} | |")
            continue
        runs = c["run_s"]
        lines.append(
            f"| {c['framework']} | {c['runner']} (standalone) | {c['cores']} | {median(c['direct_s']):.2f} "
            f"| {median(runs):.2f} ({min(runs):.2f}-{max(runs):.2f}) | {speedup(c):.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.parallel", description=__doc__.split("\n")[0])
    parser.add_argument("--cell", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cell:
        emit(loopline_cell())
        return
    print(table(run()))


if __name__ == "__main__":
    main()
