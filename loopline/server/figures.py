"""Figures stored as artifacts (matplotlib, plotly), drawn to SVG on the server when the library is there."""

from __future__ import annotations

import io
from typing import Any

FIGURE_TYPES = ("matplotlib.figure:Figure", "plotly.graph_objs._figure:Figure")


class FigureUnavailable(Exception):
    pass


def figure_svg(value: Any) -> bytes:
    """SVG of a matplotlib figure, or of a plotly figure (needs plotly's `kaleido` for images)."""
    if hasattr(value, "savefig"):
        out = io.BytesIO()
        value.savefig(out, format="svg", bbox_inches="tight")
        return out.getvalue()
    to_image = getattr(value, "to_image", None)
    if callable(to_image):
        try:
            return bytes(to_image(format="svg"))
        except Exception as exc:
            raise FigureUnavailable(f"plotly cannot draw this figure here: {exc}") from exc
    raise FigureUnavailable(f"{type(value).__name__} is not a figure")
