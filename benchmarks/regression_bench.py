"""Regression-test benchmark (not part of the test suite).

    .venv/bin/python -m benchmarks.regression_bench [--examples 100000] [--scenarios 50]
        [--out benchmarks/RESULTS_regression.md]

A golden dataset of 100,000 examples (64 features, 10 classes, tags, a metadata column) and 50
scenarios of every kind: per-class slices, tags, predicates on metadata, explicit id lists with
must-pass examples, thresholds on per-class F1, macro F1 and AUROC. Candidate and baseline are
precomputed predictions with class scores (so the time measured is Loopline's, not a model's),
the candidate fixing
about as many of the baseline's errors as it makes new ones. Target: `regression_test` in at most 5 s.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from loopline import Dataset, Scenario, regression_test
from loopline.cl.predictors import Predictions
from loopline.core.hashing import digest_chunks
from loopline.core.serialization import encode

TARGET_S = 5.0


def build(n: int, seed: int = 0) -> tuple[Dataset, Predictions, Predictions]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    features = rng.normal(size=(n, 64)).astype(np.float32)
    tags = {f"tag{k}": rng.random(n) < 0.05 for k in range(10)}
    golden = Dataset(
        "bench-golden",
        features,
        labels,
        ids=[f"g{i:07d}" for i in range(n)],
        tags=tags,
        metadata={"brightness": rng.random(n)},
    )
    baseline = labels.copy()
    baseline[rng.random(n) < 0.05] = rng.integers(0, 10)
    candidate = baseline.copy()
    fixed = (baseline != labels) & (rng.random(n) < 0.4)  # the candidate fixes 40% of the errors
    broken = (baseline == labels) & (rng.random(n) < 0.02)  # and breaks about as many examples
    candidate[fixed] = labels[fixed]
    candidate[broken] = (labels[broken] + 1) % 10

    def scores(predicted: np.ndarray) -> np.ndarray:
        raw = rng.random((n, 10))
        raw[np.arange(n), predicted] += 3
        return raw / raw.sum(axis=1, keepdims=True)

    return golden, Predictions(candidate, scores(candidate)), Predictions(baseline, scores(baseline))


def scenarios(golden: Dataset, count: int) -> list[Scenario]:
    out = [Scenario(f"digit {k}", labels=[k]) for k in range(10)]
    out += [Scenario(f"tag {k}", tag=f"tag{k}", rule="tolerance", tolerance=0.02) for k in range(10)]
    for k in range(20):
        low, high = k / 20, (k + 1) / 20
        out.append(
            Scenario(
                f"brightness {low:.2f}-{high:.2f}",
                where=lambda d, low=low, high=high: (
                    (d.metadata["brightness"] >= low) & (d.metadata["brightness"] < high)
                ),
            )
        )
    ids = golden.ids.tolist()
    out += [Scenario(f"must-pass {k}", ids=ids[k * 100 : (k + 1) * 100], all_correct=True) for k in range(5)]
    out += [
        Scenario("f1 of 3", at_least={"f1[3]": 0.5}),
        Scenario("f1 of 8", at_least={"f1[8]": 0.5}),
        Scenario("macro f1", at_least={"macro_f1": 0.5}, no_regression=("accuracy", "macro_f1")),
        Scenario("auroc", at_least={"auroc": 0.6}),
        Scenario("auroc, bright", where=lambda d: d.metadata["brightness"] > 0.5, at_least={"auroc": 0.6}),
    ]
    return out[:count]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--scenarios", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    golden, candidate, baseline = build(args.examples)
    chosen = scenarios(golden, args.scenarios)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        report = regression_test(candidate, golden, chosen, baseline)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    encoded = encode(report)
    digest_chunks(encoded.chunks())
    encode_s = time.perf_counter() - start
    flips = sum(s.right_to_wrong_count for s in report.scenarios)
    median = statistics.median(times)
    lines = [
        "# Regression-test benchmark",
        "",
        f"`python -m benchmarks.regression_bench` on {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}.",
        "",
        f"{args.examples:,} golden examples, {len(chosen)} scenarios (per class, tags, predicates, id lists "
        "with must-pass examples, F1/macro-F1/AUROC thresholds), precomputed predictions with scores.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| `regression_test`, median of {args.repeat} | {median:.2f} s | <= {TARGET_S:.0f} s |",
        f"| `regression_test`, best / worst | {min(times):.2f} s / {max(times):.2f} s | |",
        f"| encoding the report as an artifact | {encode_s:.2f} s ({encoded.size / 2**20:.1f} MiB) | |",
        f"| right->wrong flips found (all scenarios) | {flips:,} | |",
        f"| verdict | {report.verdict} ({len(report.failures)} must-pass scenarios failed) | |",
        "",
        f"Within target: {'yes' if median <= TARGET_S else 'NO'}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
