"""L1 (chain), L2 (fan-out + reduce), L4 (cached chain) and L5 (L1 and L2 at 10,000 steps):
the framework's own cost per step.

    python -m benchmarks.overhead [--workloads L1 L2 L4] [--sizes 100 1000 10000] [--no-sematic]

Per-step overhead = (median in-process time of `runner.run` - median time of the same functions
called directly) / steps, each a median of 3 runs after a warm-up, at the default settings
(`LocalRunner()` on a fresh LOOPLINE_HOME). Sematic runs the same workloads at 100 and 1,000 steps.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    Cell,
    cell_record,
    emit,
    measure,
    median,
    module_command,
    peak_rss_mib,
    progress,
    run_child,
    scratch_dir,
    times,
)

WORKLOADS = ("L1", "L2", "L4")
BASELINE = "loopline (baseline)"  # the same cells on an earlier checkout (`--baseline DIR`)
SIZES = (100, 1000, 10_000)
SEMATIC_SIZES = (100, 1000)
RUNNERS = {
    "L1": ("local", "silent"),
    "L2": ("local", "silent"),
    "L4": ("local",),
}  # nothing to cache silently


def expected(workload: str, n: int) -> int:
    return n * (n + 1) // 2 if workload == "L2" else n


def loopline_cell(workload: str, runner_name: str, n: int) -> Cell:
    """Measure one cell in this process (the child side)."""
    import loopline
    from benchmarks.workloads import PIPELINES, steps_of
    from loopline.core.records import RunFilter, RunState

    pipeline, direct = PIPELINES[workload]
    with scratch_dir(workload) as home:
        os.environ["LOOPLINE_HOME"] = str(home)  # the default store, as a user's script gets it

        def prepare() -> Any:
            runner: loopline.Runner = (
                loopline.LocalRunner(cache_namespace="bench-L4" if workload == "L4" else None)
                if runner_name == "local"
                else loopline.SilentRunner()
            )
            future = pipeline(n)

            def call() -> None:
                value = runner.run(future)
                if value != expected(workload, n):
                    raise SystemExit(f"{workload}: wrong result {value!r}")

            return call

        warmup_s, run_s = measure(prepare)  # for L4, the warm-up fills the cache
        _, direct_s = measure(lambda: lambda: direct(n))
        record = cell_record(
            "loopline",
            runner_name,
            workload,
            steps_of(workload, n),
            size=n,
            run_s=run_s,
            direct_s=direct_s,
            warmup_s=warmup_s[0],
            peak_mib=peak_rss_mib(),
        )
        if workload == "L4":
            metadata, _ = loopline.LocalRunner().stores()
            hits = metadata.count_runs(RunFilter(states=(RunState.CACHED,)))
            record["cache_hits"] = hits
            if hits != len(run_s) * n:
                record["error"] = f"expected {len(run_s) * n} cache hits, found {hits}"
    return record


def per_step_ms(cell: Cell) -> float:
    """(median run - median direct) / steps, in ms."""
    return 1000 * (median(cell["run_s"]) - median(cell["direct_s"])) / cell["steps"]


def run(
    workloads: tuple[str, ...] = WORKLOADS,
    sizes: tuple[int, ...] = SIZES,
    sematic: Any = None,
    *,
    sematic_sizes: tuple[int, ...] = SEMATIC_SIZES,
    sematic_large_runs: int = 3,
    loopline: bool = True,
    baseline: Path | None = None,
) -> list[Cell]:
    """Every cell, each in its own child process. `sematic` is a SematicPeer with its server up;
    it runs the sizes in `sematic_sizes`, with `sematic_large_runs` counted runs above 100 steps.
    `loopline=False` runs Sematic's cells alone. `baseline`: a checkout of an earlier Loopline,
    whose own `benchmarks.overhead` runs each Loopline cell again right after this one's."""
    cells = []
    for workload in workloads:
        for n in sizes:
            for runner in RUNNERS[workload] if loopline else ():
                progress(f"{workload} loopline-{runner} {n}")
                command = module_command("benchmarks.overhead", "--cell", workload, runner, n)
                cell = run_child(command)
                cells.append(
                    {"framework": "loopline", "runner": runner, "workload": workload, "size": n, **cell}
                )
                if baseline is not None:
                    progress(f"{workload} loopline-{runner} {n} (baseline)")
                    cell = run_child(command, cwd=baseline)
                    cells.append(
                        {"framework": BASELINE, "runner": runner, "workload": workload, "size": n, **cell}
                    )
            if sematic is None or n not in sematic_sizes:
                continue
            for runner in RUNNERS[workload]:
                progress(f"{workload} sematic-{runner} {n}")
                # A 1,000-step run of Sematic's LocalRunner takes about 20 minutes (its cost per
                # step grows with the graph), so its warm-up (imports, server connection) is a
                # 100-step run; L4's warm-up is always full size: it fills the cache.
                runs = sematic_large_runs if n > 100 else 3
                cell = sematic.cell(workload, runner, n, runs=runs, warmup_size=min(n, 100))
                cells.append(
                    {"framework": "sematic", "runner": runner, "workload": workload, "size": n, **cell}
                )
    return cells


