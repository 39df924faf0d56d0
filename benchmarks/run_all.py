"""Run every benchmark of issues 2 and 19 side by side with Sematic 0.41.0 and write
benchmarks/RESULTS.md.

    python -m benchmarks.run_all [--no-sematic] [--sematic-large-runs N] [--no-million]
                                 [--out PATH] [--render JSON]

Loopline's cells run first, then Sematic's (its SilentRunner, and its LocalRunner against its
own `sematic start` server) at 100 and 1,000 steps; each cell runs in a fresh process and is
the median of 3 runs after a warm-up; the fresh-process cells of both take turns. Every cell's
raw record goes to RESULTS.json next to the Markdown. Sematic's LocalRunner needs about 20
minutes per 1,000-step run, so the whole benchmark takes a few hours with Sematic and about
half an hour without (a third of it the two pipelines of a million steps: `--no-million`
skips them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks import cache, disk, fresh, memory, overhead, parallel, payload
from benchmarks.harness import ROOT, Cell, load_average, machine_info, median, progress, times

RESULTS = ROOT / "benchmarks" / "RESULTS.md"

# The other benchmarks write their own file; RESULTS.md repeats each one under its heading.
OTHER_RESULTS = (
    ("Server and dashboard (issue 3)", "RESULTS_server.md", "python -m benchmarks.server_bench"),
    ("Regression testing (issue 4)", "RESULTS_regression.md", "python -m benchmarks.regression_bench"),
    (
        "Continuous improvement (issue 5)",
        "RESULTS_loop.md",
        "python -m benchmarks.inference_bench`, `inference_rest_bench`, `miners_bench",
    ),
    ("Ray and the GPU check (issue 6)", "RESULTS_ray.md", "python benchmarks/ray_bench.py"),
    ("Data in: warehouse tables (issue 13)", "RESULTS_data.md", "python -m benchmarks.data_bench"),
    ("Serving (issue 13)", "RESULTS_serve.md", "python -m benchmarks.serve_bench"),
    ("Team mode under load and faults (issue 12)", "RESULTS_team.md", "python -m benchmarks.team_bench"),
    ("Huge graphs (issue 17)", "RESULTS_graphs.md", "python -m benchmarks.graph_bench"),
)

# The targets of issue 2, and of issue 19 where it tightened them (the others come with their
# modules: fresh, memory, disk, cache).
MAX_MS_PER_STEP = 1.0  # LocalRunner overhead at 1,000 steps
MAX_SCALING = 12.0  # 10,000 steps vs 1,000 steps
MAX_CACHE_HIT_MS = 0.5
MAX_PAYLOAD_RATIO = 1.2  # vs np.save + np.load per step (issue 19; issue 2 said 1.5)
PAYLOAD_MIB = 100
MAX_EXTRA_PEAK_MIB = PAYLOAD_MIB / 2  # over the plain version's peak (issue 19; issue 2 said 100)
MIN_SPEEDUP = 1.7  # L6 vs sequential, on 2 cores


def verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


def targets(sections: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(target, measured, PASS/MISS) rows."""
    cells, payload_cells, parallel_cells = sections["overhead"], sections["payload"], sections["parallel"]
    rows: list[tuple[str, str, str]] = []
    find = overhead.find
    for workload in ("L1", "L2"):
        cell = find(cells, framework="loopline", runner="local", workload=workload, size=1000)
        if cell:
            ms = overhead.per_step_ms(cell)
            rows.append(
                (
                    f"{workload}: LocalRunner overhead at 1,000 steps <= 1 ms/step",
                    f"{ms:.3f} ms/step",
                    verdict(ms <= 1),
                )
            )
    for workload in ("L1", "L2"):
        small = find(cells, framework="loopline", runner="local", workload=workload, size=1000)
        large = find(cells, framework="loopline", runner="local", workload=workload, size=10_000)
        if small and large:
            ratio = median(large["run_s"]) / median(small["run_s"])
            rows.append(
                (
                    f"L5 ({workload}): 10,000 steps <= 12x the 1,000-step time",
                    f"{ratio:.1f}x ({median(large['run_s']):.2f} s vs {median(small['run_s']):.2f} s)",
                    verdict(ratio <= MAX_SCALING),
                )
            )
    hit = find(cells, framework="loopline", runner="local", workload="L4", size=1000)
    if hit:
        ms = overhead.per_step_ms(hit)
        rows.append(
            (
                "L4: a cache hit <= 0.5 ms/step (1,000 steps)",
                f"{ms:.3f} ms/step",
                verdict(ms <= MAX_CACHE_HIT_MS),
            )
        )
    measured = {
        c.get("runner"): c
        for c in payload_cells
        if "run_s" in c and c.get("framework") in ("numpy", "loopline")
    }
    plain, local = measured.get("np.save + np.load"), measured.get("local")
    if plain and local:
        ratio = median(local["run_s"]) / median(plain["run_s"])
        rows.append(
            (
                f"5 (L3): LocalRunner within {MAX_PAYLOAD_RATIO}x of np.save + np.load per step",
                f"{ratio:.2f}x ({median(local['run_s']):.2f} s vs {median(plain['run_s']):.2f} s)",
                verdict(ratio <= MAX_PAYLOAD_RATIO),
            )
        )
        limit = plain["peak_mib"] + MAX_EXTRA_PEAK_MIB
        rows.append(
            (
                "5 (L3): peak RSS <= plain peak + half a payload (50 MiB)",
                f"{local['peak_mib']:.0f} MiB (limit {limit:.0f} MiB)",
                verdict(local["peak_mib"] <= limit),
            )
        )
    for cell in parallel_cells:
        if "run_s" in cell:
            factor = parallel.speedup(cell)
            where = "" if cell["cores"] == 2 else f" (measured on {cell['cores']} cores)"
            rows.append(
                (
                    '6 (L6): 8 CPU-bound plain funcs, LocalRunner(executor="process") >= 1.7x faster '
                    "than sequential calls on 2 cores",
                    f"{factor:.2f}x ({median(cell['processes_s']):.2f} s vs {median(cell['sequential_s']):.2f} s)"
                    f"{where}",
                    verdict(factor >= MIN_SPEEDUP),
                )
            )
    for workload in ("L1", "L2"):
        for runner in ("local", "silent"):
            ours = find(cells, framework="loopline", runner=runner, workload=workload, size=1000)
            before = find(cells, framework=overhead.BASELINE, runner=runner, workload=workload, size=1000)
            if ours and before:
                a, b = overhead.per_step_ms(ours), overhead.per_step_ms(before)
                rows.append(
                    (
                        f"6: {workload} {runner} overhead at 1,000 steps no more than the baseline's",
                        f"{a:.3f} vs {b:.3f} ms/step ({a / b:.2f}x)",
                        verdict(a <= b * 1.05),  # within the machine's noise
                    )
                )
    rows += fresh.targets(sections.get("fresh", []))
    rows += memory.targets(sections.get("memory", []))
    rows += disk.targets(sections.get("disk", []))
    rows += cache.targets(sections.get("cache", []))
    return rows


