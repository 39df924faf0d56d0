"""Page sizes: every list the API answers is bounded, with a default and a maximum (a larger
`limit` is refused with 422), so no request can ask for an unbounded answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import Query

MAX_PAGE = 1000
MAX_OFFSET = 10_000_000
T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"at most this many (1 to {MAX_PAGE})")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="skip this many first")]


def page(items: Sequence[T], limit: int, offset: int = 0) -> Sequence[T]:
    """One page of a list the store hands over whole (short ones: users, queues, schedules)."""
    return items[offset : offset + limit]
