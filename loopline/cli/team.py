"""`loopline users`, `loopline keys`, `loopline audit`: the people of a team server.

On the server's machine (no LOOPLINE_SERVER) they work on the store directly — that is how the
first admin is made; elsewhere, with LOOPLINE_SERVER and an admin's LOOPLINE_API_KEY, through
the server's admin API. Every change is in the audit log either way.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys

import click
from rich.console import Console
from rich.table import Table

from loopline.core.wire import to_wire
from loopline.engine.launch import current_user
from loopline.errors import UsageError
from loopline.settings import Settings
from loopline.storage.remote.client import ServerConnection
from loopline.team import admin
from loopline.team.access import DirectTeamAdmin, RemoteTeamAdmin, TeamAdmin
from loopline.team.records import ApiKey, AuditQuery, Principal, Role
from loopline.team.sql import SqlTeamStore


def _team() -> TeamAdmin:
    settings = Settings.from_env()
    if settings.server is not None:
        return RemoteTeamAdmin(ServerConnection(settings.server, settings.api_key))
    if settings.database_url.startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
    actor = admin.Actor(Principal(current_user(), Role.ADMIN, "local"), "local")
    return DirectTeamAdmin(SqlTeamStore(settings.database_url), actor)


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _when(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _role(text: str | None) -> Role | None:
    return None if text is None else admin.role_named(text)


ROLE = click.Choice([r.value for r in Role])


def _read_password(prompt: bool, from_stdin: bool) -> str | None:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise UsageError("--password-stdin read an empty line")
        return password
    if prompt and sys.stdin.isatty():
        first = getpass.getpass("Password (at least 12 characters; empty: keys only): ")
        if not first:
            return None
        if getpass.getpass("Again: ") != first:
            raise UsageError("the two passwords differ")
        return first
    return None


# -- users -----------------------------------------------------------------------------------


@click.group()
def users() -> None:
    """Users of a team server and their roles: viewer < labeler < editor < admin."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=ROLE, required=True, help="What the user may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def users_add(name: str, role: str, password_stdin: bool) -> None:
    """Add user NAME. With a terminal it asks for a password (empty: the user signs in with keys
    only); without one, and without --password-stdin, the user signs in with keys only."""
    password = _read_password(prompt=True, from_stdin=password_stdin)
    user = _team().add_user(name, admin.role_named(role), password)
    how = (
        "a password or keys"
        if user.has_password
        else "keys only (make one: loopline keys create " + name + ")"
    )
    click.echo(f"added {user.name} as {user.role.value}; signs in with {how}")


@users.command("ls")
def users_ls() -> None:
    """Every user, with their role."""
    found = _team().users()
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "ROLE", "SIGNS IN WITH", "ADDED", "BY", "STATE"):
        table.add_column(column)
    for u in found:
        table.add_row(
            u.name,
            u.role.value,
            "password, keys" if u.has_password else "keys",
            _when(u.created_at),
            u.created_by,
            "disabled" if u.disabled else "",
        )
    _console().print(table if found else "no users yet: loopline users add NAME --role admin")


@users.command("set-role")
@click.argument("name")
@click.argument("role", type=ROLE)
def users_set_role(name: str, role: str) -> None:
    """Give NAME another role (their keys follow, within 5 seconds)."""
    user = _team().change_user(name, role=admin.role_named(role))
    click.echo(f"{user.name} is now {user.role.value}")


@users.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Stop NAME from signing in or using their keys (within 5 seconds)."""
    _team().change_user(name, disabled=True)
    click.echo(f"{name} is disabled")


@users.command("enable")
@click.argument("name")
def users_enable(name: str) -> None:
    """Let a disabled user in again."""
    _team().change_user(name, disabled=False)
    click.echo(f"{name} is enabled")


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def users_passwd(name: str, password_stdin: bool) -> None:
    """Set NAME's dashboard password."""
    password = _read_password(prompt=True, from_stdin=password_stdin)
    if password is None:
        raise UsageError("no password given (use a terminal, or --password-stdin)")
    _team().change_user(name, password=password)
    click.echo(f"password of {name} set")


# -- keys ------------------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """API keys: what programs (runners, CI, serving) act as. Shown once, stored hashed."""