def headline(sections: dict[str, Any]) -> list[str]:
    """Loopline vs Sematic in one line per comparison (Sematic's figure / Loopline's)."""
    cells, payload_cells = sections["overhead"], sections["payload"]
    lines = []
    for workload in overhead.WORKLOADS:
        for size in overhead.SEMATIC_SIZES:
            for runner in overhead.RUNNERS[workload]:
                ours = overhead.find(cells, framework="loopline", runner=runner, workload=workload, size=size)
                theirs = overhead.find(
                    cells, framework="sematic", runner=runner, workload=workload, size=size
                )
                if ours and theirs:
                    a, b = overhead.per_step_ms(ours), overhead.per_step_ms(theirs)
                    ratio = times(b / a) if a > 0 else "-"
                    lines.append(f"| {workload} | {size} | {runner} | {a:.3f} | {b:.3f} | {ratio} |")
    measured = {(c.get("framework"), c.get("runner")): c for c in payload_cells if "run_s" in c}
    for runner in ("local", "silent"):
        ours, theirs = measured.get(("loopline", runner)), measured.get(("sematic", runner))
        if ours and theirs:
            a, b = median(ours["run_s"]), median(theirs["run_s"])
            lines.append(f"| L3 (s per run) | 3 | {runner} | {a:.3f} | {b:.3f} | {times(b / a)} |")
    fresh_cells = {
        (c["framework"], c["runner"], c["size"], c["store"]): c
        for c in sections.get("fresh", [])
        if "first_s" in c
    }
    for (framework, runner, size, _), theirs in fresh_cells.items():
        ours = fresh_cells.get(("loopline", "local", size, "existing"))
        if framework == "sematic" and ours:
            a, b = median(ours["first_s"]), median(theirs["first_s"])
            lines.append(
                f"| fresh process: import + first run (s) | {size} | {runner} (Loopline: local) | {a:.3f} "
                f"| {b:.3f} | {times(b / a)} |"
            )
    if not lines:
        return []
    return [
        "| workload | steps | runner | Loopline ms/step | Sematic ms/step | Sematic / Loopline |",
        "|---|---|---|---|---|---|",
        *lines,
    ]


