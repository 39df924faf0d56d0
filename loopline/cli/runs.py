"""Inspecting and managing tracked runs: `runs ls/show`, `logs`, `cancel`, `clean`, `gc`."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Sequence

import click
from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from loopline.cl.store.workspace import referenced_artifact_ids
from loopline.cli.progress import STYLE
from loopline.core.records import RunFilter, RunRecord, RunState, utcnow
from loopline.engine.liveness import mark_orphans
from loopline.errors import UsageError
from loopline.storage.client import Client
from loopline.storage.gc import GcReport, collect_garbage
from loopline.storage.lookup import find_run


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _duration(run: RunRecord) -> str:
    seconds = run.duration_s
    if seconds is None:
        return ""
    return f"{seconds:.2f}s" if seconds < 60 else f"{seconds / 60:.1f}m"


def _state(run: RunRecord) -> str:
    style = STYLE.get(run.state)
    return f"[{style}]{run.state.value}[/]" if style else run.state.value


@click.group()
def runs() -> None:
    """List and inspect tracked runs."""


@runs.command("ls")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([s.value for s in RunState]),
    help="Only runs in this state (repeatable).",
)
@click.option("--name", help="Only runs whose name contains this.")
@click.option("--tag", "tags", multiple=True, help="Only runs with this tag (repeatable).")
@click.option(
    "--pipeline", help="Only runs of this function (module.function): a pipeline, or with --all any func."
)
@click.option("--search", help="Free text over ids, names, functions and tags.")
@click.option("--all", "nested", is_flag=True, help="Include nested runs, not only pipelines.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs to show."
)
def ls(
    states: Sequence[str],
    name: str | None,
    tags: Sequence[str],
    pipeline: str | None,
    search: str | None,
    nested: bool,
    limit: int,
) -> None:
    """List runs, newest first (pipeline runs only, unless --all)."""
    client = Client()
    query = RunFilter(
        states=[RunState(s) for s in states] or None,
        name=name,
        tags=tuple(tags),
        function=pipeline,
        search=search,
        root_only=not nested,
    )
    found = client.metadata.list_runs(query, limit=limit).runs
    table = Table(box=None, header_style="bold")
    for column in ("ID", "NAME", "STATE", "STARTED", "DURATION", "TAGS", "FUNCTION"):
        table.add_column(column)
    for run in found:
        table.add_row(
            run.id[:12],
            run.name,
            _state(run),
            _when(run.started_at or run.created_at),
            _duration(run),
            ", ".join(run.tags),
            run.function,
        )
    console = _console()
    console.print(table if found else "no runs match")


@runs.command("show")
@click.argument("run_id")
def show(run_id: str) -> None:
    """Show a run's tree of nested runs, with states and timings."""
    client = Client()
    target = find_run(client.metadata, run_id)
    everything = client.metadata.list_runs(RunFilter(root_id=target.root_id), limit=1_000_000).runs
    children: dict[str | None, list[RunRecord]] = {}
    for run in sorted(everything, key=lambda r: (r.created_at, r.id)):
        children.setdefault(run.parent_id, []).append(run)

    def label(run: RunRecord) -> str:
        marker = " [bold]<[/]" if run.id == target.id else ""
        extra = f" (cached from {run.cached_from[:12]})" if run.cached_from else ""
        return f"{run.name} {_state(run)} {_duration(run)} [dim]{run.id[:12]}[/]{extra}{marker}"

    root = next(r for r in everything if r.id == target.root_id) if target.parent_id else target
    tree = Tree(label(root))
    stack = [(root, tree)]
    while stack:
        run, node = stack.pop()
        for child in children.get(run.id, []):
            stack.append((child, node.add(label(child))))
    console = _console()
    console.print(tree)
    details = [("pipeline", root.function), ("started", _when(root.started_at)), ("user", root.user or "")]
    if root.git is not None:
        details.append(
            (
                "git",
                f"{root.git.branch or ''} {(root.git.commit or '')[:12]}{' (dirty)' if root.git.dirty else ''}",
            )
        )
    for key, value in details:
        console.print(f"[dim]{key:>9}[/] {value}")
    failed = [r for r in everything if r.state is RunState.FAILED and r.error and r.error.traceback]
    for run in failed[:1]:
        console.print(f"\n[red]{run.name} failed:[/]")
        console.print(run.error.traceback if run.error else "", markup=False)


