"""`rerun_from`: execute a run and everything downstream again, reuse everything upstream."""

from __future__ import annotations

import pytest

import loopline
from loopline.errors import UsageError

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
    states = {r.name: r.state.value for r in client.runs(limit=100) if r.root_id == rerun.id}
    assert states == {
        "pipeline": "succeeded",
        "load": "cached",
        "clean": "cached",
        "train": "succeeded",
        "report": "succeeded",
    }


def test_rerun_from_the_root_executes_everything(home, client: loopline.Client) -> None:  # type: ignore[no-untyped-def]
    CALLS.clear()
    first = pipeline(4)
    loopline.LocalRunner(home=home, echo=False).run(first)
    CALLS.clear()
    loopline.LocalRunner(home=home, rerun_from=first.id, echo=False).run(pipeline(4))
    assert CALLS == ["load", "clean", "train", "report"]


@loopline.func(cache=True)
def cached_square(x: int) -> int:
    CALLS.append("square")
    return x * x


@loopline.func(cache=True)
def cached_total(xs: list[int]) -> int:
    CALLS.append("total")
    return sum(xs)


@loopline.func(cache=True)
def cached_pipeline(n: int) -> int:
    return cached_total([cached_square(i) for i in range(n)])


def test_a_rerun_executes_its_runs_again_even_when_they_are_cached(home, client: loopline.Client) -> None:  # type: ignore[no-untyped-def]
    CALLS.clear()
    first = cached_pipeline(2)
    loopline.LocalRunner(home=home, echo=False).run(first)
    assert loopline.LocalRunner(home=home, echo=False).run(cached_pipeline(2)) == 1 and len(CALLS) == 3
    total = next(r for r in client.runs(name="cached_total") if r.root_id == first.id)
    CALLS.clear()
    assert loopline.LocalRunner(home=home, rerun_from=total.id, echo=False).run(cached_pipeline(2)) == 1
    assert CALLS == ["total"]  # the squares upstream are reused, the chosen run executes again


def test_a_rerun_takes_a_prefix_of_the_run_id(home, client: loopline.Client) -> None:  # type: ignore[no-untyped-def]
    CALLS.clear()
    first = pipeline(3)
    loopline.LocalRunner(home=home, echo=False).run(first)
    train_run = next(r for r in client.runs(name="train") if r.root_id == first.id)
    CALLS.clear()
    loopline.LocalRunner(home=home, rerun_from=train_run.id[:12], echo=False).run(pipeline(3))
    assert CALLS == ["train", "report"]
    assert client.run(train_run.id[:12]) == client.run(train_run.id)


FLAKY_FAILS = [True]


@loopline.func
def flaky(total: int) -> str:
    CALLS.append("flaky")
    if FLAKY_FAILS[0]:
        raise RuntimeError("not yet")
    return f"total={total}"


@loopline.func
def flaky_pipeline(n: int) -> str:
    return flaky(train(clean(load(n))))


def test_rerun_mode_continue_reuses_every_success_of_the_pipeline(home, client: loopline.Client) -> None:  # type: ignore[no-untyped-def]
    CALLS.clear()
    FLAKY_FAILS[0] = True
    first = flaky_pipeline(6)
    try:
        loopline.LocalRunner(home=home, echo=False).run(first)
    except loopline.PipelineRunError:
        pass
    CALLS.clear()
    FLAKY_FAILS[0] = False
    runner = loopline.LocalRunner(
        home=home, rerun_from=first.id, rerun_mode=loopline.RerunMode.CONTINUE, echo=False
    )
    assert runner.run(flaky_pipeline(6)) == "total=6"
    assert CALLS == ["flaky"]


def test_rerun_mode_continue_needs_the_root_run(home, client: loopline.Client) -> None:  # type: ignore[no-untyped-def]
    loopline.LocalRunner(home=home, echo=False).run(pipeline(2))
    step = client.runs(name="train")[0]
    runner = loopline.LocalRunner(
        home=home, rerun_from=step.id, rerun_mode=loopline.RerunMode.CONTINUE, echo=False
    )
    with pytest.raises(UsageError, match=f"pass rerun_from='{step.root_id}'"):
        runner.run(pipeline(2))


def test_rerun_mode_reenter_points_to_continue() -> None:
    with pytest.raises(UsageError, match="use RerunMode.CONTINUE"):
        loopline.LocalRunner(rerun_from="abc", rerun_mode=loopline.RerunMode.REENTER)
