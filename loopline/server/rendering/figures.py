"""Figures stored as artifacts: matplotlib ones drawn to SVG on the server, plotly ones drawn
in the page by plotly.js, which the server serves from the `plotly` package it has installed
(no CDN, so the dashboard works offline)."""

from __future__ import annotations

import functools
import importlib.util
import io
import json
import re
from pathlib import Path
from typing import Any

# plotly.js writes its style rules into style elements it adds, which the dashboard's policy
# refuses; it leaves each to a style sheet the page links instead, found by the element's id:
# its own rules (id "plotly.js-style-global", class "no-inline-styles") are a table in
# plotly.min.js, `T={"X,X div":"...",...};for(k in T)...replace(/X/g,"...").replace(/Y/g,"...")`;
# a bundled library's are `if(!document.getElementById("<hash>")){...e.textContent='...'`.
PLOTLY_RULES = "plotly.js-style-global"
_TABLE_START, _TABLE_END = '={"X,X div":', "};for("
_NAMES = re.compile(r'[^;]*?\.replace\(/X/g,"([^"]+)"\)\.replace\(/Y/g,"([^"]+)"\)')
_STRING = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'"
_STYLE_RULE = re.compile(rf"({_STRING})\s*:\s*({_STRING})")
_BUNDLED_SHEET = re.compile(
    r'document\.getElementById\("([0-9a-f]{16,})"\)\)\{var (\w+)=document\.createElement\("style"\);'
    rf'\2\.id="\1",\2\.textContent=({_STRING})'
)

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


def plotly_sheets() -> dict[str, str]:
    """The style sheets plotly.js would write into the page, by the id it looks for; none without
    plotly.js (a sheet this cannot find is drawn without, never with the policy loosened)."""
    path = plotly_js()
    return {} if path is None else _plotly_sheets(path)


@functools.cache
def _plotly_sheets(path: Path) -> dict[str, str]:
    script = path.read_text(encoding="utf-8")
    sheets = {found[0]: _literal(found[2]) for found in _BUNDLED_SHEET.findall(script)}
    rules = _plotly_rules(script)
    return sheets if rules is None else {PLOTLY_RULES: rules, **sheets}


def _plotly_rules(script: str) -> str | None:
    start = script.find(_TABLE_START)
    end = script.find(_TABLE_END, start)
    names = _NAMES.match(script, end + len(_TABLE_END)) if start >= 0 and end >= 0 else None
    if names is None:
        return None
    plot, notifier = names.groups()
    rules = []
    for selector, declarations in _STYLE_RULE.findall(script, start + 2, end):
        chosen = re.sub("^,", " ,", _literal(selector)).replace("X", plot).replace("Y", notifier)
        rules.append(f"{chosen} {{{_literal(declarations)}}}")
    return "\n".join(rules) + "\n" if rules else None


def _literal(text: str) -> str:
    """A JavaScript string literal's value (either quote)."""
    if text.startswith("'"):
        text = '"' + text[1:-1].replace("\\'", "'").replace('"', '\\"') + '"'
    return str(json.loads(text))
