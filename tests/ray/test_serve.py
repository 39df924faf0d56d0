"""`loopline serve --ray`: the same service on Ray Serve (bound to 127.0.0.1 on a free port, on
the session's Ray instance), its replicas logging every prediction and following the alias."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from loopline import inferences, models
from loopline.cl.store.records import ModelVersion
from loopline.serving.background import free_port
from loopline.serving.service import ServeConfig
from tests.serving.conftest import digits, first_production, image, register, trained

pytestmark = pytest.mark.ray


@pytest.fixture
def production(home: Path) -> ModelVersion:
    return first_production()


@pytest.fixture
def deployed(ray_instance: None, production: ModelVersion) -> Iterator[str]:
    from ray import serve

    from loopline.serving.ray import deploy, undeploy

    url = deploy(
        ServeConfig("digits@production", poll_s=0.2),
        replicas=2,
        cpus=0.25,
        host="127.0.0.1",
        port=free_port(),
    )
    try:
        yield url
    finally:
        undeploy()
        serve.shutdown()


def until(condition: object, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not within {timeout_s} s"
        time.sleep(0.1)


def test_replicas_predict_log_and_follow_the_alias(deployed: str) -> None:
    with httpx.Client(base_url=deployed, timeout=30) as http:
        until(lambda: _ok(http))
        answers = [
            http.post("/predict", json={"input": image(r), "request_id": f"ray-{r}"}).json()
            for r in range(20)
        ]
        assert [a["prediction"] for a in answers] == trained(1.0).predict(digits()[0][:20]).tolist()
        assert {a["model"] for a in answers} == {"digits@1"}
        assert http.post("/predict", json={"input": [1, 2]}).status_code == 422
        register(trained(1e-4), promote=True)
        until(
            lambda: all(
                http.post("/predict", json={"input": image(0)}).json()["version"] == 2 for _ in range(6)
            )
        )
    from loopline.serving.ray import undeploy

    undeploy()  # each replica writes what it logged
    assert {inferences.get(f"ray-{r}").model_version for r in range(20)} == {1}
    assert models.aliases("digits") == {"production": 2}


def _ok(http: httpx.Client) -> bool:
    try:
        return http.get("/health").status_code == 200
    except httpx.TransportError:
        return False
