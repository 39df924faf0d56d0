"""A real server on a free loopback port, over a temporary store filled by real pipeline runs."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import loopline
from loopline.cl.store.workspace import Workspace
from loopline.core.records import RunRecord
from loopline.errors import PipelineRunError
from loopline.server.background import RunningServer, serve
from loopline.settings import Settings
from tests.server import pipelines
from tests.server.records import Untrusted, untrusted_inference, untrusted_records
from tests.team_server import TeamServer, team_server
from tools import showcase

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[2]


@dataclasses.dataclass
class Seeded:
    """Ids of the runs the session's store was filled with."""

    showcase: str
    fan: str
    failing: str
    xss: str


@pytest.fixture(scope="session")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server") / "home"


@pytest.fixture(scope="session")
def settings(server_home: Path) -> Settings:
    return Settings.for_home(server_home)


@pytest.fixture(scope="session")
def stores(settings: Settings) -> Any:
    from loopline.storage.embedded import open_stores

    return open_stores(settings)


@pytest.fixture(scope="session")
def seeded(stores: Any) -> Seeded:
    metadata, artifacts = stores
    runner = loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False)
    show = pipelines.showcase(12)
    runner.run(show.set(tags=["demo", "nightly"]))
    fan = pipelines.fan(1000)
    runner.run(fan)
    failing = pipelines.failing()
    with pytest.raises(PipelineRunError):
        runner.run(failing)
    xss = pipelines.fan(3).set(name=pipelines.XSS, tags=[pipelines.XSS])
    runner.run(xss)
    return Seeded(show.id, fan.id, failing.id, xss.id)


@pytest.fixture(scope="session")
def workspace(stores: Any) -> Workspace:
    return Workspace.from_stores(*stores)


@dataclasses.dataclass
class Registry:
    """What the regression-testing pages show: the showcase's records, and untrusted ones."""

    showcase: showcase.Registry
    untrusted: Untrusted


@pytest.fixture(scope="session")
def registry(workspace: Workspace, seeded: Seeded) -> Registry:
    return Registry(
        showcase.regression_records(workspace, run_id=seeded.showcase), untrusted_records(workspace)
    )


@dataclasses.dataclass
class Loop:
    """What the continuous-improvement pages show: the showcase's traffic, queue and rounds, and an
    inference (with feedback and a task) made of markup."""

    showcase: showcase.LoopShowcase
    untrusted: str  # its request id


@pytest.fixture(scope="session")
def loop(workspace: Workspace, registry: Registry) -> Loop:
    return Loop(showcase.loop_records(workspace, registry.showcase), untrusted_inference(workspace))


@pytest.fixture(scope="session")
def server(stores: Any, settings: Settings, seeded: Seeded) -> Iterator[RunningServer]:
    metadata, artifacts = stores
    with serve(metadata, artifacts, settings, poll_s=0.1) as running:
        yield running


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TeamServer]:
    """A real server with auth on (its own store; one per module, so sign-in throttling and
    sessions of one module never reach another)."""
    with team_server(tmp_path_factory.mktemp("team") / "home") as running:
        yield running


@pytest.fixture(scope="session")
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def guarded(server: RunningServer) -> Iterator[httpx.Client]:
    """A client that sends the session token, as the dashboard's pages do."""
    headers = {"X-Loopline-Token": server.token, "Origin": server.url}
    with httpx.Client(base_url=server.url, timeout=60, headers=headers) as client:
        yield client


def eventually(condition: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll until `condition()` is truthy (returns it); fail after a generous timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


@dataclasses.dataclass
class Terminal:
    """A pipeline started from a terminal: another process writing into the same store."""

    process: subprocess.Popen[bytes]
    root_id: str


@pytest.fixture
def start_slow(settings: Settings, stores: Any) -> Iterator[Callable[[float], Terminal]]:
    started: list[Terminal] = []
    metadata, _ = stores

    def start(seconds: float = 120.0) -> Terminal:
        before = {r.id for r in metadata.list_runs(limit=10_000).runs if r.parent_id is None}
        env = {**os.environ, "LOOPLINE_HOME": str(settings.home), "PYTHONPATH": str(REPO)}
        env.pop("LOOPLINE_DATABASE_URL", None)
        env.pop("LOOPLINE_ARTIFACTS_URL", None)
        code = f"import loopline; from tests.server import pipelines as p; loopline.LocalRunner(echo=False).run(p.slow({seconds}))"
        process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env=env)

        def root() -> RunRecord | None:
            return next(
                (
                    r
                    for r in metadata.list_runs(limit=10_000).runs
                    if r.parent_id is None and r.id not in before and r.name == "slow"
                ),
                None,
            )

        terminal = Terminal(process, eventually(root, what="the slow pipeline to be recorded").id)
        started.append(terminal)
        return terminal

    yield start
    for terminal in started:
        if terminal.process.poll() is None:
            metadata.request_cancel(terminal.root_id)
            try:
                terminal.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                terminal.process.kill()
                terminal.process.wait()


def chromium_or_skip() -> str:
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return CHROMIUM
    reason = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium); SKIPPING THEM"
    if os.environ.get("CI") == "true":
        pytest.fail(reason.replace("SKIPPING THEM", "required when CI=true"))
    pytest.skip(reason)


# -- the browser (tests marked `browser`) ------------------------------------------------------

TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


# Every page a browser test visits reports what its Content-Security-Policy refused, as it
# happens (pages the test navigated away from too): a refused script or style is a broken page.
REPORT_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const seen = `${e.violatedDirective} refused ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber}`;
  window.__csp.push(seen);
  window.__cspViolation(seen);
}, true);
"""


def watch(context: Any, page: Any, problems: list[str]) -> None:
    """Collects into `problems` the page's script errors, dialogs and refusals by its policy."""
    context.expose_binding("__cspViolation", lambda _source, seen: problems.append(f"CSP: {seen}"))
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )


@pytest.fixture
def new_page(browser: Any, server: RunningServer) -> Iterator[Callable[..., Any]]:
    """Opens pages in fresh browser contexts (one per labeler, say); checks on exit that no script
    failed, no dialog opened, no XSS payload ran and the security policy refused nothing."""
    opened: list[tuple[Any, Any]] = []
    problems: list[str] = []

    def make(labeler: str | None = None) -> Any:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server.url)
        context.set_default_timeout(TIMEOUT_MS)
        if labeler is not None:
            context.add_init_script(f"localStorage.setItem('loopline-labeler', {json.dumps(labeler)})")
        page = context.new_page()
        watch(context, page, problems)
        opened.append((context, page))
        return page

    yield make
    for context, page in opened:
        assert page.evaluate("window.__xss") is None, "an XSS payload ran"
        assert page.evaluate("window.__csp") == [], "the page's security policy refused something"
        context.close()
    assert problems == []


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    return new_page()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")
