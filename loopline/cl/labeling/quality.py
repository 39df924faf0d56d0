"""Quality control of labelers: gold questions, a second labeler on a sample, and labels sent
back to review when a labeler's accuracy falls below the queue's threshold.

- Gold questions: examples of the `QualityControl.gold` dataset version, whose labels are the
  known answers. A claim mixes them in so that about `gold_share` of what each labeler labels
  is a gold question (each asked once per labeler, in an order of their own), and the labeler
  cannot tell which ones. They are never committed.
- Agreement: a sample of the tasks (`agreement`, chosen by a digest of the task's key, so the
  same task is always in or out) gets a second task, for anyone but the first labeler. Until it
  is labeled, the first label waits; when the two disagree, a person reviews it.
- Accuracy: once a labeler answered `min_gold` gold questions, an accuracy under `min_accuracy`
  sends every label of theirs that is not in a canonical dataset yet back to review (and every
  label they give while under it), with the reason.

`QualityReport` (from `LabelingQueue.quality()`) holds each labeler's numbers and the agreement
between labelers (the share of pairs that agree, and Cohen's kappa).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.datasets.dataset import Dataset
from loopline.cl.production.checks import json_value
from loopline.cl.store.protocol import CLStore
from loopline.cl.store.records import LabelingTask, QualityControl
from loopline.core.clock import Clock
from loopline.errors import UsageError

if TYPE_CHECKING:
    from loopline.cl.store.workspace import Workspace


@dataclasses.dataclass(frozen=True)
class LabelerQuality:
    """One labeler's numbers in a queue."""

    labeler: str
    labels: int  # tasks they labeled (gold questions and second opinions left out)
    gold: int  # gold questions they answered
    gold_right: int
    pairs: int  # tasks where a second labeler labeled the same example as them
    agreed: int
    below_threshold: bool  # their accuracy is under the queue's min_accuracy (after min_gold answers)

    @property
    def gold_accuracy(self) -> float | None:
        return None if not self.gold else self.gold_right / self.gold

    @property
    def agreement(self) -> float | None:
        return None if not self.pairs else self.agreed / self.pairs

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "gold": self.gold,
            "gold_accuracy": self.gold_accuracy,
            "pairs": self.pairs,
            "agreement": self.agreement,
            "below_threshold": self.below_threshold,
        }