def find(cells: list[Cell], **match: Any) -> Cell | None:
    """The measured cell whose fields equal `match`, if any."""
    for cell in cells:
        if "run_s" in cell and all(cell.get(k) == v for k, v in match.items()):
            return cell
    return None


def table(cells: list[Cell]) -> str:
    """One row per cell; Sematic rows carry their overhead as a multiple of Loopline's. The
    warm-up is the first run into an empty store (for L4: the run that fills the cache)."""
    lines = [
        "| steps | framework | runner | run s, median (min-max) | direct s | overhead ms/step "
        "| vs Loopline, same runner | warm-up run s | peak RSS MiB | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        name = f"{c.get('framework')} | {c.get('runner')}"
        if "run_s" not in c:
            lines.append(f"| {c.get('size')} | {name} | {c.get('error', 'not run')} | | | | | | |")
            continue
        runs = c["run_s"]
        ratio = ""
        if c["framework"] == "sematic":
            ours = find(
                cells, framework="loopline", runner=c["runner"], workload=c["workload"], size=c["size"]
            )
            ratio = times(per_step_ms(c) / per_step_ms(ours)) if ours and per_step_ms(ours) > 0 else "-"
        note = f" ({len(runs)} run)" if len(runs) == 1 else ""
        warmup = f"{c['warmup_s']:.3f}"
        if c.get("warmup_size", c["size"]) != c["size"]:
            warmup += f" ({c['warmup_size']} steps)"
        lines.append(
            f"| {c['steps']} | {name} | {median(runs):.3f} ({min(runs):.3f}-{max(runs):.3f}){note} "
            f"| {median(c['direct_s']):.6f} | {per_step_ms(c):.3f} | {ratio} | {warmup} | {c['peak_mib']:.0f} "
            f"| {c['load']:.1f} |"
        )
    return "\n".join(lines)


def tables(cells: list[Cell]) -> str:
    return "\n\n".join(
        f"**{workload}**\n\n" + table([c for c in cells if c.get("workload") == workload])
        for workload in dict.fromkeys(c.get("workload") for c in cells)
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.overhead", description=__doc__.split("\n")[0])
    parser.add_argument("--cell", nargs=3, metavar=("WORKLOAD", "RUNNER", "SIZE"), help=argparse.SUPPRESS)
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--no-sematic", action="store_true", help="Loopline only")
    parser.add_argument(
        "--sematic-large-runs", type=int, default=3, help="counted Sematic runs at 1,000 steps (default 3)"
    )
    args = parser.parse_args(argv)
    if args.cell:
        workload, runner, size = args.cell
        emit(loopline_cell(workload, runner, int(size)))
        return
    if args.no_sematic:
        cells = run(tuple(args.workloads), tuple(args.sizes))
    else:
        from benchmarks.sematic_peer import SematicPeer, ensure_venv

        problem = ensure_venv()
        if problem:
            sys.exit(f"{problem} (use --no-sematic to measure Loopline alone)")
        peer = SematicPeer()
        with peer.server():
            cells = run(
                tuple(args.workloads), tuple(args.sizes), peer, sematic_large_runs=args.sematic_large_runs
            )
    print(tables(cells))


if __name__ == "__main__":
    main()
