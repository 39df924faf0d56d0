"""Regression-test benchmark (not part of the test suite).

    .venv/bin/python -m benchmarks.regression_bench [--examples 100000] [--scenarios 50]
        [--out benchmarks/RESULTS_regression.md]

A golden dataset of 100,000 examples (64 features, 10 classes, tags, a metadata column) and 50
scenarios of every kind: per-class slices, tags, predicates on metadata, explicit id lists with
must-pass examples, thresholds on per-class F1, macro F1 and AUROC. Candidate and baseline are
precomputed predictions with class scores (so the time measured is Loopline's, not a model's),
the candidate fixing about as many of the baseline's errors as it makes new ones, and every
`no_regression` criterion decided by the default paired rule (McNemar for accuracy, the paired
bootstrap for the others). Target: `regression_test` in at most 5 s.

Then the paired tests alone: the vectorised bootstrap (1,000 resamples of 10,000 examples, 10
scenarios; target under 1 s), next to the per-resample loop it replaced (measured in the same
run, on fewer resamples, and scaled), and exact McNemar per call next to scipy's binomial test.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from loopline import Dataset, Scenario, regression_test
from loopline.cl.regression import metrics
from loopline.cl.regression.bootstrap import Bootstrap, paired_differences
from loopline.cl.regression.predictors import Predictions
from loopline.cl.regression.stats import mcnemar_exact
from loopline.core.hashing import digest_chunks
from loopline.core.serialization import encode

TARGET_S = 5.0
BOOTSTRAP_TARGET_S = 1.0
LOOP_RESAMPLES = 20  # the old per-resample loop, measured on this many and scaled


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


def slice_data(n: int, seed: int = 1) -> tuple[metrics.SliceData, metrics.SliceData]:
    """A candidate and a baseline on n examples of 10 classes, with scores (for AUROC)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    base = np.where(rng.random(n) < 0.08, rng.integers(0, 10, n), labels)
    cand = np.where(rng.random(n) < 0.01, (labels + 1) % 10, base)

    def data(predicted: np.ndarray) -> metrics.SliceData:
        raw = rng.random((n, 10))
        raw[np.arange(n), predicted] += 3
        return metrics.SliceData(
            labels,
            predicted,
            raw / raw.sum(axis=1, keepdims=True),
            np.arange(10),
            predicted == labels,
            {str(k): k for k in range(10)},
        )

    return data(cand), data(base)


def per_resample_loop(metric: str, cand: metrics.SliceData, base: metrics.SliceData, resamples: int) -> None:
    """The bootstrap as it was before: every resample a new slice, every metric computed anew."""
    import dataclasses

    rng = np.random.default_rng(0)
    n = len(cand.labels)
    for _ in range(resamples):
        pick = rng.integers(0, n, n)
        for d in (cand, base):
            metrics.compute(
                metric,
                dataclasses.replace(
                    d,
                    labels=d.labels[pick],
                    predictions=d.predictions[pick],
                    scores=None if d.scores is None else d.scores[pick],
                    correct=None if d.correct is None else d.correct[pick],
                ),
                {},
            )


def timed(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bootstrap_lines(n: int = 10_000, scenarios: int = 10, resamples: int = 1000) -> tuple[list[str], bool]:
    cand, base = slice_data(n)
    settings = Bootstrap(resamples, 0)
    rows = []
    within = True
    for metric in ("accuracy", "macro_f1", "recall[3]", "mae", "auroc"):
        vectorised = timed(
            lambda metric=metric: [
                paired_differences(metric, cand, base, {}, settings) for _ in range(scenarios)
            ]
        )
        looped = timed(lambda metric=metric: per_resample_loop(metric, cand, base, LOOP_RESAMPLES), repeat=1)
        looped_all = looped * (resamples / LOOP_RESAMPLES) * scenarios
        ok = vectorised < BOOTSTRAP_TARGET_S
        within &= ok or metric == "auroc"
        target = f"< {BOOTSTRAP_TARGET_S:.0f} s" if metric != "auroc" else ""
        rows.append(
            f"| `{metric}` | {vectorised * 1e3:,.0f} ms | {looped_all:,.1f} s | "
            f"{looped_all / vectorised:,.0f}x | {target} |"
        )
    golden = Dataset("bench", np.zeros((n, 1)), cand.labels, ids=[f"x{i:05d}" for i in range(n)])
    default = [
        Scenario(
            f"slice {k}",
            where=lambda d, k=k: np.arange(len(d)) % 10 != k,
            no_regression=("accuracy", "macro_f1", f"recall[{k}]"),
        )
        for k in range(scenarios)
    ]
    whole = timed(lambda: regression_test(cand.predictions, golden, default, base.predictions))
    within &= whole < BOOTSTRAP_TARGET_S
    lines = [
        "",
        f"## The paired tests: {resamples:,} resamples x {n:,} examples x {scenarios} scenarios",
        "",
        "Each line: the paired bootstrap of one metric for both models on the same resamples, "
        f"{scenarios} times (one per scenario), median of 3; next to it the per-resample loop it "
        f"replaced (each resample a new slice, each metric recomputed), measured on 20 resamples in "
        "this run and scaled to the same work.",
        "",
        "| metric | vectorised | per-resample loop (scaled) | speed-up | target |",
        "|---|---|---|---|---|",
        *rows,
        f"| `regression_test`, {scenarios} scenarios of {n - n // 10:,} examples, `no_regression=(accuracy, "
        f"macro_f1, recall[k])`, default rule | {whole * 1e3:,.0f} ms | | | < {BOOTSTRAP_TARGET_S:.0f} s |",
        "",
        "AUROC weights every example by its draw count (no counts of kinds to draw from), one "
        "class at a time for the one-vs-rest mean: it has no target here.",
    ]
    return lines, within


def mcnemar_lines() -> list[str]:
    pairs = [(12, 3), (480, 520), (5_000, 4_800)]
    lines = [
        "",
        "## Exact McNemar, per call",
        "",
        "| flips (worse, better) | Loopline | scipy `binomtest` | ratio |",
        "|---|---|---|---|",
    ]
    try:
        from scipy.stats import binomtest
    except ImportError:  # scipy is not a dependency; the comparison needs it
        binomtest = None
    for worse, better in pairs:
        ours = timed(lambda w=worse, b=better: [mcnemar_exact(w, b) for _ in range(1000)]) / 1000
        if binomtest is None:
            lines.append(f"| {worse:,}, {better:,} | {ours * 1e6:.0f} µs | (scipy not installed) | |")
            continue
        theirs = (
            timed(
                lambda w=worse, b=better: [
                    binomtest(w, w + b, 0.5, alternative="greater") for _ in range(200)
                ]
            )
            / 200
        )
        lines.append(
            f"| {worse:,}, {better:,} | {ours * 1e6:.0f} µs | {theirs * 1e6:.0f} µs | {ours / theirs:.2f}x |"
        )
    return lines


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
    paired, paired_ok = bootstrap_lines()
    lines += [*paired, "", f"Within target: {'yes' if paired_ok else 'NO'}.", *mcnemar_lines()]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines += ["", f"Load average (1 min) at the end: {load:.2f} on {os.cpu_count()} CPUs."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
