"""L6: 8 CPU-bound pure-Python `standalone=True` steps of about 0.5 s each, fanned out.

    python -m benchmarks.parallel

The steps run in LocalRunner's warm worker processes (one per core); the reference is the same
8 functions called one after another in this process (the target: at least 1.7x faster on 2
cores), and for information the same pipeline on `LocalRunner(max_parallelism=1)`, one worker. The step size is calibrated on this machine first, so a step takes about
0.5 s here.
"""

from __future__ import annotations

import argparse
import os

from benchmarks.harness import (
    RUNS,
    WARMUP,
    Cell,
    cell_record,
    emit,
    median,
    module_command,
    progress,
    run_child,
    scratch_dir,
    timed,
)


def loopline_cell() -> Cell:
    import loopline
    from benchmarks.workloads import PARALLEL_STEPS, iterations_for, parallel, parallel_direct

    iterations = iterations_for(0.5)
    with scratch_dir("L6") as home:
        os.environ["LOOPLINE_HOME"] = str(home)

        def sequential() -> None:
            parallel_direct(iterations)

        def one_worker() -> None:
            loopline.LocalRunner(max_parallelism=1).run(parallel(iterations))

        def in_workers() -> None:
            loopline.LocalRunner().run(parallel(iterations))

        # The three alternate, so that a change in the machine's load weighs on every side of
        # the ratios. (Building a runner and a future takes microseconds.)
        rounds = [(timed(sequential), timed(one_worker), timed(in_workers)) for _ in range(WARMUP + RUNS)]
    counted = rounds[WARMUP:]
    return cell_record(
        "loopline",
        "local",
        "L6",
        PARALLEL_STEPS,
        run_s=[parallel_s for _, _, parallel_s in counted],
        direct_s=[sequential_s for sequential_s, _, _ in counted],
        one_worker_s=[one_s for _, one_s, _ in counted],
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
        "| framework | runner | cores | sequential calls s | LocalRunner(max_parallelism=1) s "
        "| LocalRunner() s, median (min-max) | speed-up vs sequential calls | vs max_parallelism=1 | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        if "run_s" not in c:
            lines.append(f"| loopline | local | | | | {c.get('error')} | | | |")
            continue
        runs, one = c["run_s"], median(c["one_worker_s"])
        lines.append(
            f"| {c['framework']} | {c['runner']} (standalone) | {c['cores']} | {median(c['direct_s']):.2f} "
            f"| {one:.2f} | {median(runs):.2f} ({min(runs):.2f}-{max(runs):.2f}) | {speedup(c):.2f}x "
            f"| {one / median(runs):.2f}x | {c['load']:.1f} |"
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
