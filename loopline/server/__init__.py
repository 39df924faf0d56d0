"""Loopline's server: the REST API, the live event stream and the web dashboard, in one process.

Build one with `create_app(metadata, artifacts, config)`; `loopline server` runs it with uvicorn.
"""

from __future__ import annotations

from loopline.server.app import create_app
from loopline.server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
