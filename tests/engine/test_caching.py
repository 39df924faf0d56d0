"""Caching keys on code version, input contents and namespace."""

from __future__ import annotations

import pytest

import loopline
from loopline import RunState
from loopline.errors import LooplineWarning

CALLS: list[int] = []


@loopline.func(cache=True)
def expensive(x: int) -> int:
    CALLS.append(x)
    return x * 10


@loopline.func
def twice(x: int) -> list[int]:
    return [expensive(x), expensive(x + 1)]  # type: ignore[list-item]


def run(runner: loopline.LocalRunner, x: int = 1) -> loopline.Future[list[int]]:
    future = twice(x)
    runner.run(future)
    return future  # type: ignore[return-value]


def test_a_second_run_hits_the_cache_and_records_the_original(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    CALLS.clear()
    run(runner)
    run(runner)
    assert CALLS == [1, 2]
    cached = client.runs(name="expensive", state="cached")
    assert len(cached) == 2 and all(r.cached_from for r in cached)
    assert {client.run(r.cached_from).state for r in cached if r.cached_from} == {RunState.SUCCEEDED}


def test_different_inputs_miss(runner: loopline.LocalRunner) -> None:
    CALLS.clear()
    run(runner, 1)
    run(runner, 2)
    assert CALLS == [1, 2, 3]  # expensive(2) was cached by the first run


def test_a_code_change_misses_unless_the_version_is_pinned(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    def make(factor: int, version: str | None) -> loopline.Function[[int], int]:
        source = f"def scaled(x: int) -> int:\n    return x * {factor}\n"
        namespace: dict[str, object] = {}
        exec(compile(source, f"<scaled {factor}>", "exec"), namespace)
        return loopline.func(cache=True, version=version)(namespace["scaled"])  # type: ignore[arg-type]

    assert runner.run(make(2, None)(5)) == 10
    assert runner.run(make(3, None)(5)) == 15  # new code: executed again
    assert runner.run(make(2, "pinned")(5)) == 10
    assert runner.run(make(3, "pinned")(5)) == 10  # pinned: the cache wins


def test_namespaces_do_not_share_results(home) -> None:  # type: ignore[no-untyped-def]
    CALLS.clear()
    loopline.LocalRunner(home=home, cache_namespace="a", echo=False).run(expensive(7))
    loopline.LocalRunner(home=home, cache_namespace="b", echo=False).run(expensive(7))
    loopline.LocalRunner(home=home, cache_namespace="a", echo=False).run(expensive(7))
    assert CALLS == [7, 7]


def test_no_cache_executes_everything(home) -> None:  # type: ignore[no-untyped-def]
    CALLS.clear()
    loopline.LocalRunner(home=home, echo=False).run(expensive(8))
    loopline.LocalRunner(home=home, cache=False, echo=False).run(expensive(8))
    assert CALLS == [8, 8]


def test_cache_can_be_switched_on_per_call(runner: loopline.LocalRunner, client: loopline.Client) -> None:
    @loopline.func
    def plain(x: int) -> int:
        CALLS.append(x)
        return x

    CALLS.clear()
    runner.run(plain(4).set(cache=True))
    runner.run(plain(4).set(cache=True))
    runner.run(plain(4))
    assert CALLS == [4, 4]


def test_a_cached_result_whose_artifact_was_deleted_is_recomputed(runner: loopline.LocalRunner) -> None:
    CALLS.clear()
    future = expensive(9)
    runner.run(future)
    _, artifacts = runner.stores()
    for artifact_id in list(artifacts.ids()):
        artifacts.delete(artifact_id)
    assert runner.run(expensive(9)) == 90
    assert CALLS == [9, 9]


def test_the_cache_outlives_the_pipeline_that_executed_the_step(
    runner: loopline.LocalRunner, client: loopline.Client
) -> None:
    CALLS.clear()
    first = run(runner, 7)
    run(runner, 7)  # both steps cached from the first pipeline
    metadata, _ = runner.stores()
    metadata.delete_runs([r.id for r in client.runs(limit=100) if r.root_id == first.id])  # as gc does
    third = run(runner, 7)
    assert CALLS == [7, 8]  # still cached, from the second pipeline's runs
    assert {r.state for r in client.runs(name="expensive") if r.root_id == third.id} == {RunState.CACHED}


def test_a_callable_namespace_is_computed_from_the_root_future(home) -> None:  # type: ignore[no-untyped-def]
    CALLS.clear()
    seen: list[str] = []

    def namespace(root: loopline.Future[list[int]]) -> str:
        seen.append(root.function.name)
        return f"ns-{root.kwargs['x']}"  # type: ignore[attr-defined]

    run(loopline.LocalRunner(namespace, home=home, echo=False))
    run(loopline.LocalRunner(namespace, home=home, echo=False))
    run(loopline.LocalRunner("other", home=home, echo=False))
    assert seen == ["twice", "twice"] and CALLS == [1, 2, 1, 2]


def test_a_namespace_function_that_raises_turns_the_cache_off_for_that_run(home) -> None:  # type: ignore[no-untyped-def]
    CALLS.clear()

    def broken(root: object) -> str:
        raise KeyError("no git")

    run(loopline.LocalRunner("ns", home=home, echo=False))
    with pytest.warns(LooplineWarning, match="raised KeyError.*uses no cached results"):
        run(loopline.LocalRunner(broken, home=home, echo=False))
    assert CALLS == [1, 2, 1, 2]
