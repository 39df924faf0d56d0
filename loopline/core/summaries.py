"""Small JSON summaries of values, stored next to each artifact for display.

A summary is a dict with a `kind` the dashboard knows how to draw (`float`, `list`,
`dataclass`, `ndarray`, `dataframe`, `image`, ...). Summaries are bounded in size: long
containers, strings and tables are cut and say how long they really were.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import itertools
import json
import math
from typing import Any

from loopline.core.image import encode_png, to_uint8_pixels
from loopline.core.serialization import JSON, REGISTRY, CodecRegistry, qualified_name, short_repr

MAX_ITEMS = 50  # items shown per container
MAX_NODES = 500  # summarized values in one summary, all containers together
MAX_TEXT = 10_000  # characters of a top-level string
MAX_NESTED_TEXT = 500  # characters of a string inside a container
MAX_KEY = 80  # characters of a dict key
MAX_CELL = 200  # characters of a table cell or array element
MAX_TABLE_ROWS = 100
MAX_TABLE_COLUMNS = 100
MAX_VALUES = 2_500
MAX_INLINE_IMAGE = 1_000_000
MAX_NESTED_DETAIL = 2_000_000  # bytes of array values, rows and images inside containers
# Elements an array's statistics are computed from (a larger array is sampled evenly): their
# temporaries (a float64 copy, masks) then stay a few MiB, not a third of a 100 MiB array.
FULL_STATS_LIMIT = 250_000
_DETAIL_KEYS = ("values", "image", "rows", "index")


def summarize(value: Any, registry: CodecRegistry = REGISTRY) -> dict[str, JSON]:
    """A display summary of any value Loopline can store: JSON (no NaN), bounded in size."""
    return _Summarizer(registry).summarize(value, 0)


class _Summarizer:
    """One summary: containers share a budget of nodes and of bulky details (values, images)."""

    def __init__(self, registry: CodecRegistry) -> None:
        self.registry = registry
        self.nodes_left = MAX_NODES
        self.detail_left = MAX_NESTED_DETAIL

    def summarize(self, value: Any, depth: int) -> dict[str, JSON]:
        self.nodes_left -= 1
        try:
            return self._summarize(value, depth)
        except Exception as exc:  # noqa: BLE001 - a summary must never fail a run
            return {"kind": "object", "type": qualified_name(type(value)), "error": short_repr(exc)}

    def _items(self, items: Any, depth: int) -> list[Any]:
        out: list[dict[str, JSON]] = []
        for item in items:
            if self.nodes_left <= 0 or len(out) >= MAX_ITEMS:
                break
            out.append(self.summarize(item, depth + 1))
        return out

    def _summarize(self, value: Any, depth: int) -> dict[str, JSON]:
        cls = type(value)
        if value is None:
            return {"kind": "none"}
        if cls is bool:
            return {"kind": "bool", "value": value}
        if cls is int:
            return {"kind": "int", "value": value if abs(value) < 2**53 else str(value)}
        if cls is float:
            return {"kind": "float", "value": json_number(value)}
        if cls is str:
            return {
                "kind": "str",
                "value": value[: MAX_NESTED_TEXT if depth else MAX_TEXT],
                "length": len(value),
            }
        if depth > 4:
            return {"kind": "object", "type": qualified_name(cls), "repr": short_repr(value)}
        if cls in (list, tuple, set, frozenset):
            items = value if cls in (list, tuple) else _sorted_prefix(value)
            return {"kind": cls.__name__, "length": len(value), "items": self._items(items, depth)}
        if cls is dict:
            pairs = list(itertools.islice(value.items(), MAX_ITEMS))
            summaries = self._items((item for _, item in pairs), depth)
            items = [[_key(key), summary] for (key, _), summary in zip(pairs, summaries)]
            return {"kind": "dict", "length": len(value), "items": items}
        codec = self.registry.for_value(value)
        if codec is not None:
            return self._bounded_detail(jsonable(codec.summary(value)), depth)
        if cls is bytes:
            return {"kind": "bytes", "length": len(value), "preview": value[:32].hex()}
        if isinstance(value, enum.Enum):
            return {
                "kind": "enum",
                "type": qualified_name(cls),
                "name": str(value.name),
                "value": short_repr(value.value),
            }
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = dataclasses.fields(value)
            summaries = self._items((getattr(value, f.name) for f in fields), depth)
            return {
                "kind": "dataclass",
                "type": qualified_name(cls),
                "fields": {f.name: summary for f, summary in zip(fields, summaries)},
            }
        if isinstance(value, (dt.datetime, dt.date, dt.time)):
            return {"kind": "datetime", "value": value.isoformat()}
        return {"kind": "object", "type": qualified_name(cls), "repr": short_repr(value)}

    def _bounded_detail(self, summary: dict[str, JSON], depth: int) -> dict[str, JSON]:
        """Inside a container, arrays, tables and images keep their values while the shared
        budget lasts; after that, only their shape and statistics."""
        if depth == 0 or not any(key in summary for key in _DETAIL_KEYS):
            return summary
        size = len(json.dumps(summary))
        if size <= self.detail_left:
            self.detail_left -= size
            return summary
        return {**{k: v for k, v in summary.items() if k not in _DETAIL_KEYS}, "truncated": True}


def _key(key: Any) -> str:
    return key[:MAX_KEY] if isinstance(key, str) else short_repr(key, MAX_KEY)


def column_names(frame: Any) -> list[str]:
    """A pandas DataFrame's column labels as summaries (and the rows API) name them."""
    return [_key(c) for c in frame.columns]


