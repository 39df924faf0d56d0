"""The digits of the continuous-improvement demo, split the way production would see them.

scikit-learn's `load_digits` (1,797 8x8 images) is split, stratified and seeded, into:

- golden (25%): the regression gate's pinned test set;
- training: 40% of the rest, keeping only 8% of the digits 7, 8 and 9 (a first model that has
  seen few of them, as when a product launches before those cases were collected);
- production (60% of the rest, all digits): traffic the model serves; 30% of it is a held-out
  production slice that is never logged, mined or labeled, where the loop's progress is measured,
  and the other 70% is served in one chunk per round.

The training images reach the demo the way a team's labeled data would: `warehouse()` writes them
to a DuckDB table (`digits_training`: id, label, pixels) and `Dataset.from_table` imports it.

Request ids are `req-NNNN`, NNNN the image's row in load_digits: the oracle reads the held-back
true label of a request from it.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path

import numpy as np

TRAINING_TABLE = "digits_training"
RARE_DIGITS = (7, 8, 9)
KEEP_RARE = 0.08


@dataclasses.dataclass(frozen=True)
class Split:
    features: np.ndarray  # (1797, 64), pixel values 0..16
    labels: np.ndarray
    golden: np.ndarray  # rows of load_digits
    training: np.ndarray
    traffic: np.ndarray  # served to the model, round after round
    held_out: np.ndarray  # the production slice where accuracy is measured


@functools.cache
def split(seed: int = 0) -> Split:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    rows = np.arange(len(digits.target))
    y = digits.target
    rest, golden = train_test_split(rows, test_size=0.25, random_state=seed, stratify=y)
    pool, production = train_test_split(rest, test_size=0.6, random_state=seed, stratify=y[rest])
    rare = np.isin(y[pool], RARE_DIGITS)
    keep = ~rare | (np.random.default_rng(seed).random(len(pool)) < KEEP_RARE)
    held_out, traffic = train_test_split(production, test_size=0.7, random_state=seed, stratify=y[production])
    return Split(
        digits.data, y, golden, pool[keep], np.random.default_rng(seed).permutation(traffic), held_out
    )


def request_id(row: int) -> str:
    return f"req-{row:04d}"


def row_of(example_id: str) -> int:
    """The row in load_digits of a request id (`req-NNNN`, or any id holding the row's number)
    or a dataset example id (`digit-NNNN`)."""
    found = re.search(r"\d+", example_id)
    if found is None:
        raise ValueError(f"{example_id!r} names no row of load_digits")
    return int(found.group())


def example_ids(rows: np.ndarray) -> list[str]:
    return [f"digit-{r:04d}" for r in rows.tolist()]


def warehouse(path: Path, rows: np.ndarray) -> str:
    """Write the images at `rows` to the DuckDB table `digits_training` (id, label, pixels: the
    64 pixel values) at `path`, as a team's labeled-data warehouse would hold them; its URL."""
    import duckdb
    import pyarrow as pa

    digits = split()
    table = pa.table(
        {
            "id": example_ids(rows),
            "label": digits.labels[rows],
            "pixels": pa.FixedSizeListArray.from_arrays(pa.array(digits.features[rows].ravel()), 64),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.register("images", table)
        con.execute(f"CREATE OR REPLACE TABLE {TRAINING_TABLE} AS SELECT * FROM images")
    return f"duckdb:///{path}"
