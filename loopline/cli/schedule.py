"""`loopline schedule add/edit/ls/pause/resume/remove/history/tick/serve`: pipelines that run by themselves."""

from __future__ import annotations

import datetime as dt
import sys

import click
from rich.console import Console
from rich.table import Table

from loopline.cl.regression.notify import check_webhook
from loopline.cl.schedules import scheduler as schedules
from loopline.cl.store.records import Trigger, Webhook
from loopline.cl.store.workspace import Workspace
from loopline.cli.run import PASS_THROUGH
from loopline.core.records import utcnow
from loopline.engine.launch import current_user
from loopline.errors import UsageError
from loopline.settings import Settings

ADD_HELP = """\b
Options (between NAME and TARGET):
  --cron "EXPR"                run at these times, e.g. "0 2 * * *" for 02:00 every day
  --timezone NAME              whose clock --cron follows: an IANA name (default UTC),
                               e.g. Europe/Paris
  --dataset NAME --min-new N   run when the dataset gained N examples since the last run
  --webhook URL                notify on a failure or a regression (repeatable)
  --webhook-format json|slack  the webhooks' payload (default json)

The parameters after TARGET may include run options, applied at each firing: --no-cache,
--tag TAG, --run-name NAME, --cache-namespace NS, --max-parallelism N, --ray [ADDRESS].

\b
Slots missed while no scheduler ran are not all replayed: the latest one runs once, and the
others are recorded as skipped. Slots that pass while a schedule is paused never run.
"""
_VALUED = {"--cron", "--timezone", "--dataset", "--min-new", "--webhook", "--webhook-format"}


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _store() -> Workspace:
    return Workspace.open()


@click.group()
def schedule() -> None:
    """Run pipelines on a cron, or when a dataset grows (`loopline server` or `schedule serve` runs them)."""


@schedule.command(
    "add",
    context_settings=PASS_THROUGH,
    epilog=ADD_HELP,
)
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def add(name: str, args: tuple[str, ...]) -> None:
    """Add the schedule NAME running FILE.py[:FUNC] with its --PARAM VALUE parameters.

    \b
        loopline schedule add nightly --cron "0 2 * * *" examples/digits_regression/pipeline.py --C 0.2
        loopline schedule add on-new-labels --dataset digits-train --min-new 500 pipeline.py:retrain
    """
    options, target, params = _split(args)
    if target is None:
        raise UsageError(
            "missing TARGET: loopline schedule add NAME --cron EXPR FILE.py[:FUNC] [--PARAM VALUE ...]"
        )
    ws = _store()
    trigger = _trigger(ws, options)
    now = utcnow()
    added = schedules.add_schedule(
        ws.store,
        name,
        target,
        params,
        trigger,
        now=now,
        created_by=current_user(),
        webhooks=_webhooks(options),
    )
    click.echo(f"added schedule {name}: {added.describe_trigger()} -> {added.target}")
    click.echo(f"  next: {schedules.next_run(added, now)}")


def _split(args: tuple[str, ...]) -> tuple[dict[str, list[str]], str | None, list[str]]:
    """The options before TARGET (each with its values), TARGET if given, and its parameters."""
    options: dict[str, list[str]] = {}
    items = list(args)
    i = 0
    while i < len(items) and items[i] in _VALUED:
        if i + 1 >= len(items):
            raise UsageError(f"{items[i]} needs a value")
        options.setdefault(items[i], []).append(items[i + 1])
        i += 2
    if i < len(items) and items[i].startswith("--"):
        raise UsageError(f"unknown option {items[i]} (the options are: {', '.join(sorted(_VALUED))})")
    if i >= len(items):
        return options, None, []
    return options, items[i], items[i + 1 :]


def _webhooks(options: dict[str, list[str]]) -> list[Webhook]:
    webhook_format = options.get("--webhook-format", ["json"])[-1]
    return [check_webhook(url, webhook_format) for url in options.get("--webhook", [])]


def _trigger(ws: Workspace, options: dict[str, list[str]]) -> Trigger:
    cron, dataset, min_new = options.get("--cron"), options.get("--dataset"), options.get("--min-new")
    if bool(cron) == bool(dataset):
        raise UsageError('give either --cron "EXPR" or --dataset NAME --min-new N')
    timezone = options.get("--timezone")
    if timezone and not cron:
        raise UsageError("--timezone goes with --cron (a dataset trigger has no clock)")
    if cron:
        return schedules.cron_trigger(cron[-1], timezone[-1] if timezone else "UTC")
    if not min_new or not min_new[-1].isdigit():
        raise UsageError("--dataset needs --min-new N (a whole number of new examples)")
    assert dataset is not None
    return schedules.dataset_trigger(ws.store, dataset[-1], int(min_new[-1]))


