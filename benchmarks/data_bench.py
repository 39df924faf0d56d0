"""Table snapshot benchmark (not part of the test suite).

    .venv/bin/python -m benchmarks.data_bench [--rows 10000000] [--big-gib 5] [--runs 3]
        [--out benchmarks/RESULTS_data.md]

A DuckDB table (id BIGINT, score DOUBLE, text VARCHAR of about 50 characters, label INTEGER)
is snapshotted by `loopline.data` (streamed into Parquet with pyarrow, then stored as a
content-addressed artifact) and, in the same run, written by DuckDB's own
`COPY (SELECT * FROM t) TO 'x.parquet' (FORMAT parquet)`. Each measurement runs in a fresh
child process, whose peak resident memory (ru_maxrss) is reported with its time. Then a table
of `--big-gib` GiB (its size as Arrow data) is snapshotted once, to show that memory stays
bounded whatever the table's size.

Targets (issue 13): the snapshot within 1.5x of DuckDB's COPY on 10 million rows; the 5 GiB
table snapshotted with a peak RSS under 500 MiB.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    ROOT,
    Cell,
    emit,
    load_average,
    machine_info,
    median,
    module_command,
    progress,
    run_child,
    scratch_dir,
    times,
)

MAX_RATIO = 1.5
MAX_BIG_RSS_MIB = 500
TEXT = "'review ' || range || ' ' || md5(range::VARCHAR)"  # about 50 characters


def build_table(path: Path, rows: int, text: str = TEXT) -> dict[str, int]:
    """The table `t` in a new DuckDB file; returns its rows and its size as Arrow data."""
    import duckdb

    with duckdb.connect(str(path), config={"memory_limit": "2GB", "preserve_insertion_order": "true"}) as con:
        con.execute(
            f"CREATE TABLE t AS SELECT range AS id, random() AS score, {text} AS text, "
            f"(range % 10)::INTEGER AS label FROM range({rows})"
        )
        # Arrow size: 8 (id) + 8 (score) + 4 (label) + 4 (string offset) bytes per row, plus the text.
        text_bytes = con.execute("SELECT sum(strlen(text)) FROM t").fetchone()[0]  # type: ignore[index]
    return {"rows": rows, "arrow_bytes": rows * 24 + int(text_bytes), "file_bytes": path.stat().st_size}


# -- one measurement per child process ------------------------------------------------------------


def build_in_child(database: Path, rows: int, text: str) -> dict[str, int]:
    """`build_table` in a child process, so that DuckDB's memory never inflates this one."""
    progress(f"building a {rows:,}-row table")
    command = module_command(
        "benchmarks.data_bench", "--child", "build", "--database", database, "--rows", rows, "--text", text
    )
    record = run_child(command, timeout_s=3600)
    if "error" in record:
        raise SystemExit(f"building the table failed: {record['error']}")
    return {key: int(record[key]) for key in ("rows", "arrow_bytes", "file_bytes")}


def child(kind: str, database: Path, scratch: Path) -> None:
    # Imports first: the clock measures the work, not loading the libraries.
    import duckdb
    import pyarrow.parquet  # noqa: F401
    import sqlalchemy  # noqa: F401

    from loopline.data import Table, snapshot
    from loopline.storage.artifacts import LocalArtifactStore, store_value

    url = f"duckdb:///{database}"
    started = time.perf_counter()
    record: Cell = {"kind": kind}
    if kind == "copy":
        target = scratch / "copy.parquet"
        with duckdb.connect(str(database), read_only=True) as con:
            con.execute(f"COPY (SELECT * FROM t) TO '{target}' (FORMAT parquet)")
        record["parquet_bytes"] = target.stat().st_size
        target.unlink()
    else:
        rows = snapshot(Table("t", url=url))
        record["capture_s"] = time.perf_counter() - started
        record["parquet_bytes"] = rows.nbytes
        if kind == "artifact":
            artifact = store_value(rows, LocalArtifactStore(scratch / "store"))
            record["store_s"] = time.perf_counter() - started - record["capture_s"]
            record["artifact_id"] = artifact.id
    record["run_s"] = [time.perf_counter() - started]
    record["peak_rss_mib"] = peak_rss_of_this_process_mib()
    emit(record)


