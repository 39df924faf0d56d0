"""Examples from a table snapshot: which columns are the key, the label, the features and the
metadata (`Dataset.from_table`), checked against the snapshot's schema before any row is read."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from loopline.data import Snapshot
from loopline.errors import UsageError

TABLE_LINEAGE = "table"  # lineage `source` of an example imported from a table


@dataclasses.dataclass(frozen=True)
class TableColumns:
    """The columns of a table snapshot that make a dataset's examples."""

    key: str
    label: str | None
    features: tuple[str, ...]
    metadata: tuple[str, ...]
    single_feature: bool  # `features` named one column: features are its values, not a table

    @classmethod
    def choose(
        cls,
        rows: Snapshot,
        *,
        key: str,
        label: str | None,
        features: str | Sequence[str] | None,
        metadata: Sequence[str],
    ) -> TableColumns:
        present = rows.columns
        named = [key, *([label] if label else []), *_names(features), *metadata]
        missing = [name for name in named if name not in present]
        if missing:
            raise UsageError(
                f"the table has no column {', '.join(map(repr, missing))}; its columns: "
                f"{', '.join(map(repr, present))} (from {rows.origin.describe()})"
            )
        used = {key, label, *metadata}
        chosen = _names(features) if features is not None else [c for c in present if c not in used]
        if not chosen:
            raise UsageError(
                f"no feature columns are left in the table (columns: {', '.join(present)}); "
                "name them with features=[...]"
            )
        return cls(key, label, tuple(chosen), tuple(metadata), isinstance(features, str))

    def examples(self, rows: Snapshot) -> dict[str, Any]:
        """Keyword arguments of `Dataset(name, ...)`: ids (the keys, as text), features, labels,
        metadata, and lineage naming each example's row by its key."""
        import numpy as np

        wanted = list(
            dict.fromkeys([self.key, *([self.label] if self.label else []), *self.features, *self.metadata])
        )
        frame = rows.to_pandas(columns=wanted)
        keys = frame[self.key]
        if keys.isna().any():
            raise UsageError(f"key column {self.key!r} has NULL values; every row needs a key")
        ids = np.asarray(keys.astype(str).to_numpy(), dtype=str)
        repeated = keys[keys.duplicated()].astype(str).unique().tolist()
        if repeated:
            shown = ", ".join(repeated[:5]) + (f" and {len(repeated) - 5} more" if len(repeated) > 5 else "")
            raise UsageError(f"key column {self.key!r} is not unique: repeated keys {shown}")
        if self.single_feature:
            features: Any = _stacked(frame[self.features[0]].to_numpy())
        else:
            features = frame[list(self.features)].reset_index(drop=True)
        return {
            "features": features,
            "labels": None if self.label is None else frame[self.label].to_numpy(),
            "ids": ids,
            "metadata": {name: frame[name].to_numpy() for name in self.metadata} or None,
            "lineage": {"source": np.full(len(ids), TABLE_LINEAGE), "row_key": ids},
        }


def _stacked(values: Any) -> Any:
    """A column of equal-length numeric lists (an embedding, an image's pixels) as one 2-D
    array, rows by length, as a model expects; any other column as it is."""
    import numpy as np

    if values.dtype != object or not len(values):
        return values
    if not all(isinstance(v, (list, np.ndarray)) for v in values):
        return values
    if len({len(v) for v in values}) != 1:
        return values
    stacked = np.stack([np.asarray(v) for v in values])
    return stacked if stacked.dtype.kind in "biuf" else values


def _names(columns: str | Sequence[str] | None) -> list[str]:
    if columns is None:
        return []
    if isinstance(columns, str):
        return [columns]
    return [str(column) for column in columns]
