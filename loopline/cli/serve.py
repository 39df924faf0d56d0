"""`loopline serve MODEL@ALIAS`: a registered model over HTTP, every prediction logged."""

from __future__ import annotations

import logging
import time
from typing import Any

import click

from loopline.serving.service import ServeConfig, Service


@click.command()
@click.argument("model")
@click.option(
    "--predictor",
    metavar="FILE.py:NAME",
    help="A @loopline.predictor (FILE.py:NAME or package.module:NAME) for pre/post-processing; "
    "default: the model's own predict_proba/predict (scikit-learn) or forward (torch).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8708, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on."
)
@click.option(
    "--poll",
    "poll_s",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds between looks at the alias: a promotion is served within this plus the load.",
)
@click.option(
    "--require-key",
    is_flag=True,
    help="Team mode: /predict and /feedback need an API key of the team (checked with the team server).",
)
@click.option(
    "--key-cache",
    "key_ttl_s",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds a key's check is kept (a key revoked on the team server stops working within it).",
)
@click.option(
    "--flush-interval",
    "flush_interval_s",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="Seconds after which logged predictions are written (sooner in batches of 1,000).",
)
@click.option(
    "--max-batch",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Inputs per request at most.",
)
@click.option(
    "--ray", "use_ray", is_flag=True, help="Deploy on Ray Serve (replicas, CPUs and GPUs per replica)."
)
@click.option(
    "--ray-address",
    metavar="ADDRESS",
    help="The Ray cluster to deploy on (implies --ray; default: RAY_ADDRESS, this machine's, or a new local one).",
)
@click.option(
    "--replicas", default=1, show_default=True, type=click.IntRange(min=1), help="With --ray: replicas."
)
@click.option(
    "--cpus",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="With --ray: CPUs per replica.",
)
@click.option(
    "--gpus",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="With --ray: GPUs per replica.",
)
def serve(
    model: str,
    predictor: str | None,
    host: str,
    port: int,
    poll_s: float,
    require_key: bool,
    key_ttl_s: float,
    flush_interval_s: float,
    max_batch: int,
    use_ray: bool,
    ray_address: str | None,
    replicas: int,
    cpus: float,
    gpus: float,
) -> None:
    """Serve MODEL (digits@production, digits@3) over HTTP: POST /predict, POST /feedback,
    GET /health, the schema at /docs. Every prediction is logged with the version that made it;
    when the alias moves (a promotion, a rollback) the new version is loaded in the background
    and swapped in without failing a request.

    It reads the registry and logs to the store of LOOPLINE_HOME (or LOOPLINE_DATABASE_URL), or,
    in team mode, through LOOPLINE_SERVER with LOOPLINE_API_KEY (an editor's key).

    \b
        loopline serve digits@production --port 8708
        curl -X POST localhost:8708/predict -H 'content-type: application/json' -d '{"input": [0, 3, ...]}'
    """
    config = ServeConfig(
        model,
        predictor=predictor,
        poll_s=poll_s,
        require_key=require_key,
        key_ttl_s=key_ttl_s,
        flush_interval_s=flush_interval_s,
        max_batch=max_batch,
        writer_process=True,
    )
    logging.getLogger("loopline.serving").setLevel(logging.INFO)
    logging.basicConfig(format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    if use_ray or ray_address:
        _serve_on_ray(config, host, port, ray_address, replicas, cpus, gpus)
        return
    # FastAPI and uvicorn load when this command runs, not for every command.
    from loopline.serving.background import run

    service = Service.open(config)
    served = service.current
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"serving {served.ref} as {model} on http://{shown}:{port}/ (schema: /docs)")
    click.echo(f"  predictor {served.predictor.name}; input {_describe(served.input.describe())}")
    click.echo(f"  watching {model} every {poll_s:g} s; predictions logged to {service.store}")
    if require_key:
        click.echo("  /predict and /feedback need an API key of the team")
    run(service, host=host, port=port)


def _serve_on_ray(
    config: ServeConfig, host: str, port: int, address: str | None, replicas: int, cpus: float, gpus: float
) -> None:
    from loopline.serving.ray import deploy, undeploy

    url = deploy(config, replicas=replicas, cpus=cpus, gpus=gpus, host=host, port=port, address=address)
    click.echo(
        f"serving {config.model} on Ray Serve at {url}/ ({replicas} replica(s), {cpus:g} CPU, {gpus:g} GPU each)"
    )
    click.echo("Ctrl-C stops the replicas (each writes what it logged)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopping the replicas")
        undeploy()


def _describe(spec: dict[str, Any]) -> str:
    if spec["kind"] == "array":
        return f"an array of shape {tuple(spec['shape'])} ({spec['dtype']})"
    if spec["kind"] == "record":
        return "an object with the fields " + ", ".join(spec["fields"])
    return "any JSON value (the model declares none)"