def render(info: dict[str, str], sections: dict[str, Any], notes: list[str]) -> str:
    cells, payload_cells, parallel_cells = sections["overhead"], sections["payload"], sections["parallel"]
    out = [
        "# Engine and SDK (issues 2 and 19)",
        "",
        "Written by `python -m benchmarks.run_all` (`make bench`). Every figure is the median of 3 runs",
        "after a warm-up, each cell in a fresh process; overhead per step = (in-process time of",
        "`runner.run` - the same functions called directly) / steps, at the default settings",
        "(`LocalRunner()` on a fresh `LOOPLINE_HOME`: metadata batched every 0.1 s in SQLite WAL with",
        "`synchronous=NORMAL`, small values as rows of the artifact folder's `values.sqlite`, large",
        "ones as files, written without fsync). The machine is shared and noisy: read the ratios",
        "(measured in the same minutes), not the absolute times; the load average is in every table.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in info.items()),
        "",
        "## Targets",
        "",
        "| target | measured | result |",
        "|---|---|---|",
        *(f"| {t} | {m} | {r} |" for t, m, r in targets(sections)),
        "",
    ]
    versus = headline(sections)
    if versus:
        out += ["## Loopline vs Sematic 0.41.0 (same run)", "", *versus, ""]
    out += [
        "## L1 chain, L2 fan-out + reduce, L4 cached chain, L5 (10,000 steps)",
        "",
        "`vs Loopline` = Sematic's overhead per step divided by Loopline's, same kind of runner",
        "(local: tracked; silent: in memory, untracked). L4 counts only the cache hits (the warm-up",
        "filled the cache); Loopline's hits are checked in its store. The warm-up is also each",
        "cell's first run into an empty store: after it, the small ints these trivial steps take and",
        "return are already stored, and a content-addressed store skips writing them again.",
        "",
        overhead.tables(cells),
        "",
        "## Item 1: a fresh process next to a warm one",
        "",
        "Each row: whole processes of `benchmarks/chain_script.py` (a user's `python pipeline.py`), 3",
        "rounds taking turns with Sematic's; `import + first run` is timed from before `import loopline`",
        "(`import sematic`) to the end of the first run, `second run` is the same pipeline again in that",
        "process. `existing` store: made by an earlier process; `new`: an empty LOOPLINE_HOME.",
        "",
        fresh.table(sections.get("fresh", [])),
        "",
        "## Item 2: memory per step, and a million steps",
        "",
        memory.table(sections.get("memory", [])),
        "",
        "## Item 3: small values on disk",
        "",
        disk.table(sections.get("disk", [])),
        "",
        "## Item 4: a cache hit next to a trivial step (same process, taking turns)",
        "",
        cache.table(sections.get("cache", [])),
        "",
        "## L3 (item 5): 100 MiB of fresh random float64 through 3 steps",
        "",
        "Each row is a fresh process; peak RSS is its `ru_maxrss` (Sematic's server process excluded).",
        "",
        payload.table(payload_cells),
        "",
        payload.hash_table(payload_cells),
        "",
        "## L6 (item 6): 8 CPU-bound pure-Python steps of ~0.5 s",
        "",
        parallel.table(parallel_cells),
        "",
        "## Notes",
        "",
        *(f"- {note}" for note in notes),
        "",
        *other_results(),
    ]
    return "\n".join(out)


def other_results() -> list[str]:
    """The other benchmarks' result files, each under a heading of its own (their headings one
    level down), as they were last written."""
    out = []
    for title, name, command in OTHER_RESULTS:
        path = ROOT / "benchmarks" / name
        if not path.exists():
            continue
        body = path.read_text().strip().splitlines()
        if body and body[0].startswith("# "):
            body = body[1:]  # replaced by our heading
        while body and not body[0].strip():
            body = body[1:]
        out += [
            f"# {title}",
            "",
            f"From `benchmarks/{name}`, measured with `{command}`.",
            "",
            *("#" + line if line.startswith("#") else line for line in body),
            "",
        ]
    return out


