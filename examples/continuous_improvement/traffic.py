"""Simulated production: the production model answers one request per image, every prediction
is logged, and some users give feedback (a few flag wrong answers, fewer type the right digit,
some confirm).

Over HTTP, as the demo runs it: the model behind `loopline serve`, which logs every prediction,
and the users' feedback posted to it:

    with traffic.serving("digits@production") as server:       # loopline serve, in a thread
        served = traffic.serve(rows, url=server.url, seed=1)   # requests, then feedback

Or in this process (tests that need no server): `traffic.serve(rows, model="digits@production",
seed=1)` predicts and logs through an `InferenceLog` directly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator

import httpx
import numpy as np

from examples.continuous_improvement import data
from loopline import models
from loopline.cl.store.workspace import Workspace
from loopline.inferences import InferenceLog
from loopline.serving.background import RunningService, serve_in_thread
from loopline.serving.service import ServeConfig

FLAG_WRONG = 0.3  # share of wrong answers a user flags
CORRECT_FLAGGED = 0.3  # share of those flags that come with the right digit
CONFIRM_RIGHT = 0.05  # share of right answers a user confirms
POLL_S = 0.1  # how often the server looks at the alias (a promotion is served within it)


@dataclasses.dataclass(frozen=True)
class Served:
    requests: int
    wrong: int
    feedback: int
    by: tuple[str, ...] = ()  # the versions that answered, e.g. ("digits@2",)


@dataclasses.dataclass(frozen=True)
class Feedback:
    """What the users say of one answer: its index, the kind, and a label for corrections."""

    index: int
    kind: str
    source: str
    label: int | None = None


@contextlib.contextmanager
def serving(model: str) -> Iterator[RunningService]:
    """`loopline serve MODEL` on a free port of 127.0.0.1, in a thread of this process."""
    with serve_in_thread(ServeConfig(model, poll_s=POLL_S, flush_interval_s=0.1)) as running:
        yield running


def serve(
    rows: np.ndarray,
    *,
    seed: int,
    url: str | None = None,
    model: str | None = None,
    workspace: Workspace | None = None,
) -> Served:
    """Serve the images at `rows` (request ids `req-NNNN`), then the users' feedback: through the
    server at `url`, or with `model` (e.g. "digits@production") in this process."""
    split = data.split()
    request_ids = [data.request_id(r) for r in rows.tolist()]
    if url is not None:
        with httpx.Client(base_url=url, timeout=30) as http:
            answers = [
                _predict(http, split.features[row], rid) for row, rid in zip(rows.tolist(), request_ids)
            ]
            predictions = np.array([a["prediction"] for a in answers])
            feedback = users(predictions, split.labels[rows], seed)
            for item in feedback:
                body = {"request_id": request_ids[item.index], "source": item.source, "kind": item.kind}
                http.post(
                    "/feedback", json=body | ({} if item.label is None else {"label": item.label})
                ).raise_for_status()
            _until(lambda: http.get("/health").json()["logged_pending"] == 0, "the predictions are written")
        by = tuple(sorted({a["model"] for a in answers}))
    else:
        assert model is not None, "serve() needs url= (a server) or model= (in this process)"
        predictions = _log_in_process(model, rows, request_ids, workspace)
        feedback = users(predictions, split.labels[rows], seed)
        with InferenceLog(workspace, background=False) as log:
            for item in feedback:
                log.feedback(request_ids[item.index], item.kind, label=item.label, source=item.source)  # type: ignore[arg-type]
        by = (model,)
    wrong = predictions != split.labels[rows]
    return Served(len(rows), int(wrong.sum()), len(feedback), by)


def replay(
    rows: np.ndarray,
    *,
    tag: str,
    url: str | None = None,
    model: str | None = None,
    workspace: Workspace | None = None,
) -> int:
    """Serve the images at `rows` again under new request ids (`req-NNNN-<tag>`), as production
    does when the same inputs come back; no feedback this time. Returns how many were served."""
    request_ids = [f"{data.request_id(r)}-{tag}" for r in rows.tolist()]
    if url is not None:
        features = data.split().features
        with httpx.Client(base_url=url, timeout=30) as http:
            for row, request_id in zip(rows.tolist(), request_ids):
                _predict(http, features[row], request_id)
            _until(lambda: http.get("/health").json()["logged_pending"] == 0, "the predictions are written")
    else:
        assert model is not None, "replay() needs url= (a server) or model= (in this process)"
        _log_in_process(model, rows, request_ids, workspace)
    return len(rows)


def users(predictions: np.ndarray, truth: np.ndarray, seed: int) -> list[Feedback]:
    """What the users say of these answers (the same for the same seed, wherever served)."""
    rng = np.random.default_rng(seed)
    wrong = predictions != truth
    flagged = wrong & (rng.random(len(truth)) < FLAG_WRONG)
    corrected = flagged & (rng.random(len(truth)) < CORRECT_FLAGGED)
    confirmed = ~wrong & (rng.random(len(truth)) < CONFIRM_RIGHT)
    said = []
    for i in np.flatnonzero(flagged | confirmed).tolist():
        user = f"user-{rng.integers(1000):03d}"
        if corrected[i]:
            said.append(Feedback(i, "correction", user, int(truth[i])))
        else:
            said.append(Feedback(i, "flag" if flagged[i] else "confirmation", user))
    return said


def wait_for(url: str, version: str, timeout_s: float = 30) -> None:
    """Return once the server at `url` serves `version` (after a promotion: within its poll)."""
    _until(lambda: httpx.get(f"{url}/health").json()["model"] == version, f"{version} is served", timeout_s)


def _predict(http: httpx.Client, features: np.ndarray, request_id: str) -> dict[str, object]:
    response = http.post("/predict", json={"input": features.tolist(), "request_id": request_id})
    response.raise_for_status()
    answer: dict[str, object] = response.json()
    return answer


def _log_in_process(
    model: str, rows: np.ndarray, request_ids: list[str], workspace: Workspace | None
) -> np.ndarray:
    production = models.load(model, workspace=workspace)
    features = data.split().features[rows]
    scores = production.predict_proba(features)
    predictions = np.asarray(production.classes_)[scores.argmax(axis=1)]
    with InferenceLog(workspace, background=False) as log:
        log.log_batch(
            model, features, predictions, scores=scores, request_ids=request_ids, display="image 8x8"
        )
    return predictions


def _until(done: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s:g} s until {what}")
        time.sleep(0.02)