@schedule.command(
    "edit",
    context_settings=PASS_THROUGH,
    epilog=ADD_HELP,
)
@click.argument("name")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def edit(name: str, args: tuple[str, ...]) -> None:
    """Change NAME's trigger, pipeline and parameters, or webhooks; its history stays.

    Give only what changes. A new TARGET replaces the pipeline and its parameters (checked like
    a new schedule's); --webhook replaces the webhooks; a new trigger counts from now on.

    \b
        loopline schedule edit nightly --cron "30 3 * * *"
        loopline schedule edit nightly --timezone Europe/Paris
        loopline schedule edit on-new-labels --min-new 1000
        loopline schedule edit nightly examples/digits_regression/pipeline.py --C 0.5
    """
    options, target, params = _split(args)
    if not options and target is None:
        raise UsageError(
            "nothing to change: give a new --cron/--timezone, --dataset/--min-new, --webhook, "
            "or TARGET with its parameters (loopline schedule edit --help)"
        )
    ws = _store()
    current = ws.store.get_schedule(name)
    min_new = options.get("--min-new")
    if min_new and not min_new[-1].isdigit():
        raise UsageError("--min-new takes a whole number of new examples")
    trigger = schedules.changed_trigger(
        ws.store,
        current.trigger,
        cron=_last(options, "--cron"),
        timezone=_last(options, "--timezone"),
        dataset=_last(options, "--dataset"),
        min_new=int(min_new[-1]) if min_new else None,
    )
    webhooks = _webhooks(options) if "--webhook" in options else None
    now = utcnow()
    edited = schedules.edit_schedule(
        ws.store,
        name,
        now=now,
        target=target,
        params=params if target else None,
        trigger=trigger,
        webhooks=webhooks,
    )
    click.echo(f"edited schedule {name}: {edited.describe_trigger()} -> {edited.target}")
    click.echo(f"  next: {schedules.next_run(edited, now)}")


def _last(options: dict[str, list[str]], option: str) -> str | None:
    values = options.get(option)
    return values[-1] if values else None


@schedule.command("ls")
def ls() -> None:
    """List schedules with their trigger, state, last and next run."""
    store = _store().store
    now = utcnow()
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "TRIGGER", "TARGET", "PARAMS", "LAST", "NEXT"):
        table.add_column(column)
    found = store.list_schedules()
    for item in found:
        last = store.slots(item.name, limit=1)
        last_text = f"{last[0].key} {last[0].state}" if last else ""
        table.add_row(
            item.name,
            item.describe_trigger(),
            item.target,
            " ".join(item.params),
            last_text,
            schedules.next_run(item, now),
        )
    _console().print(table if found else "no schedules (add one with: loopline schedule add)")


@schedule.command("pause")
@click.argument("name")
def pause(name: str) -> None:
    """Stop running NAME until it is resumed (slots meanwhile never run)."""
    schedules.pause(_store().store, name)
    click.echo(f"paused {name}")


@schedule.command("resume")
@click.argument("name")
def resume(name: str) -> None:
    """Run NAME again, from its next slot on."""
    resumed = schedules.resume(_store().store, name, now=utcnow())
    click.echo(f"resumed {name}; next: {schedules.next_run(resumed, utcnow())}")


@schedule.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Delete NAME and its history of slots (its runs stay)."""
    _store().store.remove_schedule(name)
    click.echo(f"removed {name}")


@schedule.command("history")
@click.argument("name")
@click.option("--limit", default=20, show_default=True)
def history(name: str, limit: int) -> None:
    """The slots NAME fired: when, the run, and how it went."""
    store = _store().store
    store.get_schedule(name)
    table = Table(box=None, header_style="bold")
    for column in ("SLOT", "FIRED", "STATE", "RUN", "DETAIL"):
        table.add_column(column)
    for slot in store.slots(name, limit=limit):
        table.add_row(slot.key, _when(slot.fired_at), slot.state, (slot.run_id or "")[:12], slot.detail)
    _console().print(table)


@schedule.command("tick")
@click.option("--wait", is_flag=True, help="Wait until the launched pipelines finish.")
def tick(wait: bool) -> None:
    """Launch the schedules due now, once (for a system cron, or to try a schedule)."""
    scheduler = schedules.Scheduler.for_settings(Settings.from_env())
    fired = scheduler.tick()
    for firing in fired:
        skipped = f" (skipped {firing.due.skipped} missed)" if firing.due.skipped else ""
        click.echo(f"launched {firing.due.schedule.name} for {firing.due.slot.key}{skipped}")
    if not fired:
        click.echo("nothing due")
    if wait:
        scheduler.wait()


@schedule.command("serve")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between checks.")
def serve(interval: float) -> None:
    """Run due schedules until interrupted (what `loopline server` does in the background)."""
    scheduler = schedules.Scheduler.for_settings(Settings.from_env())
    click.echo(f"checking schedules every {interval:g}s; Ctrl-C to stop")
    try:
        scheduler.serve(interval)
    except KeyboardInterrupt:
        click.echo("stopped")


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