@contextlib.contextmanager
def sematic_peer(enabled: bool, notes: list[str]) -> Iterator[Any]:
    if not enabled:
        notes.append("Sematic was not measured in this run (--no-sematic).")
        yield None
        return
    from benchmarks.sematic_peer import VERSION, SematicPeer, ensure_venv

    problem = ensure_venv()
    if problem:
        notes.append(f"Sematic was not measured: {problem}.")
        yield None
        return
    peer = SematicPeer()
    with peer.server():
        notes.append(
            f"Sematic {VERSION} ran in its own virtualenv (`.cache/venv-sematic`); its LocalRunner tracked "
            "through `sematic start` on 127.0.0.1 with a fresh SEMATIC_CONFIG_DIR, started before its cells "
            "and stopped by PID after them (server start-up is not in any figure)."
        )
        yield peer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_all", description=__doc__.split("\n")[0])
    parser.add_argument("--no-sematic", action="store_true", help="Loopline only (about 5 minutes)")
    parser.add_argument(
        "--sematic-large-runs",
        type=int,
        default=3,
        help="counted runs of each Sematic cell at 1,000 steps (default 3; each LocalRunner run takes ~20 min)",
    )
    parser.add_argument(
        "--no-million", action="store_true", help="skip the two pipelines of a million steps (~10 minutes)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="DIR",
        help="a checkout of an earlier Loopline: its overhead cells run right after each of this one's",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the results")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: rewrite --out from an earlier run's raw results",
    )
    args = parser.parse_args(argv)
    raw_path = args.out.with_suffix(".json")  # every cell's raw record, to check or re-render
    if args.render:
        raw = json.loads(args.render.read_text())
        args.out.write_text(render(raw["machine"], raw["sections"], raw["notes"]))
        progress(f"wrote {args.out} from {args.render}")
        return

    info = machine_info()
    info["load average at start"] = load_average()
    notes: list[str] = []
    progress("Loopline cells")
    sections: dict[str, Any] = {
        "overhead": overhead.run(baseline=args.baseline),
        "payload": payload.run(),
        "parallel": parallel.run(),
        "memory": memory.run(million=0 if args.no_million else memory.MILLION),
        "disk": disk.run(),
        "cache": cache.run(),
    }
    save_raw(raw_path, info, sections, notes)
    with sematic_peer(not args.no_sematic, notes) as peer:
        sections["fresh"] = fresh.run(peer)  # Sematic's fresh processes take turns with Loopline's
        save_raw(raw_path, info, sections, notes)
        if peer is not None:
            progress("Sematic cells")
            sematic_cells = overhead.run(
                sizes=overhead.SEMATIC_SIZES,
                sematic=peer,
                sematic_large_runs=args.sematic_large_runs,
                loopline=False,
            )
            sections["overhead"] = merge(sections["overhead"], sematic_cells)
            sections["payload"] += payload.run(peer, loopline=False)
    info["load average at end"] = load_average()
    notes += [
        "Sematic needs `sys.setrecursionlimit` raised for a 1,000-step chain (it enqueues nested futures "
        "recursively and fails with RecursionError at the default limit); its cells raise it to 100,000.",
        "Sematic's LocalRunner at 1,000 steps: its warm-up is a 100-step run (a 1,000-step run takes "
        "8 to 20 minutes); for L4 the warm-up is the full-size run that fills the cache.",
        "SilentRunner passes values by reference (its default since issue 19), as Sematic's does; "
        "`encode_values=True` encodes them as the tracked runners store them (the L3 table has both).",
        "Child processes write and reuse compiled bytecode (`PYTHONPYCACHEPREFIX=.cache/pycache`), as "
        "an installed package does: this machine's shells set PYTHONDONTWRITEBYTECODE, under which every "
        "process would compile Loopline's sources again (~40 ms).",
    ]
    if args.baseline is not None:
        notes.append(
            f"`{overhead.BASELINE}` rows: the same cells on the checkout in `{args.baseline}` (its own "
            "`benchmarks.overhead`), each run right after this checkout's."
        )
    if args.sematic_large_runs != 3:
        notes.append(
            f"Sematic's 1,000-step cells: {args.sematic_large_runs} counted run(s) (--sematic-large-runs)."
        )
    save_raw(raw_path, info, sections, notes)
    text = render(info, sections, notes)
    args.out.write_text(text)
    print(text)
    progress(f"wrote {args.out}")
    if any("error" in c for section in sections.values() for c in section):
        sys.exit(1)


def save_raw(path: Path, info: dict[str, str], sections: dict[str, Any], notes: list[str]) -> None:
    path.write_text(json.dumps({"machine": info, "sections": sections, "notes": notes}, indent=1) + "\n")


def merge(loopline_cells: list[Cell], sematic_cells: list[Cell]) -> list[Cell]:
    """Sematic's cells after Loopline's of the same workload and size."""
    merged = []
    for cell in loopline_cells:
        merged.append(cell)
        last_of_group = cell is [c for c in loopline_cells if same_group(c, cell)][-1]
        if last_of_group:
            merged += [c for c in sematic_cells if same_group(c, cell)]
    return merged


def same_group(a: Cell, b: Cell) -> bool:
    return bool(a.get("workload") == b.get("workload") and a.get("size") == b.get("size"))


if __name__ == "__main__":
    main()
