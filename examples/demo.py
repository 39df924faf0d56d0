"""`make demo`: the continuous-improvement loop, end to end, on the embedded store.

    python -m examples.demo [--rounds 3] [--budget 40] [--model sklearn|torch]

A digits model trained with few 7s, 8s and 9s (its training images imported from a DuckDB table the
demo writes, as from a team's warehouse) serves production traffic through `loopline serve`
over HTTP; its predictions are logged with partial user feedback; each round mines 40 likely
mistakes, an oracle labels them from the held-back true digits, the model is retrained, gated
against production on the golden scenarios and promoted on a pass (the server then switches to
it). It takes a few seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from examples.continuous_improvement import demo

# Without LOOPLINE_HOME, the demo gets a store of its own, fresh on every run.
DEMO_HOME = Path(__file__).resolve().parents[1] / ".loopline-demo"


def choose_home() -> str:
    """The store to run in: LOOPLINE_HOME when set (it must not hold an earlier demo), else a
    fresh `.loopline-demo/` next to the examples."""
    if os.environ.get("LOOPLINE_HOME"):
        home = os.environ["LOOPLINE_HOME"]
        from examples.continuous_improvement.pipeline import TRAIN
        from loopline import Dataset

        if Dataset.versions(TRAIN):
            sys.exit(
                f"error: {home} already holds a run of this demo (dataset {TRAIN!r}); the demo tells "
                "its story from the start, so give it a fresh LOOPLINE_HOME (or unset it to use "
                f"{DEMO_HOME})"
            )
        return home
    shutil.rmtree(DEMO_HOME, ignore_errors=True)
    os.environ["LOOPLINE_HOME"] = str(DEMO_HOME)
    return str(DEMO_HOME)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the loop")
    parser.add_argument("--budget", type=int, default=40, help="labels per round")
    parser.add_argument("--model", choices=["sklearn", "torch"], default="sklearn", help="what to train")
    args = parser.parse_args(argv)
    home = choose_home()
    print(f"Loopline demo: the continuous-improvement loop on digits (tracked in {home})")
    print(
        f"  a first {args.model} model trained with 8% of the 7s, 8s and 9s (imported from the DuckDB table\n"
        f"  digits_training in {home}/warehouse.duckdb) serves production; each round mines\n"
        f"  {args.budget} likely mistakes from the logged traffic and user feedback, an oracle labels them,\n"
        "  the model is retrained, gated against production on the golden scenarios, promoted on a pass\n"
    )
    started = time.monotonic()
    print(demo.HEADER)
    table = demo.run(
        rounds=args.rounds,
        budget=args.budget,
        trainer=args.model,
        on_row=lambda row: print(demo.format_row(row), flush=True),
    )
    gain = table[-1].accuracy - table[0].accuracy
    print(
        f"\nProduction-slice accuracy {table[0].accuracy:.1%} -> {table[-1].accuracy:.1%} "
        f"({gain * 100:+.1f} points) in {len(table) - 1} rounds, {time.monotonic() - started:.0f} s.\n"
    )
    print(f"See it all in the dashboard: LOOPLINE_HOME={home} .venv/bin/loopline server")
    print("  then open http://127.0.0.1:8707")
    print(
        "  /loops/digits-loop (the rounds), /inferences (logged traffic and feedback), /labeling (the queue)"
    )
    print(f"Or from the command line (with the same LOOPLINE_HOME={home}):")
    print("  the labeling queue  .venv/bin/loopline label ls")
    print("  dataset versions    .venv/bin/loopline datasets versions digits-train")
    print("  promotions          .venv/bin/loopline models history digits")
    print(
        f"Serve the production model yourself: LOOPLINE_HOME={home} .venv/bin/loopline serve digits@production"
    )
    print("  then POST /predict on http://127.0.0.1:8708 (schema at /docs; docs/serving.md)")


if __name__ == "__main__":
    main()
