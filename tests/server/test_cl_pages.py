"""Datasets, models, regression reports and schedules: their API and their pages, on a real server."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from markupsafe import escape

from loopline.cl.schedules import scheduler as schedules
from loopline.cl.store.workspace import Workspace
from loopline.core.records import utcnow
from loopline.server.background import RunningServer
from tests.server.conftest import Registry
from tests.server.pipelines import XSS
from tools import showcase


def test_datasets_are_listed_with_their_latest_version(http: httpx.Client, registry: Registry) -> None:
    latest = {d["name"]: d for d in http.get("/api/v1/datasets").json()}
    assert latest["digits-train"]["version"] == 2
    assert (latest["digits-train"]["size"], latest["digits-train"]["added"]) == (1040, 40)
    assert latest["digits-golden"]["display"] == "image 8x8"


def test_a_dataset_lists_every_version(http: httpx.Client, registry: Registry) -> None:
    versions = http.get("/api/v1/datasets/digits-train").json()["versions"]
    assert [(v["version"], v["size"], v["parent"]) for v in versions] == [(1, 1000, None), (2, 1040, 1)]


def test_a_diff_names_the_examples_added(http: httpx.Client, registry: Registry) -> None:
    diff = http.get("/api/v1/datasets/digits-train/diff", params={"old": 1, "new": 2}).json()
    assert (len(diff["added"]), diff["removed"], diff["changed"]) == (40, [], [])


def test_the_datasets_page_lists_them(http: httpx.Client, registry: Registry) -> None:
    page = http.get("/datasets").text
    assert 'data-dataset="digits-train"' in page and "golden</span>" in page


def test_image_examples_are_drawn_as_pictures(http: httpx.Client, registry: Registry) -> None:
    page = http.get("/datasets/digits-golden").text
    assert len(re.findall(r'<img class="ex-img pixelated" src="data:image/png;base64,', page)) == 48


def test_examples_filter_by_tag_lineage_and_label(http: httpx.Client, registry: Registry) -> None:
    hard = http.get("/datasets/digits-golden/1", params={"tag": "hard"}).text
    assert hard.count('class="ex-card"') == 8
    labeled = http.get("/datasets/digits-train/2", params={"source": "labeling"}).text
    assert labeled.count('class="ex-card"') == 40 and "low_confidence" in labeled
    sevens = http.get("/datasets/digits-train/2", params={"label": "7"}).text
    assert set(re.findall(r"label <strong class=\"ex-label\">(\w+)</strong>", sevens)) == {"7"}


def test_tables_and_texts_are_shown_as_rows_and_text(http: httpx.Client, registry: Registry) -> None:
    table = http.get("/datasets/house-prices").text
    assert '<table class="ex-row">' in table and '<th scope="row">city</th><td>Lyon</td>' in table
    text = http.get("/datasets/support-tickets").text
    assert '<div class="ex-text">Where is my refund?</div>' in text


def test_the_diff_page_shows_added_examples(http: httpx.Client, registry: Registry) -> None:
    page = http.get("/datasets/digits-train/diff/1/2").text
    assert "+40 added" in page and page.count('class="ex-card"') == 24


def test_models_show_versions_aliases_and_history(http: httpx.Client, registry: Registry) -> None:
    model = http.get("/api/v1/models/digits").json()
    assert model["aliases"] == {"candidate": 3, "production": 2, "staging": 3}
    moves = [(m["alias"], m["previous"], m["version"], m["forced"]) for m in model["history"]]
    assert moves[-1] == ("staging", 1, 3, True)
    assert model["history"][2]["report_id"] == registry.showcase.passing_report
    assert model["versions"][0]["dataset"] == "digits-train@1"


def test_the_model_page_links_lineage_and_evidence(http: httpx.Client, registry: Registry) -> None:
    page = http.get("/models/digits").text
    assert f'href="/reports/{registry.showcase.passing_report}"' in page
    assert 'href="/datasets/digits-train/1"' in page
    assert (
        '<span class="badge v-fail" title="promoted without a passing regression report">forced</span>'
        in page
    )


def test_each_model_version_shows_its_gate(http: httpx.Client, registry: Registry) -> None:
    page = http.get("/models/digits").text
    gates = dict(re.findall(r'<tr id="v(\d+)".*?<td class="gate">(.*?)</td>', page, re.S))
    assert f'href="/reports/{registry.showcase.passing_report}"' in gates["2"] and "v-pass" in gates["2"]
    assert f'href="/reports/{registry.showcase.failing_report}"' in gates["3"] and "regression" in gates["3"]
    assert "not gated" in gates["1"]


def test_a_report_tells_which_scenario_failed_and_why(http: httpx.Client, registry: Registry) -> None:
    report = http.get(f"/api/v1/reports/{registry.showcase.failing_report}").json()
    assert report["passed"] is False
    digit8 = next(s for s in report["scenarios"] if s["name"] == "digit 8")
    assert digit8["passed"] is False and digit8["right_to_wrong"] > 10
    assert [c["rule"] for c in digit8["checks"]] == ["mcnemar"]
    assert {f["label"] for f in digit8["flipped"]} == {8}


def test_the_report_page_shows_the_matrix_and_the_flipped_images(
    http: httpx.Client, registry: Registry
) -> None:
    page = http.get(f"/reports/{registry.showcase.failing_report}").text
    assert 'id="verdict">REGRESSION' in page
    row = page[page.index('data-scenario="digit 8"') :]
    row = row[: row.index('<tr class="scenario')]
    assert '<span class="badge v-fail">fail</span>' in row
    assert '<span class="rule" title="the rule that decided">mcnemar</span>' in row
    flips = page[page.index('id="flips"') :]
    assert "right → wrong" in flips and flips.count("data:image/png;base64,") >= 29


def test_reports_are_listed_and_filtered_by_model(http: httpx.Client, registry: Registry) -> None:
    ids = [r["id"] for r in http.get("/api/v1/reports", params={"model": "digits"}).json()]
    assert ids[:2] == [registry.showcase.failing_report, registry.showcase.passing_report]
    assert registry.showcase.failing_report in http.get("/reports", params={"model": "digits"}).text


def test_schedules_pause_resume_and_remove(
    guarded: httpx.Client, registry: Registry, workspace: Workspace
) -> None:
    listed = {s["name"]: s for s in guarded.get("/api/v1/schedules").json()}
    assert listed["nightly-digits"]["trigger"] == "cron 0 2 * * *"
    assert [s["state"] for s in listed["nightly-digits"]["last_runs"]] == ["failed", "succeeded"]
    assert listed["retrain-on-labels"]["next"] == "paused"
    paused = guarded.post(f"/api/v1/schedules/{quote(registry.untrusted.schedule)}/pause").json()
    assert (paused["paused"], paused["next"]) == (True, "paused")
    resumed = guarded.post(f"/api/v1/schedules/{quote(registry.untrusted.schedule)}/resume").json()
    assert resumed["paused"] is False and "UTC" in resumed["next"]
    schedules.add_schedule(
        workspace.store, "doomed", f"{showcase.__file__}:label_audit", (), schedules.cron_trigger("@daily"),
        now=utcnow(), created_by="test",
    )  # fmt: skip
    assert guarded.post("/api/v1/schedules/doomed/remove").status_code == 200
    assert "doomed" not in {s["name"] for s in guarded.get("/api/v1/schedules").json()}


def test_a_schedule_is_added_through_the_api_after_its_target_is_checked_elsewhere(
    guarded: httpx.Client, registry: Registry
) -> None:
    target = f"{showcase.__file__}:training_pipeline"
    body = {"name": "api-nightly", "target": target, "params": ["--rows", "50"], "cron": "30 1 * * *"}
    added = guarded.post("/api/v1/schedules", json={**body, "timezone": "Europe/Paris"})
    assert added.status_code == 201, added.text
    assert added.json()["trigger"] == "cron 30 1 * * * (Europe/Paris)"
    assert added.json()["next"].endswith(("CET", "CEST"))
    again = guarded.post("/api/v1/schedules", json=body)
    assert again.status_code == 400 and "already" in again.json()["detail"]
    on_growth = {"name": "api-growth", "target": target, "dataset": "digits-train", "min_new": 10}
    assert (
        guarded.post("/api/v1/schedules", json=on_growth).json()["trigger"]
        == "dataset digits-train +10 examples"
    )
    for problem, fix in [
        ({"params": ["--nope", "1"]}, "no parameter --nope"),
        ({"target": "/no/such/pipeline.py"}, "no such file"),
        ({"cron": "0 25 * * *"}, "hour field '25'"),
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"dataset": "digits-train"}, "either cron or dataset"),
        ({"webhooks": ["ftp://x"]}, "must start with http"),
    ]:
        refused = guarded.post("/api/v1/schedules", json={**body, "name": "refused", **problem})
        assert refused.status_code == 400 and fix in refused.json()["detail"], (problem, refused.text)
    for name in ("api-nightly", "api-growth"):
        assert guarded.post(f"/api/v1/schedules/{name}/remove").status_code == 200


def test_a_schedule_is_edited_through_the_api_keeping_its_history(
    guarded: httpx.Client, registry: Registry
) -> None:
    url = "/api/v1/schedules/nightly-digits/edit"
    before = guarded.get("/api/v1/schedules").json()
    history = next(s for s in before if s["name"] == "nightly-digits")["last_runs"]
    edited = guarded.post(url, json={"cron": "15 4 * * *", "timezone": "Asia/Tokyo"})
    assert edited.status_code == 200, edited.text
    assert edited.json()["trigger"] == "cron 15 4 * * * (Asia/Tokyo)"
    assert edited.json()["last_runs"] == history
    for problem, fix in [
        ({"params": ["--nope", "1"]}, "no parameter --nope"),
        ({"cron": "0 2 * * *", "min_new": 3}, "not both"),
        ({"webhooks": ["ftp://x"]}, "must start with http"),
    ]:
        refused = guarded.post(url, json=problem)
        assert refused.status_code == 400 and fix in refused.json()["detail"], (problem, refused.text)
    assert guarded.post("/api/v1/schedules/no-such/edit", json={"cron": "@daily"}).status_code == 404
    restored = guarded.post(url, json={"cron": "0 2 * * *", "timezone": "UTC"})
    assert restored.json()["trigger"] == "cron 0 2 * * *"


def test_the_schedules_page_shows_next_slot_and_last_runs(http: httpx.Client, registry: Registry) -> None:
    page = http.get("/schedules").text
    row = page[page.index('data-schedule="nightly-digits"') :]
    assert (
        "ValueError: labels outside 0..3" in row
        and 'data-post="/api/v1/schedules/nightly-digits/pause"' in row
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/datasets/no-such-dataset",
        "/api/v1/datasets/digits-train/diff?old=1&new=9",
        "/api/v1/models/no-such-model",
        "/api/v1/reports/" + "0" * 64,
        "/api/v1/reports/not-an-id",
        "/datasets/no-such-dataset",
        "/datasets/digits-train/99",
        "/datasets/digits-train/diff/1/99",
        "/models/no-such-model",
        "/reports/" + "0" * 64,
        "/reports/../../etc/passwd",
        "/labeling/no-such-queue",
    ],
)
def test_unknown_records_are_404(http: httpx.Client, registry: Registry, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 404, response.text
    assert "root:" not in response.text


@pytest.mark.parametrize("action", ["pause", "resume", "remove"])
def test_unknown_schedules_are_404(guarded: httpx.Client, action: str) -> None:
    response = guarded.post(f"/api/v1/schedules/no-such-schedule/{action}")
    assert response.status_code == 404 and "loopline schedule ls" in response.json()["detail"]


def test_bad_parameters_are_4xx(http: httpx.Client, registry: Registry) -> None:
    assert http.get("/datasets/digits-train/2", params={"page": 0}).status_code == 422
    assert http.get("/api/v1/datasets/digits-train/diff", params={"old": "x", "new": 1}).status_code == 422
    assert http.get("/datasets/digits-train/2", params={"page": 999}).status_code == 200


def test_schedule_actions_need_the_token(server: RunningServer, registry: Registry) -> None:
    for headers in (
        {},
        {"X-Loopline-Token": "wrong"},
        {"X-Loopline-Token": server.token, "Origin": "http://evil.example"},
    ):
        response = httpx.post(f"{server.url}/api/v1/schedules/nightly-digits/pause", headers=headers)
        assert response.status_code == 403
    listed = {s["name"]: s for s in httpx.get(f"{server.url}/api/v1/schedules").json()}
    assert listed["nightly-digits"]["paused"] is False


def _no_raw_xss(page: str) -> None:
    assert "<script>window.__xss" not in page
    assert "<img src=x onerror" not in page


def test_untrusted_names_labels_and_metadata_are_escaped(http: httpx.Client, registry: Registry) -> None:
    untrusted = registry.untrusted
    pages = [
        "/datasets",
        f"/datasets/{quote(untrusted.dataset)}",
        f"/datasets/{quote(untrusted.dataset)}/1",
        f"/datasets/{quote(untrusted.dataset)}/diff/1/2",
        "/models",
        f"/models/{quote(untrusted.model)}",
        "/reports",
        f"/reports/{untrusted.report}",
        "/schedules",
    ]
    for path in pages:
        response = http.get(path)
        assert response.status_code == 200, path
        _no_raw_xss(response.text)
    assert str(escape(XSS)) in http.get(f"/datasets/{quote(untrusted.dataset)}").text


JUNK = ["", "-1", "0", "99999999999999999999", "x", "%00", "../..", XSS, "1.5", "☃" * 300]


@pytest.mark.parametrize(
    "path",
    [
        "/datasets/digits-train/2?page={}",
        "/datasets/digits-train?tag={}&label={}&source={}&q={}",
        "/datasets/{}",
        "/datasets/digits-train/diff/{}/2",
        "/models/{}",
        "/reports?model={}",
        "/reports/{}",
        "/inferences?version={}&min_confidence={}&since={}&feedback={}&offset={}",
        "/inferences/{}",
        "/labeling/{}?mode={}",
        "/fragments/labeling/task/{}",
        "/loops/{}",
    ],
)
def test_pages_answer_junk_with_4xx_never_5xx(http: httpx.Client, loop: Any, path: str) -> None:
    for junk in JUNK:
        url = path.replace("{}", quote(junk, safe=""))
        response = http.get(url)
        assert response.status_code < 500, (url, response.status_code)


@pytest.mark.parametrize(
    ("path", "kinds"),
    [
        ("/datasets", "datasets"),
        ("/datasets/digits-train", "datasets"),  # the latest version: a new one shows
        ("/datasets/digits-train/1", None),  # a pinned version never changes
        ("/models", "models"),
        ("/models/digits", "models,reports"),
        ("/reports", "reports"),
        ("/schedules", "schedules"),
        ("/inferences", "inferences"),
        ("/labeling", "labeling"),
        ("/loops", "loops"),
    ],
)
def test_record_pages_name_the_records_they_follow(
    http: httpx.Client, registry: Registry, path: str, kinds: str | None
) -> None:
    followed = re.search(r'data-live-main="([^"]*)"', http.get(path).text)
    assert (followed.group(1) if followed else None) == kinds
