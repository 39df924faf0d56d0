"""Running the server in a background thread on a free loopback port (tests, benchmarks, screenshots)."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

from loopline.server.app import create_app
from loopline.server.config import ServerConfig
from loopline.settings import Settings
from loopline.storage.base import ArtifactStore, MetadataStore


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass(frozen=True)
class RunningServer:
    url: str
    config: ServerConfig
    app: FastAPI

    @property
    def token(self) -> str:
        return self.config.token


@contextlib.contextmanager
def serve(
    metadata: MetadataStore,
    artifacts: ArtifactStore,
    settings: Settings | None = None,
    *,
    poll_s: float = 0.2,
    auth: bool | None = None,
    run_schedules: bool = False,
    **config_fields: Any,
) -> Iterator[RunningServer]:
    """A real uvicorn server on 127.0.0.1 and a free port, stopped on exit. Unlike `loopline
    server`, it runs no schedules unless asked (`run_schedules=True`). Other `ServerConfig`
    fields (`allowed_hosts`, `trusted_user_header`, ...) are passed on."""
    import uvicorn

    port = free_port()
    config = ServerConfig(
        host="127.0.0.1",
        port=port,
        settings=settings,
        poll_s=poll_s,
        auth=auth,
        run_schedules=run_schedules,
        **config_fields,
    )
    app = create_app(metadata, artifacts, config)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=1,
            lifespan="on",
            proxy_headers=False,  # as `loopline server`: only --trusted-proxy addresses name clients
        )
    )
    thread = threading.Thread(target=server.run, name="loopline-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on port {port}")
        time.sleep(0.02)
    try:
        yield RunningServer(f"http://127.0.0.1:{port}", config, app)
    finally:
        app.state.loopline.feed.stop()  # ends open event streams, so shutdown does not wait for them
        server.should_exit = True
        thread.join(timeout=30)
