"""The continuous-improvement demo: production traffic, mining, labeling, retraining, the gate.

`loopline serve digits@production` runs for the whole demo; each round sends it one chunk of
production traffic over HTTP (every prediction logged by the server, some users giving
feedback), then runs one round of the loop pipeline; after a promotion the server switches to
the new version before the next round's traffic. The table shows which version served each
round and how the production model does on the held-out production slice after it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

import loopline
from examples.continuous_improvement import pipeline, traffic
from loopline.cl.loop import loop_round
from loopline.cl.mining.candidates import Miner
from loopline.cl.store.records import LoopRound
from loopline.cl.store.workspace import Workspace


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the demo's table."""

    round: int
    served: int
    by: str  # the version(s) that served this round's traffic
    feedback: int
    labeled: int
    dataset: str
    size: int
    accuracy: float
    scenarios: str
    outcome: str


def run(
    *,
    rounds: int = 3,
    budget: int = 40,
    trainer: str = "sklearn",
    labels: Sequence[str] = (),
    miners: Sequence[Miner] | None = None,
    replay: bool = False,
    on_row: Callable[[Row], None] = lambda row: None,
) -> list[Row]:
    """Set up, then serve and improve for `rounds` rounds; `labels[i]` picks round i+1's labeler
    (default: the oracle); `miners` replace the demo's; with `replay`, each round also serves the
    images of the earlier rounds again, under new request ids. Returns the table, round 0 being
    the first model."""
    pipeline.setup(trainer)
    ws = Workspace.open()
    runner = loopline.LocalRunner(echo=False)
    production = loopline.models.get(f"{pipeline.MODEL}@production")
    first = Row(
        0,
        0,
        "",
        0,
        0,
        production.dataset or "",
        _size(ws, production.dataset),
        _accuracy(),
        "",
        f"{production.ref} (first model)",
    )
    table = [first]
    on_row(first)
    chunks = pipeline.traffic_chunks(rounds)
    with traffic.serving(f"{pipeline.MODEL}@production") as server:
        for number, rows in enumerate(chunks, start=1):
            served = traffic.serve(rows, url=server.url, seed=number)
            if replay and number > 1:
                traffic.replay(np.concatenate(chunks[: number - 1]), url=server.url, tag=f"again{number}")
            labeler = labels[number - 1] if number <= len(labels) else "oracle"
            spec = pipeline.spec(trainer=trainer, budget=budget, labels=labeler)
            if miners is not None:
                spec = dataclasses.replace(spec, miners=tuple(miners))
            done = runner.run(loop_round(spec).set(name=f"{spec.name} round", tags=["demo"]))
            if done.production_after:
                traffic.wait_for(server.url, done.production_after)  # the next round is served by it
            row = _row(ws, done, served)
            table.append(row)
            on_row(row)
    return table


def _row(ws: Workspace, done: LoopRound, served: traffic.Served) -> Row:
    must_pass = {name: s for name, s in done.scenarios.items() if s.get("must_pass", True)}
    failed = [name for name, s in must_pass.items() if not s["passed"]]
    verdict = f"{len(must_pass) - len(failed)}/{len(must_pass)} pass" + (
        f" ({', '.join(failed)} fail)" if failed else ""
    )
    if done.promoted:
        outcome = f"promoted {done.candidate}"
    elif done.candidate:
        outcome = f"blocked {done.candidate}"
    else:
        outcome = done.state
    return Row(
        done.round,
        served.requests,
        ", ".join(served.by),
        served.feedback,
        done.labeled,
        done.dataset_after or "",
        _size(ws, done.dataset_after),
        done.metrics.get("production accuracy", float("nan")),
        verdict if done.scenarios else "-",
        outcome,
    )


def _accuracy() -> float:
    model = loopline.models.load(f"{pipeline.MODEL}@production")
    return pipeline.production_accuracy(model)["production accuracy"]


def _size(ws: Workspace, ref: str | None) -> int:
    if not ref:
        return 0
    name, _, version = ref.partition("@")
    return ws.store.get_dataset_version(name, int(version)).size


HEADER = f"{'round':>5}  {'served':>6}  {'by':<8}  {'feedback':>8}  {'labeled':>7}  {'training set':<22}  {'prod. accuracy':>14}  {'scenarios':<28}  outcome"


def format_row(row: Row) -> str:
    dataset = f"{row.dataset} ({row.size})" if row.dataset else "-"
    return (
        f"{row.round:>5}  {row.served:>6}  {row.by or '-':<8}  {row.feedback:>8}  {row.labeled:>7}  {dataset:<22}  "
        f"{row.accuracy:>14.1%}  {row.scenarios:<28}  {row.outcome}"
    )