def _sorted_prefix(items: Any) -> list[Any]:
    try:
        return sorted(items)[:MAX_ITEMS]
    except TypeError:
        return list(items)[:MAX_ITEMS]


def json_number(value: float) -> float | str:
    """JSON has no NaN or infinity: those become the strings "nan", "inf", "-inf"."""
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def json_safe(value: Any) -> JSON:
    """Any scalar or nested list from numpy/pandas as plain JSON values."""
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value[:MAX_CELL]
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return json_number(value)
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return json_safe(item())
        except (ValueError, TypeError):
            pass
    return short_repr(value, MAX_CELL) if not _is_missing(value) else None


def jsonable(tree: Any) -> JSON:
    """`tree` (a summary, perhaps from user code) with every leaf made plain JSON."""
    if isinstance(tree, dict):
        return {(k if isinstance(k, str) else short_repr(k, MAX_KEY)): jsonable(v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [jsonable(item) for item in tree]
    if isinstance(tree, str):
        return tree
    return json_safe(tree)


def _is_missing(value: Any) -> bool:
    try:
        return bool(value != value)  # NaN, NaT, pd.NA compare unequal to themselves
    except (TypeError, ValueError):
        return False


def ndarray(value: Any) -> dict[str, JSON]:
    import numpy as np

    summary: dict[str, JSON] = {
        "kind": "ndarray",
        "shape": list(value.shape),
        "dtype": str(value.dtype),
        "size": int(value.size),
        "nbytes": int(value.nbytes),
    }
    if value.size and (value.dtype.kind in "biuf"):
        sample = value.reshape(-1)
        if sample.size > FULL_STATS_LIMIT:
            sample = sample[:: math.ceil(sample.size / FULL_STATS_LIMIT)]
            summary["stats_sampled"] = True
        # One strided pass copies the sample out; every statistic then reads contiguous memory
        # (half the time of reading a sampled 100 MiB array through a strided view).
        numeric = np.ascontiguousarray(sample, dtype=np.float64)
        finite_mask = np.isfinite(numeric)
        finite = numeric if finite_mask.all() else numeric[finite_mask]
        summary["stats"] = {
            "min": json_number(float(finite.min())) if finite.size else None,
            "max": json_number(float(finite.max())) if finite.size else None,
            "mean": json_number(float(finite.mean())) if finite.size else None,
            "std": json_number(float(finite.std())) if finite.size else None,
            "nan_count": int(np.isnan(numeric).sum()) if value.dtype.kind == "f" else 0,
        }
    if value.size <= MAX_VALUES:
        summary["values"] = json_safe(value.tolist())
    if _image_like(value):
        png = encode_png(to_uint8_pixels(value))
        if len(png) <= MAX_INLINE_IMAGE:
            summary["image"] = "data:image/png;base64," + base64.b64encode(png).decode()
    return summary


def _image_like(value: Any) -> bool:
    if value.dtype.kind not in "uif" or value.size == 0:
        return False
    shape = value.shape
    if len(shape) == 3 and shape[2] in (1, 3, 4):
        return bool(4 <= shape[0] <= 4096 and 4 <= shape[1] <= 4096)
    return (
        len(shape) == 2
        and 8 <= shape[0] <= 4096
        and 8 <= shape[1] <= 4096
        and shape[0] * shape[1] >= 64
        and value.dtype.kind in "uf"
    )


def pandas(value: Any) -> dict[str, JSON]:
    import pandas as pd

    if isinstance(value, pd.Series):
        value = value.to_frame()
        kind = "series"
    else:
        kind = "dataframe"
    head = value.iloc[:MAX_TABLE_ROWS, :MAX_TABLE_COLUMNS]
    summary: dict[str, JSON] = {
        "kind": kind,
        "shape": list(value.shape),
        "columns": column_names(head),
        "dtypes": [str(t) for t in head.dtypes],
        "index": [json_safe(i) for i in head.index.tolist()],
        "rows": [[json_safe(cell) for cell in row] for row in head.itertuples(index=False, name=None)],
        "truncated": head.shape != value.shape,
    }
    summary.update(column_stats(value.iloc[:, :MAX_TABLE_COLUMNS]))
    return summary


def column_stats(frame: Any) -> dict[str, JSON]:
    """Per column of `frame` (a pandas DataFrame): its dtype and count of missing values, with
    min, max and mean for numbers and the number of distinct values and the commonest one for
    the rest. Over the whole frame while it holds at most FULL_STATS_LIMIT cells; a larger one
    is sampled evenly by rows (`stats_sampled`, `stats_rows`), so the cost stays bounded."""
    rows = len(frame)
    allowed = max(1, FULL_STATS_LIMIT // max(1, frame.shape[1]))
    out: dict[str, JSON] = {}
    if rows > allowed:
        frame = frame.iloc[:: math.ceil(rows / allowed)]
        out.update(stats_sampled=True, stats_rows=len(frame))
    out["column_stats"] = [_column_stats(frame.iloc[:, i]) for i in range(frame.shape[1])]
    return out


def _column_stats(column: Any) -> dict[str, JSON]:
    import numpy as np

    stats: dict[str, JSON] = {"dtype": str(column.dtype)}
    try:
        stats["missing"] = int(column.isna().sum())
        kind = getattr(column.dtype, "kind", "O")
        if kind in "iuf":
            numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
            finite = numbers[np.isfinite(numbers)]
            for name, reduce in (("min", np.min), ("max", np.max), ("mean", np.mean)):
                stats[name] = json_number(float(reduce(finite))) if finite.size else None
        elif kind in "mM":
            present = column.dropna()
            stats["min"] = str(present.min()) if len(present) else None
            stats["max"] = str(present.max()) if len(present) else None
        else:
            try:
                counts = column.value_counts(dropna=True)
            except TypeError:  # unhashable cells (lists, dicts): counted by their text
                counts = column.dropna().astype(str).value_counts()
            stats["distinct"] = len(counts)
            if len(counts):
                stats["top"] = json_safe(counts.index[0])
                stats["top_count"] = int(counts.iloc[0])
    except Exception as exc:  # noqa: BLE001 - an odd column must not cost the table its summary
        stats["error"] = short_repr(exc)
    return stats


def torch_value(value: Any) -> dict[str, JSON]:
    import torch

    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        summary = ndarray(tensor.numpy()) if tensor.dtype not in (torch.bfloat16,) else {}
        summary.update(
            kind="tensor", shape=list(tensor.shape), dtype=str(tensor.dtype), device=str(value.device)
        )
        return summary
    n_params = sum(p.numel() for p in value.parameters())
    return {
        "kind": "torch_module",
        "type": qualified_name(type(value)),
        "parameters": int(n_params),
        "repr": short_repr(value, 4000),
    }


def estimator(value: Any) -> dict[str, JSON]:
    try:
        params = {
            k: json_safe(v) if isinstance(v, (int, float, str, bool, type(None))) else short_repr(v, 120)
            for k, v in value.get_params(deep=False).items()
        }
    except Exception:  # noqa: BLE001 - exotic estimators
        params = {}
    fitted = any(name.endswith("_") and not name.startswith("_") for name in vars(value))
    return {"kind": "estimator", "type": qualified_name(type(value)), "params": params, "fitted": fitted}


def image(value: Any) -> dict[str, JSON]:
    summary: dict[str, JSON] = {
        "kind": "image",
        "mime": value.mime,
        "width": value.width,
        "height": value.height,
        "size": len(value.data),
    }
    if len(value.data) <= MAX_INLINE_IMAGE:
        summary["image"] = f"data:{value.mime};base64," + base64.b64encode(value.data).decode()
    return summary
