"""The HTML notebooks show: escaped, linked to the dashboard when one is known."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import loopline
from loopline.core import html
from loopline.core.records import ErrorInfo, RunRecord, RunState, utcnow


@pytest.fixture(autouse=True)
def no_dashboard(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LOOPLINE_SERVER", raising=False)
    yield
    loopline.dashboard_url("")


def run(**changes: object) -> RunRecord:
    record = RunRecord("f" * 32, "f" * 32, None, "nb.train", "train", RunState.SUCCEEDED, utcnow())
    return record.replace(**changes)


def test_the_dashboard_is_the_one_set_else_the_team_server(monkeypatch: pytest.MonkeyPatch) -> None:
    assert loopline.dashboard_url() is None
    monkeypatch.setenv("LOOPLINE_SERVER", "http://team:8707/")
    assert loopline.dashboard_url() == "http://team:8707"
    assert loopline.dashboard_url("http://mine:1/") == "http://mine:1"
    assert loopline.dashboard_url() == "http://mine:1"
    loopline.dashboard_url("")
    assert loopline.dashboard_url() == "http://team:8707"


def test_a_run_links_its_page_and_escapes_its_error() -> None:
    failed = run(state=RunState.FAILED, error=ErrorInfo("ValueError", "bad <input>"))
    assert "href" not in failed._repr_html_()
    loopline.dashboard_url("http://dash")
    shown = failed._repr_html_()
    assert f'href="http://dash/runs/{"f" * 32}"' in shown
    assert "bad &lt;input&gt;" in shown and "<input>" not in shown and "<script" not in shown
    assert "pipeline run train" in shown and "failed" in shown


def test_a_runs_repr_is_one_short_line() -> None:
    assert repr(run()) == f"<pipeline run train {'f' * 12}: succeeded>"
    assert repr(run(parent_id="p" * 32)).startswith("<run train")


def test_a_future_shows_its_call_then_its_run_and_result(runner: loopline.LocalRunner) -> None:
    @loopline.func
    def double(x: int) -> int:
        return 2 * x

    future = double(21)
    assert "not run" in future._repr_html_() and "x=21" in future._repr_html_()
    runner.run(future)
    shown = future._repr_html_()
    assert "succeeded" in shown and "42" in shown
    assert repr(future).endswith("succeeded>")


def test_image_features_become_thumbnails_and_others_do_not() -> None:
    picture = html.thumbnail(np.arange(64.0), "image 8x8")
    assert picture is not None and picture.startswith('<img src="data:image/png;base64,')
    assert html.thumbnail(np.arange(63.0), "image 8x8") is None  # the shape does not fit
    assert html.thumbnail("text", "text") is None
    assert html.thumbnail(loopline.Image.from_array(np.zeros((4, 4))), "") is not None
