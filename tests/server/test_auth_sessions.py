"""Dashboard sessions on an auth-on server: signing in (a password, or a pasted key) and out, the
cookie, changes with ambient credentials (the page's token bound to the session, Origin),
sign-in throttling, the Host header, and a trusted authenticating proxy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import loopline
from loopline.errors import UsageError
from loopline.server.auth.guard import TOKEN_HEADER
from loopline.server.config import ServerConfig
from loopline.team import admin
from loopline.team.records import AuditQuery, Role
from tests.server.team import LOCAL, PASSWORD, page_token, sign_in, user_with_password
from tests.team import pipelines
from tests.team_server import TeamServer, team_server

EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def run_id(team: TeamServer) -> str:
    future = pipelines.double(3)
    loopline.LocalRunner(metadata=team.state.metadata, artifacts=team.state.artifacts, echo=False).run(future)
    return future.id


@pytest.fixture(scope="module")
def users(team: TeamServer) -> None:
    user_with_password(team.state, "pat", Role.EDITOR)
    user_with_password(team.state, "lee", Role.LABELER)


@pytest.fixture
def browser(team: TeamServer, users: None) -> Iterator[httpx.Client]:
    """A client that keeps cookies, as a browser does."""
    with httpx.Client(base_url=team.url, timeout=30) as client:
        yield client


@pytest.fixture
def lonely(tmp_path: Path) -> Iterator[TeamServer]:
    """A server of this test's own (sign-in throttling remembers every failure of 127.0.0.1)."""
    with team_server(tmp_path / "home") as running:
        user_with_password(running.state, "pat", Role.EDITOR)
        yield running


def note(client: httpx.Client, run_id: str, headers: dict[str, str], body: str = "hello") -> httpx.Response:
    return client.post(f"/api/v1/runs/{run_id}/notes", json={"body": body}, headers=headers)


# -- signing in --------------------------------------------------------------------------------


def test_signing_in_sets_a_cookie_no_script_or_other_site_can_use(browser: httpx.Client) -> None:
    response = browser.post("/login", data={"name": "pat", "password": PASSWORD, "next": "/models"})
    assert (response.status_code, response.headers["location"]) == (303, "/models")
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http here; behind an https proxy it is Secure
    assert browser.get("/api/v1/whoami").json() == {"name": "pat", "role": "editor", "via": "session"}


def test_behind_https_the_cookie_is_secure(browser: httpx.Client) -> None:
    response = browser.post(
        "/login", data={"name": "pat", "password": PASSWORD}, headers={"X-Forwarded-Proto": "https"}
    )
    assert "secure" in response.headers["set-cookie"].lower()


def test_signing_in_with_a_pasted_key_acts_as_its_user(team: TeamServer, browser: httpx.Client) -> None:
    key = team.key("kim", Role.LABELER)
    assert browser.post("/login", data={"key": key}).status_code == 303
    assert browser.get("/api/v1/whoami").json() == {"name": "kim", "role": "labeler", "via": "session"}
    (event,) = team.state.team.events(AuditQuery(action="user.signed_in", actor="kim"), limit=5)
    assert event.detail["with"] == "key" and event.detail["key"] in key


def test_after_signing_in_only_paths_of_this_server_are_followed(browser: httpx.Client) -> None:
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)"):
        response = browser.post("/login", data={"name": "pat", "password": PASSWORD, "next": target})
        assert response.headers["location"] == "/runs", target


def test_another_site_cannot_sign_a_visitor_in(browser: httpx.Client) -> None:
    # ... as the attacker, say, so that what the visitor does next is recorded in their name.
    response = browser.post("/login", data={"name": "pat", "password": PASSWORD}, headers={"Origin": EVIL})
    assert response.status_code == 403 and "loopline_session" not in browser.cookies


def test_the_sign_in_page_shows_nobody_signed_in_and_the_nav_then_shows_who(browser: httpx.Client) -> None:
    page = browser.get("/login").text
    assert "who-name" not in page and 'href="/audit"' not in page
    sign_in(browser, "pat")
    assert "pat · editor" in browser.get("/runs").text
    assert 'href="/audit"' not in browser.get("/runs").text  # the audit page is for admins


def test_a_page_asked_for_without_a_session_leads_to_sign_in_and_back(team: TeamServer) -> None:
    response = httpx.get(f"{team.url}/models?q=a", headers={"Accept": "text/html"})
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/models%3Fq%3Da")
    assert 'value="/models?q=a"' in httpx.get(f"{team.url}{response.headers['location']}").text


