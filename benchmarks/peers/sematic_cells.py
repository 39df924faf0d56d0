"""One benchmark cell on Sematic 0.41.0, run with the Python of Sematic's own virtualenv.

    python benchmarks/peers/sematic_cells.py WORKLOAD RUNNER STEPS [--runs 3] [--warmup-steps N]
    python benchmarks/peers/sematic_cells.py L1 RUNNER STEPS --fresh

WORKLOAD is L1, L2, L3 or L4 (as in `benchmarks/workloads.py`, after `../shared/bench-peers/`),
RUNNER is `silent` or `local` (`local` needs a `sematic start` server, see
`benchmarks/sematic_peer.py`). Prints one JSON line, like Loopline's cells. Uses only the
standard library, Sematic and numpy: it never imports Loopline.

`--fresh`: no warm-up; the seconds from before `import sematic` to the end of the first run, and
the seconds of a second run in the same process (as `benchmarks/chain_script.py` for Loopline).
"""

import argparse
import json
import os
import resource
import sys
import time
from typing import List  # noqa: UP035 - Sematic 0.41.0 expects typing's generics

import numpy as np  # (before the clock starts: Loopline's chain script never imports numpy)

T0 = time.perf_counter()
import sematic  # noqa: E402 - what the fresh cells time

IMPORT_S = time.perf_counter() - T0

# Sematic enqueues nested futures recursively: a chain of 1,000 steps needs more than Python's
# default limit of 1,000 frames (it fails with RecursionError otherwise).
sys.setrecursionlimit(100_000)

PAYLOAD_MIB = 100


@sematic.func
def add_one(x: int) -> int:
    return x + 1


@sematic.func
def chain(n: int) -> int:
    x = add_one(0)
    for _ in range(n - 1):
        x = add_one(x)
    return x


@sematic.func
def produce(n: int) -> List[int]:  # noqa: UP006
    return list(range(n))


@sematic.func
def work(x: int) -> int:
    return x + 1


@sematic.func
def reduce_sum(xs: List[int]) -> int:  # noqa: UP006
    return sum(xs)


@sematic.func
def fan_out(items: List[int]) -> int:  # noqa: UP006
    return reduce_sum([work(i) for i in items])


@sematic.func
def fan(n: int) -> int:
    return fan_out(produce(n))


@sematic.func
def make() -> np.ndarray:
    return np.random.default_rng().random(PAYLOAD_MIB * 2**20 // 8)


@sematic.func
def transform(a: np.ndarray) -> np.ndarray:
    return a + 1.0


@sematic.func
def total(a: np.ndarray) -> float:
    return float(a.sum())


@sematic.func
def payload() -> float:
    return total(transform(make()))


@sematic.func(cache=True)
def add_one_cached(x: int) -> int:
    return x + 1


@sematic.func
def cached_chain(n: int) -> int:
    x = add_one_cached(0)
    for _ in range(n - 1):
        x = add_one_cached(x)
    return x


def chain_direct(n: int) -> int:
    x = add_one.func(0)
    for _ in range(n - 1):
        x = add_one.func(x)
    return x


def fan_direct(n: int) -> int:
    return reduce_sum.func([work.func(i) for i in produce.func(n)])


def payload_direct(_: int) -> float:
    return total.func(transform.func(make.func()))


WORKLOADS = {
    # workload: (pipeline of n, direct calls of n, expected result of n, steps of n)
    "L1": (chain, chain_direct, lambda n: n, lambda n: n),
    "L2": (fan, fan_direct, lambda n: n * (n + 1) // 2, lambda n: n + 2),
    "L3": (lambda n: payload(), payload_direct, None, lambda n: 3),
    "L4": (cached_chain, chain_direct, lambda n: n, lambda n: n),
}


def timed(call):
    start = time.perf_counter()
    value = call()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("runner", choices=["silent", "local"])
    parser.add_argument("steps", type=int)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup-steps", type=int, default=None, help="size of the warm-up run")
    parser.add_argument("--fresh", action="store_true", help="time the first run of this process")
    args = parser.parse_args()
    pipeline, direct, expected, steps_of = WORKLOADS[args.workload]
    n = args.steps

    def new_runner():
        if args.runner == "silent":
            return sematic.SilentRunner()
        # L4 needs a namespace for its cache (Sematic refuses cache=True without one)
        return sematic.LocalRunner(cache_namespace="bench-L4" if args.workload == "L4" else None)

    if args.fresh:
        new_runner().run(pipeline(n))
        first_s = time.perf_counter() - T0
        second_s, _ = timed(lambda: new_runner().run(pipeline(n)))
        record = {"import_s": IMPORT_S, "first_s": first_s, "second_s": second_s, "load": os.getloadavg()[0]}
        print(json.dumps(record), flush=True)
        return

    # The warm-up fills the cache for L4, so it must have the full size there.
    warmup_n = n if args.workload == "L4" or args.warmup_steps is None else min(n, args.warmup_steps)
    warmup_s, _ = timed(lambda: new_runner().run(pipeline(warmup_n)))
    run_s = []
    for _ in range(args.runs):
        runner, future = new_runner(), pipeline(n)
        seconds, value = timed(lambda: runner.run(future))  # noqa: B023 - called at once
        if expected is not None and value != expected(n):
            raise SystemExit(f"wrong result {value!r}, expected {expected(n)!r}")
        run_s.append(seconds)
    direct(n)  # warm-up
    direct_s = [timed(lambda: direct(n))[0] for _ in range(args.runs)]
    record = {
        "framework": "sematic",
        "runner": args.runner,
        "workload": args.workload,
        "steps": steps_of(n),
        "size": n,
        "run_s": run_s,
        "direct_s": direct_s,
        "warmup_s": warmup_s,
        "warmup_size": warmup_n,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "version": sematic.__version__,
        "load": os.getloadavg()[0],
    }
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
