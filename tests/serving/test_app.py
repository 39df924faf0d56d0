"""`POST /predict`, `POST /feedback`, `GET /health` and the schema of a served model, for real
over HTTP: predictions name their version and are logged; bad requests are 422s naming the field."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from loopline import inferences
from loopline.cl.store.records import ModelVersion
from loopline.cl.store.workspace import Workspace
from loopline.serving.background import RunningService
from tests.serving.conftest import digits, image, trained


def predict(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post("/predict", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def problems(response: httpx.Response) -> list[tuple[list[Any], str]]:
    assert response.status_code == 422, response.text
    return [(p["loc"], p["msg"]) for p in response.json()["detail"]]


def test_one_input_is_answered_by_the_production_version(http: httpx.Client) -> None:
    answer = predict(http, input=image(5))
    expected = trained(1.0).predict_proba(digits()[0][5:6])[0]
    assert (answer["model"], answer["version"], answer["alias"]) == ("digits@1", 1, "production")
    assert answer["prediction"] == int(expected.argmax()) == digits()[1][5]
    assert answer["confidence"] == pytest.approx(expected.max())
    assert answer["scores"] == pytest.approx(expected.tolist())


def test_a_batch_is_answered_in_order(http: httpx.Client) -> None:
    response = http.post("/predict", json={"inputs": [image(r) for r in range(10)]})
    answer = response.json()
    assert response.headers["X-Loopline-Model"] == answer["model"] == "digits@1"
    assert [p["prediction"] for p in answer["predictions"]] == trained(1.0).predict(digits()[0][:10]).tolist()
    assert len({p["request_id"] for p in answer["predictions"]}) == 10


def test_every_prediction_is_logged_with_its_version_input_and_scores(
    http: httpx.Client, running: RunningService
) -> None:
    one = predict(http, input=image(3), request_id="req-3", metadata={"user": "u-42"})
    batch = predict(http, inputs=[image(7), image(8)], request_ids=["req-7", "req-8"])
    running.service.recorder.flush()
    record = inferences.get("req-3")
    assert (record.model, record.model_version, record.alias, record.display) == (
        "digits",
        1,
        "production",
        "image 8x8",
    )
    assert (record.prediction, record.metadata) == (one["prediction"], {"user": "u-42"})
    assert record.confidence == pytest.approx(one["confidence"])
    assert inferences.load_input(record).tolist() == image(3)
    assert [inferences.get(r).prediction for r in ("req-7", "req-8")] == [
        p["prediction"] for p in batch["predictions"]
    ]


def test_feedback_attaches_to_the_request_id(http: httpx.Client) -> None:
    request_id = predict(http, input=image(9))["request_id"]
    response = http.post("/feedback", json={"request_id": request_id, "kind": "correction", "label": 4})
    assert response.json() == {
        "request_id": request_id,
        "kind": "correction",
        "source": "api",
        "label": 4,
        "score": None,
    }
    (feedback,) = Workspace.open().store.list_feedback(request_ids=[request_id])
    assert (feedback.kind, feedback.label) == ("correction", 4)


def test_feedback_on_a_request_never_served_is_a_404(http: httpx.Client) -> None:
    response = http.post("/feedback", json={"request_id": "never-served", "kind": "flag"})
    assert response.status_code == 404 and "never-served" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"input": image(0)[:63]}, [(["body", "input"], "expected 64 values, got 63")]),
        (
            {"input": [*image(0)[:10], "x", *image(0)[11:]]},
            [(["body", "input", 10], "expected a number, got the string 'x'")],
        ),
        (
            {"inputs": [image(0), [None, *image(0)[1:]]]},
            [(["body", "inputs", 1, 0], "expected a number, got null")],
        ),
        ({"input": 7}, [(["body", "input"], "expected a list of 64 values, got the number 7")]),
        ({"inputs": []}, [(["body", "inputs"], "expected a non-empty list of inputs")]),
        (
            {"inpt": image(0)},
            [
                (
                    ["body", "inpt"],
                    "unknown field; the fields are input, inputs, request_id, request_ids, metadata",
                )
            ],
        ),
        (
            {"input": image(0), "request_id": ""},
            [
                (
                    ["body", "request_id"],
                    "request_id must be a non-empty string of at most 128 characters without surrounding spaces, got ''",
                )
            ],
        ),
        (
            {"inputs": [image(0)], "request_ids": ["a", "b"]},
            [(["body", "request_ids"], "expected a list of 1 request ids, one per input")],
        ),
        (
            {"input": image(0), "metadata": [1]},
            [(["body", "metadata"], "metadata must be a dict with string keys, got [1]")],
        ),
    ],
)
def test_a_malformed_request_is_a_422_naming_the_field(
    http: httpx.Client, body: dict[str, Any], expected: list[tuple[list[Any], str]]
) -> None:
    assert problems(http.post("/predict", json=body)) == expected


def test_a_body_that_is_not_json_or_gives_both_inputs_is_a_422(http: httpx.Client) -> None:
    assert problems(http.post("/predict", content=b"{nope"))[0][0] == ["body"]
    both = problems(http.post("/predict", json={"input": image(0), "inputs": [image(0)]}))
    assert both == [
        (["body"], 'give "input" (one input) or "inputs" (a list of inputs), not both or neither')
    ]


def test_malformed_feedback_is_a_422_naming_the_field(http: httpx.Client) -> None:
    request_id = predict(http, input=image(1))["request_id"]
    assert problems(http.post("/feedback", json={"request_id": request_id, "kind": "correction"})) == [
        (["body", "label"], "a correction needs the label the model should have predicted")
    ]
    assert problems(http.post("/feedback", json={"request_id": request_id, "kind": "nope"}))[0][0] == [
        "body",
        "kind",
    ]


def test_health_says_what_is_served(http: httpx.Client, production: ModelVersion) -> None:
    health = http.get("/health").json()
    assert (health["status"], health["serving"], health["model"], health["alias"]) == (
        "ok",
        "digits@production",
        "digits@1",
        "production",
    )
    assert health["input"] == {"kind": "array", "shape": [64], "dtype": "float64"}
    assert health["predictor"] == "LogisticRegression.predict_proba" and health["problem"] is None


def test_the_schema_shows_the_input_the_served_version_takes(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["input"]["minItems"] == body["properties"]["input"]["maxItems"] == 64
    assert {"/predict", "/feedback", "/health"} <= set(schema["paths"])
    assert http.get("/docs").status_code == 200
