"""Values as pages write them: numbers, table cells, sizes, durations and moments."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from markupsafe import Markup


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m {int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h {int(seconds % 3600 // 60):02d}m"


def moment(when: dt.datetime | None) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if when else ""


def local_time(when: dt.datetime | None) -> Markup:
    """A moment as the page shows it: in UTC here, in the reader's time zone once the page's
    script has run (UTC stays on hover)."""
    if when is None:
        return Markup("")
    utc = moment(when)
    return Markup('<time datetime="{}" data-utc="{}" title="{}">{}</time>').format(
        when.astimezone(dt.UTC).isoformat(), utc, utc, utc
    )


def filesize(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def number(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def cell(value: Any) -> str:
    """A table cell: missing values (None, NaN) read NaN; numbers compactly."""
    if value is None or value == "nan":
        return "NaN"
    return number(value)


def sortkey(value: Any) -> str:
    """What a sortable column sorts by: numbers as numbers, missing values last (empty)."""
    if value is None or value == "nan" or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    return str(value)


BRIEF = 40  # characters


def brief(summary: Any) -> str:
    """A value in a few words, from its summary: `3`, `'sgd'`, `list of 12`, `ndarray 64\u00d764 float32`."""
    if not isinstance(summary, dict):
        return "?"
    kind = summary.get("kind")
    if kind == "none":
        return "None"
    if kind in ("bool", "int", "float", "datetime"):
        text = number(summary.get("value"))
    elif kind in ("str", "enum"):
        text = repr(summary.get("value", ""))
    elif kind in ("list", "tuple", "set", "frozenset", "dict") and "length" in summary:
        text = f"{kind} of {summary['length']:,}"
    elif kind in ("ndarray", "dataframe", "series", "tensor") and "shape" in summary:
        shape = "\u00d7".join(f"{n:,}" for n in summary["shape"])
        text = f"{kind} {shape} {summary.get('dtype', '')}".rstrip()
    else:
        text = str(summary.get("repr") or str(summary.get("type", kind)).rsplit(".", 1)[-1])
    return text if len(text) <= BRIEF else text[: BRIEF - 1] + "…"
