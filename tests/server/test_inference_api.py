"""`POST /api/v1/inferences` and `/api/v1/feedback` (machine clients), the explorer and the
labeling API, against a real server."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from markupsafe import escape

from loopline import Dataset
from loopline.cl.production.log import InferenceLog
from loopline.cl.store.workspace import Workspace
from loopline.server.background import RunningServer, serve
from loopline.settings import Settings
from tests.server.conftest import Loop
from tests.server.pipelines import XSS
from tests.server.records import XSS_NO_SLASH, queue_of
from tests.server.team import key_for


def record(request_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "model": "digits@production",
        "input": [float(i % 17) for i in range(64)],
        "prediction": 3,
        "scores": [0.02] * 3 + [0.82] + [0.02] * 6,
        "display": "image 8x8",
        **fields,
    }


def fresh(n: int) -> list[str]:
    return [f"api-{uuid.uuid4().hex[:12]}" for _ in range(n)]


def test_a_batch_is_recorded_and_readable(http: httpx.Client, loop: Loop) -> None:
    ids = fresh(3)
    result = http.post("/api/v1/inferences", json={"records": [record(i) for i in ids]})
    assert result.status_code == 200, result.text
    assert result.json() == {"accepted": ids, "duplicates": [], "rejected": []}
    one = http.get(f"/api/v1/inferences/{ids[0]}").json()
    assert (one["model"], one["model_version"], one["alias"], one["prediction"]) == (
        "digits",
        2,
        "production",
        3,
    )
    assert one["confidence"] == 0.82


def test_sending_a_batch_again_records_nothing_twice(http: httpx.Client, loop: Loop) -> None:
    ids = fresh(2)
    body = {"records": [record(i) for i in ids]}
    http.post("/api/v1/inferences", json=body)
    before = http.get("/api/v1/inferences", params={"limit": 1}).json()["total"]
    again = http.post("/api/v1/inferences", json=body).json()
    assert (again["accepted"], again["duplicates"]) == ([], ids)
    assert http.get("/api/v1/inferences", params={"limit": 1}).json()["total"] == before


def test_bad_records_are_rejected_one_by_one_and_the_others_kept(http: httpx.Client, loop: Loop) -> None:
    good = fresh(2)
    batch = [
        record(good[0]),
        "not an object",
        record("unknown-model", model="nope@production"),
        {k: v for k, v in record("no-prediction").items() if k != "prediction"},
        record("bad-scores", scores=["high"]),
        record("bad-time", time="yesterday"),
        record(good[1]),
        record("extra", colour="blue"),
    ]
    result = http.post("/api/v1/inferences", json={"records": batch}).json()
    assert result["accepted"] == good
    rejected = {p["index"]: p for p in result["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4, 5, 7]
    assert "JSON object" in rejected[1]["error"] and rejected[1]["request_id"] is None
    assert "nope" in rejected[2]["error"]
    assert "prediction" in rejected[3]["error"]
    assert "scores" in rejected[4]["error"]
    assert "ISO 8601" in rejected[5]["error"]
    assert "colour" in rejected[7]["error"]
    assert http.get(f"/api/v1/inferences/{good[1]}").status_code == 200
    assert http.get("/api/v1/inferences/bad-scores").status_code == 404


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"records": 3}', b"[]", b'{"records": [' + b"{}," * 10_000 + b"{}]}"],
)
def test_malformed_bodies_are_422(http: httpx.Client, body: bytes) -> None:
    response = http.post("/api/v1/inferences", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["detail"]


def test_feedback_on_logged_and_unknown_requests(http: httpx.Client, loop: Loop) -> None:
    (known,) = fresh(1)
    http.post("/api/v1/inferences", json={"records": [record(known)]})
    result = http.post(
        "/api/v1/feedback",
        json={
            "records": [
                {"request_id": known, "kind": "correction", "label": 8, "source": "user-1"},
                {"request_id": "never-logged", "kind": "flag"},
                {"request_id": known, "kind": "correction"},
                {"request_id": known, "kind": "praise"},
            ]
        },
    ).json()
    assert result["accepted"] == [known]
    assert [(p["index"], p["request_id"]) for p in result["rejected"]] == [
        (1, "never-logged"),
        (2, known),
        (3, known),
    ]
    assert "log the inference first" in result["rejected"][0]["error"]
    feedback = http.get(f"/api/v1/inferences/{known}").json()["feedback"]
    assert [(f["kind"], f["label"], f["source"]) for f in feedback] == [("correction", 8, "user-1")]


def test_the_list_filters_by_model_confidence_and_feedback(http: httpx.Client, loop: Loop) -> None:
    unsure = http.get(
        "/api/v1/inferences", params={"max_confidence": 0.6, "model": "digits", "limit": 500}
    ).json()
    assert unsure["total"] == len(unsure["inferences"]) > 0
    assert all(r["confidence"] <= 0.6 for r in unsure["inferences"])
    corrected = http.get(
        "/api/v1/inferences", params={"feedback": "correction", "version": 2, "limit": 500}
    ).json()
    assert corrected["inferences"] and all(
        any(f["kind"] == "correction" for f in r["feedback"]) for r in corrected["inferences"]
    )
    later = http.get("/api/v1/inferences", params={"since": "2999-01-01T00:00:00Z"}).json()
    assert later == {"inferences": [], "total": 0}
    assert http.get("/api/v1/inferences", params={"since": "soon"}).status_code == 422
    assert http.get("/api/v1/inferences", params={"feedback": "maybe"}).status_code == 422


def test_the_explorer_shows_inputs_predictions_and_feedback(http: httpx.Client, loop: Loop) -> None:
    page = http.get("/inferences", params={"feedback": "flag", "model": "digits"}).text
    assert 'class="fb fb-flag"' in page and "data:image/png;base64," in page
    first = loop.showcase.request_ids[0]
    detail = http.get(f"/inferences/{first}").text
    assert (
        'id="input"' in detail
        and "data:image/png;base64," in detail
        and 'aria-label="scores per class"' in detail
    )
    assert http.get("/inferences/no-such-request").status_code == 404
    assert http.get("/inferences", params={"min_confidence": 2}).status_code == 422


def test_machine_endpoints_refuse_web_pages(server: RunningServer, loop: Loop) -> None:
    for path in ("/api/v1/inferences", "/api/v1/feedback"):
        response = httpx.post(
            f"{server.url}{path}",
            json={"records": []},
            headers={"Origin": "http://evil.example", "X-Loopline-Token": server.token},
        )
        assert response.status_code == 403 and "cross-origin" in response.json()["detail"]
        own_page = httpx.post(f"{server.url}{path}", json={"records": []}, headers={"Origin": server.url})
        assert own_page.status_code == 403 and "X-Loopline-Token" in own_page.json()["detail"]


def test_without_auth_programs_on_this_machine_may_log(server: RunningServer, loop: Loop) -> None:
    (request_id,) = fresh(1)
    response = httpx.post(f"{server.url}/api/v1/inferences", json={"records": [record(request_id)]})
    assert response.status_code == 200 and response.json()["accepted"] == [request_id]


@pytest.fixture(scope="module")
def keyed(stores: Any, settings: Settings, loop: Loop) -> Iterator[RunningServer]:
    with serve(*stores, settings, auth=True) as running:
        yield running


def test_with_auth_on_a_key_is_required(keyed: RunningServer) -> None:
    key = key_for(keyed, "serving")
    (request_id,) = fresh(1)
    body = {"records": [record(request_id)]}
    url = f"{keyed.url}/api/v1/inferences"
    for headers in (
        {},
        {"Authorization": "Bearer wrong-key-wrong-key"},
        {"Authorization": key},
        {"X-Loopline-Token": keyed.token},
    ):
        response = httpx.post(url, json=body, headers=headers)
        assert response.status_code == 401, headers
    accepted = httpx.post(url, json=body, headers={"Authorization": f"Bearer {key}"})
    assert accepted.status_code == 200 and accepted.json()["accepted"] == [request_id]
    assert (
        httpx.post(
            f"{keyed.url}/api/v1/feedback", json={"records": []}, headers={"Authorization": f"bearer {key}"}
        ).status_code
        == 200
    )


# -- the labeling API --------------------------------------------------------------------------


def test_two_labelers_never_claim_the_same_task(
    guarded: httpx.Client, workspace: Workspace, loop: Loop
) -> None:
    queue = queue_of(workspace, "api-claims", list(loop.showcase.request_ids[100:106]))
    first = guarded.post(f"/api/v1/labeling/{queue.name}/claim", json={"labeler": "ada", "limit": 4}).json()
    second = guarded.post(
        f"/api/v1/labeling/{queue.name}/claim", json={"labeler": "grace", "limit": 4}
    ).json()
    assert len(first) == 4 and len(second) == 2
    assert not {t["id"] for t in first} & {t["id"] for t in second}
    assert guarded.post(f"/api/v1/labeling/{queue.name}/claim", json={"labeler": "linus"}).json() == []
    stolen = guarded.post(
        f"/api/v1/labeling/tasks/{first[0]['id']}/label", json={"labeler": "grace", "label": 1}
    )
    assert stolen.status_code == 409 and "ada has claimed it" in stolen.json()["detail"]


def test_label_skip_review_and_commit(guarded: httpx.Client, workspace: Workspace, loop: Loop) -> None:
    queue = queue_of(workspace, "api-flow", list(loop.showcase.request_ids[110:113]))
    a, b, c = guarded.post(f"/api/v1/labeling/{queue.name}/claim", json={"labeler": "ada", "limit": 3}).json()
    labeled = guarded.post(
        f"/api/v1/labeling/tasks/{a['id']}/label", json={"labeler": "ada", "label": 4}
    ).json()
    assert (labeled["state"], labeled["label"], labeled["labeled_by"]) == ("labeled", 4, "ada")
    assert (
        guarded.post(f"/api/v1/labeling/tasks/{b['id']}/skip", json={"labeler": "ada"}).json()["skips"] == 1
    )
    assert (
        guarded.post(f"/api/v1/labeling/tasks/{c['id']}/release", json={"labeler": "ada"}).json()["state"]
        == "open"
    )
    review = guarded.post(
        f"/api/v1/labeling/tasks/{a['id']}/review", json={"reviewer": "linus", "approve": True, "label": 5}
    )
    assert (review.json()["state"], review.json()["label"], review.json()["reviewed_by"]) == (
        "approved",
        5,
        "linus",
    )
    again = guarded.post(
        f"/api/v1/labeling/tasks/{a['id']}/review", json={"reviewer": "linus", "approve": True}
    )
    assert again.status_code == 409
    # into a dataset of this test's own (the showcase's digits-train is shared by other tests)
    train = Dataset.load("digits-train@1", workspace=workspace)
    Dataset("api-train", train.features[:2], train.labels[:2], ids=["t0", "t1"], display="image 8x8").save(
        workspace=workspace
    )
    done = guarded.post(f"/api/v1/labeling/{queue.name}/commit", json={"dataset": "api-train"}).json()
    assert (done["dataset"], done["added"], done["tasks"]) == ("api-train@2", 1, [a["id"]])
    page = guarded.get("/datasets/api-train/2", params={"source": "labeling", "q": a["example_id"]}).text
    assert f'href="/inferences/{a["example_id"]}"' in page and "linus" in page


def test_labeling_errors_are_4xx(guarded: httpx.Client, loop: Loop) -> None:
    assert (
        guarded.post("/api/v1/labeling/tasks/999999/label", json={"labeler": "a", "label": 1}).status_code
        == 404
    )
    assert guarded.post("/api/v1/labeling/digits/claim", json={"labeler": ""}).status_code == 422
    assert guarded.post("/api/v1/labeling/digits/claim", json={"labeler": "a", "limit": 0}).status_code == 422
    assert guarded.get("/labeling/digits", params={"mode": "judge"}).status_code == 422
    assert guarded.get("/loops/no-such-loop").status_code == 404
    assert guarded.get("/fragments/labeling/task/999999").status_code == 404


def test_labeling_needs_the_session_token(server: RunningServer, loop: Loop) -> None:
    response = httpx.post(f"{server.url}/api/v1/labeling/digits/claim", json={"labeler": "mallory"})
    assert response.status_code == 403


def test_queues_and_loops_are_listed(http: httpx.Client, loop: Loop) -> None:
    queues = {q["name"]: q["counts"] for q in http.get("/api/v1/labeling").json()}
    assert queues["digits"]["approved"] == 1
    assert 'data-queue="digits"' in http.get("/labeling").text
    page = http.get("/loops/digits-loop").text
    assert 'aria-label="candidate accuracy per scenario over rounds"' in page
    assert page.count('<tr data-round="') == 3 and "digit 8" in page
    assert 'data-loop="digits-loop"' in http.get("/loops").text
    rounds = http.get("/api/v1/loops/digits-loop").json()
    assert [(r["round"], r["state"], r["promoted"]) for r in rounds] == [
        (1, "promoted", True),
        (2, "blocked", False),
        (3, "no new examples", False),
    ]
    assert rounds[1]["scenarios"]["digit 8"]["passed"] is False
    assert "digits-loop" in {r["loop"] for r in http.get("/api/v1/loops").json()}
    assert http.get("/api/v1/loops/no-such-loop").status_code == 404


def test_untrusted_inference_content_is_escaped(http: httpx.Client, loop: Loop) -> None:
    (task,) = http.get(f"/api/v1/labeling/{quote(XSS_NO_SLASH)}/tasks").json()
    pages = [
        "/inferences",
        f"/inferences/{quote(loop.untrusted)}",
        "/labeling",
        f"/labeling/{quote(XSS_NO_SLASH)}",
        f"/labeling/{quote(XSS_NO_SLASH)}?mode=review",
        f"/fragments/labeling/task/{task['id']}",
    ]
    for path in pages:
        response = http.get(path)
        assert response.status_code == 200, path
        assert "<script>window.__xss" not in response.text and "<img src=x onerror" not in response.text
    assert str(escape(XSS)) in http.get(f"/inferences/{quote(loop.untrusted)}").text


def test_the_explorer_form_leaves_empty_fields_out(http: httpx.Client, loop: Loop) -> None:
    fields = ("model", "version", "since", "until", "min_confidence", "max_confidence", "feedback")
    page = http.get("/inferences", params=dict.fromkeys(fields, ""))
    assert page.status_code == 200 and "data-request-id=" in page.text
    later = http.get("/inferences", params={"since": "2999-01-01T00:00"}).text  # a datetime-local value
    assert "data-request-id=" not in later and "No logged predictions match" in later
    for bad in ({"version": "x"}, {"feedback": "maybe"}, {"max_confidence": "2"}, {"until": "soon"}):
        response = http.get("/inferences", params=bad)
        assert response.status_code == 422, bad


def test_a_row_shows_the_alias_it_was_served_under_and_what_it_means_now(
    http: httpx.Client, workspace: Workspace, loop: Loop
) -> None:
    request_id = fresh(1)[0]
    with InferenceLog(workspace, background=False) as log:  # served as production when v1 held it
        log.log("digits@1", [0.0] * 64, 3, request_id=request_id, alias="production")
    row = re.search(rf'<tr data-request-id="{request_id}">.*?</tr>', http.get("/inferences").text, re.S)
    assert row is not None
    assert '<span class="alias"' in row[0] and ">production</span>" in row[0]
    assert '<span class="muted alias-now">now v2</span>' in row[0]
