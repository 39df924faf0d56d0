"""The version a server holds for an alias, and following the alias as it moves.

`Follower(ref, workspace)` loads the version `ref` names now (e.g. "digits@production") and,
from a background thread, looks at the alias every `poll_s` seconds. When it moved (a promotion
by the loop, `loopline models promote`, a rollback), the new version is loaded and warmed up in
that thread while the old one keeps answering, then swapped in with one assignment: a request
reads `follower.current` once and is answered, and logged, by that version from start to end.
The switch happens within `poll_s` plus the time to load the new version. A version that cannot
be loaded or cannot predict is not swapped in: the old one keeps serving, `/health` says why,
and the load is tried again after `retry_s`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import sys
import threading
import time
from typing import Any

from loopline.cl.production import checks
from loopline.cl.registry import versions as registry
from loopline.cl.store.errors import DatasetNotFoundError, InvalidRecordError
from loopline.cl.store.records import ModelVersion
from loopline.cl.store.workspace import Workspace
from loopline.core.records import utcnow
from loopline.errors import LooplineError, UsageError
from loopline.serving.inputs import AnyInput, InputSpec, InvalidInput, declared_by
from loopline.serving.predictor import Outputs, Predictor, own_predictor

_log = logging.getLogger(__name__)


class PredictorError(LooplineError):
    """The predictor (or the model) failed, or returned what cannot be served: the server's
    fault, not the request's (a 500 naming the version and the predictor)."""


@dataclasses.dataclass(frozen=True)
class Predicted:
    """The outputs of one batch, checked and ready to answer and to log."""

    predictions: list[Any]  # JSON values
    scores: Any  # (n, k) float64 array, or None
    confidence: list[float] | None
    inputs: Any  # what is logged as the inputs (a sequence of n)


@dataclasses.dataclass(frozen=True)
class ServedVersion:
    """One loaded version: the model, how it predicts, what it takes, how inputs are shown."""

    version: ModelVersion
    alias: str | None  # the alias it is served for ("production"), None for a pinned version
    model: Any
    predictor: Predictor
    input: InputSpec
    display: str
    loaded_at: dt.datetime

    @property
    def ref(self) -> str:
        return self.version.ref

    def predict(self, batch: Any, n: int) -> Predicted:
        """The checked outputs of the predictor on a batch of `n` checked inputs."""
        try:
            result = self.predictor(self.model, batch)
        except InvalidInput:  # the predictor's own check of an input: the request's fault
            raise
        except Exception as error:
            raise PredictorError(
                f"{self.ref}'s predictor {self.predictor.name} failed: {type(error).__name__}: {error}"
            ) from error
        return self._checked(result, batch, n)

    def _checked(self, result: Any, batch: Any, n: int) -> Predicted:
        import numpy as np

        outputs = result if isinstance(result, Outputs) else Outputs(result)
        where = f"{self.ref}'s predictor {self.predictor.name}"
        try:
            predictions = checks.json_value(outputs.predictions, "prediction")
        except InvalidRecordError as error:
            raise PredictorError(f"{where} returned predictions that are not JSON values: {error}") from None
        if not isinstance(predictions, list) or len(predictions) != n:
            raise PredictorError(
                f"{where} returned {_count(predictions)} for {n} input(s): one per input is needed"
            )
        scores, confidence = None, None
        if outputs.scores is not None:
            scores = np.asarray(outputs.scores, dtype=np.float64)
            if scores.ndim != 2 or len(scores) != n:
                raise PredictorError(
                    f"{where} returned scores of shape {scores.shape}; ({n}, classes) is needed"
                )
            if not (scores.min() >= 0.0 and scores.max() <= 1.0):  # False for NaN too
                raise PredictorError(
                    f"{where} returned scores outside [0, 1]: scores are class probabilities (for "
                    "logits, return their softmax)"
                )
            confidence = scores.max(axis=1).tolist()
        logged = batch if outputs.inputs is None else outputs.inputs
        if _length(logged) != n:
            raise PredictorError(f"{where} returned {_length(logged)} inputs to log for {n} input(s)")
        return Predicted(predictions, scores, confidence, logged)

    def warm_up(self) -> None:
        """Predict once on a probe input (zeros), so that a version that cannot predict is
        refused before it serves, and the first request does not pay for lazy set-up."""
        probe = self.input.probe()
        if probe is None:
            return
        try:
            self.predict(probe, len(probe))
        except InvalidInput:  # the predictor refuses zeros as an input: it runs, which is enough
            return
        except PredictorError as error:
            raise UsageError(
                f"{self.ref} cannot be served: on a probe input (zeros of shape {probe.shape[1:]}) {error}"
            ) from error