def peak_rss_of_this_process_mib() -> float:
    """The peak resident memory of this process image (VmHWM). Not ru_maxrss: Linux carries
    that over `exec` from the parent the child was forked from, so a child of a large parent
    would report the parent's size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def measure(kind: str, database: Path, scratch: Path) -> Cell:
    progress(f"{kind} on {database.name}")
    env = {"TMPDIR": str(scratch), "PYTHONPATH": str(ROOT)}
    record = run_child(
        module_command(
            "benchmarks.data_bench", "--child", kind, "--database", database, "--scratch", scratch
        ),
        env=env,
        timeout_s=3600,
    )
    if "error" in record:
        raise SystemExit(f"{kind} failed: {record['error']}")
    for leftover in (scratch / "store").glob("*/*"):
        leftover.unlink()
    return record


# -- the report -----------------------------------------------------------------------------------


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def mib(n: float) -> str:
    return f"{n / 2**20:.0f} MiB"


def render(facts: dict[str, Any]) -> str:
    small, big = facts["small"], facts["big"]
    copy_s = median([r["run_s"][0] for r in small["copy"]])
    capture_s = median([r["run_s"][0] for r in small["capture"]])
    artifact_s = median([r["run_s"][0] for r in small["artifact"]])
    store_s = median([r["store_s"] for r in small["artifact"]])
    rows = small["table"]["rows"]
    same_ids = len({r["artifact_id"] for r in small["artifact"]}) == 1
    ratio = artifact_s / copy_s
    lines = [
        "# Table snapshot benchmark",
        "",
        f"`python -m benchmarks.data_bench` ({facts['when']}), load average before / after: "
        f"{facts['load_before']} / {facts['load_after']}.",
        "",
        "| machine | |",
        "|---|---|",
        *[f"| {key} | {value} |" for key, value in facts["machine"].items()],
        f"| pyarrow / duckdb | {facts['versions']} |",
        "",
        f"## {rows:,} rows: `loopline.data` against DuckDB's `COPY ... TO 'x.parquet'`",
        "",
        f"Table `t(id BIGINT, score DOUBLE, text VARCHAR, label INTEGER)`: {rows:,} rows, "
        f"{gib(small['table']['arrow_bytes'])} as Arrow data, a {gib(small['table']['file_bytes'])} DuckDB file. "
        f"Each cell is the median of {len(small['copy'])} runs, each in a fresh process, the kinds taking turns.",
        "",
        "| what | time | rows/s | ratio to COPY | peak RSS | Parquet |",
        "|---|---|---|---|---|---|",
    ]

    def row(name: str, seconds: float, cells: list[Cell]) -> str:
        rss = max(c["peak_rss_mib"] for c in cells)
        return (
            f"| {name} | {seconds:.2f} s | {rows / seconds / 1e6:.1f} M | {times(seconds / copy_s)} | "
            f"{rss:.0f} MiB | {mib(cells[0]['parquet_bytes'])} |"
        )

    lines += [
        row("DuckDB `COPY (SELECT * FROM t) TO 'x.parquet'`", copy_s, small["copy"]),
        row("`snapshot(Table('t'))`: streamed into Parquet", capture_s, small["capture"]),
        row(
            "the same, then stored as an artifact (hashed, copied into the store)",
            artifact_s,
            small["artifact"],
        ),
        "",
        f"Storing the snapshot (SHA-256 of the file and a copy into the artifact folder) takes {store_s:.2f} s "
        f"of that. A second snapshot of the unchanged table gave the same artifact id (a cache hit): "
        f"{'yes' if same_ids else '**no**'}.",
        "",
        f"Target: the snapshot (stored as an artifact) within {MAX_RATIO}x of DuckDB's COPY: "
        f"{times(ratio)}, {'PASS' if ratio <= MAX_RATIO else '**MISS**'}.",
        "",
        f"## A {gib(big['table']['arrow_bytes'])} table, snapshotted once",
        "",
        f"{big['table']['rows']:,} rows (text of about 80 characters), {gib(big['table']['arrow_bytes'])} as "
        f"Arrow data, a {gib(big['table']['file_bytes'])} DuckDB file.",
        "",
        "| what | time | rows/s | ratio to COPY | peak RSS | Parquet |",
        "|---|---|---|---|---|---|",
    ]
    big_rows = big["table"]["rows"]
    big_copy_s = big["copy"]["run_s"][0]
    for name, cell in (("DuckDB COPY", big["copy"]), ("snapshot, stored as an artifact", big["artifact"])):
        seconds = cell["run_s"][0]
        lines.append(
            f"| {name} | {seconds:.1f} s | {big_rows / seconds / 1e6:.1f} M | {times(seconds / big_copy_s)} | "
            f"{cell['peak_rss_mib']:.0f} MiB | {mib(cell['parquet_bytes'])} |"
        )
    big_rss = big["artifact"]["peak_rss_mib"]
    big_ratio = big["artifact"]["run_s"][0] / big_copy_s
    lines += [
        "",
        f"Target: peak RSS under {MAX_BIG_RSS_MIB} MiB: {big_rss:.0f} MiB, "
        f"{'PASS' if big_rss < MAX_BIG_RSS_MIB else '**MISS**'}.",
        "",
        f"At this size the snapshot takes {times(big_ratio)} COPY's time (one run each, so noisier than "
        f"the medians above): COPY ran with {big['copy']['peak_rss_mib'] / 1024:.1f} GiB of memory, "
        "DuckDB's default limit, while the snapshot keeps DuckDB to 128 MB.",
        "",
        "## What sets these numbers",
        "",
        "- The snapshot reads DuckDB's Arrow batches (`to_arrow_reader`) on the calling thread while a "
        "second thread encodes the previous row group with pyarrow's Parquet writer (zstd at level 1; "
        "dictionary encoding only for columns with few distinct values in the first row group): the two "
        "overlap. zstd makes text about half the size of DuckDB's snappy output, which the store pays for.",
        "- Storing it is one more pass over the file: SHA-256 (the artifact id) and a copy into the "
        "store, since an artifact's header precedes its bytes. That pass is most of the difference to COPY.",
        "- Memory: DuckDB runs with a 128 MB memory limit (set `?memory_limit=...` in the URL for heavy "
        "queries), at most one row group waits for the writer, and the artifact is hashed and written "
        "from the file in 8 MiB chunks. The rest of the peak is the interpreter and the libraries "
        "(about 100 MiB once pyarrow and DuckDB are imported). DuckDB's own COPY runs with DuckDB's "
        "default memory limit (80% of RAM), hence its larger peak.",
        "- Peak RSS is each child's VmHWM (its own high-water mark), not ru_maxrss, which Linux carries "
        "over `exec` from the parent a child was forked from.",
        "- The machine is shared: the load average above says how busy it was; ratios measured in the "
        "same run are what to compare.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--big-gib", type=float, default=5.0, help="size (as Arrow data) of the big table")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS_data.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--text", default=TEXT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "build":
        emit(build_table(args.database, args.rows, args.text))
        return
    if args.child:
        child(args.child, args.database, args.scratch)
        return

    import duckdb
    import pyarrow

    facts: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_info(),
        "versions": f"{pyarrow.__version__} / {duckdb.__version__}",
        "load_before": load_average(),
    }
    with scratch_dir("data") as scratch:
        small_db = scratch / "small.duckdb"
        small: dict[str, Any] = {
            "table": build_in_child(small_db, args.rows, TEXT),
            "copy": [],
            "capture": [],
            "artifact": [],
        }
        for _ in range(args.runs):
            for kind in ("copy", "capture", "artifact"):
                small[kind].append(measure(kind, small_db, scratch))
        small_db.unlink()
        facts["small"] = small

        big_db = scratch / "big.duckdb"
        text = "'review ' || range || ' ' || md5(range::VARCHAR) || md5((range + 1)::VARCHAR)"
        big_rows = int(args.big_gib * 2**30 / 100)  # about 104 bytes a row as Arrow data
        big: dict[str, Any] = {"table": build_in_child(big_db, big_rows, text)}
        big["copy"] = measure("copy", big_db, scratch)
        big["artifact"] = measure("artifact", big_db, scratch)
        facts["big"] = big
    facts["load_after"] = load_average()
    report = render(facts)
    args.out.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
