"""Every response carries the security headers, and every GET route answers HEAD (the route table
is read from the app, so a new route is checked the day it is added)."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

import loopline.server
from loopline.server import create_app
from loopline.server.background import RunningServer
from loopline.server.headers import SECURITY_HEADERS, SVG_POLICY
from loopline.storage.artifacts import MemoryArtifactStore
from loopline.storage.memory import MemoryMetadataStore
from loopline.storage.remote.artifacts import WRITTEN_AT_HEADER
from loopline.team.records import Role
from tests.server import pipelines
from tests.server.conftest import Seeded
from tests.server.routes import PLAUSIBLE, concrete, served
from tests.team_server import TeamServer

APP = create_app(MemoryMetadataStore(), MemoryArtifactStore())
GETS = sorted(r.path for r in served(APP) if isinstance(r, Route) and "GET" in (r.methods or ()))
OWN_HEAD = {r.path for r in served(APP) if isinstance(r, Route) and "HEAD" in (r.methods or ())}
STREAMS = {"/api/v1/events", "/api/v1/runs/{run_id}/logs/stream"}  # never end: headers only


@pytest.fixture(scope="module")
def values(http: httpx.Client, seeded: Seeded) -> dict[str, str]:
    """Path parameters that name real records where the store has them (200s, not only 404s)."""
    output_id = http.get(f"/api/v1/runs/{seeded.showcase}").json()["output_id"]
    return {**PLAUSIBLE, "run_id": seeded.showcase, "artifact_id": output_id}


def get(http: httpx.Client, template: str, path: str) -> httpx.Response:
    with http.stream("GET", path, headers={"Accept": "text/html"}) as response:
        if template not in STREAMS:
            response.read()
    return response


def secured(response: httpx.Response) -> bool:
    return all(response.headers.get(name) == value for name, value in SECURITY_HEADERS.items())


def test_the_policy_lets_only_our_own_scripts_and_styles_run_and_no_one_frame_us() -> None:
    policy = dict(d.split(" ", 1) for d in SECURITY_HEADERS["Content-Security-Policy"].split("; "))
    assert policy["frame-ancestors"] == "'none'" and SECURITY_HEADERS["X-Frame-Options"] == "DENY"
    assert policy["script-src"] == policy["style-src"] == policy["default-src"] == "'self'"
    assert "unsafe" not in SECURITY_HEADERS["Content-Security-Policy"]


INLINE = re.compile(r"""\sstyle\s*=|<style|<script(?![^>]*\ssrc=)[^>]*>|\son[a-z]+\s*=|javascript:""", re.I)
SERVER = Path(loopline.server.__file__).parent


@pytest.mark.parametrize(
    "source",
    sorted((SERVER / "templates").glob("*.html")) + sorted((SERVER / "rendering").glob("*.py")),
    ids=lambda p: p.name,
)
def test_no_template_or_drawing_holds_an_inline_script_or_style(source: Path) -> None:
    # The policy would refuse them: styles are classes in app.css, behaviour is app.js.
    assert INLINE.findall(source.read_text()) == [], source


@pytest.mark.parametrize("template", GETS)
def test_every_get_route_sends_the_security_headers(
    http: httpx.Client, values: dict[str, str], template: str
) -> None:
    response = get(http, template, concrete(template, values))
    assert secured(response), (template, response.status_code, dict(response.headers))


@pytest.mark.parametrize("template", GETS)
def test_every_get_route_answers_head_as_get_without_a_body(
    http: httpx.Client, values: dict[str, str], template: str
) -> None:
    path = concrete(template, values)
    got, head = get(http, template, path), http.head(path, headers={"Accept": "text/html"})
    assert head.content == b"" and secured(head), template
    if template in OWN_HEAD:  # a route written for HEAD (does the byte store have it?) says its own
        return
    assert head.status_code == got.status_code, template
    assert head.headers.get("content-type") == got.headers.get("content-type"), template
    if template not in STREAMS and got.status_code == 200:
        assert head.headers.get("content-length") == got.headers.get("content-length"), template


def test_some_routes_of_the_table_answer_with_real_records(
    http: httpx.Client, values: dict[str, str]
) -> None:
    ok = [t for t in GETS if t not in STREAMS and get(http, t, concrete(t, values)).status_code == 200]
    assert {"/runs/{run_id}", "/api/v1/artifacts/{artifact_id}", "/runs", "/api"} <= set(ok)


@pytest.mark.parametrize(
    "path", ["/static/app.js", "/static/app.css", "/static/missing.js", "/no/such/page", "/runs/" + "f" * 32]
)
def test_static_files_errors_and_404s_send_them_too(http: httpx.Client, path: str) -> None:
    for accept in ("text/html", "application/json"):
        response = http.get(path, headers={"Accept": accept})
        assert secured(response), (path, accept, response.status_code)
        assert secured(http.head(path, headers={"Accept": accept})), path


def test_a_refused_method_and_a_refused_post_send_them_too(http: httpx.Client, seeded: Seeded) -> None:
    assert http.delete("/api/v1/runs").status_code == 405 and secured(http.delete("/api/v1/runs"))
    refused = http.post(f"/api/v1/runs/{seeded.fan}/rerun")  # no token: the guard answers
    assert refused.status_code == 403 and secured(refused)


def test_a_route_written_for_head_keeps_its_own_answer(http: httpx.Client, values: dict[str, str]) -> None:
    stored = http.head(f"/api/v1/artifacts/{values['artifact_id']}")
    missing = http.head(f"/api/v1/artifacts/{'0' * 64}")
    assert (stored.status_code, missing.status_code) == (200, 404) and secured(missing)
    assert WRITTEN_AT_HEADER in stored.headers  # the byte store's answer, not the record's GET


def test_an_svg_figure_gets_a_policy_that_lets_it_style_itself_and_run_nothing(
    http: httpx.Client, stores: Any
) -> None:
    pytest.importorskip(
        "matplotlib", reason="matplotlib is not installed; figures are drawn only where it is"
    )
    import loopline

    metadata, artifacts = stores
    future = pipelines.plot(3)
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(future)
    output_id = http.get(f"/api/v1/runs/{future.id}").json()["output_id"]
    svg = http.get(f"/api/v1/artifacts/{output_id}/figure")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.headers["content-security-policy"] == SVG_POLICY and "script" not in SVG_POLICY
    assert svg.headers["x-frame-options"] == "DENY"


# -- another site framing a dashboard page (clickjacking) ------------------------------------


@pytest.fixture(scope="module")
def other_site(server: RunningServer, seeded: Seeded) -> Iterator[str]:
    """A page on another origin (its own port) that frames a run page of the dashboard, and,
    as a control, a page of its own."""
    framing = (
        "<!doctype html><title>elsewhere</title>"
        f'<iframe id="dashboard" src="{server.url}/runs/{seeded.showcase}"></iframe>'
        '<iframe id="control" src="/control"></iframe>'
    ).encode()
    control = b"<!doctype html><p id='here'>a page that may be framed</p>"

    class Pages(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = control if self.path == "/control" else framing
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{site.server_address[1]}/"
    site.shutdown()
    thread.join()


@pytest.mark.browser
def test_another_site_cannot_frame_a_dashboard_page(
    browser: Any, other_site: str, server: RunningServer
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        refusals: list[str] = []
        page.on("console", lambda message: refusals.append(message.text))
        page.goto(other_site, wait_until="load")  # the load event waits for both frames
        control = page.locator("#control").element_handle().content_frame()
        assert control.locator("#here").count() == 1  # a frame that may load, loads...
        framed = page.locator("#dashboard").element_handle().content_frame()
        assert not framed.url.startswith(server.url), framed.url  # ...the dashboard does not
        assert framed.locator("#main, #pipeline-bar, button").count() == 0
        assert "Loopline" not in framed.evaluate("document.title")
        assert any("frame-ancestors 'none'" in text and "blocked" in text for text in refusals), refusals
    finally:
        context.close()


def test_with_auth_on_head_is_judged_as_get_and_refusals_send_the_headers(team: TeamServer) -> None:
    viewer = {"Authorization": f"Bearer {team.key('head-viewer', Role.VIEWER)}"}
    with httpx.Client(base_url=team.url, timeout=30) as client:
        for path in ("/runs", "/api/v1/runs", "/login"):
            head = client.head(path, headers=viewer)
            assert (head.status_code, head.content) == (200, b"") and secured(head), path
        stranger = client.head("/runs", headers={"Accept": "text/html"})
        assert stranger.status_code in (302, 303, 307) and secured(stranger)
        refused = client.get("/api/v1/users", headers=viewer)  # an admin's
        assert refused.status_code == 403 and secured(refused)
        assert secured(client.get("/api/v1/runs"))  # no key: 401
