"""Item 1 of issue 19: a pipeline in a fresh process, next to the same pipeline run again in it.

    python -m benchmarks.fresh [--no-sematic]

Each cell is a whole `python benchmarks/chain_script.py N` process (a chain of N trivial steps on
`LocalRunner()`, as a user's `python pipeline.py`): the seconds `import loopline` takes, the
seconds from before that import to the end of the first run, and the seconds of a second run in
the same process. Target: at 1,000 steps, first (import included) <= 1.5x the second.

Two stores: `existing` (made by an earlier process of the same script, as a second
`python pipeline.py` finds it) and `new` (an empty LOOPLINE_HOME: the schema is created, Alembic
runs). Processes write and reuse compiled bytecode (under `.cache/pycache`), as an installed
package does; a warm-up process compiles it. Sematic's SilentRunner and LocalRunner run the
same chain in the same rounds (`benchmarks/peers/sematic_cells.py --fresh`), timed from before
`import sematic`.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from benchmarks.harness import ROOT, RUNS, Cell, median, progress, run_child, scratch_dir

SIZES = (100, 1000)
SEMATIC_LOCAL_SIZES = (100,)  # a 1,000-step run of Sematic's LocalRunner takes 8 to 20 minutes
TARGET_STEPS = 1000
MAX_RATIO = 1.5
SCRIPT = ROOT / "benchmarks" / "chain_script.py"


def child_env(home: str | None = None) -> dict[str, str]:
    """As an installed Loopline runs: bytecode written once and reused (this machine's shells set
    PYTHONDONTWRITEBYTECODE, which makes every process compile the sources again)."""
    env = {
        "PYTHONDONTWRITEBYTECODE": "",
        "PYTHONPYCACHEPREFIX": str(ROOT / ".cache" / "pycache"),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    if home is not None:
        env["LOOPLINE_HOME"] = home
    return env


def loopline_cell(size: int, store: str) -> Cell:
    """One fresh process on a new store, or on one an earlier process of the script made."""
    with scratch_dir(f"fresh-{store}") as home:
        command = [sys.executable, str(SCRIPT), str(size)]
        if store == "existing":
            made = run_child(command, env=child_env(str(home)))
            if "error" in made:
                return made
        return run_child(command, env=child_env(str(home)))


def run(sematic: Any = None, *, rounds: int = RUNS) -> list[Cell]:
    """Every configuration once per round, rounds one after another (so drift in the machine's
    load weighs on every side), after one warm-up process."""
    progress("fresh process: warm-up")
    loopline_cell(10, "new")
    configs: list[tuple[str, str, int, str]] = [
        ("loopline", "local", size, store) for size in SIZES for store in ("existing", "new")
    ]
    if sematic is not None:
        configs += [("sematic", "silent", size, "-") for size in SIZES]
        configs += [("sematic", "local", size, "-") for size in SEMATIC_LOCAL_SIZES]
    samples: dict[tuple[str, str, int, str], list[Cell]] = {config: [] for config in configs}
    for number in range(rounds):
        progress(f"fresh process: round {number + 1} of {rounds}")
        for config in configs:
            framework, runner, size, store = config
            ours = framework == "loopline"
            samples[config].append(loopline_cell(size, store) if ours else sematic.fresh_cell(runner, size))
    cells = []
    for (framework, runner, size, store), found in samples.items():
        base = {"framework": framework, "runner": runner, "size": size, "store": store}
        failed = next((c for c in found if "first_s" not in c), None)
        if failed is not None:
            cells.append({**base, "error": failed.get("error", "no result")})
            continue
        cells.append(
            {
                **base,
                **{key: [c[key] for c in found] for key in ("import_s", "first_s", "second_s")},
                "load": max(c.get("load", 0.0) for c in found),
            }
        )
    return cells


def ratio(cell: Cell) -> float:
    return float(median(cell["first_s"]) / median(cell["second_s"]))


def targets(cells: list[Cell]) -> list[tuple[str, str, str]]:
    rows = []
    for cell in cells:
        if cell.get("framework") == "loopline" and cell.get("size") == TARGET_STEPS and "first_s" in cell:
            rows.append(
                (
                    f"1: fresh process, {TARGET_STEPS:,} steps, {cell['store']} store: import + first run "
                    f"<= {MAX_RATIO}x the second run",
                    f"{ratio(cell):.2f}x ({median(cell['first_s']):.3f} s vs {median(cell['second_s']):.3f} s)",
                    "PASS" if ratio(cell) <= MAX_RATIO else "**MISS**",
                )
            )
    return rows


def table(cells: list[Cell]) -> str:
    lines = [
        "| framework | runner | steps | store | `import` s | import + first run s | second run s "
        "| first / second | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        name = f"{c['framework']} | {c['runner']} | {c['size']} | {c['store']}"
        if "first_s" not in c:
            lines.append(f"| {name} | {c.get('error')} | | | | |")
            continue
        lines.append(
            f"| {name} | {median(c['import_s']):.3f} | {median(c['first_s']):.3f} | {median(c['second_s']):.3f} "
            f"| {ratio(c):.2f}x | {c['load']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fresh", description=__doc__.split("\n")[0])
    parser.add_argument("--no-sematic", action="store_true", help="Loopline only")
    args = parser.parse_args(argv)
    if args.no_sematic:
        print(table(run()))
        return
    from benchmarks.sematic_peer import SematicPeer, ensure_venv

    problem = ensure_venv()
    if problem:
        sys.exit(f"{problem} (use --no-sematic to measure Loopline alone)")
    peer = SematicPeer()
    with peer.server():
        print(table(run(peer)))


if __name__ == "__main__":
    main()
