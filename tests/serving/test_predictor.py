"""What predicts: the model's own methods, or a `@loopline.predictor` found by reference for pre-
and post-processing; a model that cannot predict, or a predictor that misbehaves, is named."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from loopline import inferences
from loopline.cl.store.records import ModelVersion
from loopline.errors import UsageError
from loopline.serving.background import serve_in_thread
from loopline.serving.predictor import Predictor, load_predictor
from loopline.serving.service import ServeConfig, Service
from tests.serving.conftest import digits, image, register, trained

PREDICTORS = Path(__file__).with_name("predictors.py")


def test_a_predictor_preprocesses_inputs_and_postprocesses_outputs(production: ModelVersion) -> None:
    pictures = (digits()[0][:3] / 16).reshape(3, 8, 8)
    with serve_in_thread(ServeConfig("digits@production", predictor=f"{PREDICTORS}:images")) as running:
        answer = httpx.post(f"{running.url}/predict", json={"inputs": pictures.tolist()}).json()
        running.service.recorder.flush()
    expected = [f"digit {d}" for d in trained(1.0).predict(digits()[0][:3]).tolist()]
    assert [p["prediction"] for p in answer["predictions"]] == expected
    record = inferences.get(answer["predictions"][0]["request_id"])
    assert (record.prediction, record.display) == (expected[0], "image 8x8")
    assert inferences.load_input(record).tolist() == image(0)  # logged as the model's features


def test_a_predictor_takes_records_and_can_refuse_an_input_naming_it(production: ModelVersion) -> None:
    with serve_in_thread(ServeConfig("digits@production", predictor=f"{PREDICTORS}:checked")) as running:
        good = httpx.post(f"{running.url}/predict", json={"input": {"pixels": image(4), "user": "u"}})
        short = httpx.post(f"{running.url}/predict", json={"inputs": [{"pixels": [1], "user": "u"}]})
        missing = httpx.post(f"{running.url}/predict", json={"input": {"pixels": image(4)}})
    assert good.json()["prediction"] == digits()[1][4]
    assert short.status_code == 422 and short.json()["detail"][0]["loc"] == ["body", "inputs", 0, "pixels"]
    assert missing.json()["detail"] == [
        {"type": "value_error", "loc": ["body", "input", "user"], "msg": "field required"}
    ]


def test_a_predictor_returning_logits_is_the_servers_fault_named(production: ModelVersion) -> None:
    with pytest.raises(
        UsageError, match=r"digits@1 cannot be served: .*predictor logits returned scores outside \[0, 1\]"
    ):
        Service.open(ServeConfig("digits@production", predictor=f"{PREDICTORS}:logits"))


def test_predictors_are_found_by_file_or_module(production: ModelVersion) -> None:
    assert isinstance(load_predictor(f"{PREDICTORS}:images"), Predictor)
    assert load_predictor("tests.serving.predictors:images").input is not None
    with pytest.raises(UsageError, match="not a predictor: decorate it with @loopline.predictor"):
        load_predictor("tests.serving.predictors:not_a_predictor")
    with pytest.raises(UsageError, match="has no 'nope'; predictors there: checked, images, logits"):
        load_predictor("tests.serving.predictors:nope")
    with pytest.raises(UsageError, match="expected FILE.py:NAME or package.module:NAME"):
        load_predictor("predictors")


def test_a_model_that_cannot_predict_is_refused_naming_it(home: Path) -> None:
    register({"weights": [1, 2]}, promote=True, dataset=None)
    with pytest.raises(UsageError, match=r"digits@1 is a dict, which cannot predict: .*--predictor"):
        Service.open(ServeConfig("digits@production"))


def test_an_unknown_model_or_an_alias_pointing_nowhere_is_refused(production: ModelVersion) -> None:
    with pytest.raises(LookupError, match="digit"):
        Service.open(ServeConfig("digit@production"))
    with pytest.raises(
        LookupError, match=r"digits@staging points at no version \(aliases of digits: production -> 1\)"
    ):
        Service.open(ServeConfig("digits@staging"))


def test_a_torch_module_is_served_by_its_forward(home: Path) -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10))
    register(net, promote=True, dataset=None)
    with serve_in_thread(ServeConfig("digits@production")) as running:
        answer = httpx.post(f"{running.url}/predict", json={"input": image(2)}).json()
        health = httpx.get(f"{running.url}/health").json()
    with torch.no_grad():
        expected = torch.softmax(net(torch.tensor([image(2)], dtype=torch.float32)), dim=1)[0].numpy()
    assert answer["prediction"] == int(expected.argmax())
    assert np.allclose(answer["scores"], expected, atol=1e-6)
    assert health["input"] == {"kind": "array", "shape": [64], "dtype": "float32"}
