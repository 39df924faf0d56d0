"""How well the loop learns, and how it survives bad labels (not part of the test suite).

    .venv/bin/python -m benchmarks.loop_bench [--out benchmarks/RESULTS_loop.md]

On the digits demo (fixed seeds), each scenario in a fresh embedded store:

1. Mining: the built-in miners (feedback, low confidence) against an oracle miner that picks
   exactly the images production got wrong, with a clean labeler, 3 rounds, production serving
   the earlier images again under new request ids each round; the lift of each, and how many of
   the 40 picks of each round request-id de-duplication alone would have spent on images the
   training data or the queue holds already.
2. A labeler wrong on 30% of the images next to a right one, 3 rounds, with quality control
   (gold questions, a second labeler on 20%, 90% accuracy required) and without.
3. A labeler who labels every 7 as 1, 2 rounds: promotions, labels back in review, how well the
   gate's blame ranks the bad labels.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import loopline
from benchmarks.inference_bench import write_section
from examples.continuous_improvement import data, pipeline, traffic
from loopline import Dataset, miners, models
from loopline.cl.loop import LoopSpec, loop_round
from loopline.cl.store.records import InferenceQuery, LoopRound
from loopline.cl.store.workspace import Workspace
from loopline.labeling import LabelingQueue, QualityControl

QUALITY = QualityControl(
    gold=f"{pipeline.GOLD}@1", gold_share=0.25, min_accuracy=0.9, min_gold=5, agreement=0.2
)
BUILT_IN = (miners.feedback, miners.low_confidence)


def fresh_home() -> None:
    os.environ["LOOPLINE_HOME"] = tempfile.mkdtemp(prefix="loopline-loop-bench-")


def production_accuracy() -> float:
    return pipeline.production_accuracy(models.load("digits@production"))["production accuracy"]


def truth(example_id: str) -> int:
    return int(data.split().labels[data.row_of(example_id)])


def duplicates_by_request_id_only(spec: LoopSpec, since: Any) -> int:
    """Of the picks that de-duplicating by request id alone would make now, how many are
    images the training data or the queue holds already."""
    ws = Workspace.open()
    table = miners.InferenceTable.load(InferenceQuery(model=spec.model, since=since), workspace=ws)
    queued = ws.store.list_tasks(spec.queue_name, limit=None)
    picks = miners.mine(
        table,
        spec.miners,
        budget=spec.budget,
        exclude=Dataset.load(spec.golden),
        skip={t.key for t in queued},
    )
    if not len(picks):
        return 0
    order = np.argsort(table.request_ids, kind="stable")
    rows = order[np.searchsorted(table.request_ids, picks.ids, sorter=order)]
    prints = Dataset("picks", table.select(rows).inputs()).fingerprints()
    known = set(Dataset.load(spec.dataset).fingerprints().tolist()) | {t.fingerprint for t in queued}
    return int(np.isin(prints, list(known)).sum())


def mining(chosen: tuple[Callable[..., Any], ...]) -> dict[str, Any]:
    fresh_home()
    pipeline.setup()
    spec = dataclasses.replace(pipeline.spec(), miners=chosen)
    start = production_accuracy()
    chunks = pipeline.traffic_chunks(3)
    accuracies, wasted = [], []
    since = None
    for number, chunk in enumerate(chunks, start=1):
        traffic.serve(chunk, model="digits@production", seed=number)
        if number > 1:
            traffic.replay(
                np.concatenate(chunks[: number - 1]), model="digits@production", tag=f"again{number}"
            )
        wasted.append(duplicates_by_request_id_only(spec, since))
        done = loopline.LocalRunner(echo=False).run(loop_round(spec))
        since = done.started_at
        accuracies.append(done.metrics["production accuracy"])
    return {"start": start, "accuracies": accuracies, "wasted": wasted}


def labelers(labeling: dict[str, Any], quality: QualityControl | None, rounds: int) -> dict[str, Any]:
    fresh_home()
    pipeline.setup()
    spec = dataclasses.replace(
        pipeline.spec(), oracle=None, labelers=labeling, quality=quality or QualityControl()
    )
    start = production_accuracy()
    history: list[LoopRound] = []
    for number, chunk in enumerate(pipeline.traffic_chunks(3)[:rounds], start=1):
        traffic.serve(chunk, model="digits@production", seed=number)
        history.append(loopline.LocalRunner(echo=False).run(loop_round(spec)))
    queue = LabelingQueue(pipeline.LOOP)
    tasks = [t for t in queue.tasks(limit=None) if t.kind == "label"]
    latest = Dataset.load(pipeline.TRAIN)
    assert latest.labels is not None
    labels = dict(zip(latest.ids.tolist(), latest.labels.tolist(), strict=True))
    added = [i for i in labels if i.startswith("req-")]
    flagged = [t for t in tasks if t.review_reason]
    return {
        "start": start,
        "end": production_accuracy(),
        "states": [r.state for r in history],
        "added": len(added),
        "bad_in_dataset": sum(labels[i] != truth(i) for i in added),
        "flagged": len(flagged),
        "flagged_bad": sum(t.label != truth(t.example_id) for t in flagged),
        "flagged_in_dataset": sum(t.example_id in labels for t in flagged),
        "quality": queue.quality(),
        "promotions": sum(r.promoted for r in history),
        "tasks": tasks,
    }


def blame_precision(tasks: list[Any]) -> tuple[int, int]:
    """(bad labels among the top-k blamed, k): k the number of bad labels (every 7 labeled 1)."""
    bad = {t.id for t in tasks if truth(t.example_id) == 7}
    top = sorted(tasks, key=lambda t: -(t.blame or 0))[: len(bad)]
    return sum(t.id in bad for t in top), len(bad)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    began = time.perf_counter()
    built_in = mining(BUILT_IN)
    oracle = mining((pipeline.misclassified,))
    lift = built_in["accuracies"][-1] - built_in["start"]
    oracle_lift = oracle["accuracies"][-1] - oracle["start"]
    sloppy = {"ada": pipeline.oracle, "bob": pipeline.sloppy}
    with_qc = labelers(sloppy, QUALITY, 3)
    without_qc = labelers(sloppy, None, 3)
    seven = labelers({"ada": pipeline.seven_to_one}, None, 2)
    hits, bad = blame_precision([t for t in seven["tasks"] if t.state == "labeled"])
    bob = with_qc["quality"].labeler("bob")

    def pct(value: float) -> str:
        return f"{value:.1%}"

    def curve(result: dict[str, Any]) -> str:
        return " → ".join(pct(a) for a in [result["start"], *result["accuracies"]])

    lines = [
        f"`python -m benchmarks.loop_bench` on {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}; the digits demo, fixed seeds, a fresh embedded store per scenario; "
        f"{time.perf_counter() - began:.0f} s in all. Accuracy is on the held-out production slice "
        "(242 images, never mined or labeled): one image is 0.4 points.",
        "",
        "**Mining, against the clean oracle's lift.** 3 rounds of 40 labels by a clean labeler; from "
        "round 2 on, production also serves the earlier rounds' images again under new request ids.",
        "",
        "| miners | production accuracy, rounds 0 → 3 | lift | picks request-id de-duplication alone would waste on known images, rounds 1-3 |",
        "|---|---|---|---|",
        f"| built in: feedback + low confidence, de-duplicated by content | {curve(built_in)} | "
        f"{lift * 100:+.1f} pts | {', '.join(str(w) for w in built_in['wasted'])} of 40 |",
        f"| oracle: exactly the images production got wrong | {curve(oracle)} | {oracle_lift * 100:+.1f} pts | "
        f"{', '.join(str(w) for w in oracle['wasted'])} of 40 |",
        "",
        f"The built-in miners reach {lift / oracle_lift:.0%} of the oracle's lift (the test asks for "
        "90%, and no significant difference on the held-out slice by McNemar's test); with content "
        "de-duplication none of their labels goes to an image labeled before.",
        "",
        "**A labeler wrong on 30% of the images** (Bob, next to Ada who is right), 3 rounds:",
        "",
        "| | production accuracy, round 0 → 3 | rounds | labels added to the dataset | of them wrong | labels sent back to review (of them wrong) | flagged labels in the dataset |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in (("with quality control", with_qc), ("without", without_qc)):
        lines.append(
            f"| {name} | {pct(result['start'])} → {pct(result['end'])} | {', '.join(result['states'])} | "
            f"{result['added']} | {result['bad_in_dataset']} | {result['flagged']} ({result['flagged_bad']}) | "
            f"{result['flagged_in_dataset']} |"
        )
    kappa = with_qc["quality"].kappa
    lines += [
        "",
        f"Quality control: gold questions ({QUALITY.gold_share:.0%} of claims, {QUALITY.gold}), a second "
        f"labeler on {QUALITY.agreement:.0%} of the tasks, {QUALITY.min_accuracy:.0%} accuracy required after "
        f"{QUALITY.min_gold} gold answers. Bob answered {bob.gold} gold questions, "
        f"{pct(bob.gold_accuracy or 0)} right (the threshold sent his labels back); Ada "
        f"{pct(with_qc['quality'].labeler('ada').gold_accuracy or 0)}; agreement between them "
        f"{pct(with_qc['quality'].agreement or 0)}"
        + ("" if kappa is None else f", Cohen's kappa {kappa:.2f}")
        + ".",
        "",
        "**A labeler who labels every 7 as 1**, 2 rounds: "
        f"{', '.join(seven['states'])}; {seven['promotions']} promotions; production stays at "
        f"{pct(seven['end'])}; {sum(t.state == 'labeled' for t in seven['tasks'])} labels back in review, "
        f"none in the dataset ({seven['added']} added); the gate's blame puts {hits} of the {bad} "
        f"mislabeled 7s among its top {bad}.",
    ]
    body = "\n".join(lines)
    print(body)
    if args.out:
        write_section(args.out, "Learning, and surviving bad labels", body)


if __name__ == "__main__":
    main()
