"""The continuous-learning pages in a real headless Chromium: labeling from the keyboard, several
labelers at once, review, the regression report and the schedules' buttons."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from loopline.cl.schedules import scheduler as schedules
from loopline.cl.store.workspace import Workspace
from loopline.core.records import utcnow
from tests.server.conftest import Loop, Registry, eventually
from tests.server.records import XSS_NO_SLASH, queue_of
from tools import showcase

pytestmark = pytest.mark.browser


def shown_task(page: Any, after: int | None = None) -> int:
    """The task the page shows (waiting for one other than `after`)."""
    card = page.locator("#task .task-card" + (f':not([data-task-id="{after}"])' if after else ""))
    card.wait_for()
    return int(card.get_attribute("data-task-id"))


def task(http: httpx.Client, task_id: int, queue: str) -> dict[str, Any]:
    return next(t for t in http.get(f"/api/v1/labeling/{queue}/tasks").json() if t["id"] == task_id)


def test_a_key_press_labels_the_task_and_shows_the_next(
    new_page: Callable[..., Any], http: httpx.Client, workspace: Workspace, loop: Loop, shots: Path
) -> None:
    queue = queue_of(workspace, "browser-keys", list(loop.showcase.request_ids[120:126]))
    page = new_page("ada")
    page.goto(f"/labeling/{queue.name}")
    first = shown_task(page)
    assert page.locator("#task img.ex-img").count() == 1  # the example, drawn as the image it is
    page.screenshot(path=shots / "labeling.png")
    page.keyboard.press("7")
    eventually(lambda: task(http, first, queue.name)["state"] == "labeled", what="the label to be recorded")
    labeled = task(http, first, queue.name)
    assert (labeled["label"], labeled["labeled_by"]) == (7, "ada")
    second = shown_task(page, after=first)
    assert page.locator("#done-count").inner_text() == "1"
    page.keyboard.press("s")
    eventually(lambda: task(http, second, queue.name)["skips"] == 1, what="the skip to be recorded")
    third = shown_task(page, after=second)
    suggestion = task(http, third, queue.name)["suggestion"]
    page.keyboard.press("Enter")
    eventually(
        lambda: task(http, third, queue.name)["label"] == suggestion, what="the suggestion to be taken"
    )


def test_two_labelers_never_see_the_same_task(
    new_page: Callable[..., Any], http: httpx.Client, workspace: Workspace, loop: Loop
) -> None:
    queue = queue_of(workspace, "browser-pair", list(loop.showcase.request_ids[130:138]))
    ada, grace = new_page("ada"), new_page("grace")
    ada.goto(f"/labeling/{queue.name}")
    grace.goto(f"/labeling/{queue.name}")
    seen_by_ada, seen_by_grace = shown_task(ada), shown_task(grace)
    assert seen_by_ada != seen_by_grace
    claimed = {t["id"]: t["claimed_by"] for t in http.get(f"/api/v1/labeling/{queue.name}/tasks").json()}
    assert (claimed[seen_by_ada], claimed[seen_by_grace]) == ("ada", "grace")
    ada.keyboard.press("1")
    grace.keyboard.press("2")
    eventually(
        lambda: (
            {
                task(http, seen_by_ada, queue.name)["labeled_by"],
                task(http, seen_by_grace, queue.name)["labeled_by"],
            }
            == {"ada", "grace"}
        ),
        what="both labels",
    )
    assert shown_task(ada, after=seen_by_ada) != shown_task(grace, after=seen_by_grace)


def test_review_approves_from_the_keyboard(
    new_page: Callable[..., Any], http: httpx.Client, workspace: Workspace, loop: Loop
) -> None:
    queue = queue_of(workspace, "browser-review", list(loop.showcase.request_ids[140:142]))
    for claimed in queue.claim(2, labeler="ada"):
        queue.submit(claimed, 4, labeler="ada")
    page = new_page("linus")
    page.goto(f"/labeling/{queue.name}?mode=review")
    page.locator(".review-card.current").wait_for()
    current = int(page.locator(".review-card.current").get_attribute("data-task-id"))
    page.keyboard.press("a")
    eventually(lambda: task(http, current, queue.name)["state"] == "approved", what="the approval")
    assert task(http, current, queue.name)["reviewed_by"] == "linus"
    page.locator(f'.review-card.current:not([data-task-id="{current}"])').wait_for()
    page.keyboard.press("r")
    eventually(lambda: queue.counts().get("open") == 1, what="the rejected task to go back to the queue")


def test_the_report_page_draws_flips_and_opens_checks(page: Any, registry: Registry, shots: Path) -> None:
    page.goto(f"/reports/{registry.showcase.failing_report}")
    assert page.locator("#verdict").inner_text() == "REGRESSION"
    failing = page.locator('tr[data-scenario="digit 8"] details')
    assert failing.get_attribute("open") is not None
    images = page.locator("#flips img.ex-img")
    assert images.count() >= 29
    assert images.first.evaluate("img => img.complete && img.naturalWidth === 8")
    page.screenshot(path=shots / "report.png")
    passing = page.locator('tr[data-scenario="digit 0"] details')
    assert passing.get_attribute("open") is None
    passing.locator("summary").focus()
    page.keyboard.press("Enter")
    assert passing.get_attribute("open") is not None


def test_schedule_buttons_pause_resume_and_confirm_removal(
    page: Any, http: httpx.Client, registry: Registry, workspace: Workspace
) -> None:
    schedules.add_schedule(
        workspace.store, "browser-doomed", f"{showcase.__file__}:label_audit", (),
        schedules.cron_trigger("@hourly"), now=utcnow(), created_by="test",
    )  # fmt: skip
    page.goto("/schedules")
    row = page.locator('tr[data-schedule="browser-doomed"]')
    row.get_by_role("button", name="Pause").click()
    row.get_by_role("button", name="Resume").wait_for()
    assert "paused" in row.locator(".next").inner_text()
    row.get_by_role("button", name="Resume").click()
    row.get_by_role("button", name="Pause").wait_for()
    remove = row.get_by_role("button", name="Remove")
    remove.click()
    assert "Click again" in remove.inner_text()
    assert "browser-doomed" in {s["name"] for s in http.get("/api/v1/schedules").json()}
    remove.click()
    page.locator('tr[data-schedule="browser-doomed"]').wait_for(state="detached")
    assert "browser-doomed" not in {s["name"] for s in http.get("/api/v1/schedules").json()}


def test_untrusted_content_never_runs_in_the_pages(
    new_page: Callable[..., Any], registry: Registry, loop: Loop
) -> None:
    page = new_page("ada")
    for path in (
        f"/labeling/{quote(XSS_NO_SLASH)}",
        f"/labeling/{quote(XSS_NO_SLASH)}?mode=review",
        f"/inferences/{quote(loop.untrusted)}",
        f"/datasets/{quote(registry.untrusted.dataset)}",
        f"/reports/{registry.untrusted.report}",
        f"/models/{quote(registry.untrusted.model)}",
        "/schedules",
    ):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__xss") is None, path
    page.goto(f"/labeling/{quote(XSS_NO_SLASH)}")
    page.locator("#task .task-card, #queue-empty").first.wait_for()
