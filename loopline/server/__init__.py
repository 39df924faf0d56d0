"""Loopline's server: the REST API, the live event stream and the web dashboard, in one process.

Build one with `create_app(metadata, artifacts, config)`; `loopline server` runs it with uvicorn.

Where things live (a module imports only from the lines below its own; tests/server/test_layout.py
checks it):

- `background`: a server in a thread of this process (tests, benchmarks, screenshots);
- `app`: `create_app`, which includes every router explicitly, and the error answers;
- `api/`: the JSON routes under /api/v1, one module per resource; `pages/`: the dashboard's
  pages, one module per part of it, all rendered by `pages/render` (neither imports the other);
- `schemas/`: the API's request and response bodies, in modules named like the API's;
- `rendering/`: data turned into HTML and SVG (the template environment, formats, charts, the
  pipeline graph's layout and drawing, figures, Markdown, examples shown as what they are);
- `lookups` and `queries`: the store reads the API and the pages share;
- `state` (what every route reaches: stores, config, live feed, caches), `security` (the guards
  in front of every route), `sse` (the event-stream wire format);
- `live` (the change feed behind live pages), `config`.
"""

from __future__ import annotations

from loopline.server.app import create_app
from loopline.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
