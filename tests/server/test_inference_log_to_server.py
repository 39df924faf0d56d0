"""`InferenceLog(server=...)`: a serving process logs predictions and feedback through a real
`loopline server` instead of writing to the stores itself."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from loopline.cl.production.log import InferenceLog
from loopline.cl.production.sinks import ServerSink
from loopline.cl.store.errors import InferenceNotFoundError, InvalidRecordError
from loopline.errors import AuthenticationError, LooplineDeprecationWarning, ServerUnavailableError
from loopline.server.background import RunningServer, serve
from loopline.settings import Settings
from tests.server.conftest import Loop
from tests.server.team import key_for

IMAGE = np.arange(64, dtype=float).reshape(8, 8)
SCORES = np.array([0.02] * 3 + [0.82] + [0.02] * 6)


def fresh(n: int) -> list[str]:
    return [f"sink-{uuid.uuid4().hex[:12]}" for _ in range(n)]


def log_to(server: RunningServer, **options: Any) -> InferenceLog:
    return InferenceLog(server=server.url, background=False, **options)


def test_predictions_logged_to_a_server_are_recorded_there(
    server: RunningServer, http: httpx.Client, loop: Loop
) -> None:
    ids = fresh(3)
    log = log_to(server)
    for request_id in ids:
        log.log("digits@production", IMAGE, 3, scores=SCORES, request_id=request_id, display="image 8x8")
    assert log.pending == 3
    assert log.flush() == ids
    one = http.get(f"/api/v1/inferences/{ids[0]}").json()
    assert (one["model"], one["model_version"], one["alias"], one["prediction"]) == (
        "digits",
        2,
        "production",
        3,
    )
    assert one["confidence"] == pytest.approx(0.82)
    assert log.flush() == []


def test_feedback_on_a_buffered_prediction_sends_the_prediction_first(
    server: RunningServer, http: httpx.Client, loop: Loop
) -> None:
    log = log_to(server, batch_size=100)
    request_id = log.log("digits@production", IMAGE, 3, scores=SCORES)
    saved = log.feedback(request_id, "correction", label=8, source="tester")
    assert (saved.kind, saved.label, log.pending) == ("correction", 8, 0)
    feedback = http.get(f"/api/v1/inferences/{request_id}").json()["feedback"]
    assert [(f["kind"], f["label"], f["source"]) for f in feedback] == [("correction", 8, "tester")]
    with pytest.raises(InferenceNotFoundError, match="log the inference first"):
        log.feedback("never-logged", "flag")


def test_records_the_server_rejects_are_named_and_the_others_kept(
    server: RunningServer, http: httpx.Client, loop: Loop
) -> None:
    good, bad = fresh(2)
    log = log_to(server)
    log.log("digits@production", IMAGE, 3, request_id=good)
    log.log("nope@production", IMAGE, 3, request_id=bad)
    with pytest.raises(InvalidRecordError, match=f"rejected 1 logged record.*{bad}.*nope"):
        log.flush()
    assert log.pending == 0
    assert http.get(f"/api/v1/inferences/{good}").status_code == 200
    assert http.get(f"/api/v1/inferences/{bad}").status_code == 404


def test_what_cannot_be_sent_is_refused_at_log_time(server: RunningServer) -> None:
    log = log_to(server)
    with pytest.raises(InvalidRecordError, match="input must be JSON"):
        log.log("digits@production", object(), 3)
    with pytest.raises(InvalidRecordError, match="registered model reference"):
        log.log("digits", IMAGE, 3)
    assert log.pending == 0


def test_an_unreachable_server_loses_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nobody listens here once the probe is closed
    log = InferenceLog(server=f"http://127.0.0.1:{port}", background=False)
    log.log("digits@production", IMAGE, 3)
    with pytest.raises(ServerUnavailableError, match="cannot reach the Loopline server"):
        log.flush()
    assert log.pending == 1
    log._flush_quietly()  # what the background thread does: one line, no traceback
    (warning,) = caplog.records
    assert "cannot reach the Loopline server" in warning.getMessage() and warning.exc_info is None
    assert log.pending == 1


@pytest.fixture(scope="module")
def keyed(stores: Any, settings: Settings, loop: Loop) -> Iterator[RunningServer]:
    with serve(*stores, settings, auth=True) as running:
        yield running


def test_a_server_with_auth_takes_the_key_and_says_when_it_is_missing(keyed: RunningServer) -> None:
    without = log_to(keyed)
    without.log("digits@production", IMAGE, 3)
    with pytest.raises(AuthenticationError, match="LOOPLINE_API_KEY"):
        without.flush()
    assert without.pending == 1
    with_key = log_to(keyed, api_key=key_for(keyed, "serving"))
    with_key.log("digits@production", IMAGE, 3)
    assert len(with_key.flush()) == 1


def test_the_default_log_follows_loopline_server(
    monkeypatch: pytest.MonkeyPatch, server: RunningServer
) -> None:
    monkeypatch.setenv("LOOPLINE_SERVER", server.url)
    assert isinstance(InferenceLog.default().sink, ServerSink)
    assert str(InferenceLog.default().sink) == server.url.rstrip("/")


def test_loopline_server_url_still_works_with_one_warning(
    monkeypatch: pytest.MonkeyPatch, server: RunningServer
) -> None:
    monkeypatch.delenv("LOOPLINE_SERVER", raising=False)
    monkeypatch.setenv("LOOPLINE_SERVER_URL", server.url + "/")
    with pytest.warns(LooplineDeprecationWarning, match="set LOOPLINE_SERVER instead") as warned:
        log = InferenceLog.default()
    assert len(warned) == 1 and str(log.sink) == server.url
