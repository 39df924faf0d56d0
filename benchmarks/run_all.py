"""Run every benchmark of issue 2 side by side with Sematic 0.41.0 and write benchmarks/RESULTS.md.

    python -m benchmarks.run_all [--no-sematic] [--sematic-large-runs N] [--out PATH] [--render JSON]

Loopline's cells run first, then Sematic's (its SilentRunner, and its LocalRunner against its
own `sematic start` server) at 100 and 1,000 steps; each cell runs in a fresh process and is
the median of 3 runs after a warm-up. Every cell's raw record goes to RESULTS.json next to the
Markdown. Sematic's LocalRunner needs about 20 minutes per 1,000-step run, so the whole
benchmark takes a few hours with Sematic and about 5 minutes without.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks import overhead, parallel, payload
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
)

# The targets of issue 2.
MAX_MS_PER_STEP = 1.0  # LocalRunner overhead at 1,000 steps
MAX_SCALING = 12.0  # 10,000 steps vs 1,000 steps
MAX_CACHE_HIT_MS = 0.5
MAX_PAYLOAD_RATIO = 1.5  # vs np.save + np.load per step
PAYLOAD_MIB = 100
MIN_SPEEDUP = 1.7  # L6 vs sequential, on 2 cores


def verdict(ok: bool) -> str:
    return "PASS" if ok else "**MISS**"


def targets(
    cells: list[Cell], payload_cells: list[Cell], parallel_cells: list[Cell]
) -> list[tuple[str, str, str]]:
    """(target, measured, PASS/MISS) rows."""
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
    measured = {c.get("runner"): c for c in payload_cells if "run_s" in c and c.get("framework") != "sematic"}
    plain, local = measured.get("np.save + np.load"), measured.get("local")
    if plain and local:
        ratio = median(local["run_s"]) / median(plain["run_s"])
        rows.append(
            (
                "L3: LocalRunner within 1.5x of np.save + np.load per step",
                f"{ratio:.2f}x ({median(local['run_s']):.2f} s vs {median(plain['run_s']):.2f} s)",
                verdict(ratio <= MAX_PAYLOAD_RATIO),
            )
        )
        limit = plain["peak_mib"] + PAYLOAD_MIB
        rows.append(
            (
                "L3: peak RSS <= plain peak + one payload (100 MiB)",
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
                    "L6: >= 1.7x faster than sequential on 2 cores",
                    f"{factor:.2f}x ({median(cell['run_s']):.2f} s vs {median(cell['direct_s']):.2f} s){where}",
                    verdict(factor >= MIN_SPEEDUP),
                )
            )
    return rows


def headline(cells: list[Cell], payload_cells: list[Cell]) -> list[str]:
    """Loopline vs Sematic in one line per comparison (Sematic's figure / Loopline's)."""
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
        "# Engine and SDK (issue 2)",
        "",
        "Written by `python -m benchmarks.run_all` (`make bench`). Every figure is the median of 3 runs",
        "after a warm-up, each cell in a fresh process; overhead per step = (in-process time of",
        "`runner.run` - the same functions called directly) / steps, at the default settings",
        "(`LocalRunner()` on a fresh `LOOPLINE_HOME`: metadata batched every 0.1 s in SQLite WAL with",
        "`synchronous=NORMAL`, artifacts written without fsync). The machine is shared and noisy:",
        "read the ratios, not the absolute times.",
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
        *(f"| {t} | {m} | {r} |" for t, m, r in targets(cells, payload_cells, parallel_cells)),
        "",
    ]
    versus = headline(cells, payload_cells)
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
        "## L3: 100 MiB of fresh random float64 through 3 steps",
        "",
        "Each row is a fresh process; peak RSS is its `ru_maxrss` (Sematic's server process excluded).",
        "",
        payload.table(payload_cells),
        "",
        "## L6: 8 CPU-bound pure-Python standalone steps of ~0.5 s",
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
        "overhead": overhead.run(),
        "payload": payload.run(),
        "parallel": parallel.run(),
    }
    save_raw(raw_path, info, sections, notes)
    with sematic_peer(not args.no_sematic, notes) as peer:
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
    ]
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