@click.command()
@click.argument("run_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new output until the run ends.")
def logs(run_id: str, follow: bool) -> None:
    """Print what a run wrote to stdout, stderr and logging."""
    client = Client()
    run = find_run(client.metadata, run_id)
    seq = 0
    while True:
        for chunk in client.metadata.read_logs(run.id, after_seq=seq):
            click.echo(chunk.text, nl=False)
            seq = chunk.seq
        if not follow or client.metadata.get_run(run.id).state.is_terminal:
            for chunk in client.metadata.read_logs(run.id, after_seq=seq):
                click.echo(chunk.text, nl=False)
            return
        time.sleep(0.5)


@click.command()
@click.argument("run_id")
def cancel(run_id: str) -> None:
    """Cancel the pipeline this run belongs to (its runner stops it within a second)."""
    client = Client()
    run = find_run(client.metadata, run_id)
    root = client.metadata.get_run(run.root_id)
    if root.state.is_terminal:
        raise UsageError(f"pipeline {root.name} ({root.id}) already ended: it is {root.state.value}")
    client.metadata.request_cancel(run.id)
    click.echo(f"cancellation requested for pipeline {root.name} ({root.id})")


@click.command()
def clean() -> None:
    """Mark runs whose runner died as orphaned (deletes nothing)."""
    client = Client()
    marked = mark_orphans(client.metadata, utcnow())
    click.echo(f"marked {len(marked)} orphaned run(s)" if marked else "no orphaned runs")


@click.command()
@click.option(
    "--older-than",
    "days",
    type=float,
    required=True,
    help="Pipelines that ended more than this many days ago.",
)
@click.option("--pipeline", help="Only pipelines of this root func (module.qualname, as runs ls shows).")
@click.option("--user", help="Only pipelines this user ran.")
@click.option(
    "--delete", "delete", is_flag=True, help="Delete them (without it, gc only says what it would delete)."
)
@click.option("--yes", is_flag=True, help="With --delete: do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, hidden=True)  # the default now; kept for scripts
def gc(days: float, pipeline: str | None, user: str | None, delete: bool, yes: bool, dry_run: bool) -> None:
    """Delete old finished pipelines and the artifacts nothing references any more. Says what it
    would delete unless given --delete (then it asks first, unless --yes). Through a team server
    it needs an admin's key."""
    if days < 0:
        raise UsageError("--older-than must be a number of days >= 0")
    client = Client()
    cutoff = utcnow() - dt.timedelta(days=days)
    keep = referenced_artifact_ids(client.metadata)  # datasets, models, reports

    def collect(dry: bool) -> GcReport:
        return collect_garbage(
            client.metadata,
            client.artifacts,
            cutoff,
            dry_run=dry,
            keep_artifacts=keep,
            pipeline=pipeline,
            user=user,
        )

    report = collect(dry=True)
    click.echo(_gc_summary("would delete", report))
    if not delete or dry_run or not (report.pipelines or report.artifacts):
        if not delete and (report.pipelines or report.artifacts):
            click.echo("nothing deleted: add --delete to delete them")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("gc --delete asks for confirmation: add --yes to delete without a terminal")
        click.confirm("delete them?", abort=True)
    click.echo(_gc_summary("deleted", collect(dry=False)))


def _gc_summary(verb: str, report: GcReport) -> str:
    size = f"{report.bytes / 2**20:.1f} MiB"
    crashed = (
        f"; removed {report.partial_writes} unfinished write(s) of crashed runs"
        if report.partial_writes
        else ""
    )
    return f"{verb} {report.pipelines} pipeline(s) ({report.runs} runs) and {report.artifacts} artifact(s), {size}{crashed}"


COMMANDS = [runs, logs, cancel, clean, gc]