# -- changes with a session ---------------------------------------------------------------------


def test_a_change_from_a_signed_in_page_with_its_token_passes(
    team: TeamServer, browser: httpx.Client, run_id: str
) -> None:
    token = sign_in(browser, "pat")
    assert note(browser, run_id, {TOKEN_HEADER: token, "Origin": team.url}).status_code == 201
    (event,) = team.state.team.events(AuditQuery(action="note.added", actor="pat"), limit=5)
    assert (event.role, event.origin, event.target) == ("editor", "127.0.0.1", run_id)


def test_a_change_with_the_session_but_without_the_token_is_refused(
    team: TeamServer, browser: httpx.Client, run_id: str
) -> None:
    sign_in(browser, "pat")
    for headers in ({"Origin": team.url}, {}, {TOKEN_HEADER: "forged", "Origin": team.url}):
        response = note(browser, run_id, headers)
        assert response.status_code == 403 and TOKEN_HEADER in response.json()["detail"], headers


def test_the_token_of_another_session_is_refused(
    team: TeamServer, browser: httpx.Client, run_id: str
) -> None:
    with httpx.Client(base_url=team.url) as other:
        theirs = sign_in(other, "pat")
    mine = sign_in(browser, "pat")
    assert mine != theirs
    assert note(browser, run_id, {TOKEN_HEADER: theirs, "Origin": team.url}).status_code == 403


@pytest.mark.parametrize("origin", [EVIL, "null", "http://127.0.0.1.evil.example"])
def test_a_cross_origin_change_with_the_session_is_refused(
    browser: httpx.Client, run_id: str, origin: str
) -> None:
    token = sign_in(browser, "pat")
    response = note(browser, run_id, {TOKEN_HEADER: token, "Origin": origin})
    assert response.status_code == 403 and "cross-origin" in response.json()["detail"]


def test_a_form_another_site_posts_with_the_session_is_refused(browser: httpx.Client, run_id: str) -> None:
    sign_in(browser, "pat")
    for path in (f"/api/v1/runs/{run_id}/cancel", "/logout", "/api/v1/keys"):
        response = browser.post(
            path,
            content=b"user=pat",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": EVIL},
        )
        assert response.status_code == 403, path
    assert browser.get("/api/v1/whoami").json()["name"] == "pat"  # still signed in


def test_a_session_has_its_users_role(team: TeamServer, browser: httpx.Client, run_id: str) -> None:
    token = sign_in(browser, "lee")
    response = browser.post(
        f"/api/v1/runs/{run_id}/cancel", headers={TOKEN_HEADER: token, "Origin": team.url}
    )
    assert response.status_code == 403
    assert "lee is a labeler; this needs the editor role" in response.json()["detail"]


def test_a_program_with_a_key_needs_no_page_token(team: TeamServer, run_id: str) -> None:
    headers = {"Authorization": f"Bearer {team.key('ci', Role.EDITOR)}"}
    with httpx.Client(base_url=team.url, headers=headers) as program:
        assert note(program, run_id, {}).status_code == 201


# -- signing out --------------------------------------------------------------------------------


def test_signing_out_ends_the_session(team: TeamServer, browser: httpx.Client) -> None:
    sign_in(browser, "pat")
    cookie = browser.cookies["loopline_session"]
    response = browser.post("/logout", headers={"Origin": team.url})
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert "loopline_session" not in browser.cookies
    kept = httpx.get(f"{team.url}/api/v1/whoami", cookies={"loopline_session": cookie})
    assert kept.status_code == 401 and "sign in again" in kept.json()["detail"]
    assert team.state.team.events(AuditQuery(action="user.signed_out", actor="pat"), limit=1)


def test_a_session_of_a_key_ends_with_the_key(team: TeamServer) -> None:
    record, key = admin.create_key(team.state.team, "pat", by=LOCAL)
    admin.revoke_key(team.state.team, record.id, by=LOCAL)
    with httpx.Client(base_url=team.url) as client:
        response = client.post("/login", data={"key": key})
        assert response.status_code == 401 and f"API key {record.id} was revoked" in response.text


# -- sign-in throttling -------------------------------------------------------------------------


