"""Turning data into HTML and SVG for the pages: the Jinja environment, formats, charts, the
pipeline graph's layout and drawing, figures, Markdown notes, and examples shown as what they are."""
