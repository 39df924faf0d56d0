"""Keys, passwords and session secrets never leave as themselves: not in the server's logs (every
logger at DEBUG, the access log included), not in a `loopline server` process's output, not in
its database, not in any API answer but the one that creates a key (once)."""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loopline.server.background import free_port
from loopline.server.schemas.team import KeyOut, UserOut
from loopline.team.records import Role
from loopline.team.secrets import split_key
from tests.server.team import PASSWORD, user_with_password
from tests.team_server import TeamServer

BOB_PASSWORD = "bob's first password"
BOB_NEW_PASSWORD = "bob's second password"
WRONG_PASSWORD = "a password nobody has"
SHORT_PASSWORD = "tiny-pw-1"
WRONG_KEY = f"ll_{'e' * 16}_{'wrongsecret' * 4}"


@dataclasses.dataclass
class Exercised:
    secrets: list[str]  # every secret sent or received
    answers: list[str]  # the body of every answer but the two that hand out a new key


def exercise(url: str, admin_key: str, admin_name: str) -> Exercised:
    """What a team does with secrets in a day, over HTTP: users with passwords, keys made,
    rotated and revoked, sign-ins by password and by key, and failed attempts of each."""
    secrets = [PASSWORD, BOB_PASSWORD, BOB_NEW_PASSWORD, WRONG_PASSWORD, SHORT_PASSWORD, WRONG_KEY, admin_key]
    answers: list[str] = []
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=url, headers=admin, timeout=30) as api:

        def kept(response: httpx.Response) -> httpx.Response:
            answers.append(response.text)
            return response

        assert kept(api.get("/api/v1/whoami")).status_code == 200
        bob = {"name": "bob", "role": "editor", "password": BOB_PASSWORD}
        assert kept(api.post("/api/v1/users", json=bob)).status_code == 200
        assert kept(api.post("/api/v1/users/bob", json={"password": BOB_NEW_PASSWORD})).status_code == 200
        short = {"name": "short", "role": "viewer", "password": SHORT_PASSWORD}
        assert kept(api.post("/api/v1/users", json=short)).status_code == 422
        created = api.post("/api/v1/keys", json={"user": "bob", "label": "CI"}).json()
        rotated = api.post(f"/api/v1/keys/{created['record']['id']}/rotate").json()
        secrets += [created["key"], rotated["key"]]
        for path in ("/api/v1/users", "/api/v1/keys", "/api/v1/audit?limit=1000"):
            assert kept(api.get(path)).status_code == 200
    for attempt in (
        {"name": admin_name, "password": PASSWORD},
        {"key": rotated["key"]},
        {"name": "bob", "password": WRONG_PASSWORD},
        {"key": WRONG_KEY},
        {"key": created["key"]},  # revoked by the rotation
    ):
        with httpx.Client(base_url=url, timeout=30) as browser:
            kept(browser.post("/login", data=attempt))
            secrets += [c.value for c in browser.cookies.jar]
            kept(browser.get("/runs"))
    for key in (WRONG_KEY, created["key"], f"{rotated['key']}x", "Bearer", "ll_short"):
        kept(httpx.get(f"{url}/api/v1/whoami", headers={"Authorization": f"Bearer {key}"}))
    return Exercised(secrets + _secret_parts(secrets), answers)


def _secret_parts(secrets: list[str]) -> list[str]:
    return [parts[1] for parts in map(split_key, secrets) if parts is not None]


def leaked(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s and s in text]


# -- in this process: every logger at DEBUG ----------------------------------------------------


# uvicorn's loggers do not propagate: each gets the handler itself.
SERVER_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "loopline", "sqlalchemy")
CLIENT_LOGGERS = ("httpx", "httpcore")  # this test's own client, not the server


