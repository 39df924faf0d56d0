"""The dashboard of a server with auth on, in a real headless Chromium: signing in (a password,
or a pasted key) and out, a change made from a page (its token from the meta tag), what an
admin sees (the audit log), and who promoted a model on which report."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import loopline
from loopline import Dataset, models
from loopline.cl.store.workspace import Workspace
from loopline.settings import Settings
from loopline.team.records import Role
from tests.server.conftest import TIMEOUT_MS, watch
from tests.server.team import PASSWORD, user_with_password
from tests.team import pipelines
from tests.team_server import TeamServer

pytestmark = pytest.mark.browser


class Threshold:
    """A model: class 1 when the first feature is over a half."""

    def predict(self, x: Any) -> Any:
        return (np.asarray(x)[:, 0] > 0.5).astype(int)


@pytest.fixture(scope="module")
def run_id(team: TeamServer) -> str:
    future = pipelines.double(21)
    loopline.LocalRunner(metadata=team.state.metadata, artifacts=team.state.artifacts, echo=False).run(future)
    return future.id


@pytest.fixture(scope="module")
def lead_key(team: TeamServer) -> str:
    return team.key("lead", Role.ADMIN)


@pytest.fixture(scope="module")
def report_id(team: TeamServer, lead_key: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The lead, from their own machine, promotes gate@2 to production on a passing report."""
    home = tmp_path_factory.mktemp("lead")
    ws = Workspace.open(Settings.for_home(home, team.client_env(lead_key)))
    x = np.array([[0.1], [0.9], [0.2], [0.8], [0.3], [0.7]])
    golden = Dataset("gate-golden", x, np.array([0, 1, 0, 1, 0, 1])).save(workspace=ws)
    first = models.register("gate", Threshold(), workspace=ws)
    models.promote(first, "production", reason="first", workspace=ws)
    second = models.register("gate", Threshold(), description="same, retrained", workspace=ws)
    scenarios = [loopline.Scenario("all", at_least={"accuracy": 0.9})]
    report = loopline.regression_test(
        "gate@2", golden, scenarios, baseline="gate@production", name="gate", workspace=ws
    )
    saved = report.save(workspace=ws)
    models.promote(second, "production", report=saved, reason="passed the gate", workspace=ws)
    return saved


@pytest.fixture(scope="module")
def pat(team: TeamServer) -> str:
    return user_with_password(team.state, "pat", Role.EDITOR)


@pytest.fixture
def new_page(browser: Any, team: TeamServer) -> Iterator[Callable[[], Any]]:
    """Pages in fresh browser contexts (no cookies); no script may fail, no dialog open, and the
    security policy may refuse nothing."""
    opened: list[Any] = []
    problems: list[str] = []

    def make() -> Any:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=team.url)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        watch(context, page, problems)
        opened.append(context)
        return page

    yield make
    for context in opened:
        context.close()
    assert problems == []


def sign_in_with_password(page: Any, name: str, password: str) -> None:
    form = page.locator("form.login-form").first
    form.get_by_label("User").fill(name)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Sign in").click()


def test_a_page_sends_a_visitor_to_sign_in_and_then_back(
    new_page: Callable[[], Any], run_id: str, pat: str, shots: Path
) -> None:
    page = new_page()
    page.goto(f"/runs/{run_id}")
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    assert page.locator(".who-name").count() == 0 and page.get_by_role("navigation").count() == 0
    page.screenshot(path=shots / "login.png")
    sign_in_with_password(page, "pat", pat)
    page.wait_for_url(f"**/runs/{run_id}")
    assert page.locator(".who-name").inner_text() == "pat · editor"
    assert page.get_by_role("link", name="Audit").count() == 0  # for admins


def test_a_wrong_password_says_so_and_keeps_the_visitor_out(new_page: Callable[[], Any], pat: str) -> None:
    page = new_page()
    page.goto("/login")
    sign_in_with_password(page, "pat", "not " + PASSWORD)
    assert page.get_by_role("alert").inner_text() == "wrong user name or password"
    page.goto("/runs")
    page.wait_for_url(re.compile(r".*/login\?next=/runs$"))


def add_note(page: Any, run_id: str, text: str) -> Any:
    """Sign pat in on the run's notes, add a note from the page; the note as shown."""
    page.goto(f"/login?next=/runs/{run_id}%3Ftab%3Dnotes")
    sign_in_with_password(page, "pat", PASSWORD)
    page.wait_for_url(f"**/runs/{run_id}?tab=notes")
    assert page.locator('meta[name="loopline-token"]').get_attribute("content")
    page.locator("#note-body").fill(f"**{text}**")
    page.get_by_role("button", name="Add note").click()
    note = page.locator("#notes article.note", has_text=text)
    note.wait_for()
    return note


def test_a_note_added_from_the_page_is_signed_by_the_user(
    new_page: Callable[[], Any], run_id: str, pat: str
) -> None:
    note = add_note(new_page(), run_id, "checked by pat")
    assert note.locator("header strong").inner_text() == "pat"


def test_signing_out_ends_the_session(new_page: Callable[[], Any], pat: str) -> None:
    page = new_page()
    page.goto("/login?next=/models")
    sign_in_with_password(page, "pat", pat)
    page.wait_for_url("**/models")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    page.goto("/models")
    page.wait_for_url(re.compile(r".*/login\?next=/models$"))
    assert page.context.cookies() == []


def test_an_admin_signs_in_with_a_pasted_key_and_sees_the_changes_in_the_audit_log(
    new_page: Callable[[], Any], lead_key: str, report_id: str, run_id: str, pat: str, shots: Path
) -> None:
    add_note(new_page(), run_id, "seen by the lead")
    page = new_page()
    page.goto("/login")
    page.get_by_label("Or paste an API key").fill(lead_key)
    page.get_by_role("button", name="Sign in with the key").click()
    page.wait_for_url("**/runs")
    assert page.locator(".who-name").inner_text() == "lead · admin"
    page.get_by_role("link", name="Audit").click()
    page.wait_for_url("**/audit")
    rows = page.locator("table.audit tbody tr")
    cells = [r.split("\t") for r in rows.all_inner_texts()]
    done = {(c[1], c[4], c[5]) for c in cells}
    assert ("pat", "note.added", run_id) in done and ("lead", "alias.moved", "gate@production") in done
    assert ("lead", "user.signed_in", "lead") in done
    page.screenshot(path=shots / "audit.png", full_page=True)
    page.get_by_label("Action").fill("alias.")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*action=alias\..*"))
    assert {r.split("\t")[4] for r in rows.all_inner_texts()} == {"alias.moved"}


def test_the_model_page_shows_who_promoted_on_which_report(
    new_page: Callable[[], Any], report_id: str, pat: str
) -> None:
    page = new_page()
    page.goto("/login?next=/models/gate")
    sign_in_with_password(page, "pat", pat)
    page.wait_for_url("**/models/gate")
    move = page.locator("table.history tbody tr").first
    assert "lead" in move.locator("td").nth(3).inner_text()
    move.get_by_role("link", name=re.compile(r"report")).click()
    page.wait_for_url(f"**/reports/{report_id}")
