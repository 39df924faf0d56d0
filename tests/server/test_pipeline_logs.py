"""A run with nested runs shows their output merged: the API's pages and the Logs tab."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import loopline
from loopline.core.records import LogChunk, RunRecord, RunState, WriteBatch, utcnow
from loopline.server.background import serve
from loopline.settings import Settings
from loopline.storage.embedded import open_stores
from tests.server import pipelines
from tests.server.conftest import TIMEOUT_MS, watch

STEPS = 4


@pytest.fixture(scope="module")
def chatty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A served store holding one finished `chatty` pipeline: (server URL, root run id)."""
    settings = Settings.for_home(tmp_path_factory.mktemp("chatty") / "home")
    metadata, artifacts = stores = open_stores(settings)
    future = pipelines.chatty(STEPS)
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(future)
    with serve(*stores, settings) as server:
        yield server.url, future.id


@pytest.fixture(scope="module")
def http(chatty: tuple[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=chatty[0]) as client:
        yield client


@pytest.fixture(scope="module")
def root(chatty: tuple[str, str]) -> str:
    return chatty[1]


def read(http: httpx.Client, root: str, **params: Any) -> dict[str, Any]:
    response = http.get(f"/api/v1/runs/{root}/pipeline-logs", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def lines(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["run_name"], line) for c in answer["chunks"] for line in c["text"].splitlines()]


def test_the_root_shows_what_every_step_wrote_tagged_with_its_step(http: httpx.Client, root: str) -> None:
    answer = read(http, root)
    found = lines(answer)
    assert ("chatty", "chatty starts") in found and ("prepare", "preparing the data") in found
    assert {line for name, line in found if name == "say"} >= {f"step {i} says hello" for i in range(STEPS)}
    assert [c["seq"] for c in answer["chunks"]] == sorted(c["seq"] for c in answer["chunks"])
    assert answer["finished"] and answer["earlier"] is None and answer["later"] is None


def test_filters_by_step_stream_and_text(http: httpx.Client, root: str) -> None:
    prepare = next(c["run_id"] for c in read(http, root)["chunks"] if c["run_name"] == "prepare")
    assert lines(read(http, root, step=prepare)) == [("prepare", "preparing the data")]
    assert lines(read(http, root, stream="stderr")) == [("say", "step 1 warns")]
    assert lines(read(http, root, q="STEP 3")) == [("say", "step 3 says hello")]


def test_pages_from_the_end_then_earlier_then_newer(http: httpx.Client, root: str) -> None:
    everything = read(http, root)["chunks"]
    last = read(http, root, limit=2)
    assert last["chunks"] == everything[-2:] and last["earlier"]
    before = http.get(last["earlier"]).json()
    assert before["chunks"] == everything[-4:-2] and before["later"]
    newer = read(http, root, after_seq=before["last_seq"])
    assert newer["chunks"] == everything[-2:] and newer["later"] is None


def test_a_page_is_bounded(http: httpx.Client, root: str) -> None:
    assert http.get(f"/api/v1/runs/{root}/pipeline-logs", params={"limit": 5001}).status_code == 422
    assert http.get("/api/v1/runs/nope/pipeline-logs").status_code == 404


def test_the_steps_that_wrote_output(http: httpx.Client, root: str) -> None:
    steps = http.get(f"/api/v1/runs/{root}/pipeline-logs/steps").json()
    assert [s["name"] for s in steps] == ["chatty", "prepare", *["say"] * STEPS]


def test_a_leaf_keeps_its_own_logs_tab(http: httpx.Client, root: str) -> None:
    assert 'id="pipeline-logs"' in http.get(f"/runs/{root}?tab=logs").text
    leaf = read(http, root, stream="stderr")["chunks"][0]["run_id"]
    page = http.get(f"/runs/{leaf}?tab=logs").text
    assert 'id="logs"' in page and 'id="pipeline-logs"' not in page


@pytest.mark.browser
def test_the_logs_tab_merges_the_pipeline_and_filters_by_step(
    browser: Any, chatty: tuple[str, str], root: str
) -> None:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=chatty[0])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    watch(context, page, problems)
    page.goto(f"/runs/{root}?tab=logs")
    merged = page.locator("#pipeline-logs")
    merged.locator(".pline", has_text="step 3 says hello").wait_for()
    assert merged.locator(".pline", has_text="preparing the data").locator(".ptag").inner_text() == "prepare"
    assert page.locator(".log-count").inner_text() == f"{2 + STEPS + 1} lines"
    page.select_option(".plog-step", label="prepare")
    # (no wait_for_function: its polling evaluates a string, which the page's policy refuses)
    merged.locator(".pline", has_text="step 3 says hello").wait_for(state="detached")
    merged.locator(".pline", has_text="preparing the data").wait_for()  # the filtered page is back
    assert merged.locator(".pline").count() == 1
    assert merged.inner_text().strip().endswith("preparing the data")
    merged.locator(".ptag").click()  # the tag selects its step in the page
    page.locator(".panel-head h2", has_text="prepare").wait_for()
    assert page.locator("#logs").count() == 1
    assert page.evaluate("window.__csp") == [] and problems == []
    context.close()


@pytest.mark.browser
def test_a_steps_line_cut_between_its_chunks_is_one_line_among_other_steps_output(
    browser: Any, tmp_path: Any
) -> None:
    settings = Settings.for_home(tmp_path / "home")
    stores = open_stores(settings)
    metadata = stores[0]
    now = utcnow()
    root = RunRecord("r" * 32, "r" * 32, None, "tests.cut", "cut", RunState.SUCCEEDED, now)
    one, two = (root.replace(id=c * 32, parent_id=root.id, name=f"step {c}") for c in "ab")
    chunks = [(one, "first li"), (two, "other\n"), (one, "ne\nlast\n")]
    metadata.write(
        WriteBatch(
            runs=[root, one, two], logs=[LogChunk(run.id, "stdout", text, now) for run, text in chunks]
        )
    )
    with serve(*stores, settings) as server:
        context = browser.new_context(base_url=server.url)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"/runs/{root.id}?tab=logs")
        page.locator("#pipeline-logs .pline", has_text="last").wait_for()
        assert page.locator("#pipeline-logs .ptext").all_inner_texts() == ["first line", "other", "last"]
        context.close()