@dataclasses.dataclass(frozen=True)
class QualityReport:
    """Every labeler's numbers, and how two labelers agreed on the same examples."""

    labelers: tuple[LabelerQuality, ...]
    pairs: tuple[tuple[Any, Any], ...]  # (first label, second label) of every doubly labeled task

    @property
    def agreement(self) -> float | None:
        """The share of doubly labeled tasks whose two labels agree."""
        if not self.pairs:
            return None
        return sum(same_label(a, b) for a, b in self.pairs) / len(self.pairs)

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa of the pairs: agreement corrected for the agreement of chance."""
        return cohen_kappa([a for a, _ in self.pairs], [b for _, b in self.pairs])

    def labeler(self, name: str) -> LabelerQuality:
        for found in self.labelers:
            if found.labeler == name:
                return found
        return LabelerQuality(name, 0, 0, 0, 0, 0, False)

    def __str__(self) -> str:
        lines = []
        for q in self.labelers:
            accuracy = "—" if q.gold_accuracy is None else f"{q.gold_accuracy:.0%} of {q.gold}"
            agreement = "—" if q.agreement is None else f"{q.agreement:.0%} of {q.pairs}"
            flag = " (below the threshold: their labels go back to review)" if q.below_threshold else ""
            lines.append(f"{q.labeler}: {q.labels} labels, gold {accuracy}, agreement {agreement}{flag}")
        if self.pairs:
            kappa = self.kappa
            lines.append(
                f"agreement between labelers: {self.agreement:.0%} of {len(self.pairs)} pairs"
                + ("" if kappa is None else f", Cohen's kappa {kappa:.2f}")
            )
        return "\n".join(lines) or "no labels yet"


@dataclasses.dataclass(frozen=True)
class Checks:
    """The quality control of one queue: asking gold questions and second opinions, judging
    labelers, and sending their labels back to review."""

    store: CLStore
    queue: str
    control: QualityControl
    workspace: Workspace
    clock: Clock

    def gold_questions(
        self, labeler: str, count: int, now: dt.datetime, until: dt.datetime
    ) -> list[LabelingTask]:
        """Up to `count` gold questions `labeler` was not asked yet, claimed by them until
        `until`, in their own order."""
        control = self.control
        assert control.gold is not None
        gold = Dataset.load(control.gold, workspace=self.workspace)
        if gold.labels is None or gold.version is None:
            raise UsageError(f"the gold questions of queue {self.queue!r} ({control.gold}) have no labels")
        order = gold_order(labeler, gold.ids.tolist())
        keys = {i: f"gold:{labeler}:{i}" for i in order}
        asked = self.store.queued_keys(self.queue, list(keys.values()))
        fresh = [i for i in order if keys[i] not in asked][:count]
        if not fresh:
            return []
        record = self.store.get_dataset_version(gold.name, gold.version)
        positions = gold.positions(fresh)
        prints = gold.select(positions).fingerprints().tolist()
        return list(
            self.store.add_tasks(
                [
                    LabelingTask(
                        queue=self.queue,
                        key=keys[i],
                        source=record.ref,
                        artifact_id=record.artifact_id,
                        example_id=i,
                        miner="gold",
                        reason="",
                        score=0.0,
                        created_at=now,
                        display=record.display,
                        state="claimed",
                        claimed_by=labeler,
                        lease_until=until,
                        kind="gold",
                        gold_label=json_value(
                            gold.labels[p].item() if hasattr(gold.labels[p], "item") else gold.labels[p],
                            "label",
                        ),
                        fingerprint=fingerprint,
                    )
                    for i, p, fingerprint in zip(fresh, positions.tolist(), prints, strict=True)
                ]
            )
        )

    def gold_answers(self, labeler: str) -> list[bool]:
        """Right or wrong, each gold question `labeler` answered."""
        found = self.store.list_tasks(
            self.queue, kinds=["gold"], labeler=labeler, states=["labeled"], limit=None
        )
        return [same_label(t.label, t.gold_label) for t in found if t.labeled_by == labeler]

    def below_threshold(self, labeler: str) -> str:
        """Why `labeler`'s labels go back to review ("" when they do not)."""
        control = self.control
        if not control.min_accuracy:
            return ""
        answers = self.gold_answers(labeler)
        return threshold_reason(labeler, answers, control) if is_below(answers, control) else ""

    def judge(self, labeler: str) -> int:
        """Send `labeler`'s labels that wait for a commit back to review if their accuracy on gold
        questions is below the threshold; returns how many were sent back."""
        reason = self.below_threshold(labeler)
        if not reason:
            return 0
        pending = self.store.list_tasks(
            self.queue, kinds=["label"], labeler=labeler, states=["labeled"], limit=None
        )
        ids = [t.id for t in pending if t.labeled_by == labeler and not t.review_reason]
        return len(
            self.store.transition_tasks(ids, from_states=["labeled"], changes={"review_reason": reason})
        )

    def compare(self, second: LabelingTask) -> None:
        """A second opinion is in: when it differs from the first label, a person reviews it."""
        if second.of_task is None:
            return
        first = self.store.get_task(second.of_task)
        if first.label is None or same_label(first.label, second.label):
            return
        reason = disagreement_reason(first, second)
        self.store.transition_tasks([first.id], from_states=["labeled"], changes={"review_reason": reason})

    def ask_second_labeler(self, first: LabelingTask) -> None:
        """Queue a second opinion on `first`, for anyone but its labeler."""
        self.store.add_tasks(
            [
                dataclasses.replace(
                    first,
                    key=f"{first.key}#second",
                    state="open",
                    claimed_by=None,
                    lease_until=None,
                    label=None,
                    labeled_by=None,
                    labeled_at=None,
                    review_reason="",
                    kind="second",
                    of_task=first.id,
                    excluded_labeler=first.labeled_by,
                    created_at=self.clock.now(),
                    id=0,
                )
            ]
        )

    def enforce(self) -> int:
        """Send back to review the pending labels of every labeler below the accuracy threshold
        (a commit or a proposal does this first); returns how many were sent back."""
        if not self.control.min_accuracy:
            return 0
        labelers = {
            t.labeled_by
            for t in self.store.list_tasks(self.queue, kinds=["gold"], states=["labeled"], limit=None)
        }
        return sum(self.judge(who) for who in sorted(w for w in labelers if w))


