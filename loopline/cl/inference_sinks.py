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

from loopline.cl import inference_checks as check
from loopline.cl.ingest import (
    ModelResolver,
    RecordProblem,
    check_inference,
    record_feedback,
    write_inferences,
)
from loopline.cl.loop_errors import InferenceNotFoundError, InvalidRecordError
from loopline.cl.loop_records import Feedback
from loopline.cl.loop_store import inference_missing_message
from loopline.cl.records import ModelVersion
from loopline.errors import LooplineError, UsageError

if TYPE_CHECKING:
    from loopline.cl.workspace import Workspace


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
    ) -> Logged:
        """The record checked (InvalidRecordError saying what is wrong), ready to buffer."""

    def write(self, batch: Sequence[Any]) -> tuple[list[str], list[RecordProblem]]:
        """Record a batch of prepared records: (request ids newly recorded, records rejected)."""

    def feedback(self, item: Feedback) -> Feedback:
        """Record feedback on a recorded request id (InferenceNotFoundError if it is not)."""


class ServerUnavailableError(LooplineError):
    """The Loopline server could not be reached or refused the request; nothing was lost."""


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
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"the server's address must start with http:// or https://, got {url!r}")
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout_s = timeout_s

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
    ) -> Logged:
        checked_scores = check.scores(scores)
        record = {
            "request_id": check.request_id(request_id),
            "model": _model_reference(model),
            "input": _json_input(input),
            "prediction": check.json_value(prediction, "prediction"),
            "confidence": check.confidence(confidence, checked_scores),
            "scores": None if checked_scores is None else list(checked_scores),
            "time": logged_at.isoformat(),
            "metadata": dict(check.metadata(metadata)),
            "display": check.display(display),
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
        import urllib.error  # here, not at import: `import loopline` stays light
        import urllib.request

        body = json.dumps({"records": records}, allow_nan=False).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url + path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                answer: Mapping[str, Any] = json.load(response)
                return answer
        except urllib.error.HTTPError as error:
            raise ServerUnavailableError(
                f"{self.url}{path} answered {error.code}: {_detail(error)}"
                + (" (give the server's API key: api_key= or LOOPLINE_API_KEY)" if error.code == 403 else "")
            ) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ServerUnavailableError(
                f"cannot reach the Loopline server at {self.url} ({reason}); is `loopline server` running there?"
            ) from None

    def __str__(self) -> str:
        return self.url


def _model_reference(model: Any) -> str:
    if isinstance(model, ModelVersion):
        return model.ref
    if not isinstance(model, str) or "@" not in model:
        raise check.not_a_model_reference(model)
    return model


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


def _detail(error: Any) -> str:
    """The server's `detail` of an HTTPError, else its reason."""
    try:
        return str(json.load(error).get("detail", error.reason))
    except (ValueError, AttributeError, OSError):
        return str(error.reason)