@keys.command("create")
@click.argument("name")
@click.option("--role", type=ROLE, help="At most the user's role (default: the user's).")
@click.option("--label", default="", help="What the key is for, e.g. 'CI'.")
@click.option("--expires-in-days", type=click.FloatRange(min=0, min_open=True), help="Expire after N days.")
def keys_create(name: str, role: str | None, label: str, expires_in_days: float | None) -> None:
    """Make a key that acts as user NAME. The key is the last line printed (shown only now)."""
    expires = None if expires_in_days is None else dt.timedelta(days=expires_in_days)
    record, key = _team().create_key(name, role=_role(role), label=label, expires_in=expires)
    click.echo(_describe(record), err=True)
    click.echo("set it as LOOPLINE_API_KEY where it is used; it is not shown again", err=True)
    click.echo(key)


@keys.command("import")
@click.argument("name")
@click.option("--role", type=ROLE, help="At most the user's role (default: the user's).")
def keys_import(name: str, role: str | None) -> None:
    """Adopt an existing key (read from stdin) for user NAME, e.g. the one a server used to take
    with --api-key. On the server's machine only."""
    key = sys.stdin.readline().strip()
    record = _team().import_key(name, key, role=_role(role))
    click.echo(_describe(record))


@keys.command("ls")
@click.option("--user", help="Only this user's keys.")
def keys_ls(user: str | None) -> None:
    """Keys, newest first (their ids, never the keys)."""
    found = _team().keys(user)
    table = Table(box=None, header_style="bold")
    for column in ("ID", "USER", "ROLE", "LABEL", "CREATED", "EXPIRES", "LAST USED", "STATE"):
        table.add_column(column)
    now = dt.datetime.now(dt.UTC)
    for k in found:
        state = "revoked" if k.revoked_at else ("expired" if not k.usable(now) else "active")
        table.add_row(
            k.id,
            k.user,
            k.role.value if k.role else "(user's)",
            k.label,
            _when(k.created_at),
            _when(k.expires_at),
            _when(k.last_used_at),
            state,
        )
    _console().print(table if found else "no keys yet: loopline keys create NAME")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke key KEY_ID (the id `keys ls` shows); it stops working within 5 seconds."""
    record = _team().revoke_key(_key_id(key_id))
    click.echo(f"revoked {record.id} of {record.user}")


@keys.command("rotate")
@click.argument("key_id")
def keys_rotate(key_id: str) -> None:
    """Replace key KEY_ID with a new one (same user, role, label, expiry); the old one is revoked.
    The new key is the last line printed."""
    record, key = _team().rotate_key(_key_id(key_id))
    click.echo(_describe(record), err=True)
    click.echo(key)


def _key_id(text: str) -> str:
    """A key's id, also when the whole key is given by mistake."""
    parts = text.strip().split("_")
    return parts[1] if len(parts) >= 3 and parts[0] == "ll" else text.strip()


def _describe(record: ApiKey) -> str:
    role = record.role.value if record.role else "the user's role"
    expires = f", expires {_when(record.expires_at)}" if record.expires_at else ""
    return f"key {record.id} for {record.user} ({role}{expires})"


# -- audit -----------------------------------------------------------------------------------


@click.command()
@click.option("--actor", help="Only changes by this user.")
@click.option("--action", help="Only this action, or a prefix ending in '.' (e.g. alias.).")
@click.option("--target", help="Only changes whose target contains this.")
@click.option("--since", type=click.DateTime(), help="Only changes since this (local time).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit(
    actor: str | None,
    action: str | None,
    target: str | None,
    since: dt.datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """Who changed what, when and from where, newest first."""
    start = None if since is None else since.astimezone(dt.UTC)
    events = _team().events(AuditQuery(actor=actor, action=action, target=target, since=start), limit=limit)
    if as_json:
        for event in events:
            click.echo(json.dumps(to_wire(event), default=str))
        return
    table = Table(box=None, header_style="bold")
    for column in ("WHEN", "WHO", "ROLE", "FROM", "ACTION", "TARGET", "DETAIL"):
        table.add_column(column)
    for e in events:
        detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
        table.add_row(_when(e.at), e.actor, e.role, e.origin, e.action, e.target, detail)
    _console().print(table if events else "nothing recorded yet")
