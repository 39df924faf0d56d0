"""What the bodies of every resource share: error and acknowledgement bodies, the bases for
bodies read from records and for strictly typed requests, and numbers JSON can carry."""

from __future__ import annotations

import math
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field


def finite(value: float | None) -> float | None:
    """JSON has no NaN: missing and undefined numbers read null."""
    return None if value is None or not math.isfinite(value) else float(value)


# A number that reads null when it is NaN or infinite (the schema stays `number | null`).
Finite = Annotated[float | None, AfterValidator(finite)]


class RecordOut(BaseModel):
    """A response body read from a record's attributes: `Model.model_validate(record)` (nested
    records too), so a field named like the record's is copied without code."""

    model_config = ConfigDict(from_attributes=True)


def _whole(value: object) -> object:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer as JSON Schema has it: 3 or 3.0 (both are integers there), never "3" or 3.5.
WholeNumber = Annotated[int, BeforeValidator(_whole)]


class StrictIn(BaseModel):
    """A request body taken as typed: no "3" for 3, no 0 for false."""

    model_config = ConfigDict(strict=True)


class ErrorOut(BaseModel):
    detail: str


class DoneOut(BaseModel):
    detail: str = Field(description="what was done")
