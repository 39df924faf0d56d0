"""`InferenceLog`: log production predictions and feedback on them, a batch at a time.

    log = InferenceLog(workspace)                       # or loopline.inferences.log(...) below
    request_id = log.log("digits@production", image, prediction=7, scores=probabilities,
                         display="image 8x8")
    log.feedback(request_id, "correction", label=9)    # a user says it was a 9
    log.flush()                                         # written now (else by size or interval)

`log()` checks the record at once (a malformed record raises InvalidRecordError there, in the
caller's code, not later in a background flush) and buffers it; the buffer is written when it
holds `batch_size` records, when its oldest record is `flush_interval_s` old (checked on every
`log()`, and by a background thread), on `flush()`, `close()` and at interpreter exit. A model
alias is resolved to a version when the record is logged (looked up again after
`alias_ttl_s`). Feedback on a request id still in the buffer flushes the buffer first.

A record accepted by `log()` is kept until it is written: a failed write puts the batch back
and raises, and the next flush tries again. (A process killed outright loses what it had not
flushed yet, as any client-side buffer would; flush where that matters.)

`InferenceLog(server="http://host:8707", api_key=...)` sends the batches to a `loopline server`
instead (`POST /api/v1/inferences`), for serving processes without database credentials; there
the server resolves model aliases when a batch arrives, and a record it rejects is reported by
`flush()` (see `loopline.cl.production.sinks`). `InferenceLog.default()` does so when
LOOPLINE_SERVER is set (with LOOPLINE_API_KEY).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import os
import queue
import threading
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

from loopline.cl.production import checks as check
from loopline.cl.production.ingest import RecordProblem, feedback_record
from loopline.cl.production.sinks import InferenceSink, Logged, ServerSink, WorkspaceSink
from loopline.cl.store.errors import InvalidRecordError
from loopline.cl.store.provenance import current_user
from loopline.cl.store.records import Feedback, FeedbackKind, InferenceQuery, InferenceRecord
from loopline.cl.store.workspace import Workspace, resolve
from loopline.core.clock import Clock, SystemClock
from loopline.errors import LooplineError, UsageError
from loopline.settings import Settings

_log = logging.getLogger(__name__)
_LIVE: weakref.WeakSet[InferenceLog] = weakref.WeakSet()
_DEFAULTS: dict[tuple[str, ...], InferenceLog] = {}
_SHOWN_PROBLEMS = 5


class InferenceLog:
    """Buffers checked inference records and writes them in batches to `workspace` (by default
    the one the environment names), or to the Loopline server at `server`."""

    def __init__(
        self,
        workspace: Workspace | None = None,
        *,
        server: str | None = None,
        api_key: str | None = None,
        batch_size: int = 1000,
        flush_interval_s: float = 5.0,
        alias_ttl_s: float = 1.0,
        clock: Clock | None = None,
        background: bool = True,
    ) -> None:
        if batch_size < 1 or flush_interval_s <= 0:
            raise UsageError(
                f"InferenceLog needs batch_size >= 1 and flush_interval_s > 0, got {batch_size} and "
                f"{flush_interval_s}"
            )
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.clock = clock or SystemClock()
        self.background = background
        self.sink: InferenceSink
        if server is not None:
            if workspace is not None:
                raise UsageError("InferenceLog writes to a workspace or to a server: give one of the two")
            self.sink = ServerSink(server, api_key=api_key)
        else:
            self.sink = WorkspaceSink(resolve(workspace), alias_ttl_s=alias_ttl_s, now=self.clock.monotonic)
        self._buffer: list[Logged] = []
        self._buffered: set[str] = set()
        self.relogged = 0  # records whose request id was recorded before (counted on the first record)
        self._oldest: float | None = None
        self._lock = threading.Lock()  # guards the buffer
        self._writing = threading.Lock()  # one write at a time, in buffer order
        self._events: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        _LIVE.add(self)

    # -- logging -----------------------------------------------------------------------------

    def log(
        self,
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
        alias: str | None = None,
    ) -> str:
        """Record one prediction; returns its request id (a new one unless given).

        - `model`: "digits@production" (an alias, resolved now), "digits@3", or a ModelVersion.
        - `input`: what the model saw (an array, a text, a row...); `display` says how to show it
          ("image 8x8", "text", "table", "array").
        - `scores`: per-class probabilities in [0, 1] (log the softmax of raw scores such as
          logits); `confidence` (in [0, 1] too) defaults to the highest of them.
        - `alias`: with a pinned version (`"digits@3"`), the alias it was served under, for a
          model server that resolved the alias itself when it predicted.
        """
        pending = self.sink.prepare(
            model=model,
            input=input,
            prediction=prediction,
            request_id=uuid.uuid4().hex if request_id is None else request_id,
            logged_at=self.clock.now() if time is None else check.moment(time),
            confidence=confidence,
            scores=scores,
            metadata=metadata,
            display=display,
            alias=alias,
        )
        self._add([pending])
        return pending.request_id

    def log_batch(
        self,
        model: Any,
        inputs: Sequence[Any] | Any,
        predictions: Sequence[Any] | Any,
        *,
        scores: Any = None,
        confidence: Sequence[float] | Any = None,
        request_ids: Sequence[str] | None = None,
        time: dt.datetime | None = None,
        metadata: dict[str, Any] | None = None,
        display: str = "",
        alias: str | None = None,
    ) -> list[str]:
        """Record the predictions of one batch call (`inputs[i]` -> `predictions[i]`, with
        `scores[i]` and `confidence[i]` when given); returns their request ids."""
        n = len(inputs)
        if len(predictions) != n or any(
            column is not None and len(column) != n for column in (scores, confidence, request_ids)
        ):
            raise UsageError(
                f"log_batch: inputs, predictions, scores, confidence and request_ids need one entry "
                f"per input ({n})"
            )
        moment = self.clock.now() if time is None else check.moment(time)
        ids = [uuid.uuid4().hex for _ in range(n)] if request_ids is None else list(request_ids)
        pending = [
            self.sink.prepare(
                model=model,
                input=inputs[i],
                prediction=predictions[i],
                request_id=ids[i],
                logged_at=moment,
                confidence=None if confidence is None else confidence[i],
                scores=None if scores is None else scores[i],
                metadata=metadata,
                display=display,
                alias=alias,
            )
            for i in range(n)
        ]
        self._add(pending)
        return ids

    def _add(self, pending: list[Logged]) -> None:
        now = self.clock.monotonic()
        with self._lock:
            self._buffer += pending
            self._buffered.update(p.request_id for p in pending)
            if self._oldest is None:
                self._oldest = now
            due = len(self._buffer) >= self.batch_size or now - self._oldest >= self.flush_interval_s
        if due:
            self.flush()
        elif self.background and self._thread is None:
            self._start()

    @property
    def pending(self) -> int:
        """How many records wait in the buffer."""
        with self._lock:
            return len(self._buffer)

    def flush(self) -> list[str]:
        """Write every buffered record now; returns the request ids newly recorded. When a batch
        cannot be written its records stay buffered (and the error is raised); records the server
        rejected are dropped and named in an InvalidRecordError, after the others are written."""
        added: list[str] = []
        rejected: list[RecordProblem] = []
        with self._writing:
            with self._lock:
                batch, self._buffer, self._oldest = self._buffer, [], None
            for start in range(0, len(batch), self.batch_size):
                try:
                    new, problems = self.sink.write(batch[start : start + self.batch_size])
                except BaseException:
                    with self._lock:
                        self._buffer = batch[start:] + self._buffer
                        self._oldest = self.clock.monotonic()
                    raise
                added += new
                rejected += problems
                refused = {p.request_id for p in problems}
                fresh = set(new)
                again = [
                    p.request_id
                    for p in batch[start : start + self.batch_size]
                    if p.request_id not in fresh | refused
                ]
                self._report_relogged(again)
            with self._lock:
                self._buffered = {p.request_id for p in self._buffer}
        if rejected:
            shown = "; ".join(f"{p.request_id}: {p.error}" for p in rejected[:_SHOWN_PROBLEMS])
            more = f" (and {len(rejected) - _SHOWN_PROBLEMS} more)" if len(rejected) > _SHOWN_PROBLEMS else ""
            raise InvalidRecordError(
                f"{self.sink} rejected {len(rejected)} logged record(s), {len(added)} were recorded: "
                f"{shown}{more}"
            )
        return added

    def _report_relogged(self, request_ids: list[str]) -> None:
        """Say so when request ids were logged again: the store keeps their first record and
        counts the repeat on it (`InferenceRecord.relogged`), and a loop round reports them."""
        if not request_ids:
            return
        self.relogged += len(request_ids)
        shown = ", ".join(request_ids[:_SHOWN_PROBLEMS]) + (
            "..." if len(request_ids) > _SHOWN_PROBLEMS else ""
        )
        _log.warning(
            "%d logged record(s) reuse a request id recorded before (%s): the first record is kept and "
            "the repeat counted on it; give each prediction its own request id",
            len(request_ids),
            shown,
        )

    # -- feedback ----------------------------------------------------------------------------

    def feedback(
        self,
        request_id: str,
        kind: FeedbackKind = "flag",
        *,
        label: Any = None,
        score: float | None = None,
        note: str = "",
        source: str | None = None,
        time: dt.datetime | None = None,
    ) -> Feedback:
        """Record feedback on a logged prediction: "flag" (it is wrong), "correction" (with the
        right `label`), "confirmation" (it is right) or "heuristic" (a rule's verdict, `score`:
        how likely it is wrong). `source` defaults to the OS user."""

        with self._lock:
            buffered = request_id in self._buffered
        if buffered:
            self.flush()
        fields: dict[str, Any] = {"request_id": request_id, "kind": kind, "label": label, "score": score}
        fields.update(note=note, **({} if time is None else {"time": time}))
        item = feedback_record(fields, self.clock.now(), source or current_user())
        return self.sink.feedback(item)

    # -- lifecycle ---------------------------------------------------------------------------

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="loopline-inference-log", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self.clock.wait(self._events, self.flush_interval_s) is None:
            with self._lock:
                due = (
                    self._oldest is not None
                    and self.clock.monotonic() - self._oldest >= self.flush_interval_s
                )
            if due:
                self._flush_quietly()

    def _flush_quietly(self) -> None:
        """The background flush: a failure is logged, never raised (records that could not be
        written stay buffered for the next pass; records the server rejected are named)."""
        try:
            self.flush()
        except LooplineError as error:  # said in words: the server is down, a record was refused
            _log.warning("logging inferences: %s (%d record(s) buffered)", error, self.pending)
        except Exception:  # noqa: BLE001 - the records stay buffered; the next pass retries
            _log.exception("writing logged inferences failed; they stay buffered and are retried")

    def close(self) -> None:
        """Stop the background thread and write what is buffered."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._events.put("stop")
            thread.join()
        self.flush()

    def __enter__(self) -> InferenceLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<InferenceLog to {self.sink}: {self.pending} buffered, batches of {self.batch_size}>"

    @classmethod
    def default(cls) -> InferenceLog:
        """The log the environment names, one per process: to the server at LOOPLINE_SERVER
        (with LOOPLINE_API_KEY) when it is set, else to the workspace of LOOPLINE_HOME, ..."""
        names = ("LOOPLINE_SERVER", "LOOPLINE_SERVER_URL", "LOOPLINE_API_KEY", "LOOPLINE_HOME")
        key = (
            str(os.getpid()),
            *(os.environ.get(n, "") for n in (*names, "LOOPLINE_DATABASE_URL", "LOOPLINE_ARTIFACTS_URL")),
        )
        found = _DEFAULTS.get(key)
        if found is None:
            settings = Settings.from_env()
            found = _DEFAULTS[key] = cls(server=settings.server, api_key=settings.api_key)
        return found


@atexit.register
def _flush_at_exit() -> None:
    for inference_log in list(_LIVE):
        try:
            inference_log.flush()
        except Exception:  # noqa: BLE001 - at exit, report and go on with the other logs
            _log.exception("could not write %d logged inferences at exit", inference_log.pending)


# -- the process's default log, and lookups (what `loopline.inferences` exports) -----------


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
    alias: str | None = None,
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
        alias=alias,
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
    alias: str | None = None,
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
        alias=alias,
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

    return resolve(workspace).store.get_inference(request_id)


def find(
    query: InferenceQuery = InferenceQuery(),
    *,
    limit: int | None = 100,
    offset: int = 0,
    workspace: Workspace | None = None,
) -> list[InferenceRecord]:
    """Recorded inferences matching `query`, newest first."""

    return resolve(workspace).store.list_inferences(query, limit=limit, offset=offset)
