"""Error-mining benchmark (not part of the test suite).

    .venv/bin/python -m benchmarks.miners_bench [--records 1000000] [--ood-records 100000]
        [--out benchmarks/RESULTS_loop.md]

An InferenceTable of 1,000,000 records with 10 class scores each, 5% of them with feedback
(flags, corrections, confirmations, heuristic verdicts; 50,000 Feedback records folded into the
table's columns), then:

- `low_confidence` (margin, and entropy) over every record: every record is a candidate,
  ranked, each with its reason;
- `feedback` over every record;
- `mine` with both miners and a budget of 40 (merge, de-duplicate, cap);
- `out_of_distribution` over 100,000 records of 64 features against 10,000 training examples
  (k = 5, standardized features, exact k-nearest-neighbour distances).

Targets (issue 5): the low-confidence and feedback miners over 1,000,000 records in at most
10 s; the out-of-distribution miner over 100,000 records of 64 features in at most 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.inference_bench import write_section
from loopline.cl.store.records import Feedback
from loopline.miners import InferenceTable, feedback, low_confidence, mine, out_of_distribution

TARGET_S = 10.0
KINDS = ("flag", "correction", "confirmation", "heuristic")


def table(n: int, seed: int = 0) -> tuple[InferenceTable, list[Feedback]]:
    rng = np.random.default_rng(seed)
    scores = rng.dirichlet(np.full(10, 0.3), size=n)
    request_ids = np.char.add("req-", np.arange(n).astype(str))
    logged = InferenceTable(
        request_ids=request_ids,
        predictions=scores.argmax(axis=1),
        confidence=scores.max(axis=1),
        scores=scores,
    )
    chosen = rng.choice(n, size=n // 20, replace=False)
    kinds = rng.integers(0, 4, size=len(chosen)).tolist()
    when = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    items = [
        Feedback(
            request_ids[i],
            KINDS[k],  # type: ignore[arg-type]
            when,
            "bench",
            label=int(i % 10) if k == 1 else None,
            score=0.7 if k == 3 else None,
        )
        for i, k in zip(chosen.tolist(), kinds, strict=True)
    ]
    return logged, items


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--ood-records", type=int, default=100_000)
    parser.add_argument("--reference", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    logged, items = table(args.records)
    fold_s, folded = timed(lambda: logged.with_feedback(items), args.repeat)
    margin_s, by_margin = timed(lambda: low_confidence(folded), args.repeat)
    entropy_s, _ = timed(lambda: low_confidence(folded, method="entropy"), args.repeat)
    feedback_s, by_feedback = timed(lambda: feedback(folded), args.repeat)
    mine_s, mined = timed(lambda: mine(folded, [feedback, low_confidence], budget=40), args.repeat)

    rng = np.random.default_rng(1)
    training = rng.normal(size=(args.reference, 64))
    inputs = np.vstack([rng.normal(size=(args.ood_records - 100, 64)), rng.normal(4.0, 1.0, size=(100, 64))])
    ood_table = InferenceTable(
        request_ids=np.char.add("ood-", np.arange(args.ood_records).astype(str)),
        predictions=np.zeros(args.ood_records, dtype=int),
        confidence=np.ones(args.ood_records),
    )
    ood_s, novel = timed(lambda: out_of_distribution(ood_table, training, inputs=inputs), args.repeat)
    planted = int(np.isin(novel.ids, ood_table.request_ids[-100:]).sum())

    def row(what: str, seconds: float, found: str, target: bool) -> str:
        verdict = f"<= {TARGET_S:.0f} s" if target else ""
        return f"| {what} | {seconds:.2f} s | {found} | {verdict} |"

    n = f"{args.records:,}"
    lines = [
        f"`python -m benchmarks.miners_bench` on {platform.machine()}, Python {platform.python_version()}, "
        f"numpy {np.__version__}; median of {args.repeat} runs.",
        "",
        "| miner | time | candidates | target |",
        "|---|---|---|---|",
        row(f"folding {len(items):,} feedback records into {n} records", fold_s, "", False),
        row(f"`low_confidence` (margin) over {n} records", margin_s, f"{len(by_margin):,}", True),
        row(f"`low_confidence` (entropy) over {n} records", entropy_s, f"{args.records:,}", True),
        row(f"`feedback` over {n} records", feedback_s, f"{len(by_feedback):,}", True),
        row(f"`mine`: feedback + margin, budget 40, over {n} records", mine_s, f"{len(mined)}", True),
        row(
            f"`out_of_distribution` over {args.ood_records:,} records x 64 features vs {args.reference:,} training examples",
            ood_s,
            f"{len(novel):,} ({planted} of the 100 planted outliers)",
            True,
        ),
        "",
    ]
    worst = max(margin_s, entropy_s, feedback_s + fold_s, mine_s, ood_s)
    lines.append(f"Within target: {'yes' if worst <= TARGET_S else 'NO'}.")
    body = "\n".join(lines)
    print(body)
    if args.out:
        write_section(args.out, "Miners", body)


if __name__ == "__main__":
    main()
