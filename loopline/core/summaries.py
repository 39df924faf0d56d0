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
import math
from typing import Any

from loopline.core.serialization import JSON, REGISTRY, CodecRegistry, qualified_name, short_repr

MAX_ITEMS = 50
MAX_TEXT = 10_000
MAX_TABLE_ROWS = 100
MAX_VALUES = 2_500
MAX_INLINE_IMAGE = 1_000_000
FULL_STATS_LIMIT = 2_000_000


def summarize(value: Any, registry: CodecRegistry = REGISTRY, depth: int = 0) -> dict[str, JSON]:
    """A display summary of any value Loopline can store."""
    try:
        return _summarize(value, registry, depth)
    except Exception as exc:  # noqa: BLE001 - a summary must never fail a run
        return {"kind": "object", "type": qualified_name(type(value)), "error": str(exc)}


def _summarize(value: Any, registry: CodecRegistry, depth: int) -> dict[str, JSON]:
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
        return {"kind": "str", "value": value[:MAX_TEXT], "length": len(value)}
    if depth > 4:
        return {"kind": "object", "type": qualified_name(cls), "repr": short_repr(value)}
    if cls in (list, tuple, set, frozenset):
        items = list(value)[:MAX_ITEMS] if cls in (list, tuple) else _sorted_prefix(value)
        return {
            "kind": cls.__name__,
            "length": len(value),
            "items": [summarize(item, registry, depth + 1) for item in items],
        }
    if cls is dict:
        pairs = list(value.items())[:MAX_ITEMS]
        return {
            "kind": "dict",
            "length": len(value),
            "items": [[short_repr(k, 80) if not isinstance(k, str) else k, summarize(v, registry, depth + 1)] for k, v in pairs],
        }
    codec = registry.for_value(value)
    if codec is not None:
        return codec.summary(value)
    if cls is bytes:
        return {"kind": "bytes", "length": len(value), "preview": value[:32].hex()}
    if isinstance(value, enum.Enum):
        return {"kind": "enum", "type": qualified_name(cls), "name": value.name, "value": short_repr(value.value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "kind": "dataclass",
            "type": qualified_name(cls),
            "fields": {f.name: summarize(getattr(value, f.name), registry, depth + 1) for f in dataclasses.fields(value)},
        }
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return {"kind": "datetime", "value": value.isoformat()}
    return {"kind": "object", "type": qualified_name(cls), "repr": short_repr(value)}


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
    if value is None or isinstance(value, (bool, str)):
        return value
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
    return short_repr(value, 80) if not _is_missing(value) else None


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
        numeric = sample.astype(np.float64, copy=False)
        finite = numeric[np.isfinite(numeric)]
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
        from loopline.core.image import encode_png, to_uint8_pixels

        png = encode_png(to_uint8_pixels(value))
        if len(png) <= MAX_INLINE_IMAGE:
            summary["image"] = "data:image/png;base64," + base64.b64encode(png).decode()
    return summary


def _image_like(value: Any) -> bool:
    if value.dtype.kind not in "uif" or value.size == 0:
        return False
    shape = value.shape
    if len(shape) == 3 and shape[2] in (1, 3, 4):
        return 4 <= shape[0] <= 4096 and 4 <= shape[1] <= 4096
    return len(shape) == 2 and 8 <= shape[0] <= 4096 and 8 <= shape[1] <= 4096 and shape[0] * shape[1] >= 64 and value.dtype.kind in "uf"


def pandas(value: Any) -> dict[str, JSON]:
    import pandas as pd

    if isinstance(value, pd.Series):
        value = value.to_frame()
        kind = "series"
    else:
        kind = "dataframe"
    head = value.head(MAX_TABLE_ROWS)
    return {
        "kind": kind,
        "shape": list(value.shape),
        "columns": [str(c) for c in value.columns],
        "dtypes": [str(t) for t in value.dtypes],
        "index": [json_safe(i) for i in head.index.tolist()],
        "rows": [[json_safe(cell) for cell in row] for row in head.itertuples(index=False, name=None)],
        "truncated": len(value) > MAX_TABLE_ROWS,
    }


def torch_value(value: Any) -> dict[str, JSON]:
    import torch

    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        summary = ndarray(tensor.numpy()) if tensor.dtype not in (torch.bfloat16,) else {}
        summary.update(kind="tensor", shape=list(tensor.shape), dtype=str(tensor.dtype), device=str(value.device))
        return summary
    n_params = sum(p.numel() for p in value.parameters())
    return {"kind": "torch_module", "type": qualified_name(type(value)), "parameters": int(n_params), "repr": short_repr(value, 4000)}


def estimator(value: Any) -> dict[str, JSON]:
    try:
        params = {k: json_safe(v) if isinstance(v, (int, float, str, bool, type(None))) else short_repr(v, 120) for k, v in value.get_params(deep=False).items()}
    except Exception:  # noqa: BLE001 - exotic estimators
        params = {}
    fitted = any(name.endswith("_") and not name.startswith("_") for name in vars(value))
    return {"kind": "estimator", "type": qualified_name(type(value)), "params": params, "fitted": fitted}


def image(value: Any) -> dict[str, JSON]:
    summary: dict[str, JSON] = {"kind": "image", "mime": value.mime, "width": value.width, "height": value.height, "size": len(value.data)}
    if len(value.data) <= MAX_INLINE_IMAGE:
        summary["image"] = f"data:{value.mime};base64," + base64.b64encode(value.data).decode()
    return summary
