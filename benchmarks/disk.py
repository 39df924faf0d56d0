"""Item 3 of issue 19: what small values cost on disk, and where a value is best kept.

    python -m benchmarks.disk [--steps 100000]

- A chain of 100,000 trivial steps on `LocalRunner()` in an empty LOOPLINE_HOME: the bytes of
  every file the store holds (its data) next to the disk blocks they take (`du`), before and after
  `loopline gc` deleted the pipeline (gc must leave no value behind, and only those). Target:
  disk <= 1.5x data.
- The threshold between the two tiers of a local artifact folder (a row of its `values.sqlite`,
  or a file of its own): the time to put and to read back a value of each size, and the disk each
  takes, measured here; values up to `loopline.storage.values.SMALL_MAX` are rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import Cell, cell_record, emit, module_command, progress, run_child, scratch_dir

STEPS = 100_000
MAX_DISK_RATIO = 1.5
SIZES = (256, 1024, 4096, 16 * 1024, 64 * 1024, 256 * 1024)


def usage(folder: Path) -> dict[str, int]:
    """Bytes of the files under `folder`, the disk blocks they take, and how many there are."""
    data = blocks = files = 0
    for root, _, names in os.walk(folder):
        for name in names:
            info = os.lstat(os.path.join(root, name))
            data += info.st_size
            blocks += info.st_blocks * 512
            files += 1
    return {"data_bytes": data, "disk_bytes": blocks, "files": files}


def chain_cell(n: int) -> Cell:
    import loopline
    from benchmarks.workloads import chain
    from loopline.storage.gc import collect_garbage

    with scratch_dir("disk") as home:
        os.environ["LOOPLINE_HOME"] = str(home)
        runner = loopline.LocalRunner(echo=False)
        start = time.perf_counter()
        runner.run(chain(n))
        run_s = time.perf_counter() - start
        metadata, artifacts = runner.stores()
        values = len(list(artifacts.ids()))
        after_run = usage(home)
        start = time.perf_counter()
        report = collect_garbage(metadata, artifacts, dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
        gc_s = time.perf_counter() - start
        left = len(list(artifacts.ids()))
        after_gc = usage(home)
    return cell_record(
        "loopline",
        "local",
        "L1",
        n,
        run_s=[run_s],
        values=values,
        after_run=after_run,
        after_gc=after_gc,
        gc_s=gc_s,
        gc_artifacts=report.artifacts,
        values_left=left,
    )


def _timed_each(call: Any, items: list[Any]) -> float:
    start = time.perf_counter()
    for item in items:
        call(item)
    return (time.perf_counter() - start) / len(items)


def threshold_cell() -> Cell:
    """Put and read back values of each size as files and as rows (interleaved, best of 3)."""
    from loopline.core.serialization import encode
    from loopline.storage.artifacts import LocalArtifactStore, load_value
    from loopline.storage.values import SqliteValueTable, TieredArtifactStore

    rows = []
    with scratch_dir("threshold") as folder:
        for size in SIZES:
            count = max(100, min(2000, 8_000_000 // size))
            results: dict[str, list[float]] = {"file put": [], "row put": [], "file get": [], "row get": []}
            disk: dict[str, int] = {}
            for attempt in range(3):
                payloads = [encode(os.urandom(size)) for _ in range(count)]
                base = folder / f"{size}-{attempt}"
                files = LocalArtifactStore(base / "files")
                table = SqliteValueTable(str(base / "rows.sqlite"), create=True)
                rowed = TieredArtifactStore(table, LocalArtifactStore(base / "unused"), small_max=1 << 30)
                for name, store in (("file", files), ("row", rowed)):
                    ids: list[str] = []
                    results[f"{name} put"].append(
                        _timed_each(lambda e, s=store, i=ids: i.append(s.put(e)), payloads)
                    )
                    results[f"{name} get"].append(_timed_each(lambda a, s=store: load_value(a, s), ids))
                table.close()
                disk = {
                    "file": usage(base / "files")["disk_bytes"] // count,
                    "row": usage(base)["disk_bytes"] // count - usage(base / "files")["disk_bytes"] // count,
                }
            rows.append(
                {
                    "size": size,
                    **{key: 1e6 * min(values) for key, values in results.items()},
                    "file disk": disk["file"],
                    "row disk": disk["row"],
                }
            )
    return {"framework": "loopline", "workload": "threshold", "rows": rows}


def run(steps: int = STEPS) -> list[Cell]:
    progress(f"disk: a chain of {steps:,} steps in an empty store")
    cells = [{"kind": "chain", **run_child(module_command("benchmarks.disk", "--cell", "chain", steps))}]
    progress("disk: where small values are best kept")
    cells.append(
        {"kind": "threshold", **run_child(module_command("benchmarks.disk", "--cell", "threshold", 0))}
    )
    return cells


def ratio(cell: Cell) -> float:
    usage_ = cell["after_run"]
    return float(usage_["disk_bytes"] / usage_["data_bytes"])


def targets(cells: list[Cell]) -> list[tuple[str, str, str]]:
    rows = []
    for cell in cells:
        if cell.get("kind") == "chain" and "run_s" in cell:
            exact = cell["values_left"] == 0 and cell["gc_artifacts"] == cell["values"]
            rows.append(
                (
                    f"3: disk of a {cell['steps']:,}-step chain <= 1.5x its data",
                    f"{ratio(cell):.2f}x ({cell['after_run']['disk_bytes'] / 1e6:.1f} MB on disk, "
                    f"{cell['after_run']['data_bytes'] / 1e6:.1f} MB of data, {cell['after_run']['files']} files)",
                    "PASS" if ratio(cell) <= MAX_DISK_RATIO else "**MISS**",
                )
            )
            rows.append(
                (
                    "3: gc deletes exactly the unreferenced values",
                    f"{cell['gc_artifacts']:,} of {cell['values']:,} deleted, {cell['values_left']} left",
                    "PASS" if exact else "**MISS**",
                )
            )
    return rows


def table(cells: list[Cell]) -> str:
    out = []
    for c in cells:
        if "error" in c:
            out.append(f"{c.get('kind')}: {c['error']}")
        elif c["kind"] == "chain":
            run_, gc_ = c["after_run"], c["after_gc"]
            out += [
                "| steps | values | files | data MB | on disk MB | disk / data | after gc: files, data MB, disk MB | gc s | run s |",
                "|---|---|---|---|---|---|---|---|---|",
                f"| {c['steps']:,} | {c['values']:,} | {run_['files']} | {run_['data_bytes'] / 1e6:.1f} "
                f"| {run_['disk_bytes'] / 1e6:.1f} | {ratio(c):.2f}x | {gc_['files']}, {gc_['data_bytes'] / 1e6:.1f}, "
                f"{gc_['disk_bytes'] / 1e6:.1f} | {c['gc_s']:.1f} | {c['run_s'][0]:.1f} |",
                "",
            ]
        else:
            out += [
                "| value size | put as a file us | put as a row us | read a file us | read a row us "
                "| disk per file B | disk per row B |",
                "|---|---|---|---|---|---|---|",
            ]
            for r in c["rows"]:
                out.append(
                    f"| {_size(r['size'])} | {r['file put']:.0f} | {r['row put']:.0f} | {r['file get']:.0f} "
                    f"| {r['row get']:.0f} | {r['file disk']:,} | {r['row disk']:,} |"
                )
    return "\n".join(out)


def _size(n: int) -> str:
    return f"{n // 1024} KiB" if n >= 1024 else f"{n} B"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.disk", description=__doc__.split("\n")[0])
    parser.add_argument("--cell", nargs=2, metavar=("KIND", "STEPS"), help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=STEPS)
    args = parser.parse_args(argv)
    if args.cell:
        kind, n = args.cell
        emit(chain_cell(int(n)) if kind == "chain" else threshold_cell())
        return
    print(table(run(args.steps)))


if __name__ == "__main__":
    main()