@pytest.fixture(scope="module")
def logged(team: TeamServer) -> Iterator[tuple[Exercised, str]]:
    handler = _Collect()
    loggers = [logging.getLogger(n) for n in SERVER_LOGGERS]
    before = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(handler)
    try:
        exercised = exercise(team.url, team.key("root-admin", Role.ADMIN), "root-admin")
    finally:
        for lg, level in before:
            lg.removeHandler(handler)
            lg.setLevel(level)
    yield exercised, "\n".join(handler.lines)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(CLIENT_LOGGERS):
            self.lines.append(f"{record.name}: {self.format(record)}")


@pytest.fixture(scope="module", autouse=True)
def _admin_with_password(team: TeamServer) -> None:
    user_with_password(team.state, "root-admin", Role.ADMIN)


def test_the_logs_were_written(logged: tuple[Exercised, str]) -> None:
    _, lines = logged
    assert "GET /api/v1/whoami" in lines  # the access log was on: the test saw what a log would


def test_no_secret_is_in_the_servers_logs(logged: tuple[Exercised, str]) -> None:
    exercised, lines = logged
    assert leaked(lines, exercised.secrets) == []


def test_no_secret_is_in_any_answer_but_the_one_that_makes_a_key(logged: tuple[Exercised, str]) -> None:
    exercised, _ = logged
    assert leaked("\n".join(exercised.answers), exercised.secrets) == []


def test_keys_are_listed_by_id_and_users_without_their_passwords(team: TeamServer) -> None:
    headers = {"Authorization": f"Bearer {team.key('lister', Role.ADMIN)}"}
    keys = httpx.get(f"{team.url}/api/v1/keys", headers=headers).json()
    assert keys and all(set(k) == set(KeyOut.model_fields) for k in keys)
    users = httpx.get(f"{team.url}/api/v1/users", headers=headers).json()
    assert users and all(set(u) == set(UserOut.model_fields) for u in users)


def test_a_new_key_is_shown_once(team: TeamServer) -> None:
    headers = {"Authorization": f"Bearer {team.key('maker', Role.ADMIN)}"}
    made = httpx.post(f"{team.url}/api/v1/keys", json={"user": "maker"}, headers=headers).json()
    key_id, secret = split_key(made["key"]) or ("", "")
    assert key_id == made["record"]["id"]
    listed = httpx.get(f"{team.url}/api/v1/keys", headers=headers).text
    assert key_id in listed and secret not in listed


def test_the_database_keeps_hashes_only(team: TeamServer, logged: tuple[Exercised, str]) -> None:
    exercised, _ = logged
    stored = b"".join(p.read_bytes() for p in team.settings.home.rglob("*") if p.is_file())
    assert [s for s in exercised.secrets if s.encode() in stored] == []


# -- a `loopline server` process: its whole output -----------------------------------------------


def _cli(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOOPLINE_HOME": str(home)}
    env.pop("LOOPLINE_SERVER", None)
    env.pop("LOOPLINE_API_KEY", None)
    command = [sys.executable, "-m", "loopline.cli.main", *args]
    return subprocess.run(
        command, env=env, input=stdin, capture_output=True, text=True, timeout=120, check=True
    )


def test_a_server_process_prints_no_secret(tmp_path: Path) -> None:
    home = tmp_path / "home"
    added = _cli(home, "users", "add", "ada", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    made = _cli(home, "keys", "create", "ada", "--label", "laptop")
    key = made.stdout.strip().splitlines()[-1]
    assert split_key(key) is not None and key not in made.stderr
    port = free_port()
    env = {**os.environ, "LOOPLINE_HOME": str(home)}
    env.pop("LOOPLINE_SERVER", None)
    command = [sys.executable, "-m", "loopline.cli.main", "server", "--port", str(port), "--auth"]
    output = tmp_path / "server.out"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [*command, "--no-schedules"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_for(url)
            exercised = exercise(url, key, "ada")
        finally:
            process.terminate()
            process.wait(timeout=30)
    printed = output.read_text() + added.stdout + added.stderr
    assert "auth is on" in printed
    assert leaked(printed, exercised.secrets) == []


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")
