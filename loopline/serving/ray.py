"""`loopline serve --ray`: the same service on Ray Serve, in as many replicas as asked.

    deploy(ServeConfig("digits@production"), replicas=4, cpus=1, gpus=0, host="0.0.0.0", port=8708)

Each replica is a Ray actor running what `loopline serve` runs in one process: it loads the
version, follows the alias, checks keys and logs every prediction itself (through the same
inference log, to the store the driver's settings name: on a cluster, a team server or a shared
database that every node reaches). Ray Serve's proxy spreads the requests over the replicas
and answers on `host:port`. `gpus` per replica puts each one on its own GPU share (a torch
module's `forward` then runs on the device its parameters are on: move them in a predictor, or
register the module on the GPU). The driver's import path is given to the replicas, so a
predictor found by reference imports there as it does here.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import ray
from fastapi import FastAPI
from ray import serve

from loopline.engine.ray import connect
from loopline.errors import UsageError
from loopline.serving.app import create_app
from loopline.serving.service import ServeConfig, Service
from loopline.settings import Settings

APPLICATION = "loopline"


class ServedReplica:
    """One Ray Serve replica of a served model."""

    def __init__(self, config: ServeConfig, sys_path: tuple[str, ...]) -> None:
        sys.path.extend(p for p in sys_path if p not in sys.path)
        self.service = Service.open(config)

    def __serve_build_asgi_app__(self) -> FastAPI:
        return create_app(self.service)  # its lifespan starts the service and closes it


def deploy(
    config: ServeConfig,
    *,
    replicas: int = 1,
    cpus: float = 1.0,
    gpus: float = 0.0,
    host: str = "127.0.0.1",
    port: int = 8708,
    address: str | None = None,
    name: str = APPLICATION,
) -> str:
    """Deploy `config`'s model on Ray Serve (joining the Ray instance `address` names, or the one
    of this machine, else a new local one); returns the URL it answers on."""
    if replicas < 1 or cpus < 0 or gpus < 0:
        raise UsageError(
            f"--replicas must be at least 1 and --cpus/--gpus 0 or more, got {replicas}, {cpus}, {gpus}"
        )
    settings = config.settings or Settings.from_env()
    # The replicas use the driver's store, each logging from a writer process of its own.
    pinned = dataclasses.replace(config, settings=settings, writer_process=True)
    # Fails here, readably, when the model cannot be served.
    Service.open(dataclasses.replace(pinned, writer_process=False)).close()
    connect(address)
    if gpus and not _cluster_gpus():
        raise UsageError(f"--gpus {gpus:g} per replica, but the Ray cluster has no GPU")
    serve.start(http_options={"host": host, "port": port})
    deployment: Any = serve.deployment(
        serve.ingress()(ServedReplica),
        name=_deployment_name(config.model),
        num_replicas=replicas,
        ray_actor_options={"num_cpus": cpus, "num_gpus": gpus},
    )
    serve.run(deployment.bind(pinned, tuple(sys.path)), name=name, route_prefix="/", blocking=False)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def undeploy(name: str = APPLICATION) -> None:
    """Stop the replicas (each writes what it logged); Ray Serve's proxy stays for the next deploy."""
    serve.delete(name)


def _deployment_name(model: str) -> str:
    return "serve-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in model)


def _cluster_gpus() -> float:
    resources: dict[str, Any] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return float(resources.get("GPU", 0.0))
