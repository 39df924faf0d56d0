"""Checks of what an inference or a feedback record holds, shared by the SDK and the REST ingestion.

Each check returns the value in the form it is stored in (plain JSON, a tuple of floats, a UTC
datetime) or raises InvalidRecordError naming the field and how to fix it. They run once per
record, so they stay cheap: no numpy unless the value is an array already.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
from collections.abc import Mapping
from typing import Any

from loopline.cl.datasets.dataset import parse_display
from loopline.cl.store.errors import InvalidRecordError
from loopline.cl.store.records import FEEDBACK_KINDS, FeedbackKind
from loopline.errors import UsageError

MAX_REQUEST_ID = 128
_SCALARS = (str, int, float, bool, type(None))


@dataclasses.dataclass(frozen=True)
class PendingInference:
    """An inference checked and resolved, waiting to be written (its input not packed yet)."""

    request_id: str
    model: str
    model_version: int
    alias: str | None
    input: Any
    prediction: Any
    confidence: float | None
    scores: tuple[float, ...] | None
    logged_at: dt.datetime
    metadata: Mapping[str, Any]
    display: str


def request_id(value: Any) -> str:
    if type(value) is not str or not value or len(value) > MAX_REQUEST_ID or value != value.strip():
        raise InvalidRecordError(
            f"request_id must be a non-empty string of at most {MAX_REQUEST_ID} characters without "
            f"surrounding spaces, got {value!r}"
        )
    return value


def not_a_model_reference(value: Any) -> InvalidRecordError:
    return InvalidRecordError(
        f"model must be a registered model reference such as 'digits@production' or 'digits@3' "
        f"(or a ModelVersion), got {value!r}"
    )


def json_value(value: Any, field: str) -> Any:
    """A JSON scalar or list of them (numpy scalars and arrays become Python values)."""
    if type(value) in _SCALARS:
        if type(value) is float and not math.isfinite(value):
            raise InvalidRecordError(f"{field} must be finite, got {value!r}")
        return value
    if hasattr(value, "tolist") and hasattr(value, "dtype"):  # numpy scalar or array
        return json_value(value.tolist(), field)
    if isinstance(value, (list, tuple)):
        return [json_value(item, field) for item in value]
    raise InvalidRecordError(
        f"{field} must be a JSON value (a string, number, boolean, null or a list of them), got "
        f"{type(value).__qualname__}; convert it, e.g. int(prediction) or str(prediction)"
    )


def finite(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidRecordError(f"{field} must be a number, got {value!r}") from None
    if isinstance(value, (bool, str)) or not math.isfinite(number):
        raise InvalidRecordError(f"{field} must be a finite number, got {value!r}")
    return number


def scores(value: Any) -> tuple[float, ...] | None:
    """Per-class scores as a tuple of floats, each a probability in [0, 1] (None stays None).
    Raw scores such as logits are refused: the miners read scores as probabilities (margins
    between the top two, entropy), and the confidence defaults to the highest."""
    if value is None:
        return None
    if getattr(value, "ndim", None) == 1 and value.dtype.kind == "f" and len(value):  # the common case
        floats = tuple(value.tolist())
    else:
        items = value.tolist() if hasattr(value, "tolist") else value
        if (
            not isinstance(items, (list, tuple))
            or not items
            or any(isinstance(v, (list, tuple)) for v in items)
        ):
            raise InvalidRecordError(
                f"scores must be a flat, non-empty list of numbers (one per class), got {_short(value)}"
            )
        try:
            floats = tuple(float(v) for v in items)
        except (TypeError, ValueError):
            raise InvalidRecordError(f"scores must hold numbers only, got {_short(value)}") from None
    if not all(map(math.isfinite, floats)):
        raise InvalidRecordError(f"scores must be finite numbers, got {_short(value)}")
    if not 0.0 <= min(floats) <= max(floats) <= 1.0:
        raise InvalidRecordError(
            f"scores must be class probabilities between 0 and 1, got {_short(value)}; for raw "
            "scores (logits), log their softmax"
        )
    return floats


def confidence(value: Any, given_scores: tuple[float, ...] | None) -> float | None:
    """The confidence given (a probability in [0, 1]), else the highest score, else None."""
    if value is None:
        return None if given_scores is None else max(given_scores)
    return probability(value, "confidence", "how sure the model is of its prediction")


def probability(value: Any, field: str, meaning: str) -> float:
    """A finite number in [0, 1]; the error says what the field means."""
    number = finite(value, field)
    if not 0.0 <= number <= 1.0:
        raise InvalidRecordError(f"{field} must be between 0 and 1 ({meaning}), got {value!r}")
    return number


def moment(value: Any, field: str = "time") -> dt.datetime:
    """A timezone-aware datetime (or an ISO 8601 string with an offset), as UTC."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRecordError(
                f"{field} must be an ISO 8601 time such as 2030-01-01T12:00:00Z, got {value!r}"
            ) from None
    if not isinstance(value, dt.datetime):
        raise InvalidRecordError(f"{field} must be a datetime, got {_short(value)}")
    if value.tzinfo is None:
        raise InvalidRecordError(
            f"{field} must carry a time zone (e.g. datetime.now(timezone.utc)), got the naive {value}"
        )
    return value.astimezone(dt.UTC)


def metadata(value: Any) -> Mapping[str, Any]:
    if value is None or (isinstance(value, Mapping) and not value):
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise InvalidRecordError(f"metadata must be a dict with string keys, got {_short(value)}")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidRecordError(f"metadata must hold JSON values only ({error})") from None
    return dict(value)


@functools.lru_cache(maxsize=64)
def display(value: str) -> str:
    if not isinstance(value, str):
        raise InvalidRecordError(f"display must be a string such as 'image 8x8', got {value!r}")
    try:
        return parse_display(value)
    except UsageError as error:
        raise InvalidRecordError(str(error)) from None


def feedback_kind(value: Any) -> FeedbackKind:
    if value not in FEEDBACK_KINDS:
        raise InvalidRecordError(f"feedback kind must be one of {', '.join(FEEDBACK_KINDS)}, got {value!r}")
    kind: FeedbackKind = value
    return kind


def feedback_fields(kind: FeedbackKind, label: Any, score: Any) -> tuple[Any, float | None]:
    """The label (a correction needs one) and the score (in [0, 1]; flags count as 1)."""
    if kind == "correction" and label is None:
        raise InvalidRecordError("a correction needs label=... (what the model should have predicted)")
    checked = None if label is None else json_value(label, "label")
    if score is None:
        return checked, 1.0 if kind == "flag" else (0.5 if kind == "heuristic" else None)
    return checked, probability(score, "score", "how likely the prediction is wrong")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
