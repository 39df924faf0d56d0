"""`loopline label ls/status/export/import/commit`: labeling queues from the command line.

loopline label ls                                   # queues and their tasks per state
loopline label status digits-loop                   # counts, labelers, the next tasks
loopline label export digits-loop -o tasks.json --config config.xml --choices 0,1,2,...
loopline label import digits-loop export.json --commit digits-train
loopline label commit digits-loop --dataset digits-train
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from loopline.cl.label_studio import export_tasks, import_annotations, labeling_config
from loopline.cl.labeling import LabelingQueue
from loopline.cl.loop_records import TASK_STATES, TaskState
from loopline.cl.workspace import Workspace
from loopline.errors import UsageError


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _known_queue(name: str, *, review: bool = False) -> LabelingQueue:
    """Queue `name`, once it has had a task (UsageError saying how to list the queues)."""
    queue = LabelingQueue(name, review=review)
    if not queue.counts():
        raise UsageError(f"no labeling queue named {name!r}; list them with: loopline label ls")
    return queue


def _states(given: tuple[str, ...]) -> tuple[TaskState, ...]:
    return tuple(s for s in TASK_STATES if s in given)


STATE = click.Choice(TASK_STATES)


@click.group()
def label() -> None:
    """Labeling queues: mined examples waiting for a label, Label Studio export and import."""


@label.command("ls")
def ls() -> None:
    """Every queue with its tasks per state."""
    store = Workspace.open().loop
    names = store.queues()
    table = Table(box=None, header_style="bold")
    for column in ("QUEUE", *(s.upper() for s in TASK_STATES), "TOTAL"):
        table.add_column(column)
    for name in names:
        counts = store.task_counts(name)
        table.add_row(name, *(str(counts.get(s, 0)) for s in TASK_STATES), str(sum(counts.values())))
    _console().print(
        table if names else "no labeling queues yet (a loop round or LabelingQueue.add() creates one)"
    )


@label.command("status")
@click.argument("queue")
@click.option(
    "--state", "states", multiple=True, type=STATE, help="Which tasks to list (default: open and claimed)."
)
@click.option("--limit", default=10, show_default=True, help="How many tasks to list.")
def status(queue: str, states: tuple[str, ...], limit: int) -> None:
    """QUEUE's counts per state, who labeled how many, and its next tasks."""
    labeling = _known_queue(queue)
    counts = labeling.counts()
    console = _console()
    console.print(f"[bold]{queue}[/]: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    done = labeling.tasks(["labeled", "approved", "committed"], limit=None)
    labelers = collections.Counter(t.labeled_by for t in done if t.labeled_by)
    if labelers:
        console.print("labeled by: " + ", ".join(f"{who} {n}" for who, n in labelers.most_common()))
    shown = labeling.tasks(_states(states) or ("open", "claimed"), limit=limit)
    table = Table(box=None, header_style="bold")
    for column in ("TASK", "STATE", "SCORE", "EXAMPLE", "SUGGESTION", "LABEL", "BY", "REASON"):
        table.add_column(column)
    for t in shown:
        by = t.labeled_by or t.claimed_by or ""
        table.add_row(
            str(t.id),
            t.state,
            f"{t.score:.2f}",
            t.example_id,
            "" if t.suggestion is None else str(t.suggestion),
            "" if t.label is None else str(t.label),
            by,
            t.reason,
        )
    if shown:
        console.print(table)


@label.command("export")
@click.argument("queue")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout)."
)
@click.option("--state", "states", multiple=True, type=STATE, help="Which tasks to export (default: open).")
@click.option("--limit", type=int, default=None, help="At most this many tasks.")
@click.option(
    "--config", type=click.Path(dir_okay=False, path_type=Path), help="Also write a labeling config."
)
@click.option("--choices", default="", help="The labels for --config, comma-separated (e.g. 0,1,2).")
def export(
    queue: str,
    output: Path | None,
    states: tuple[str, ...],
    limit: int | None,
    config: Path | None,
    choices: str,
) -> None:
    """QUEUE's tasks as Label Studio JSON tasks (import them into a Label Studio project)."""
    labeling = _known_queue(queue)
    tasks = export_tasks(labeling, states=_states(states) or ("open",), limit=limit)
    text = json.dumps(tasks, indent=1)
    if output is None:
        click.echo(text)
    else:
        output.write_text(text)
        click.echo(f"wrote {len(tasks)} task(s) to {output}", err=True)
    if config is not None:
        options = [c.strip() for c in choices.split(",") if c.strip()]
        if not options:
            raise UsageError("--config needs --choices, the labels to choose from (e.g. --choices 0,1,2)")
        display = labeling.tasks(limit=1)[0].display
        config.write_text(labeling_config(options, display=display))
        click.echo(f"wrote the labeling config to {config}", err=True)


@label.command("import")
@click.argument("queue")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--labeler", default=None, help="Record this labeler instead of the export's annotators.")
@click.option("--commit", "dataset", default=None, help="Then commit the labels to this dataset.")
def import_(queue: str, file: Path, labeler: str | None, dataset: str | None) -> None:
    """Label QUEUE's tasks from a Label Studio export (JSON or JSON_MIN) in FILE."""
    try:
        exported = json.loads(file.read_text())
    except json.JSONDecodeError as error:
        raise UsageError(f"{file} is not JSON ({error}); export the project as JSON or JSON_MIN") from None
    labeling = _known_queue(queue)
    report = import_annotations(labeling, exported, labeler=labeler)
    click.echo(f"{queue}: {report}")
    for problem in report.problems:
        click.echo(f"  not imported: {problem}", err=True)
    if dataset is not None:
        click.echo(str(labeling.commit(dataset)))


@label.command("commit")
@click.argument("queue")
@click.option("--dataset", required=True, help="The dataset the labeled examples join.")
@click.option("--reviewed-only", is_flag=True, help="Commit only tasks a reviewer approved.")
@click.option("-m", "--message", default="", help="The new version's message.")
def commit(queue: str, dataset: str, reviewed_only: bool, message: str) -> None:
    """Add QUEUE's labeled tasks to DATASET as a new version."""
    click.echo(str(_known_queue(queue, review=reviewed_only).commit(dataset, message=message)))
