"""Production inferences and feedback on them: `log`, `feedback`, `flush`.

    import loopline

    request_id = loopline.inferences.log("digits@production", image, prediction=7,
                                         scores=probabilities, display="image 8x8")
    loopline.inferences.feedback(request_id, "correction", label=9)
    loopline.inferences.flush()

The module functions write to the workspace the environment names (`LOOPLINE_HOME`, ...), one
buffered `InferenceLog` per process; create an `InferenceLog(workspace, ...)` to choose the
workspace, the batch size or the flush interval. With LOOPLINE_SERVER_URL set (or
`InferenceLog(server=...)`) the records go to a `loopline server` over HTTP instead. See
`loopline.cl.inferences` for the details of batching, and `ingest_inferences` /
`ingest_feedback` for JSON batches (the REST endpoints).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.inference_sinks import ServerUnavailableError
from loopline.cl.inference_table import InferenceTable, load_input
from loopline.cl.inferences import InferenceLog
from loopline.cl.ingest import IngestResult, RecordProblem, ingest_feedback, ingest_inferences
from loopline.cl.loop_errors import InferenceNotFoundError, InvalidRecordError
from loopline.cl.loop_records import Feedback, FeedbackKind, InferenceQuery, InferenceRecord

if TYPE_CHECKING:
    from loopline.cl.workspace import Workspace


def log(
    model: Any,
    input: Any,
    prediction: Any,
    *,
    confidence: float | None = None,
    scores: Any = None,
    request_id: str | None = None,
    time: dt.datetime | None = None,
    metadata: dict[str, Any] | None = None,
    display: str = "",
) -> str:
    """Record one prediction (see `InferenceLog.log`); returns its request id."""
    return InferenceLog.default().log(
        model,
        input,
        prediction,
        confidence=confidence,
        scores=scores,
        request_id=request_id,
        time=time,
        metadata=metadata,
        display=display,
    )


def log_batch(
    model: Any,
    inputs: Any,
    predictions: Any,
    *,
    scores: Any = None,
    confidence: Any = None,
    request_ids: Sequence[str] | None = None,
    time: dt.datetime | None = None,
    metadata: dict[str, Any] | None = None,
    display: str = "",
) -> list[str]:
    """Record the predictions of one batch call (see `InferenceLog.log_batch`)."""
    return InferenceLog.default().log_batch(
        model,
        inputs,
        predictions,
        scores=scores,
        confidence=confidence,
        request_ids=request_ids,
        time=time,
        metadata=metadata,
        display=display,
    )


def feedback(
    request_id: str,
    kind: FeedbackKind = "flag",
    *,
    label: Any = None,
    score: float | None = None,
    note: str = "",
    source: str | None = None,
    time: dt.datetime | None = None,
) -> Feedback:
    """Record feedback on a logged prediction (see `InferenceLog.feedback`)."""
    return InferenceLog.default().feedback(
        request_id, kind, label=label, score=score, note=note, source=source, time=time
    )


def flush() -> list[str]:
    """Write what is buffered now; returns the request ids newly recorded."""
    return InferenceLog.default().flush()


def get(request_id: str, *, workspace: Workspace | None = None) -> InferenceRecord:
    """The recorded inference (InferenceNotFoundError if there is none)."""
    from loopline.cl.workspace import resolve

    return resolve(workspace).loop.get_inference(request_id)


def find(
    query: InferenceQuery = InferenceQuery(),
    *,
    limit: int | None = 100,
    offset: int = 0,
    workspace: Workspace | None = None,
) -> list[InferenceRecord]:
    """Recorded inferences matching `query`, newest first."""
    from loopline.cl.workspace import resolve

    return resolve(workspace).loop.list_inferences(query, limit=limit, offset=offset)


__all__ = [
    "Feedback",
    "FeedbackKind",
    "InferenceLog",
    "InferenceNotFoundError",
    "InferenceQuery",
    "InferenceRecord",
    "InferenceTable",
    "IngestResult",
    "InvalidRecordError",
    "RecordProblem",
    "ServerUnavailableError",
    "feedback",
    "find",
    "flush",
    "get",
    "ingest_feedback",
    "ingest_inferences",
    "load_input",
    "log",
    "log_batch",
]
