"""`loopline server`: the API and dashboard over the store the CLI and runners write."""

from __future__ import annotations

import dataclasses

import click

from loopline.errors import UsageError


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8707, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on."
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a --host other machines can reach (they can then start and cancel runs).",
)
@click.option(
    "--token",
    envvar="LOOPLINE_SERVER_TOKEN",
    help="Session token for state-changing API calls (default: a random one).",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    envvar="LOOPLINE_API_KEY",
    help="Key programs send (Authorization: Bearer KEY) to POST inferences and feedback; repeatable. "
    "Without one, only programs on this machine may.",
)
@click.option("--no-schedules", is_flag=True, help="Do not run due schedules in this process.")
def server(
    host: str, port: int, allow_remote: bool, token: str | None, api_keys: tuple[str, ...], no_schedules: bool
) -> None:
    """Serve the dashboard and the REST API (live runs, logs, artifacts, reruns), and run due
    schedules in the background.

    It reads the same store as `loopline run` (LOOPLINE_HOME, default ~/.loopline), so runs
    started from a terminal appear live.
    """
    import uvicorn

    from loopline.server import ServerConfig, create_app
    from loopline.settings import Settings
    from loopline.storage.embedded import open_stores

    if token is not None and len(token) < 16:
        raise UsageError("--token must be at least 16 characters")
    settings = Settings.from_env()
    config = ServerConfig(
        host=host,
        port=port,
        allow_remote=allow_remote,
        settings=settings,
        api_keys=tuple(k for key in api_keys for k in key.split(",") if k),
        run_schedules=not no_schedules,
    )
    if token:
        config = dataclasses.replace(config, token=token)
    metadata, artifacts = open_stores(settings)
    app = create_app(metadata, artifacts, config)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Loopline dashboard: http://{shown}:{port}/   (store: {settings.home})")
    click.echo(f"API token for POST requests (header X-Loopline-Token): {config.token}")
    if config.run_schedules:
        click.echo(f"running due schedules (checked every {config.schedule_interval_s:g} s)")
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2)
