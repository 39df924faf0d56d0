"""`loopline models ls/versions/show/history/promote/load`: the model registry."""

from __future__ import annotations

import datetime as dt
import pickle
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from loopline.cl.registry import promotion
from loopline.cl.registry import versions as registry
from loopline.cl.store.workspace import Workspace
from loopline.errors import UsageError


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _when(moment: dt.datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


@click.group()
def models() -> None:
    """Registered models: versions with lineage, aliases and their promotion history."""


@models.command("ls")
def ls() -> None:
    """Every model with its latest version and aliases."""
    store = Workspace.open().store
    found = store.latest_model_versions()
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "LATEST", "ALIASES", "REGISTERED", "TYPE"):
        table.add_column(column)
    for v in found:
        aliases = ", ".join(f"{a}@{n}" for a, n in store.aliases(v.name).items())
        table.add_row(v.name, f"@{v.version}", aliases, _when(v.created_at), v.type_name)
    _console().print(table if found else "no models yet (register one with loopline.models.register)")


@models.command("versions")
@click.argument("name")
def versions(name: str) -> None:
    """The versions of NAME with their lineage and metrics."""
    ws = Workspace.open()
    found = registry.versions(name, workspace=ws)
    held: dict[int, list[str]] = {}
    for alias, version in registry.aliases(name, workspace=ws).items():
        held.setdefault(version, []).append(alias)
    table = Table(box=None, header_style="bold")
    for column in ("VERSION", "ALIASES", "REGISTERED", "BY", "DATASET", "CODE", "TRAINING RUN", "METRICS"):
        table.add_column(column)
    for v in found:
        metrics = ", ".join(f"{k}={value:.4g}" for k, value in v.metrics.items())
        table.add_row(
            f"@{v.version}",
            ", ".join(held.get(v.version, [])),
            _when(v.created_at),
            v.created_by,
            v.dataset or "",
            (v.code_version or "")[:12],
            (v.training_run_id or "")[:12],
            metrics,
        )
    _console().print(table)


@models.command("show")
@click.argument("ref")
def show(ref: str) -> None:
    """One version (REF: NAME@ALIAS, NAME@VERSION or NAME) and its lineage."""
    ws = Workspace.open()
    v = registry.get(ref, workspace=ws)
    held = [a for a, n in registry.aliases(v.name, workspace=ws).items() if n == v.version]
    console = _console()
    console.print(f"[bold]{v.ref}[/]" + (f" ({', '.join(held)})" if held else ""))
    for key, value in (
        ("type", v.type_name),
        ("artifact", v.artifact_id),
        ("registered", f"{_when(v.created_at)} by {v.created_by}"),
        ("dataset", v.dataset or ""),
        ("code", v.code_version or ""),
        ("run", v.training_run_id or ""),
        ("metrics", ", ".join(f"{k}={value:.4g}" for k, value in v.metrics.items())),
        ("about", v.description),
    ):
        console.print(f"[dim]{key:>10}[/] {value}")


@models.command("history")
@click.argument("name")
@click.option("--alias", help="Only the moves of this alias.")
def history(name: str, alias: str | None) -> None:
    """Every alias move of NAME: who moved it, when, why, and the report that allowed it."""
    moves = registry.history(name, alias, workspace=Workspace.open())
    table = Table(box=None, header_style="bold")
    for column in ("WHEN", "ALIAS", "FROM", "TO", "BY", "EVIDENCE", "REASON"):
        table.add_column(column)
    for m in moves:
        evidence = "FORCED" if m.forced else (f"report {m.report_id[:12]}" if m.report_id else "first holder")
        table.add_row(
            _when(m.moved_at),
            m.alias,
            "" if m.previous is None else f"@{m.previous}",
            f"@{m.version}",
            m.moved_by,
            evidence,
            m.reason,
        )
    _console().print(table if moves else f"no alias of {name} has moved yet")


@models.command("promote")
@click.argument("ref")
@click.argument("alias")
@click.option("--report", "report_id", help="Id (or a unique prefix) of the passing RegressionReport.")
@click.option("--force", is_flag=True, help="Promote without a passing report (recorded as forced).")
@click.option("--reason", default="", help="Why; recorded with the move (required with --force).")
def promote(ref: str, alias: str, report_id: str | None, force: bool, reason: str) -> None:
    """Point ALIAS of the model at REF's version, gated by a regression report.

    \b
        loopline models promote digits@4 production --report 3fa2c1d9 --reason "nightly retrain"
    """
    ws = Workspace.open()
    report = _report_id(ws, report_id) if report_id else None
    move = promotion.promote(ref, alias, report=report, force=force, reason=reason, workspace=ws)
    was = "nowhere" if move.previous is None else f"@{move.previous}"
    click.echo(f"{move.model}@{alias}: {was} -> @{move.version}" + (" (FORCED)" if move.forced else ""))


def _report_id(ws: Workspace, prefix: str) -> str:
    matches = [e.id for e in ws.store.list_reports(limit=100_000) if e.id.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no recorded regression report has an id starting with {prefix!r}")
    raise UsageError(f"{prefix!r} matches {len(matches)} reports; give more characters of the id")


@models.command("load")
@click.argument("ref")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the model (a pickle).",
)
def load(ref: str, output: Path) -> None:
    """Write the model REF names (e.g. digits@production) to a pickle file, as models.load does in code."""
    ws = Workspace.open()
    version = registry.get(ref, workspace=ws)
    model = registry.load(version, workspace=ws)
    import cloudpickle

    output.write_bytes(cloudpickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))
    click.echo(f"wrote {version.ref} ({version.type_name}) to {output}")
