"""Small HTML for notebooks: what the `_repr_html_` of runs, reports, datasets and models is made of.

Jupyter shows an object's `_repr_html_()` instead of its `repr`. Each display is a compact card:
a title, a few facts, sometimes a table, and a link to the same object in the dashboard when a
dashboard is known (`loopline.dashboard_url(...)`, else `LOOPLINE_SERVER`). Everything shown is
escaped here, styles are inline (notebook viewers drop style sheets) and there are no scripts.
"""

from __future__ import annotations

import base64
import html
import math
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from loopline.core.image import Image, encode_png, to_uint8_pixels

TONES = {
    "ok": ("#0a7a33", "#e3f5e9"),
    "bad": ("#b3261e", "#fce8e6"),
    "warn": ("#8a5a00", "#fff4d6"),
    "info": ("#1a56b0", "#e6eefb"),
    "muted": ("#555", "#eee"),
}
_FONT = "font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:13px;line-height:1.4"
_CELL = (
    "padding:1px 8px;text-align:left;border-bottom:1px solid #e5e5e5;vertical-align:top;white-space:nowrap"
)
MAX_ROWS = 30  # table rows shown; the rest are counted
THUMBNAIL_PX = 48


class Markup(str):
    """Text that is HTML already (built here): `render` leaves it as it is."""


def escape(value: Any) -> Markup:
    return value if isinstance(value, Markup) else Markup(html.escape(str(value), quote=True))


def render(value: Any) -> Markup:
    """A value as HTML: Markup as it is, None as a dash, numbers rounded, anything else escaped."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("—")
    item = getattr(value, "item", None)  # a numpy scalar shows as the number it holds
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()
    if isinstance(value, float):
        return Markup("n/a" if math.isnan(value) else f"{value:.4g}")
    return escape(value)


def badge(text: str, tone: str = "muted") -> Markup:
    color, background = TONES.get(tone, TONES["muted"])
    return Markup(
        f'<span style="color:{color};background:{background};border-radius:8px;padding:0 6px;'
        f'font-weight:600">{escape(text)}</span>'
    )


def code(text: str) -> Markup:
    return Markup(f"<code>{escape(text)}</code>")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, total: int | None = None) -> Markup:
    """Rows (values escaped by `render`), the first MAX_ROWS of them, with a count of the rest."""
    listed = list(rows)
    shown = listed[:MAX_ROWS]
    count = len(listed) if total is None else total
    head = "".join(f'<th style="{_CELL};font-weight:600">{escape(h)}</th>' for h in headers)
    body = "".join("<tr>" + "".join(_cell(render(v)) for v in row) + "</tr>" for row in shown)
    more = f'<div style="color:#666">… and {count - len(shown)} more</div>' if count > len(shown) else ""
    return Markup(
        f'<table style="border-collapse:collapse;margin:4px 0"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>{more}"
    )


def _cell(content: Markup) -> str:
    wrap = ";white-space:normal;min-width:240px" if len(content) > 60 and "<" not in content else ""
    return f'<td style="{_CELL}{wrap}">{content}</td>'


def card(
    title: Any, facts: Sequence[tuple[str, Any]] = (), body: Markup | str = "", *, link: str = ""
) -> str:
    """A compact box: the title, `facts` as label/value pairs on one wrapping line, a body."""
    items = " · ".join(
        f'<span style="color:#666">{escape(k)}</span> {render(v)}' for k, v in facts if v is not None
    )
    return (
        f'<div style="{_FONT};border:1px solid #ddd;border-radius:6px;padding:6px 10px;margin:2px 0">'
        f'<div style="font-weight:600">{render(title)}{dashboard_link(link)}</div>'
        + (f"<div>{items}</div>" if items else "")
        + (str(body) if body else "")
        + "</div>"
    )


# -- the dashboard's address ----------------------------------------------------------------------


class _Dashboard:
    """The address set by `loopline.dashboard_url(...)` in this process (None: not set)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.url: str | None = None


_DASHBOARD = _Dashboard()


def dashboard_url(url: str | None = None) -> str | None:
    """Where the dashboard is, for the links in notebook displays: `loopline.dashboard_url(URL)`
    sets it for this process (`""` forgets it again); without an argument it returns the one in
    use: the one set, else `LOOPLINE_SERVER` (a team server serves the dashboard too), else None."""
    with _DASHBOARD.lock:
        if url is not None:
            _DASHBOARD.url = url.strip().rstrip("/") or None
        chosen = _DASHBOARD.url
    if chosen is not None:
        return chosen
    server = os.environ.get("LOOPLINE_SERVER", "").strip().rstrip("/")
    return server or None


def dashboard_path(*parts: str) -> str:
    """A dashboard page's path, each part URL-quoted (`/` kept: dataset names may hold it)."""
    return "/" + "/".join(quote(str(part), safe="/") for part in parts)


def dashboard_link(path: str) -> Markup:
    """A small link to `path` in the dashboard, or nothing when no dashboard is known."""
    base = dashboard_url() if path else None
    if base is None:
        return Markup("")
    return Markup(
        f' <a href="{escape(base + path)}" target="_blank" rel="noopener" '
        'style="font-weight:normal;font-size:12px">open in dashboard ↗</a>'
    )


# -- pictures ---------------------------------------------------------------------------------


def gallery(items: Iterable[tuple[Markup, str]], *, total: int) -> Markup:
    """Pictures side by side, each with a caption (`items`: picture, caption text)."""
    shown = [
        f'<div style="display:inline-block;margin:2px 6px 2px 0;text-align:center;font-size:11px;'
        f'vertical-align:top">{picture}<div>{escape(caption)}</div></div>'
        for picture, caption in items
    ]
    more = f'<div style="color:#666">… and {total - len(shown)} more</div>' if total > len(shown) else ""
    return Markup(f"<div>{''.join(shown)}</div>{more}")


def thumbnail(value: Any, display: str = "") -> Markup | None:
    """A small picture of an example's features when they are an image (an `Image`, or an array
    shaped by a display hint such as "image 8x8"); None when they are not."""
    if isinstance(value, Image):
        data, mime = value.data, value.mime
    else:
        kind, _, shape = display.partition(" ")
        if kind != "image" or not hasattr(value, "shape"):
            return None
        try:
            pixels = value.reshape([int(p) for p in shape.split("x")]) if shape else value
            data, mime = encode_png(to_uint8_pixels(pixels)), "image/png"
        except Exception:  # noqa: BLE001 - a picture that cannot be drawn is simply not shown
            return None
    if not mime.startswith("image/"):
        return None
    uri = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return Markup(
        f'<img src="{escape(uri)}" width="{THUMBNAIL_PX}" height="{THUMBNAIL_PX}" '
        'style="image-rendering:pixelated;border:1px solid #ddd" alt="example">'
    )
