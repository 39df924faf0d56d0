"""L3: a 100 MiB float64 array of fresh random data through 3 steps (make, transform, total).

    python -m benchmarks.payload [--no-sematic] [--mib 2048 --rounds 1]

Each configuration runs in fresh child processes (a warm-up and a counted run each, 3 rounds,
taking turns), which report their times and peak RSS (ru_maxrss). The reference is the same
three functions with every output written by plain `np.save` and read back by the next step
with `np.load`, on the same disk as Loopline's store and, like it, without fsync. Targets
(issue 19): LocalRunner within 1.2x of that time, with a peak RSS of at most the plain
version's peak plus half a payload (50 MiB). SilentRunner passes values by reference (its
default) or encodes them (`encode_values=True`).

A second cell measures, in one process, how fast this machine hashes 100 MiB (SHA-256, the
artifact ids' hash, and BLAKE3 when the `blake3` package is installed), copies it, and writes it
to a file of the benchmark disk.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.harness import (
    RUNS,
    Cell,
    cell_record,
    emit,
    measure,
    median,
    module_command,
    peak_rss_mib,
    progress,
    rss_mib,
    run_child,
    scratch_dir,
    timed,
)

CONFIGS = ("plain", "local", "silent", "silent-encoded")


def plain_run(folder: Path) -> float:
    """The three functions, each output saved with np.save and loaded by the next step."""
    import numpy as np

    from benchmarks.workloads import PAYLOAD_STEPS

    path = None
    for index, step in enumerate(PAYLOAD_STEPS):
        inputs = () if path is None else (np.load(path),)
        output = step.fn(*inputs)
        path = folder / f"{index}.npy"
        np.save(path, output)
        del inputs, output  # what a step no longer needs is freed, as in a plain script
    assert path is not None
    return float(np.load(path))


def loopline_cell(config: str) -> Cell:
    """Measure one configuration in this process (the child side)."""
    import loopline
    from benchmarks.workloads import payload

    with scratch_dir("L3") as home:
        os.environ["LOOPLINE_HOME"] = str(home)
        base = rss_mib()
        counter = itertools.count()

        def prepare() -> Any:
            if config == "plain":
                folder = home / f"plain-{next(counter)}"
                folder.mkdir()
                return lambda: plain_run(folder)
            runner = (
                loopline.LocalRunner()
                if config == "local"
                else loopline.SilentRunner(encode_values=config == "silent-encoded")
            )
            future = payload()
            return lambda: runner.run(future)

        warmup_s, run_s = measure(prepare, runs=1)
    framework = "numpy" if config == "plain" else "loopline"
    runner = RUNNER_NAMES.get(config, config)
    return cell_record(
        framework, runner, "L3", 3, run_s=run_s, warmup_s=warmup_s[0], peak_mib=peak_rss_mib(), base_mib=base
    )


RUNNER_NAMES = {"plain": "np.save + np.load", "silent-encoded": "silent (encode_values=True)"}


def hash_cell() -> Cell:
    """Seconds per 100 MiB of fresh random data: hashing it, copying it, writing it to a file."""
    import hashlib

    import numpy as np

    from benchmarks.workloads import PAYLOAD_MIB

    data = memoryview(np.random.default_rng().random(PAYLOAD_MIB * 2**20 // 8).view(np.uint8))
    calls: dict[str, Any] = {
        "sha256 (hashlib)": lambda: hashlib.sha256(data).hexdigest(),
        "copy (bytes)": lambda: bytes(data),
    }
    try:
        import blake3

        calls["blake3 (one thread)"] = lambda: blake3.blake3(data).hexdigest()
    except ImportError:
        pass
    with scratch_dir("hash") as folder:

        def write() -> None:
            with open(folder / "x", "wb", buffering=0) as out:
                out.write(data)

        calls["write to a file (page cache)"] = write
        seconds = {name: min(timed(call) for _ in range(5)) for name, call in calls.items()}
    return {"framework": "machine", "workload": "hash", "seconds": seconds, "mib": PAYLOAD_MIB}


def run(sematic: Any = None, *, loopline: bool = True, turns: int = RUNS) -> list[Cell]:
    """Each configuration in fresh child processes; `sematic` is a SematicPeer with its server up.
    `loopline=False` runs Sematic's configurations alone.

    Loopline's and the plain version's processes take turns (warm-up + one counted run each, 3
    rounds), because this machine's memory and disk speed drift by 2x within minutes: drift then
    weighs on both sides of the ratio. A configuration's peak RSS is the largest of its 3."""
    cells = []
    rounds = []
    for round_number in range(turns if loopline else 0):
        progress(f"L3 round {round_number + 1}: {', '.join(CONFIGS)}")
        rounds.append(
            [run_child(module_command("benchmarks.payload", "--cell", config)) for config in CONFIGS]
        )
    for index, config in enumerate(CONFIGS if loopline else ()):
        framework = "numpy" if config == "plain" else "loopline"
        runner = RUNNER_NAMES.get(config, config)
        samples = [cells_of_round[index] for cells_of_round in rounds]
        failed = next((c for c in samples if "run_s" not in c), None)
        cell = failed or {
            **samples[0],
            "run_s": [c["run_s"][0] for c in samples],
            "peak_mib": max(c["peak_mib"] for c in samples),
            "load": max(c["load"] for c in samples),
        }
        cells.append({"framework": framework, "runner": runner, "workload": "L3", **cell})
    if loopline:
        progress("L3 hashing and copying on this machine")
        cells.append(run_child(module_command("benchmarks.payload", "--cell", "hash")))
    if sematic is not None:
        for runner in ("local", "silent"):
            progress(f"L3 sematic-{runner}")
            cell = sematic.cell("L3", runner, 3)
            cells.append({"framework": "sematic", "runner": runner, "workload": "L3", **cell})
    return cells


