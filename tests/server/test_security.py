"""Other web pages and untrusted content: path traversal, XSS, cross-origin requests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from markupsafe import escape

from loopline.cli.main import cli
from loopline.errors import UsageError
from loopline.server.background import RunningServer
from loopline.server.config import ServerConfig
from tests.server.conftest import Seeded
from tests.server.pipelines import XSS

TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..\\..\\etc\\passwd",
    "/etc/passwd",
    "." * 64,
    "../" + "a" * 61,
    "A" * 64,
    "tmp",
    "00/" + "0" * 64,
]


@pytest.mark.parametrize("attempt", TRAVERSALS)
def test_artifact_download_cannot_leave_the_store(http: httpx.Client, attempt: str) -> None:
    for suffix in ("", "/download", "/download?format=csv", "/figure"):
        response = http.get(f"/api/v1/artifacts/{attempt}{suffix}")
        assert response.status_code in (400, 404, 422), (attempt, suffix, response.status_code)
        assert "root:" not in response.text


def test_traversal_in_the_raw_path_is_refused(server: RunningServer) -> None:
    # httpx normalizes "..": send the bytes as they are.
    import socket

    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            f"GET /api/v1/artifacts/../../../../etc/passwd/download HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode()
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.split(b" ", 2)[1] in (b"400", b"404")
    assert b"root:" not in reply


def _no_raw_xss(page: str) -> None:
    assert "<script>window.__xss" not in page
    assert "<img src=x onerror" not in page


def test_run_names_and_tags_are_escaped(http: httpx.Client, seeded: Seeded) -> None:
    for path in ("/runs", f"/runs/{seeded.xss}", "/pipelines", f"/fragments/panel/{seeded.xss}"):
        page = http.get(path).text
        _no_raw_xss(page)
    assert str(escape(XSS)) in http.get(f"/runs/{seeded.xss}").text


def test_dataframe_cells_are_escaped(http: httpx.Client) -> None:
    run = http.get("/api/v1/runs", params={"name": "make_table"}).json()["runs"][0]
    page = http.get(f"/fragments/panel/{run['id']}", params={"tab": "io"}).text
    _no_raw_xss(page)
    assert "&lt;script&gt;window.__xss" in page


def test_notes_markdown_keeps_html_as_text(guarded: httpx.Client, seeded: Seeded) -> None:
    body = f"{XSS}\n\n[click](javascript:alert(1)) <a href='javascript:alert(2)'>x</a>"
    note = guarded.post(f"/api/v1/runs/{seeded.xss}/notes", json={"body": body}).json()
    _no_raw_xss(note["html"])
    assert "javascript:" not in note["html"].replace("[click](javascript:alert(1))", "").replace(
        "&lt;a href='javascript:alert(2)'&gt;", ""
    )
    page = guarded.get(f"/runs/{seeded.xss}", params={"tab": "notes"}).text
    _no_raw_xss(page)


def test_log_lines_are_data_never_markup(http: httpx.Client) -> None:
    run = http.get("/api/v1/runs", params={"name": "make_table"}).json()["runs"][0]
    page = http.get(f"/runs/{run['id']}", params={"tab": "logs"}).text
    _no_raw_xss(page)  # logs reach the page as JSON, and the script inserts them as text


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no token
        {"X-Loopline-Token": "wrong"},
        {"Origin": "http://evil.example"},  # the token, but from another page
        {"Origin": "null"},
    ],
)
def test_state_changes_need_the_token_and_this_origin(
    server: RunningServer, seeded: Seeded, headers: dict[str, str]
) -> None:
    sent = {"X-Loopline-Token": server.token, **headers} if "Origin" in headers else headers
    with httpx.Client(base_url=server.url) as client:
        for path, body in (
            (f"/api/v1/runs/{seeded.fan}/cancel", None),
            (f"/api/v1/runs/{seeded.fan}/rerun", {}),
            (f"/api/v1/runs/{seeded.fan}/notes", {"body": "x"}),
        ):
            response = client.post(path, json=body, headers=sent)
            assert response.status_code == 403, (path, headers)
            assert response.json()["detail"]


def test_a_form_post_from_another_page_is_refused(server: RunningServer, seeded: Seeded) -> None:
    response = httpx.post(
        f"{server.url}/api/v1/runs/{seeded.fan}/cancel",
        content=b"x=1",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://evil.example"},
    )
    assert response.status_code == 403


def test_a_foreign_host_header_is_refused(server: RunningServer) -> None:
    # A DNS-rebinding page reaches 127.0.0.1 under its own name.
    response = httpx.get(f"{server.url}/api/v1/runs", headers={"Host": f"evil.example:{server.config.port}"})
    assert response.status_code == 421


def test_the_right_origin_and_token_are_accepted(guarded: httpx.Client, seeded: Seeded) -> None:
    assert guarded.post(f"/api/v1/runs/{seeded.fan}/notes", json={"body": "fine"}).status_code == 201


def test_a_server_off_this_machine_has_auth_on_and_runs_open_only_when_told() -> None:
    assert ServerConfig(host="0.0.0.0").auth_on
    assert not ServerConfig(host="127.0.0.1").auth_on and ServerConfig(host="::1", auth=True).auth_on
    with pytest.raises(UsageError, match="--insecure-no-auth"):
        ServerConfig(host="0.0.0.0", auth=False)
    assert not ServerConfig(host="0.0.0.0", insecure_no_auth=True).auth_on


def test_cli_refuses_a_public_host_without_auth(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPLINE_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["server", "--host", "0.0.0.0", "--no-auth"])
    assert result.exit_code != 0 and "--insecure-no-auth" in result.output
    gone = CliRunner().invoke(cli, ["server", "--allow-remote"])
    assert gone.exit_code != 0 and "loopline users add" in gone.output
