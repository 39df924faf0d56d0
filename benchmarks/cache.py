"""Item 4 of issue 19: a cache hit next to a trivial step, in the same process and minutes.

    python -m benchmarks.cache [--sizes 1000 10000]

One process per size runs, in turns, a chain of N trivial steps (L1) and the same chain with
`cache=True` whose cache a first run filled (L4: every step a hit), five times each after a
warm-up; medians of each. Reported in wall time and in the process's CPU time (every thread),
which the machine's other load disturbs less. Target: a hit <= 0.3x a trivial step. Every hit is
checked: a CACHED run recorded with the run it reused (its lineage).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from benchmarks.harness import (
    Cell,
    cell_record,
    emit,
    median,
    module_command,
    progress,
    run_child,
    scratch_dir,
)

SIZES = (1000, 10_000)
ROUNDS = 5
MAX_RATIO = 0.3


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def loopline_cell(n: int) -> Cell:
    import loopline
    from benchmarks.workloads import cached_chain, chain
    from loopline.core.records import RunFilter, RunState

    with scratch_dir("cache") as home:
        os.environ["LOOPLINE_HOME"] = str(home)

        def timed(pipeline: object) -> tuple[float, float]:
            runner = loopline.LocalRunner(cache_namespace="bench-cache", echo=False)
            future = pipeline(n)  # type: ignore[operator]
            wall, cpu = time.perf_counter(), _cpu_s()
            if runner.run(future) != n:
                raise SystemExit("wrong result")
            return time.perf_counter() - wall, _cpu_s() - cpu

        timed(chain)  # warm-up: the small values both chains pass are stored from now on
        timed(cached_chain)  # fills the cache
        trivial, hits = [], []
        for _ in range(ROUNDS):
            trivial.append(timed(chain))
            hits.append(timed(cached_chain))
        metadata, _ = loopline.LocalRunner().stores()
        cached = metadata.list_runs(RunFilter(states=(RunState.CACHED,)), limit=1).runs
        count = metadata.count_runs(RunFilter(states=(RunState.CACHED,)))
    record = cell_record(
        "loopline",
        "local",
        "L4 vs L1",
        n,
        size=n,
        trivial_s=[w for w, _ in trivial],
        trivial_cpu_s=[c for _, c in trivial],
        hit_s=[w for w, _ in hits],
        hit_cpu_s=[c for _, c in hits],
        cache_hits=count,
        run_s=[w for w, _ in hits],
    )
    if count != ROUNDS * n or not cached or not cached[0].cached_from:
        record["error"] = f"expected {ROUNDS * n} hits, each naming the run it reused; found {count}"
    return record


def run(sizes: tuple[int, ...] = SIZES) -> list[Cell]:
    cells = []
    for n in sizes:
        progress(f"cache: hits vs trivial steps, {n:,} steps")
        cells.append(run_child(module_command("benchmarks.cache", "--cell", n)))
    return cells


def ratios(cell: Cell) -> tuple[float, float]:
    wall = median(cell["hit_s"]) / median(cell["trivial_s"])
    cpu = median(cell["hit_cpu_s"]) / median(cell["trivial_cpu_s"])
    return wall, cpu


def targets(cells: list[Cell]) -> list[tuple[str, str, str]]:
    rows = []
    for cell in cells:
        if "hit_s" in cell and "error" not in cell:
            wall, cpu = ratios(cell)
            rows.append(
                (
                    f"4: a cache hit <= 0.3x a trivial step ({cell['steps']:,}-step chains, same process)",
                    f"{wall:.2f}x wall, {cpu:.2f}x CPU ({1000 * median(cell['hit_s']) / cell['steps']:.3f} vs "
                    f"{1000 * median(cell['trivial_s']) / cell['steps']:.3f} ms/step)",
                    "PASS" if wall <= MAX_RATIO else "**MISS**",
                )
            )
    return rows


def table(cells: list[Cell]) -> str:
    lines = [
        "| steps | trivial ms/step (wall, CPU) | hit ms/step (wall, CPU) | hit / trivial (wall, CPU) | hits recorded | load |",
        "|---|---|---|---|---|---|",
    ]
    for c in cells:
        if "hit_s" not in c:
            lines.append(f"| {c.get('steps', '')} | {c.get('error')} | | | | |")
            continue
        n = c["steps"]

        def ms(key: str, n: int = n, c: Cell = c) -> str:
            return f"{1000 * median(c[key]) / n:.3f}"

        wall, cpu = ratios(c)
        lines.append(
            f"| {n:,} | {ms('trivial_s')}, {ms('trivial_cpu_s')} | {ms('hit_s')}, {ms('hit_cpu_s')} "
            f"| {wall:.2f}x, {cpu:.2f}x | {c['cache_hits']:,} | {c['load']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cache", description=__doc__.split("\n")[0])
    parser.add_argument("--cell", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    args = parser.parse_args(argv)
    if args.cell:
        emit(loopline_cell(args.cell))
        return
    print(table(run(tuple(args.sizes))))


if __name__ == "__main__":
    main()