def load(
    version: ModelVersion, alias: str | None, workspace: Workspace, predictor: Predictor | None
) -> ServedVersion:
    """Load `version`, pick how it predicts and what it takes, and warm it up."""
    model = registry.load_version(version, workspace=workspace)
    chosen = predictor or own_predictor(model, version.ref)
    torch = _torch_if_loaded()
    if torch is not None and isinstance(model, torch.nn.Module):
        model.eval()
    served = ServedVersion(
        version=version,
        alias=alias,
        model=model,
        predictor=chosen,
        input=chosen.input or declared_by(model) or AnyInput(),
        display=chosen.display or _training_display(version, workspace),
        loaded_at=utcnow(),
    )
    served.warm_up()
    return served


def _training_display(version: ModelVersion, workspace: Workspace) -> str:
    """How the model's training dataset shows its examples (logged inputs are shown alike)."""
    if version.dataset is None:
        return ""
    name, _, number = version.dataset.rpartition("@")
    try:
        return workspace.store.get_dataset_version(name, int(number)).display
    except (DatasetNotFoundError, ValueError):
        return ""


class Follower:
    """Holds the version `ref` names and follows it as its alias moves (see the module doc)."""

    def __init__(
        self,
        ref: str,
        workspace: Workspace,
        *,
        predictor: Predictor | None = None,
        poll_s: float = 1.0,
        retry_s: float = 30.0,
    ) -> None:
        if not poll_s > 0:
            raise UsageError(
                f"the alias is polled every poll_s seconds: give a positive number, got {poll_s}"
            )
        self.ref = ref
        self.name, selector = registry.parse_model_ref(ref)
        self.alias = selector if isinstance(selector, str) else None
        self.workspace = workspace
        self.predictor = predictor
        self.poll_s = poll_s
        self.retry_s = retry_s
        self.current: ServedVersion = load(
            registry.get(ref, workspace=workspace), self.alias, workspace, predictor
        )
        self.checked_at = time.monotonic()
        self.problem: str | None = None  # why the alias's version is not served, if it is not
        self._failed: tuple[int, float] | None = None  # (version, when) of the last failed load
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"loopline-serve-{self.ref}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the served version stays; the next poll tries again
                _log.exception("looking up %s failed; %s keeps serving", self.ref, self.current.ref)

    def check(self) -> bool:
        """Look at the alias once; when it moved, load the new version and swap it in. True
        when a new version was swapped in."""
        try:
            target = self._target()
        except LooplineError as error:
            self._problem(f"cannot look up {self.ref}: {error}")
            return False
        finally:
            self.checked_at = time.monotonic()
        if target is None or target == self.current.version.version:
            if target is not None:
                self.problem = None
            return False
        if (
            self._failed is not None
            and self._failed[0] == target
            and time.monotonic() - self._failed[1] < self.retry_s
        ):
            return False
        try:
            version = self.workspace.store.get_model_version(self.name, target)
            loaded = load(version, self.alias, self.workspace, self.predictor)
        except Exception as error:  # noqa: BLE001 - any failure of the new version keeps the old one
            self._failed = (target, time.monotonic())
            self._problem(
                f"{self.name}@{target} holds {self.ref} but cannot be served, so {self.current.ref} "
                f"still does: {type(error).__name__}: {error}"
            )
            return False
        previous, self.current = self.current, loaded  # one assignment: the swap
        self.problem, self._failed = None, None
        _log.info("%s moved: now serving %s (was %s)", self.ref, loaded.ref, previous.ref)
        return True

    def _target(self) -> int | None:
        """The version number `ref` names now (None: an alias that points nowhere)."""
        if self.alias is not None:
            return self.workspace.store.aliases(self.name).get(self.alias)
        found = registry.find_version(self.ref, workspace=self.workspace)
        return None if found is None else found.version

    def _problem(self, text: str) -> None:
        if text != self.problem:
            _log.warning("%s", text)
        self.problem = text


def _torch_if_loaded() -> Any:
    return sys.modules.get("torch")  # loaded already when the model is a torch module


def _length(values: Any) -> int:
    try:
        return len(values)
    except TypeError:
        return -1


def _count(values: Any) -> str:
    return f"{len(values)} prediction(s)" if isinstance(values, list) else "a single value"
