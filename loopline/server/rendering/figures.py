"""Figures stored as artifacts: matplotlib ones drawn to SVG on the server, plotly ones drawn
in the page by plotly.js, which the server serves from the `plotly` package it has installed
(no CDN, so the dashboard works offline)."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path
from typing import Any

MATPLOTLIB_FIGURE = "matplotlib.figure:Figure"
PLOTLY_FIGURE = "plotly.graph_objs._figure:Figure"
FIGURE_TYPES = (MATPLOTLIB_FIGURE, PLOTLY_FIGURE)


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


def plotly_json(value: Any) -> str:
    """A plotly figure as plotly.js draws it: `{"data": [...], "layout": {...}}`."""
    to_json = getattr(value, "to_json", None)
    if not callable(to_json):
        raise FigureUnavailable(f"{type(value).__name__} is not a plotly figure")
    return str(to_json())


def plotly_js() -> Path | None:
    """plotly.js as the installed `plotly` package ships it (found without importing plotly)."""
    spec = importlib.util.find_spec("plotly")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "package_data" / "plotly.min.js"
        if path.is_file():
            return path
    return None