def cohen_kappa(first: Sequence[Any], second: Sequence[Any]) -> float | None:
    """(p_o - p_e) / (1 - p_e): p_o the share that agree, p_e the agreement expected from each
    rater's own label frequencies. None without pairs; 1 when both always give one same label."""
    n = len(first)
    if n == 0:
        return None
    observed = sum(same_label(a, b) for a, b in zip(first, second, strict=True)) / n
    values = list(dict.fromkeys([*first, *second]))
    expected = sum((list(first).count(v) / n) * (list(second).count(v) / n) for v in values)
    if expected == 1:
        return 1.0 if observed == 1 else 0.0
    return (observed - expected) / (1 - expected)


def report(tasks: Sequence[LabelingTask], quality: QualityControl) -> QualityReport:
    """The numbers of every labeler from the queue's labeled tasks (all kinds)."""
    by_id = {t.id: t for t in tasks}
    labels: dict[str, int] = {}
    gold: dict[str, list[bool]] = {}
    pairs: list[tuple[Any, Any]] = []
    paired: dict[str, list[bool]] = {}
    for task in tasks:
        who = task.labeled_by
        if who is None or task.label is None:
            continue
        if task.kind == "gold":
            gold.setdefault(who, []).append(same_label(task.label, task.gold_label))
        elif task.kind == "second":
            first = by_id.get(task.of_task or 0)
            if first is not None and first.labeled_by is not None and first.label is not None:
                agree = same_label(first.label, task.label)
                pairs.append((first.label, task.label))
                paired.setdefault(first.labeled_by, []).append(agree)
                paired.setdefault(who, []).append(agree)
        else:
            labels[who] = labels.get(who, 0) + 1
    names = sorted({*labels, *gold, *paired})
    found = []
    for name in names:
        answers = gold.get(name, [])
        agreed = paired.get(name, [])
        found.append(
            LabelerQuality(
                name,
                labels.get(name, 0),
                len(answers),
                sum(answers),
                len(agreed),
                sum(agreed),
                is_below(answers, quality),
            )
        )
    return QualityReport(tuple(found), tuple(pairs))


def is_below(answers: Sequence[bool], quality: QualityControl) -> bool:
    """Whether gold answers (right or wrong) put a labeler under the queue's threshold."""
    return len(answers) >= quality.min_gold and sum(answers) / len(answers) < quality.min_accuracy


def threshold_reason(labeler: str, answers: Sequence[bool], quality: QualityControl) -> str:
    return (
        f"{labeler} answered {sum(answers)} of {len(answers)} gold questions right "
        f"({sum(answers) / len(answers):.0%}, below the queue's {quality.min_accuracy:.0%}): "
        f"check {labeler}'s labels"
    )


def disagreement_reason(first: LabelingTask, second: LabelingTask) -> str:
    return (
        f"two labelers disagree: {first.labeled_by} says {first.label!r}, "
        f"{second.labeled_by} says {second.label!r}"
    )


def same_label(a: Any, b: Any) -> bool:
    """Labels equal as the dataset would see them (7 and 7.0 are one label; 7 and "7" are not)."""
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b) and (isinstance(a, str) == isinstance(b, str))


def sampled(key: str, share: float) -> bool:
    """Whether a task is in the `share` that gets a second labeler: decided by its key alone."""
    if share <= 0:
        return False
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return digest / 2**64 < share


def gold_order(labeler: str, example_ids: Sequence[str]) -> list[str]:
    """The order in which `labeler` meets the gold questions: one of their own, always the same."""
    return sorted(example_ids, key=lambda i: hashlib.sha256(f"{labeler}\0{i}".encode()).digest())


def gold_due(gold_so_far: int, labeled_so_far: int, claimed: int, share: float) -> int:
    """How many gold questions to add to a claim of `claimed` tasks so that about `share` of
    everything a labeler labels is gold: gold / (gold + tasks) = share."""
    if share <= 0 or claimed <= 0:
        return 0
    target = int((labeled_so_far + claimed) * share / (1 - share) + 0.5)
    return max(0, target - gold_so_far)