def hash_table(cells: list[Cell]) -> str:
    found = next((c for c in cells if c.get("workload") == "hash" and "seconds" in c), None)
    if found is None:
        return ""
    lines = [f"| {found['mib']} MiB of random data | s | GB/s |", "|---|---|---|"]
    for name, seconds in found["seconds"].items():
        lines.append(f"| {name} | {seconds:.3f} | {found['mib'] * 2**20 / seconds / 1e9:.2f} |")
    return "\n".join(lines)


def table(cells: list[Cell]) -> str:
    plain = next((c for c in cells if c.get("framework") == "numpy" and "run_s" in c), None)
    lines = [
        "| framework | runner | run s, median (min-max) | vs np.save + np.load | peak RSS MiB "
        "| peak - plain peak MiB | load |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        if c.get("workload") == "hash":
            continue
        if "run_s" not in c:
            lines.append(f"| {c.get('framework')} | {c.get('runner')} | {c.get('error')} | | | | |")
            continue
        runs = c["run_s"]
        ratio = f"{median(runs) / median(plain['run_s']):.2f}x" if plain else "-"
        extra = f"{c['peak_mib'] - plain['peak_mib']:+.0f}" if plain else "-"
        lines.append(
            f"| {c['framework']} | {c['runner']} | {median(runs):.3f} ({min(runs):.3f}-{max(runs):.3f}) "
            f"| {ratio} | {c['peak_mib']:.0f} | {extra} | {c['load']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from benchmarks.workloads import PAYLOAD_MIB

    parser = argparse.ArgumentParser(prog="python -m benchmarks.payload", description=__doc__.split("\n")[0])
    parser.add_argument("--cell", choices=(*CONFIGS, "hash"), help=argparse.SUPPRESS)
    parser.add_argument("--no-sematic", action="store_true", help="Loopline and plain numpy only")
    parser.add_argument("--mib", type=int, default=PAYLOAD_MIB, help="the array's size (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=RUNS, help="rounds of turns (default %(default)s)")
    args = parser.parse_args(argv)
    os.environ["LOOPLINE_BENCH_PAYLOAD_MIB"] = str(args.mib)  # read by the child processes
    if args.cell:
        emit(hash_cell() if args.cell == "hash" else loopline_cell(args.cell))
        return
    if args.no_sematic:
        cells = run(turns=args.rounds)
    else:
        from benchmarks.sematic_peer import SematicPeer, ensure_venv

        problem = ensure_venv()
        if problem:
            sys.exit(f"{problem} (use --no-sematic to measure Loopline alone)")
        peer = SematicPeer()
        with peer.server():
            cells = run(peer, turns=args.rounds)
    print(table(cells))
    print(hash_table(cells))


if __name__ == "__main__":
    main()
