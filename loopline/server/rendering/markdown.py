"""Notes are Markdown; any HTML in them is shown as text, and only safe links survive."""

from __future__ import annotations

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")


def render_markdown(text: str) -> str:
    html: str = _MD.render(text)  # typed Any by markdown-it: its renderer is pluggable
    return html
