"""`loopline server`: the API and dashboard over the store the CLI and runners write; in team
mode, the one server every machine of a team talks to."""

from __future__ import annotations

import dataclasses

import click

from loopline.errors import UsageError
from loopline.settings import Settings
from loopline.storage.embedded import open_stores
from loopline.team.sql import SqlTeamStore


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8707, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on."
)
@click.option(
    "--auth/--no-auth",
    "auth",
    default=None,
    help="Require a user (API key, dashboard sign-in) for every request. Default: on unless --host "
    "is a loopback address.",
)
@click.option(
    "--insecure-no-auth",
    is_flag=True,
    help="Listen beyond this machine with auth off (only on a private network you trust).",
)
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    help="A Host name clients use for this server (DNS-rebinding guard); repeatable. '*': any.",
)
@click.option(
    "--trusted-user-header",
    help="Behind an authenticating proxy (oauth2-proxy): the header that names the user.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    help="Address of the proxy allowed to set --trusted-user-header; repeatable.",
)
@click.option(
    "--protected-alias",
    "protected_aliases",
    multiple=True,
    default=("production",),
    show_default=True,
    help="An alias only admins may move; repeatable.",
)
@click.option(
    "--project-root",
    "project_roots",
    multiple=True,
    type=click.Path(file_okay=False),
    help="A folder whose pipelines the dashboard may rerun; repeatable (needed but for a single user's store).",
)
@click.option(
    "--rerun-python",
    "rerun_pythons",
    multiple=True,
    help="An interpreter reruns may use besides this server's own; repeatable.",
)
@click.option(
    "--token",
    envvar="LOOPLINE_SERVER_TOKEN",
    help="With auth off: the token the dashboard's pages send with changes (default: a random one).",
)
@click.option("--no-schedules", is_flag=True, help="Do not run due schedules in this process.")
@click.option("--allow-remote", is_flag=True, hidden=True)
@click.option("--api-key", "api_keys", multiple=True, hidden=True)
def server(
    host: str,
    port: int,
    auth: bool | None,
    insecure_no_auth: bool,
    allowed_hosts: tuple[str, ...],
    trusted_user_header: str | None,
    trusted_proxies: tuple[str, ...],
    protected_aliases: tuple[str, ...],
    project_roots: tuple[str, ...],
    rerun_pythons: tuple[str, ...],
    token: str | None,
    no_schedules: bool,
    allow_remote: bool,
    api_keys: tuple[str, ...],
) -> None:
    """Serve the dashboard and the REST API (live runs, logs, artifacts, reruns), and run due
    schedules in the background.

    It reads the same store as `loopline run` (LOOPLINE_HOME, or LOOPLINE_DATABASE_URL and
    LOOPLINE_ARTIFACTS_URL), so runs started from a terminal appear live. Off this machine
    (--host 0.0.0.0) every request needs a user: create the first admin here with
    `loopline users add NAME --role admin`, then keys with `loopline keys create NAME`.
    """
    import uvicorn

    # The server (FastAPI, the dashboard) loads when this command runs, not for every command.
    from loopline.server import ServerConfig, create_app

    if allow_remote or api_keys:
        raise UsageError(
            "--allow-remote and --api-key are gone: a server off this machine requires auth by default. "
            "Add users and keys (loopline users add NAME --role editor; loopline keys create NAME; an "
            "existing key: loopline keys import NAME), or --insecure-no-auth on a network you trust"
        )
    if token is not None and len(token) < 16:
        raise UsageError("--token must be at least 16 characters")
    settings = Settings.from_env()
    if settings.server is not None:
        raise UsageError(
            f"LOOPLINE_SERVER is set ({settings.server}): that makes this machine a client of another "
            "server. On the server's machine, unset it and point LOOPLINE_DATABASE_URL at the database"
        )
    config = ServerConfig(
        host=host,
        port=port,
        auth=auth,
        insecure_no_auth=insecure_no_auth,
        allowed_hosts=allowed_hosts,
        trusted_user_header=trusted_user_header,
        trusted_proxies=trusted_proxies,
        protected_aliases=frozenset(protected_aliases),
        project_roots=project_roots,
        rerun_pythons=rerun_pythons,
        settings=settings,
        run_schedules=not no_schedules,
    )
    if token:
        config = dataclasses.replace(config, token=token)
    metadata, artifacts = open_stores(settings)
    app = create_app(metadata, artifacts, config)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"Loopline dashboard: http://{shown}:{port}/   (store: {settings.home})")
    if config.auth_on:
        users = SqlTeamStore(metadata.engine, migrate=False).list_users()  # type: ignore[attr-defined]
        click.echo(f"auth is on: {len(users)} user(s)")
        if not users:
            click.echo(
                "no users yet: create the first admin on this machine: loopline users add NAME --role admin"
            )
    else:
        click.echo("auth is off: anyone who can reach this address may use it (--auth turns it on)")
        click.echo(f"token the dashboard's pages send with changes (X-Loopline-Token): {config.token}")
    if config.run_schedules:
        click.echo(f"running due schedules (checked every {config.schedule_interval_s:g} s)")
    # proxy_headers=False: only the addresses of --trusted-proxy may name a client (the AuthGuard
    # reads X-Forwarded-For itself); uvicorn would otherwise believe any process on this machine.
    uvicorn.run(
        app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=2, proxy_headers=False
    )
