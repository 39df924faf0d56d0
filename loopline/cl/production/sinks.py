"""Where an `InferenceLog` writes: straight into a workspace's stores, or to a Loopline server.

- `WorkspaceSink`: the embedded store or the team's shared database and artifact store. Each
  record is checked completely when it is logged (model aliases resolved then).
- `ServerSink`: `POST /api/v1/inferences` and `/api/v1/feedback` of a `loopline server`, for a
  serving process that has the server's address and an API key but no database credentials.
  Each record is checked when it is logged as far as it can be without the registry (fields,
  types, JSON values); the server resolves the model reference when the batch arrives and
  rejects, record by record, what it cannot accept.

Both return, for a batch, the request ids newly recorded and the records rejected; a batch that
could not be delivered at all raises, and the log keeps it for the next flush.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from loopline.cl.production import checks as check
from loopline.cl.production.ingest import (
    ModelResolver,
    RecordProblem,
    check_inference,
    record_feedback,
    served_alias,
    write_inferences,
)
from loopline.cl.store.errors import InferenceNotFoundError, InvalidRecordError
from loopline.cl.store.protocol import inference_missing_message
from loopline.cl.store.records import Feedback, ModelVersion
from loopline.storage.remote.client import ServerConnection

if TYPE_CHECKING:
    from loopline.cl.store.workspace import Workspace


class Logged(Protocol):
    """A checked record waiting in the log's buffer."""

    @property
    def request_id(self) -> str: ...


class InferenceSink(Protocol):
    def prepare(
        self,
        *,
        model: Any,
        input: Any,
        prediction: Any,
        request_id: str,
        logged_at: dt.datetime,
        confidence: Any,
        scores: Any,
        metadata: Any,
        display: str,
        alias: str | None = None,
    ) -> Logged:
        """The record checked (InvalidRecordError saying what is wrong), ready to buffer."""

    def write(self, batch: Sequence[Any]) -> tuple[list[str], list[RecordProblem]]:
        """Record a batch of prepared records: (request ids newly recorded, records rejected)."""

    def feedback(self, item: Feedback) -> Feedback:
        """Record feedback on a recorded request id (InferenceNotFoundError if it is not)."""


class WorkspaceSink:
    def __init__(self, workspace: Workspace, *, alias_ttl_s: float, now: Callable[[], float]) -> None:
        self.workspace = workspace
        self._resolver = ModelResolver(workspace.store, ttl_s=alias_ttl_s, now=now)

    def prepare(self, **fields: Any) -> Logged:
        return check_inference(self._resolver, **fields)

    def write(self, batch: Sequence[Any]) -> tuple[list[str], list[RecordProblem]]:
        added, _ = write_inferences(batch, self.workspace)
        return added, []

    def feedback(self, item: Feedback) -> Feedback:
        (saved,) = record_feedback([item], self.workspace)
        return saved

    def __str__(self) -> str:
        return str(self.workspace)


@dataclasses.dataclass(frozen=True)
class PostedInference:
    """An inference as the server's `POST /api/v1/inferences` takes it."""

    request_id: str
    record: dict[str, Any]


class ServerSink:
    def __init__(self, url: str, *, api_key: str | None = None, timeout_s: float = 30.0) -> None:
        # No waiting on an unreachable server here: the log keeps an undelivered batch for the
        # next flush, so the serving process never blocks on it.
        self.connection = ServerConnection(url, api_key, retry_for_s=0.0, timeout_s=timeout_s)
        self.url = self.connection.url

    def prepare(
        self,
        *,
        model: Any,
        input: Any,
        prediction: Any,
        request_id: str,
        logged_at: dt.datetime,
        confidence: Any,
        scores: Any,
        metadata: Any,
        display: str,
        alias: str | None = None,
    ) -> Logged:
        checked_scores = check.scores(scores)
        reference = _model_reference(model)
        record = {
            "request_id": check.request_id(request_id),
            "model": reference,
            "input": _json_input(input),
            "prediction": check.json_value(prediction, "prediction"),
            "confidence": check.confidence(confidence, checked_scores),
            "scores": None if checked_scores is None else list(checked_scores),
            "time": logged_at.isoformat(),
            "metadata": dict(check.metadata(metadata)),
            "display": check.display(display),
            "alias": None if alias is None else served_alias(alias, _alias_of(reference), model),
        }
        return PostedInference(record["request_id"], {k: v for k, v in record.items() if v is not None})

    def write(self, batch: Sequence[Any]) -> tuple[list[str], list[RecordProblem]]:
        answer = self._post("/api/v1/inferences", [item.record for item in batch])
        return list(answer["accepted"]), _problems(answer)

    def feedback(self, item: Feedback) -> Feedback:
        record = {
            "request_id": item.request_id,
            "kind": item.kind,
            "label": item.label,
            "score": item.score,
            "note": item.note,
            "source": item.source,
            "time": item.created_at.isoformat(),
        }
        answer = self._post("/api/v1/feedback", [{k: v for k, v in record.items() if v is not None}])
        for problem in _problems(answer):
            if problem.error == inference_missing_message(item.request_id):
                raise InferenceNotFoundError(problem.error)
            raise InvalidRecordError(f"the server rejected the feedback: {problem.error}")
        return item

    def _post(self, path: str, records: list[dict[str, Any]]) -> Mapping[str, Any]:
        try:
            json.dumps(records, allow_nan=False)
        except ValueError as error:
            raise InvalidRecordError(f"a record is not JSON (NaN or infinity?): {error}") from None
        answer: Mapping[str, Any] = self.connection.request(
            "POST", path, json={"records": records}, retry=False
        ).json()
        return answer

    def __str__(self) -> str:
        return self.url


def _model_reference(model: Any) -> str:
    if isinstance(model, ModelVersion):
        return model.ref
    if not isinstance(model, str) or "@" not in model:
        raise check.not_a_model_reference(model)
    return model


def _alias_of(reference: str) -> str | None:
    selector = reference.partition("@")[2]
    return None if selector.isdigit() else selector


def _json_input(value: Any) -> Any:
    """The input as JSON: arrays become nested lists, a pandas row a dict."""
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        value = value.tolist()
    elif hasattr(value, "to_dict") and callable(value.to_dict):
        value = value.to_dict()
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidRecordError(
            f"input must be JSON to send it to a server (numbers, strings, lists, dicts; arrays "
            f"are converted), got {type(value).__qualname__}: {error}"
        ) from None
    return value


def _problems(answer: Mapping[str, Any]) -> list[RecordProblem]:
    return [RecordProblem(p["index"], p.get("request_id"), p["error"]) for p in answer.get("rejected", [])]
