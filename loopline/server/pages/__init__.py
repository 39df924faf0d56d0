"""The dashboard's HTML pages and the fragments its script swaps in (server-rendered, Jinja2), one
router per part of the dashboard, and `render`, which every page goes through."""
