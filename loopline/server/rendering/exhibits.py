"""Examples shown as what they are: an "image 8x8" as a picture, a table row as fields, a text as
text. Datasets, regression reports, logged inferences and labeling tasks all render through here.

Everything returned is plain strings (escaped by the templates) plus PNG data URIs made here.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from loopline.cl.datasets import examples as columns
from loopline.cl.datasets.dataset import Dataset
from loopline.core.image import Image, encode_png, sniff_mime
from loopline.server.rendering.formats import number

Kind = Literal["image", "text", "row", "array", "value"]
IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp")
TEXT_LIMIT = 2000
ARRAY_LIMIT = 48
ROW_LIMIT = 40
IMAGE_BOX = 72.0  # small pictures are scaled up to about this many pixels
IMAGE_MAX = 180.0
MAX_SIDE = 256  # pixels encoded per side at most
MAX_IMAGE_BYTES = 2 << 20


@dataclasses.dataclass(frozen=True)
class Shown:
    """One value as a page draws it."""

    kind: Kind
    image: str = ""  # a data: URI (PNG, or an image's own bytes)
    width: int = 0  # pixels on the page
    height: int = 0
    text: str = ""
    row: tuple[tuple[str, str], ...] = ()
    caption: str = ""  # shape, length: what the drawing leaves out


@dataclasses.dataclass(frozen=True)
class Example:
    """An example of a dataset (or a logged input) with what is known about it."""

    id: str
    shown: Shown
    label: str | None = None
    tags: tuple[str, ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()
    lineage: tuple[tuple[str, str], ...] = ()


def text_of(value: Any) -> str:
    """A label, a prediction or a metadata value, compactly."""
    if value is None:
        return "—"
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, (bool, int, float)):
        return number(value)
    text = str(value)
    return text if len(text) <= 200 else text[:199] + "…"


def image_shape(display: str) -> tuple[int, ...] | None:
    """(8, 8) for "image 8x8"; None when the hint names no shape."""
    kind, _, shape = display.partition(" ")
    if kind != "image" or not shape:
        return None
    return tuple(int(part) for part in shape.split("x"))


def value_range(values: Any) -> tuple[float, float] | None:
    """The range of numeric features, so images of one page share one brightness scale."""
    import numpy as np

    array = np.asarray(values) if hasattr(values, "shape") and not columns.is_dataframe(values) else None
    if array is None or array.dtype.kind not in "biuf" or array.size == 0:
        return None
    finite = array[np.isfinite(array)]
    return (float(finite.min()), float(finite.max())) if finite.size else None


def show(value: Any, display: str = "", scale: tuple[float, float] | None = None) -> Shown:
    """One feature value (an array row, a text, a DataFrame row as a dict...) shown by `display`
    ("image 8x8", "image", "text", "table", "array", or "" to decide from the value)."""
    kind = display.partition(" ")[0]
    if kind == "image" or (not kind and _looks_like_image(value)):
        picture = _image(value, image_shape(display), scale)
        if picture is not None:
            return picture
    if kind == "text" or isinstance(value, str):
        text = str(value)
        caption = f"{len(text):,} characters" if len(text) > TEXT_LIMIT else ""
        return Shown("text", text=text[:TEXT_LIMIT], caption=caption)
    if isinstance(value, Mapping):
        items = list(value.items())
        caption = f"{len(items)} fields, first {ROW_LIMIT} shown" if len(items) > ROW_LIMIT else ""
        return Shown("row", row=tuple((str(k), text_of(v)) for k, v in items[:ROW_LIMIT]), caption=caption)
    if hasattr(value, "shape") or isinstance(value, (list, tuple)):
        return _array(value, as_row=kind == "table")
    return Shown("value", text=text_of(value))


def _looks_like_image(value: Any) -> bool:
    shape = getattr(value, "shape", None)
    return isinstance(value, Image) or (shape is not None and len(shape) in (2, 3) and min(shape[:2]) >= 4)


def _image(value: Any, shape: tuple[int, ...] | None, scale: tuple[float, float] | None) -> Shown | None:
    import numpy as np

    if isinstance(value, (Image, bytes)):
        data = value.data if isinstance(value, Image) else value
        mime = sniff_mime(data)
        if mime not in IMAGE_MIMES or len(data) > MAX_IMAGE_BYTES:
            return None
        width = (value.width if isinstance(value, Image) else None) or 96
        height = (value.height if isinstance(value, Image) else None) or 96
        w, h = _fit(int(width), int(height))
        return Shown("image", image=_data_uri(mime, data), width=w, height=h, caption=mime)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if shape is not None and array.size == math.prod(shape):
        array = array.reshape(shape)
    elif array.ndim == 1 and math.isqrt(array.size) ** 2 == array.size and array.size >= 16:
        side = math.isqrt(array.size)
        array = array.reshape(side, side)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or array.size == 0:
        return None
    step = math.ceil(max(array.shape[:2]) / MAX_SIDE)
    if step > 1:  # a page of large pictures stays light: every step-th pixel is enough to recognise it
        array = array[::step, ::step]
    low, high = scale if scale is not None else (float(np.nanmin(array)), float(np.nanmax(array)))
    if low >= 0.0 and high <= 1.0:
        low, high = 0.0, 1.0
    span = high - low if high > low else 1.0
    pixels = np.clip(np.rint(np.nan_to_num((array - low) / span * 255.0)), 0, 255).astype(np.uint8)
    w, h = _fit(array.shape[1], array.shape[0])
    caption = "x".join(str(n) for n in array.shape)
    return Shown(
        "image",
        image=_data_uri("image/png", encode_png(np.ascontiguousarray(pixels))),
        width=w,
        height=h,
        caption=caption,
    )


def _fit(width: int, height: int) -> tuple[int, int]:
    """Small pictures scaled up by a whole factor (crisp pixels), large ones down."""
    longest = max(width, height, 1)
    factor = (
        max(1.0, math.floor(IMAGE_BOX / longest)) if longest < IMAGE_BOX else min(1.0, IMAGE_MAX / longest)
    )
    return max(1, round(width * factor)), max(1, round(height * factor))


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _array(value: Any, *, as_row: bool) -> Shown:
    import numpy as np

    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return Shown("value", text=text_of(value))
    flat = array.reshape(-1).tolist() if array.ndim else [array.tolist()]
    if as_row and array.ndim == 1:
        return Shown("row", row=tuple((str(i), text_of(v)) for i, v in enumerate(flat[:ROW_LIMIT])))
    shown = ", ".join(text_of(v) for v in flat[:ARRAY_LIMIT]) + (", …" if len(flat) > ARRAY_LIMIT else "")
    caption = "shape " + "x".join(str(n) for n in array.shape) if array.ndim > 1 else f"{len(flat)} values"
    return Shown("array", text=f"[{shown}]", caption=caption)


def rows_of(features: Any, positions: Sequence[int]) -> list[Any]:
    """The features of these examples, one value each (a DataFrame's rows become dicts)."""
    import numpy as np

    taken = columns.take(features, np.asarray(positions, dtype=np.intp))
    if columns.is_dataframe(taken):
        names = [str(c) for c in taken.columns]
        return [dict(zip(names, row)) for row in taken.itertuples(index=False, name=None)]
    return list(taken)


def dataset_examples(dataset: Dataset, positions: Sequence[int]) -> list[Example]:
    """These examples of `dataset` (positions into it), shown by its display hint."""
    import numpy as np

    at = np.asarray(positions, dtype=np.intp)
    values = rows_of(dataset.features, at.tolist())
    scale = value_range(columns.take(dataset.features, at)) if len(at) else None
    found = []
    for i, value in zip(at.tolist(), values):
        found.append(
            Example(
                id=str(dataset.ids[i]),
                shown=show(value, dataset.display, scale),
                label=None if dataset.labels is None else text_of(dataset.labels[i]),
                tags=tuple(sorted(tag for tag, mask in dataset.tags.items() if mask[i])),
                metadata=tuple((k, text_of(v[i])) for k, v in dataset.metadata.items()),
                lineage=tuple(
                    (k, text_of(v[i])) for k, v in dataset.lineage.items() if text_of(v[i]) not in ("", "—")
                ),
            )
        )
    return found


def counts(values: Any, limit: int = 12) -> list[tuple[str, int]]:
    """The most frequent values of a column, with their counts (most frequent first)."""
    import numpy as np

    found, n = np.unique(np.asarray(values).astype(str), return_counts=True)
    order = np.argsort(-n, kind="stable")[:limit]
    return [(text_of(str(found[i])), int(n[i])) for i in order.tolist()]


@dataclasses.dataclass(frozen=True)
class ColumnSummary:
    """A lineage column: its most frequent values, or only how many distinct ones when each
    example has its own (request ids, task ids)."""

    name: str
    values: list[tuple[str, int]]
    distinct: int
    filled: int  # examples with a value


def lineage_summary(dataset: Dataset, limit: int = 12) -> list[ColumnSummary]:
    import numpy as np

    found = []
    for name in sorted(dataset.lineage, key=lambda k: (k != "source", k)):
        column = np.asarray(dataset.lineage[name]).astype(str)
        filled = column[(column != "") & (column != "None") & (column != "nan")]
        values, n = np.unique(filled, return_counts=True)
        order = np.argsort(-n, kind="stable")[:limit]
        shown = [(str(values[i]), int(n[i])) for i in order.tolist()] if len(values) <= limit * 2 else []
        found.append(ColumnSummary(name, shown, len(values), len(filled)))
    return found
