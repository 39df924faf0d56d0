"""Running `loopline serve` in the foreground (the command) or in a thread of this process on a
free loopback port (tests, the demo, benchmarks)."""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import threading
import time
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from loopline.serving.app import create_app
from loopline.serving.service import ServeConfig, Service


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass(frozen=True)
class RunningService:
    url: str
    service: Service
    app: FastAPI


def run(service: Service, *, host: str, port: int) -> None:
    """Serve until interrupted (Ctrl-C, SIGTERM); what is logged is written before it returns."""
    uvicorn.run(create_app(service), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


@contextlib.contextmanager
def serve_in_thread(config: ServeConfig | Service, *, host: str = "127.0.0.1") -> Iterator[RunningService]:
    """`config`'s model served by a real uvicorn server in a thread, on a free port of `host`;
    stopped (and its log written) on exit."""
    service = config if isinstance(config, Service) else Service.open(config)
    port = free_port(host)
    app = create_app(service)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
        )
    )
    thread = threading.Thread(target=server.run, name="loopline-serve", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            service.close()
            raise RuntimeError(f"loopline serve did not start on {host}:{port}")
        time.sleep(0.01)
    try:
        yield RunningService(f"http://{host}:{port}", service, app)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
