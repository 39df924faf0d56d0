"""L6: 8 CPU-bound pure-Python steps of about 0.5 s each, fanned out.

    python -m benchmarks.parallel

Plain `@func` steps on `LocalRunner()` (threads: they share the interpreter lock, so expect
no gain) and on `LocalRunner(executor="process")` (warm worker processes, one per core), and
`standalone=True` steps on `LocalRunner()`; the reference is the same 8 functions called one
after another in this process. Target: processes at least 1.7x faster than the sequential calls
on 2 cores. The step size is calibrated on this machine first, so a step takes about 0.5 s here.
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

CONFIGS = ("sequential", "threads", "processes", "standalone")


def loopline_cell() -> Cell:
    import loopline
    from benchmarks.workloads import PARALLEL_STEPS, iterations_for, parallel, parallel_direct, plain_parallel

    iterations = iterations_for(0.5)
    with scratch_dir("L6") as home:
        os.environ["LOOPLINE_HOME"] = str(home)
        calls = {
            "sequential": lambda: parallel_direct(iterations),
            "threads": lambda: loopline.LocalRunner(echo=False).run(plain_parallel(iterations)),
            "processes": lambda: loopline.LocalRunner(echo=False, executor="process").run(
                plain_parallel(iterations)
            ),
            "standalone": lambda: loopline.LocalRunner(echo=False).run(parallel(iterations)),
        }
        # They alternate, so that a change in the machine's load weighs on every side of the
        # ratios. (Building a runner and a future takes microseconds.)
        rounds = [{name: timed(call) for name, call in calls.items()} for _ in range(WARMUP + RUNS)]
    counted = rounds[WARMUP:]
    return cell_record(
        "loopline",
        "local",
        "L6",
        PARALLEL_STEPS,
        run_s=[r["processes"] for r in counted],
        **{f"{name}_s": [r[name] for r in counted] for name in CONFIGS},
        iterations=iterations,
        cores=os.cpu_count(),
    )


def speedup(cell: Cell, config: str = "processes") -> float:
    return float(median(cell["sequential_s"]) / median(cell[f"{config}_s"]))


def run() -> list[Cell]:
    progress("L6 loopline-local")
    return [run_child(module_command("benchmarks.parallel", "--cell"))]


def table(cells: list[Cell]) -> str:
    lines = [
        "| steps | runner | cores | s, median (min-max) | speed-up vs sequential calls | load |",
        "|---|---|---|---|---|---|",
    ]
    names = {
        "sequential": "the 8 functions called one after another",
        "threads": "plain funcs, `LocalRunner()` (threads)",
        "processes": 'plain funcs, `LocalRunner(executor="process")`',
        "standalone": "`standalone=True` funcs, `LocalRunner()`",
    }
    for c in cells:
        if "run_s" not in c:
            lines.append(f"| | {c.get('error')} | | | | |")
            continue
        for config in CONFIGS:
            runs = c[f"{config}_s"]
            lines.append(
                f"| {c['steps']} | {names[config]} | {c['cores']} | {median(runs):.2f} ({min(runs):.2f}-{max(runs):.2f}) "
                f"| {speedup(c, config):.2f}x | {c['load']:.1f} |"
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
