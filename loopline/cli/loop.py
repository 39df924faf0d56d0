"""`loopline loop ls/history/accept`: continuous-improvement loops from the command line.

loopline loop ls                                        # every loop and how its last round ended
loopline loop history digits-loop                       # its rounds: outcome, labels, what went back
loopline loop accept digits-loop 3 --reason "checked"   # a person accepts a blocked round's labels
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from loopline.cl.loop import accept_round
from loopline.cl.store.records import LoopRound
from loopline.cl.store.workspace import Workspace
from loopline.errors import UsageError


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


@click.group()
def loop() -> None:
    """Continuous-improvement loops: their rounds, and accepting a blocked round's labels."""


def _rounds_table(rows: list[LoopRound], *, with_loop: bool) -> Table:
    table = Table(box=None, header_style="bold")
    columns = ["LOOP"] if with_loop else []
    for column in (
        *columns,
        "ROUND",
        "STATE",
        "CANDIDATE",
        "PROPOSED",
        "LABELED",
        "WAITING",
        "RETURNED",
        "DETAIL",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            *([r.loop] if with_loop else []),
            str(r.round),
            r.state,
            r.candidate or "",
            r.proposed or "",
            str(r.labeled),
            str(r.waiting),
            str(r.returned),
            r.detail,
        )
    return table


@loop.command("ls")
def ls() -> None:
    """Every loop with its latest round."""
    latest = Workspace.open().store.loops()
    _console().print(
        _rounds_table(latest, with_loop=True) if latest else "no loops yet (run a loop round first)"
    )


@loop.command("history")
@click.argument("name")
def history(name: str) -> None:
    """NAME's rounds, oldest first, with the labels the gate blamed most in blocked rounds."""
    found = Workspace.open().store.rounds(name)
    if not found:
        raise UsageError(f"no loop named {name!r}; list them with: loopline loop ls")
    console = _console()
    console.print(_rounds_table(found, with_loop=False))
    for r in found:
        if r.blamed:
            shown = ", ".join(f"{example} {score:.2f}" for example, score in list(r.blamed.items())[:10])
            console.print(f"round {r.round}: the gate blames most {shown}")


@loop.command("accept")
@click.argument("name")
@click.argument("round_number", metavar="ROUND", type=int)
@click.option("--reason", required=True, help="Why the labels are right: recorded with them.")
@click.option("--by", default=None, help="Who accepts (default: the OS user).")
@click.option("--promote", is_flag=True, help="Also promote the round's model (a forced promotion).")
@click.option("--alias", default="production", show_default=True, help="The alias --promote moves.")
def accept(name: str, round_number: int, reason: str, by: str | None, promote: bool, alias: str) -> None:
    """Accept the labels of blocked ROUND of loop NAME: they become canonical."""
    done = accept_round(
        name,
        round_number,
        by=by,
        reason=reason,
        promote_candidate=promote,
        alias=alias,
        workspace=Workspace.open(),
    )
    click.echo(
        f"{name} round {done.round}: labels accepted by {done.accepted_by} into {done.dataset_after}"
        + (f"; {done.production_after} serves {alias}" if promote else "")
    )