def test_five_failed_sign_ins_make_the_next_one_wait(lonely: TeamServer) -> None:
    with httpx.Client(base_url=lonely.url) as client:
        for attempt in range(3):
            wrong = client.post("/login", data={"name": "pat", "password": f"wrong password {attempt}"})
            assert wrong.status_code == 401 and "wrong user name or password" in wrong.text
        for _ in range(2):
            assert client.post("/login", data={"key": f"ll_{'0' * 16}_{'z' * 43}"}).status_code == 401
        right = client.post("/login", data={"name": "pat", "password": PASSWORD})
        assert right.status_code == 429 and "too many failed sign-ins from 127.0.0.1" in right.text
        assert client.get("/api/v1/whoami").status_code == 401


def test_an_unknown_user_and_a_wrong_password_read_the_same(lonely: TeamServer) -> None:
    with httpx.Client(base_url=lonely.url) as client:
        unknown = client.post("/login", data={"name": "nobody", "password": PASSWORD})
        wrong = client.post("/login", data={"name": "pat", "password": "not the password"})
    assert unknown.status_code == wrong.status_code == 401
    assert "wrong user name or password" in unknown.text and "wrong user name or password" in wrong.text


# -- the Host header ----------------------------------------------------------------------------


def test_with_allowed_hosts_any_other_host_is_refused_even_with_a_key(tmp_path: Path) -> None:
    with team_server(tmp_path / "home", allowed_hosts=("loopline.example",)) as server:
        headers = {"Authorization": f"Bearer {server.key('ci')}"}
        port = server.running.config.port
        for host, status in (
            ("evil.example", 421),
            (f"evil.example:{port}", 421),
            ("loopline.example", 200),
            (f"127.0.0.1:{port}", 200),
        ):
            response = httpx.get(f"{server.url}/api/v1/whoami", headers={**headers, "Host": host})
            assert response.status_code == status, host


def test_without_allowed_hosts_any_name_is_answered_but_only_with_credentials(team: TeamServer) -> None:
    host = {"Host": "loopline.internal:8707"}
    assert httpx.get(f"{team.url}/api/v1/whoami", headers=host).status_code == 401
    key = {"Authorization": f"Bearer {team.key('ci')}"}
    assert httpx.get(f"{team.url}/api/v1/whoami", headers={**host, **key}).status_code == 200


# -- a trusted authenticating proxy -------------------------------------------------------------


def test_a_trusted_proxy_names_the_user_and_where_they_are(tmp_path: Path) -> None:
    with team_server(
        tmp_path / "home", trusted_user_header="X-Forwarded-User", trusted_proxies=("127.0.0.1",)
    ) as server:
        user_with_password(server.state, "pat", Role.EDITOR)
        future = pipelines.double(1)
        loopline.LocalRunner(
            metadata=server.state.metadata, artifacts=server.state.artifacts, echo=False
        ).run(future)
        # The client wrote the first address itself; the proxy appended the one it saw.
        proxy = {"X-Forwarded-User": "pat", "X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
        with httpx.Client(base_url=server.url, headers=proxy) as client:
            assert client.get("/api/v1/whoami").json() == {"name": "pat", "role": "editor", "via": "header"}
            token = page_token(client.get("/runs").text)
            assert note(client, future.id, {TOKEN_HEADER: token, "Origin": server.url}).status_code == 201
            assert note(client, future.id, {"Origin": server.url}).status_code == 403  # no token
        (event,) = server.state.team.events(AuditQuery(action="note.added"), limit=5)
        assert (event.actor, event.origin) == ("pat", "203.0.113.7")
        unknown = httpx.get(f"{server.url}/api/v1/whoami", headers={"X-Forwarded-User": "nobody"})
        assert unknown.status_code == 401


def test_the_user_header_from_anywhere_else_is_ignored(tmp_path: Path) -> None:
    with team_server(
        tmp_path / "home", trusted_user_header="X-Forwarded-User", trusted_proxies=("10.0.0.1",)
    ) as server:
        user_with_password(server.state, "pat", Role.ADMIN)
        response = httpx.get(f"{server.url}/api/v1/whoami", headers={"X-Forwarded-User": "pat"})
        assert response.status_code == 401


def test_a_user_header_needs_the_proxy_it_is_believed_from() -> None:
    with pytest.raises(UsageError, match="--trusted-proxy"):
        ServerConfig(auth=True, trusted_user_header="X-Forwarded-User")
