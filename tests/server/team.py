"""Team mode in tests: users and keys made the way `loopline users add` and `loopline keys
create` make them, on a running server's own team store; signing in as the dashboard does."""

from __future__ import annotations

import re

import httpx

from loopline.server.background import RunningServer
from loopline.server.state import ServerState
from loopline.team import admin
from loopline.team.errors import UserNotFoundError
from loopline.team.records import Principal, Role

LOCAL = admin.Actor(Principal("test-admin", Role.ADMIN, "local"))
PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'<meta name="loopline-token" content="([^"]*)">')


def key_for(server: RunningServer, name: str, role: Role = Role.EDITOR) -> str:
    """A new API key of user `name` (added with `role` if they do not exist yet)."""
    state: ServerState = server.app.state.loopline
    try:
        state.team.get_user(name)
    except UserNotFoundError:
        admin.add_user(state.team, name, role, password=None, by=LOCAL)
    _, key = admin.create_key(state.team, name, by=LOCAL)
    return key


def user_with_password(state: ServerState, name: str, role: Role, password: str = PASSWORD) -> str:
    """Add `name` (once) with a dashboard password; returns the password."""
    try:
        state.team.get_user(name)
    except UserNotFoundError:
        admin.add_user(state.team, name, role, password=password, by=LOCAL)
    return password


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> str:
    """Sign `client` in with the sign-in form (it keeps the cookie); returns the token the
    dashboard's pages send with changes."""
    base = str(client.base_url).rstrip("/")
    response = client.post("/login", data={"name": name, "password": password}, headers={"Origin": base})
    assert response.status_code == 303, response.text
    return page_token(client.get("/runs").text)


def page_token(html: str) -> str:
    found = TOKEN.search(html)
    assert found is not None, "the page has no loopline-token meta tag"
    return found.group(1)
