"""When the alias moves, the server switches to the new version without failing a request; a
rollback works the same way; a version that cannot be served is not swapped in."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from loopline import models
from loopline.cl.store.records import ModelVersion
from loopline.cl.store.workspace import Workspace
from loopline.inferences import InferenceQuery
from loopline.serving.background import RunningService
from tests.serving.conftest import image, register, trained


class Load:
    """Clients sending /predict without pause from threads; every answer's status and version."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.answers: list[tuple[int, int | None]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._send, args=(url, i)) for i in range(clients)]
        for thread in self._threads:
            thread.start()

    def _send(self, url: str, i: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while not self._stop.is_set():
                response = client.post("/predict", json={"input": image(i)})
                version = response.json().get("version") if response.status_code == 200 else None
                self.answers.append((response.status_code, version))

    def until(self, condition: Callable[[], bool], timeout_s: float = 20) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, f"not within {timeout_s} s: {self.answers[-5:]}"
            time.sleep(0.01)

    def served_by(self, version: int, after: int = 0) -> bool:
        return any(v == version for _, v in self.answers[after:])

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


@pytest.fixture
def load(running: RunningService) -> Iterator[Load]:
    sending = Load(running.url)
    yield sending
    sending.stop()


def test_a_promotion_under_load_switches_versions_without_failing_a_request(
    load: Load, running: RunningService
) -> None:
    load.until(lambda: len(load.answers) > 50)
    candidate = register(trained(1e-4))
    models.promote(candidate, "production", force=True, reason="test: a new version")
    moved_at = len(load.answers)
    load.until(lambda: load.served_by(2, moved_at))
    switched = len(load.answers)
    load.until(lambda: len(load.answers) > switched + 50)
    load.stop()
    assert {status for status, _ in load.answers} == {200}
    assert not load.served_by(1, switched + 4 * 2)  # after the swap (and what was in flight): version 2
    running.service.recorder.flush()
    logged = Workspace.open().store.count_inferences
    counts = {v: sum(1 for _, served in load.answers if served == v) for v in (1, 2)}
    assert {v: logged(InferenceQuery(model="digits", model_version=v)) for v in (1, 2)} == counts


def test_a_rollback_switches_back(load: Load, production: ModelVersion) -> None:
    candidate = register(trained(1e-4), promote=True)
    load.until(lambda: load.served_by(candidate.version))
    models.promote("digits@1", "production", force=True, reason="rollback")
    rolled_back = len(load.answers)
    load.until(lambda: load.served_by(1, rolled_back))
    load.stop()
    assert {status for status, _ in load.answers} == {200}


def test_a_version_that_cannot_predict_is_not_swapped_in(http: httpx.Client, running: RunningService) -> None:
    register({"weights": [1, 2, 3]}, promote=True)
    deadline = time.monotonic() + 10
    while running.service.follower.problem is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    health = http.get("/health").json()
    assert (health["status"], health["model"]) == ("degraded", "digits@1")
    assert "digits@2 holds digits@production but cannot be served" in health["problem"]
    assert "cannot predict" in health["problem"]
    assert http.post("/predict", json={"input": image(0)}).json()["model"] == "digits@1"
