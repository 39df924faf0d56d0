"""`loopline label ...`: labeling queues from the command line.

loopline label ls                                   # queues and their tasks per state
loopline label status digits-loop                   # counts, labelers, the next tasks, review reasons
loopline label configure digits-loop --dataset digits-train --gold digits-gold@1 --gold-share 0.1 \
    --min-accuracy 0.9 --agreement 0.1 [--review/--no-review]
loopline label quality digits-loop                  # each labeler's gold accuracy and agreement
loopline label submit digits-loop 12 7              # label task 12 (typed as the dataset's labels)
loopline label review digits-loop 12 --approve [--label 7]   # or --reject
loopline label export digits-loop -o tasks.json --config config.xml --choices 0,1,2,...
loopline label import digits-loop export.json --commit digits-train
loopline label commit digits-loop --dataset digits-train
"""

from __future__ import annotations

import collections
import dataclasses
import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from loopline.cl.labeling.label_studio import export_tasks, import_annotations, labeling_config
from loopline.cl.labeling.queue import LabelingQueue
from loopline.cl.store.records import TASK_STATES, QualityControl, TaskState
from loopline.cl.store.workspace import Workspace
from loopline.errors import UsageError


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _known_queue(name: str, *, review: bool | None = None) -> LabelingQueue:
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
    store = Workspace.open().store
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
    waiting = labeling.waiting()
    if waiting:
        console.print(f"{len(waiting)} labeled tasks wait for a person (loopline label review {queue} TASK)")
    shown = labeling.tasks(_states(states) or ("open", "claimed"), limit=limit)
    table = Table(box=None, header_style="bold")
    for column in ("TASK", "STATE", "KIND", "SCORE", "EXAMPLE", "SUGGESTION", "LABEL", "BY", "REASON"):
        table.add_column(column)
    for t in shown:
        by = t.labeled_by or t.claimed_by or ""
        table.add_row(
            str(t.id),
            t.state,
            t.kind,
            f"{t.score:.2f}",
            t.example_id,
            "" if t.suggestion is None else str(t.suggestion),
            "" if t.label is None else str(t.label),
            by,
            t.review_reason or t.reason,
        )
    if shown:
        console.print(table)


@label.command("configure")
@click.argument("queue")
@click.option("--dataset", default=None, help="The dataset its labels join: labels must have its label type.")
@click.option("--review/--no-review", default=None, help="Commit only tasks a reviewer approved.")
@click.option(
    "--agreement", type=float, default=None, help="Share of tasks a second labeler labels too (0-1)."
)
@click.option("--gold", default=None, help="A dataset version with known answers, for gold questions.")
@click.option(
    "--gold-share", type=float, default=None, help="Share of each labeler's claims that are gold (0-0.5)."
)
@click.option(
    "--min-accuracy", type=float, default=None, help="Below this on gold questions, labels go back to review."
)
@click.option("--min-gold", type=int, default=None, help="Gold answers before a labeler is judged.")
def configure(
    queue: str,
    dataset: str | None,
    review: bool | None,
    agreement: float | None,
    gold: str | None,
    gold_share: float | None,
    min_accuracy: float | None,
    min_gold: int | None,
) -> None:
    """Set QUEUE's dataset, review and quality control (what is not given is kept)."""
    labeling = LabelingQueue(queue)
    current = labeling.quality_control
    changes = {
        "agreement": agreement,
        "gold": gold,
        "gold_share": gold_share,
        "min_accuracy": min_accuracy,
        "min_gold": min_gold,
    }
    quality = QualityControl(
        **{**dataclasses.asdict(current), **{k: v for k, v in changes.items() if v is not None}}
    )
    settings = labeling.configure(dataset=dataset, review=review, quality=quality)
    q = settings.quality
    click.echo(
        f"{queue}: dataset {settings.dataset or '(none)'} ({settings.label_type or 'any'} labels), "
        f"review {'on' if settings.review else 'off'}, agreement {q.agreement:.0%}, gold {q.gold or '(none)'} "
        f"({q.gold_share:.0%} of claims), min accuracy {q.min_accuracy:.0%} after {q.min_gold} gold answers"
    )


@label.command("quality")
@click.argument("queue")
def quality(queue: str) -> None:
    """Each labeler of QUEUE: labels, accuracy on gold questions, agreement with a second labeler."""
    click.echo(str(_known_queue(queue).quality()))


@label.command("submit")
@click.argument("queue")
@click.argument("task", type=int)
@click.argument("value")
@click.option("--labeler", default=None, help="Who labels (default: the OS user).")
def submit(queue: str, task: int, value: str, labeler: str | None) -> None:
    """Label TASK of QUEUE with VALUE, read as the type of the dataset's labels."""
    labeling = _known_queue(queue)
    done = labeling.submit(task, labeling.parse_label(task, value), labeler=labeler)
    click.echo(f"task {done.id}: labeled {done.label!r} by {done.labeled_by}")


@label.command("review")
@click.argument("queue")
@click.argument("task", type=int)
@click.option(
    "--approve/--reject", required=True, help="Approve the label, or send the task back to labeling."
)
@click.option("--label", "value", default=None, help="Correct the label while approving it.")
@click.option("--reviewer", default=None, help="Who reviews (default: the OS user).")
def review(queue: str, task: int, approve: bool, value: str | None, reviewer: str | None) -> None:
    """Approve (with a corrected --label) or reject a labeled TASK of QUEUE."""
    labeling = _known_queue(queue)
    corrected = None if value is None else labeling.parse_label(task, value)
    done = labeling.review(task, approve=approve, label=corrected, reviewer=reviewer)
    verdict = f"approved {done.label!r}" if approve else "rejected: open again"
    click.echo(f"task {done.id}: {verdict} by {done.reviewed_by}")


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
    report = import_annotations(labeling, exported, labeler=labeler, dataset=dataset)
    click.echo(f"{queue}: {report}")
    for problem in report.problems:
        click.echo(f"  not imported: {problem}", err=True)
    if dataset is not None:
        click.echo(str(labeling.commit(dataset)))


@label.command("commit")
@click.argument("queue")
@click.option("--dataset", required=True, help="The dataset the labeled examples join.")
@click.option(
    "--reviewed-only",
    is_flag=True,
    help="Commit only tasks a reviewer approved (default: as the queue is configured).",
)
@click.option("-m", "--message", default="", help="The new version's message.")
def commit(queue: str, dataset: str, reviewed_only: bool, message: str) -> None:
    """Add QUEUE's labeled tasks to DATASET as a new version."""
    labeling = _known_queue(queue, review=True if reviewed_only else None)  # else: the queue's setting
    click.echo(str(labeling.commit(dataset, message=message)))
