"""`loopline datasets ls/versions/show/diff/import`: named datasets, their immutable versions, and
new versions imported from warehouse tables and files."""

from __future__ import annotations

import collections
import datetime as dt
import sys

import click
from rich.console import Console
from rich.table import Table

from loopline.cl.datasets.dataset import Dataset, parse_ref
from loopline.cl.store.records import DatasetSource
from loopline.cl.store.workspace import Workspace
from loopline.data import source_from_url
from loopline.data.sources import DEFAULT_BATCH_ROWS


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _when(moment: dt.datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


@click.group()
def datasets() -> None:
    """Named datasets: versions, sizes, diffs and where examples came from."""


@datasets.command("ls")
def ls() -> None:
    """Every dataset with its latest version."""
    found = Workspace.open().store.latest_dataset_versions()
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "LATEST", "EXAMPLES", "UPDATED", "BY", "MESSAGE"):
        table.add_column(column)
    for v in found:
        table.add_row(v.name, f"@{v.version}", str(v.size), _when(v.created_at), v.created_by, v.message)
    _console().print(table if found else "no datasets yet (save one with loopline.Dataset(...).save())")


@datasets.command("versions")
@click.argument("name")
def versions(name: str) -> None:
    """The versions of NAME: size and what changed from its parent."""
    found = Workspace.open().store.dataset_versions(name)
    if not found:
        Workspace.open().store.get_dataset_version(name)  # raises, saying how to list datasets
    table = Table(box=None, header_style="bold")
    for column in (
        "VERSION",
        "EXAMPLES",
        "ADDED",
        "REMOVED",
        "CHANGED",
        "PARENT",
        "CREATED",
        "BY",
        "RUN",
        "MESSAGE",
    ):
        table.add_column(column)
    for v in found:
        table.add_row(
            f"@{v.version}",
            str(v.size),
            f"+{v.added}",
            f"-{v.removed}",
            f"~{v.changed}",
            "" if v.parent is None else f"@{v.parent}",
            _when(v.created_at),
            v.created_by,
            (v.run_id or "")[:12],
            v.message,
        )
    _console().print(table)


@datasets.command("import")
@click.argument("url")
@click.option("--name", "-n", required=True, help="The dataset to add a version to.")
@click.option("--query", "-q", help="SQL whose rows are the examples (on a database URL).")
@click.option("--table", "-t", help="A table (or view) whose rows are the examples.")
@click.option("--key", "-k", required=True, help="The column whose value is each example's id (unique).")
@click.option("--label", "-l", help="The column holding the labels.")
@click.option("--features", "-f", help="Feature columns, comma-separated (default: all the others).")
@click.option("--metadata", "-m", help="Metadata columns, comma-separated.")
@click.option("--display", default="", help='How to show an example: "text", "table", "image 8x8", ...')
@click.option("--message", default="", help="Why this version exists (default: where it came from).")
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH_ROWS,
    show_default=True,
    help="Rows read at a time (bounds memory).",
)
def import_table(
    url: str,
    name: str,
    query: str | None,
    table: str | None,
    key: str,
    label: str | None,
    features: str | None,
    metadata: str | None,
    display: str,
    message: str,
    batch_rows: int,
) -> None:
    """Import a table as a new version of a dataset: the rows of --query or --table on a
    database URL (duckdb:///warehouse.duckdb, postgresql+psycopg://..., sqlite:///...), or
    Parquet/Arrow/CSV files at URL (a path, a folder, a glob, s3://...)."""
    ws = Workspace.open()
    feature_columns = _column_list(features)
    saved = Dataset.from_table(
        name,
        source_from_url(url, query=query, table=table, batch_rows=batch_rows),
        key=key,
        label=label,
        # One column: its values are the features; several: a DataFrame of them.
        features=feature_columns[0] if len(feature_columns) == 1 else (feature_columns or None),
        metadata=_column_list(metadata),
        display=display,
        message=message,
        workspace=ws,
    )
    record = ws.store.get_dataset_version(saved.name, saved.version)
    assert record.source is not None
    _console().print(
        f"[bold]{record.ref}[/]: {record.size} examples from {record.source.describe()} "
        f"(+{record.added} -{record.removed} ~{record.changed}; snapshot {record.source.snapshot_id[:12]})"
    )


def _column_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@datasets.command("show")
@click.argument("ref")
@click.option("--examples", "shown", default=10, show_default=True, help="How many example ids to list.")
def show(ref: str, shown: int) -> None:
    """A version's contents: labels, tags, metadata, lineage (REF: NAME or NAME@VERSION)."""
    name, version = parse_ref(ref, "dataset")
    ws = Workspace.open()
    record = ws.store.get_dataset_version(name, version)
    data = Dataset.load(record.ref, workspace=ws)
    console = _console()
    console.print(f"[bold]{record.ref}[/]: {len(data)} examples, artifact {record.artifact_id[:12]}")
    details = [
        (
            "created",
            f"{_when(record.created_at)} by {record.created_by}"
            + (f" in run {record.run_id}" if record.run_id else ""),
        ),
        ("message", record.message),
        *([("source", _source_text(record.source))] if record.source else []),
        ("display", data.display or "auto"),
        ("features", _kind(data.features)),
    ]
    if data.labels is not None:
        counts = collections.Counter(data.labels.tolist()).most_common(12)
        details.append(("labels", ", ".join(f"{label}: {n}" for label, n in counts)))
    if data.tags:
        details.append(
            ("tags", ", ".join(f"{tag}: {int(mask.sum())}" for tag, mask in sorted(data.tags.items())))
        )
    if data.metadata:
        details.append(("metadata", ", ".join(sorted(data.metadata))))
    sources = collections.Counter(data.lineage["source"].tolist())
    details.append(("lineage", ", ".join(f"{source}: {n}" for source, n in sources.most_common())))
    details.append(("ids", ", ".join(data.ids[:shown].tolist()) + (" ..." if len(data) > shown else "")))
    for key, value in details:
        console.print(f"[dim]{key:>9}[/] {value}")


def _source_text(source: DatasetSource) -> str:
    taken = f", taken {_when(source.taken_at)}" if source.taken_at else ""
    return (
        f"{source.describe()} ({source.rows} rows, key {source.key!r}{taken}; "
        f"snapshot {source.snapshot_id[:12]})"
    )


def _kind(features: object) -> str:
    shape = getattr(features, "shape", None)
    if shape is not None:
        return f"{type(features).__name__} {tuple(shape)}"
    return (
        f"{type(features).__name__} of {len(features)}"
        if isinstance(features, list)
        else type(features).__name__
    )


@datasets.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--examples", "shown", default=20, show_default=True, help="How many ids to list per kind.")
def diff(old: str, new: str, shown: int) -> None:
    """What changed from OLD to NEW (NAME@VERSION each), by example id."""
    ws = Workspace.open()
    change = Dataset.load(new, workspace=ws).diff(Dataset.load(old, workspace=ws))
    console = _console()
    console.print(str(change))
    for label, ids in (("added", change.added), ("removed", change.removed), ("changed", change.changed)):
        if ids:
            more = f" ... and {len(ids) - shown} more" if len(ids) > shown else ""
            console.print(f"[dim]{label:>9}[/] {', '.join(ids[:shown])}{more}")
