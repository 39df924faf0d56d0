"""Loopline's versions of the benchmark workloads, and the same functions called directly.

The workload definitions follow `../shared/bench-peers/` (W1 chain, W2 fan-out, W3 payload, W4
cached chain), so the figures line up with the peers measured there; the step count is a
parameter here. `benchmarks/peers/sematic_cells.py` holds the same workloads for Sematic.

- L1: a chain of `n` trivial steps (`add_one`), started from 0.
- L2: a producer, `n` independent steps and a reducer (n + 2 steps), nested so the fan-out's
  width is only known once the producer has run.
- L3: a 100 MiB float64 array of fresh random data through 3 steps.
- L4: L1 with `cache=True`: once the warm-up run has filled the cache, every step is a hit.
- L6: 8 CPU-bound pure-Python steps of about 0.5 s each: plain funcs (on threads by default, in
  processes with `LocalRunner(executor="process")`), and `standalone=True` ones.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

import loopline

# L3's array size; `python -m benchmarks.payload --mib N` sets it for its child processes.
PAYLOAD_MIB = int(os.environ.get("LOOPLINE_BENCH_PAYLOAD_MIB", "100"))
PARALLEL_STEPS = 8


# -- L1 / L5: a chain ---------------------------------------------------------------------------


@loopline.func
def add_one(x: int) -> int:
    return x + 1


@loopline.func
def chain(n: int) -> int:
    x = add_one(0)
    for _ in range(n - 1):
        x = add_one(x)
    return x


def chain_direct(n: int) -> int:
    x = add_one.fn(0)
    for _ in range(n - 1):
        x = add_one.fn(x)
    return x


# -- L2 / L5: fan-out and reduce ----------------------------------------------------------------


@loopline.func
def produce(n: int) -> list[int]:
    return list(range(n))


@loopline.func
def work(x: int) -> int:
    return x + 1


@loopline.func
def reduce_sum(xs: list[int]) -> int:
    return sum(xs)


@loopline.func
def fan_out(items: list[int]) -> int:
    return reduce_sum([work(i) for i in items])


@loopline.func
def fan(n: int) -> int:
    return fan_out(produce(n))


def fan_direct(n: int) -> int:
    return reduce_sum.fn([work.fn(i) for i in produce.fn(n)])


# -- L3: a large array --------------------------------------------------------------------------


@loopline.func
def make() -> np.ndarray:
    # fresh random data every run: incompressible, and never deduplicated by a content address
    return np.random.default_rng().random(PAYLOAD_MIB * 2**20 // 8)


@loopline.func
def transform(a: np.ndarray) -> np.ndarray:
    return a + 1.0


@loopline.func
def total(a: np.ndarray) -> float:
    return float(a.sum())


@loopline.func
def payload() -> float:
    return total(transform(make()))


PAYLOAD_STEPS = (make, transform, total)


# -- L4: the chain, cached ----------------------------------------------------------------------


@loopline.func(cache=True)
def add_one_cached(x: int) -> int:
    return x + 1


@loopline.func
def cached_chain(n: int) -> int:
    x = add_one_cached(0)
    for _ in range(n - 1):
        x = add_one_cached(x)
    return x


# -- L6: CPU-bound pure Python in worker processes ----------------------------------------------


def burn(iterations: int) -> int:
    """Pure-Python work that holds the GIL the whole time."""
    acc = 0
    for i in range(iterations):
        acc = (acc + i * i) % 1_000_003
    return acc


def iterations_for(seconds: float) -> int:
    """How many `burn` iterations take about `seconds` on this machine (best of 3 probes)."""
    probe = 1_000_000  # ~0.1 s: long enough that start-up costs do not skew the rate
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        burn(probe)
        best = min(best, time.perf_counter() - start)
    return int(probe * seconds / best)


@loopline.func(standalone=True)
def cpu_step(iterations: int, index: int) -> int:
    return burn(iterations) + index


@loopline.func
def gather(values: list[int]) -> int:
    return sum(values)


@loopline.func
def parallel(iterations: int) -> int:
    return gather([cpu_step(iterations, i) for i in range(PARALLEL_STEPS)])


def parallel_direct(iterations: int) -> int:
    return gather.fn([cpu_step.fn(iterations, i) for i in range(PARALLEL_STEPS)])


@loopline.func
def plain_cpu_step(iterations: int, index: int) -> int:
    return burn(iterations) + index


@loopline.func
def plain_parallel(iterations: int) -> int:
    return gather([plain_cpu_step(iterations, i) for i in range(PARALLEL_STEPS)])


PIPELINES: dict[str, tuple[Any, Any]] = {
    # workload: (pipeline func taking n, the same functions called directly)
    "L1": (chain, chain_direct),
    "L2": (fan, fan_direct),
    "L4": (cached_chain, chain_direct),
}


def steps_of(workload: str, n: int) -> int:
    """Steps counted for a workload of size n (as in the peers' table: L2 adds producer and reducer)."""
    return n + 2 if workload == "L2" else n
