"""Pipelines the team-mode tests run through a server (importable, so worker processes can)."""

from __future__ import annotations

import time

import loopline


@loopline.func
def double(x: int) -> int:
    print(f"doubling {x}")
    return 2 * x


@loopline.func(standalone=True)
def square_in_a_worker(x: int) -> int:
    return x * x


@loopline.func
def total(values: list[int]) -> int:
    return sum(values)


@loopline.func
def fan(n: int) -> int:
    return total([double(i) for i in range(n)] + [square_in_a_worker(i) for i in range(3)])


@loopline.func
def slow_step(i: int) -> int:
    time.sleep(0.15)
    print(f"step {i}")
    return i


@loopline.func
def slow_chain(n: int) -> int:
    return total([slow_step(i) for i in range(n)])
