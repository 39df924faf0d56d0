"""Production inferences and feedback on them: `log`, `feedback`, `flush`.

    import loopline

    request_id = loopline.inferences.log("digits@production", image, prediction=7,
                                         scores=probabilities, display="image 8x8")
    loopline.inferences.feedback(request_id, "correction", label=9)
    loopline.inferences.flush()

The module functions write to the workspace the environment names (`LOOPLINE_HOME`, ...), one
buffered `InferenceLog` per process; create an `InferenceLog(workspace, ...)` to choose the
workspace, the batch size or the flush interval. With LOOPLINE_SERVER set (or
`InferenceLog(server=...)`) the records go to a `loopline server` over HTTP instead. See
`loopline.cl.production.log` for the details of batching, and `ingest_inferences` /
`ingest_feedback` for JSON batches (the REST endpoints).
"""

from __future__ import annotations

from loopline.cl.production.ingest import IngestResult, RecordProblem, ingest_feedback, ingest_inferences
from loopline.cl.production.log import InferenceLog, feedback, find, flush, get, log, log_batch
from loopline.cl.production.table import InferenceTable, load_input
from loopline.cl.store.errors import InferenceNotFoundError, InvalidRecordError
from loopline.cl.store.records import Feedback, FeedbackKind, InferenceQuery, InferenceRecord
from loopline.errors import ServerUnavailableError

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
