"""Every served prediction into the inference log, off the request's path.

A request appends its predictions to the recorder's buffer (a deque: no lock, no thread woken)
and is answered. Every `interval_s` (20 ms) a thread of the recorder sends what the buffer holds
to the `Writer` that owns the `InferenceLog` (`loopline.serving.writer`): in this process, or in
a writer process of its own (`loopline serve`), where the records are checked and written in
batches (to the workspace, or to the team server). Feedback on a request id first sends
whatever the buffer holds, on the same channel, so feedback sent right after an answer always
finds its prediction in the log.
"""

from __future__ import annotations

import collections
import logging
import threading
from typing import Any

from loopline.cl.store.records import Feedback, FeedbackKind
from loopline.errors import LooplineError
from loopline.serving.served import Predicted, ServedVersion
from loopline.serving.writer import Channel, ServedBatch

_log = logging.getLogger(__name__)


class Recorder:
    """Hands served predictions to the writer at the end of `channel`, every `interval_s`."""

    def __init__(self, channel: Channel, *, interval_s: float = 0.02) -> None:
        self.channel = channel
        self.interval_s = interval_s
        self._buffer: collections.deque[ServedBatch] = collections.deque()  # appends are thread-safe
        self._handing = threading.Lock()  # one hand-over at a time, in buffer order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.problem: str | None = None  # why predictions are not being logged, when they are not

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="loopline-serve-recorder", daemon=True)
            self._thread.start()

    def record(
        self, served: ServedVersion, request_ids: list[str], predicted: Predicted, metadata: Any
    ) -> None:
        """Log these predictions (soon, from the recorder's thread)."""
        self._buffer.append(
            ServedBatch(
                served.version,
                served.alias,
                served.display,
                request_ids,
                predicted.inputs,
                predicted.predictions,
                predicted.scores,
                predicted.confidence,
                metadata,
            )
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self._buffer:
                try:
                    self.hand_over()
                except LooplineError as error:  # the writer process is gone: say so, keep serving
                    if str(error) != self.problem:
                        _log.error("%s", error)
                    self.problem = str(error)

    def hand_over(self) -> None:
        """Send everything buffered to the writer now."""
        with self._handing:
            items = []
            while self._buffer:
                items.append(self._buffer.popleft())
            if items:
                self.channel.send(("log", items))

    @property
    def pending(self) -> int:
        """Predictions served but not written yet."""
        buffered = sum(len(item.request_ids) for item in list(self._buffer))
        return buffered + int(self.channel.call(("pending",)))

    def feedback(
        self,
        request_id: str,
        kind: FeedbackKind,
        *,
        label: Any = None,
        score: float | None = None,
        note: str = "",
        source: str | None = None,
    ) -> Feedback:
        """Record feedback on a served request (InferenceNotFoundError if it was never served)."""
        self.hand_over()  # the request may have been answered a moment ago
        feedback: Feedback = self.channel.call(("feedback", request_id, kind, label, score, note, source))
        return feedback

    def flush(self) -> list[str]:
        """Write everything now; the request ids newly recorded."""
        self.hand_over()
        written: list[str] = self.channel.call(("flush",))
        return written

    def close(self) -> None:
        """Stop the thread and write everything (the server is shutting down)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=60)
        try:
            self.hand_over()
        finally:
            self.channel.close()
