"""RayRunner next to LocalRunner on this machine: parallel speed-up and overhead per step.

    python benchmarks/ray_bench.py [--repeat 3]     # about 2 minutes per repeat on 2 cores

1. `--cpu-steps` CPU-bound steps of `--cpu-seconds` each (CPU time of the step's own thread, so
   threads that share the GIL cannot fake it), fanned out from one pipeline. Compared with the
   same steps one at a time (LocalRunner(max_parallelism=1)). Target: RayRunner at most 0.6 of it.
2. Trivial steps, fanned out and chained, to measure what each step costs on top of its work.
   Target: RayRunner at most 10 ms per step.

Ray runs as a local instance of `--cpus` CPUs (default: all cores) on 127.0.0.1, started before
the measurements; every runner gets one warm-up pipeline first, so worker start-up is not timed.
Prints a Markdown table (the numbers in benchmarks/RESULTS_ray.md come from it).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep Ray on the loopback interface

import ray

import loopline
from loopline import LocalRunner, RayRunner

CPU_SECONDS = 0.2


@loopline.func
def burn(i: int, seconds: float) -> int:
    """`seconds` of CPU time on this thread."""
    start = time.thread_time()
    n = 0
    while time.thread_time() - start < seconds:
        n += 1
    return i


@loopline.func(standalone=True)
def burn_in_process(i: int, seconds: float) -> int:
    start = time.thread_time()
    n = 0
    while time.thread_time() - start < seconds:
        n += 1
    return i


@loopline.func
def noop(i: int) -> int:
    return i


@loopline.func(standalone=True)
def noop_in_process(i: int) -> int:
    return i


@loopline.func
def fan_out(n: int, seconds: float, standalone: bool) -> list[int]:
    step = burn_in_process if standalone else burn
    return [step(i, seconds) for i in range(n)]  # type: ignore[return-value]


@loopline.func
def trivial_fan_out(n: int, standalone: bool) -> list[int]:
    step = noop_in_process if standalone else noop
    return [step(i) for i in range(n)]  # type: ignore[return-value]


@loopline.func
def trivial_chain(n: int, standalone: bool) -> int:
    step = noop_in_process if standalone else noop
    value = step(0)
    for _ in range(n - 1):
        value = step(value)
    return value  # type: ignore[return-value]


def burn_cpu(seconds: float) -> None:
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        pass


def identity(x: int) -> int:
    return x


def plain_ray_fan_out(n: int, seconds: float) -> None:
    """The same work as plain Ray tasks: what this machine allows, without Loopline."""
    task = ray.remote(burn_cpu)
    ray.get([task.remote(seconds) for _ in range(n)])


def plain_ray_trivial(n: int, chained: bool) -> None:
    task = ray.remote(identity)
    if chained:
        value = 0
        for _ in range(n):
            value = ray.get(task.remote(value))
    else:
        ray.get([task.remote(i) for i in range(n)])


def free_cores_probe(cores: int) -> float:
    """Wall time of `cores` processes burning 1 s of CPU each: 1.0 when the cores are free."""
    with concurrent.futures.ProcessPoolExecutor(cores) as pool:
        list(pool.map(burn_cpu, [0.05] * cores))  # start the processes
        return timed(lambda: list(pool.map(burn_cpu, [1.0] * cores)))


def timed(run: Callable[[], Any], repeat: int = 1) -> float:
    """The best of `repeat` runs (other load on the machine only ever slows a run down)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cpu-steps", type=int, default=100)
    parser.add_argument("--cpu-seconds", type=float, default=CPU_SECONDS)
    parser.add_argument("--trivial-steps", type=int, default=300)
    parser.add_argument("--cpus", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeat", type=int, default=1, help="report the best of this many runs")
    args = parser.parse_args()
    best_of = args.repeat

    home = tempfile.mkdtemp(prefix="loopline-ray-bench-")
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    try:
        runners: dict[str, Callable[[], Any]] = {
            "LocalRunner, one at a time": lambda: LocalRunner(home=home, echo=False, max_parallelism=1),
            "LocalRunner (threads)": lambda: LocalRunner(home=home, echo=False),
            "LocalRunner (standalone processes)": lambda: LocalRunner(home=home, echo=False),
            "RayRunner": lambda: RayRunner(home=home, echo=False),
        }
        standalone = {"LocalRunner (standalone processes)"}
        n, seconds = args.cpu_steps, args.cpu_seconds
        print(f"machine: {os.cpu_count()} cores; Ray: {ray.__version__}, {args.cpus} CPUs")
        probe = free_cores_probe(args.cpus)
        print(f"{args.cpus} processes burning 1 s of CPU each took {probe:.2f} s (1.00 = cores free)\n")

        print(f"## {n} CPU-bound steps of {seconds:g} s\n")
        print("| runner | wall (s) | vs one at a time |")
        print("|---|---:|---:|")
        baseline = None
        for label, make in runners.items():
            runner = make()
            alone = label in standalone
            runner.run(fan_out(2, 0.01, alone))  # warm-up
            wall = timed(lambda r=runner, a=alone: r.run(fan_out(n, seconds, a)), best_of)
            baseline = baseline or wall
            print(f"| {label} | {wall:.2f} | {wall / baseline:.2f} |", flush=True)
        plain_ray_fan_out(4, 0.01)
        wall = timed(lambda: plain_ray_fan_out(n, seconds), best_of)
        print(
            f"| plain Ray tasks, no Loopline (reference) | {wall:.2f} | {wall / baseline:.2f} |", flush=True
        )

        t = args.trivial_steps
        print(f"\n## Trivial steps: overhead per step (ms), {t} fanned out, {t // 3} chained\n")
        print("| runner | fan-out (ms/step) | chain (ms/step) |")
        print("|---|---:|---:|")
        for label, make in runners.items():
            if label == "LocalRunner, one at a time":
                continue
            runner = make()
            alone = label in standalone
            runner.run(trivial_fan_out(4, alone))  # warm-up
            fan = timed(lambda r=runner, a=alone: r.run(trivial_fan_out(t, a)), best_of) / (t + 1)
            chain = timed(lambda r=runner, a=alone: r.run(trivial_chain(t // 3, a)), best_of) / (t // 3 + 1)
            print(f"| {label} | {fan * 1000:.2f} | {chain * 1000:.2f} |", flush=True)
        plain_ray_trivial(10, chained=False)
        fan = timed(lambda: plain_ray_trivial(t, chained=False), best_of) / t
        chain = timed(lambda: plain_ray_trivial(t // 3, chained=True), best_of) / (t // 3)
        print(f"| plain Ray tasks, no Loopline (reference) | {fan * 1000:.2f} | {chain * 1000:.2f} |")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
