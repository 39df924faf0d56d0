"""Cursor pagination over runs ordered newest first: a cursor names the last run of a page, as
`MICROSECONDS.RUN_ID` (its creation time since the epoch, and its id). Any string of that form is
a position in the list, so the API's schema can say exactly which cursors it takes."""

from __future__ import annotations

import datetime as dt
import re

from loopline.errors import UsageError

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
CURSOR_PATTERN = r"^[0-9]{1,18}\.[0-9A-Za-z_-]{1,64}$"


def encode_cursor(created_at: dt.datetime, run_id: str) -> str:
    return f"{(created_at - EPOCH) // dt.timedelta(microseconds=1)}.{run_id}"


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    if re.fullmatch(CURSOR_PATTERN, cursor) is None:
        raise UsageError(f"invalid cursor {cursor!r}: pass the next_cursor of a previous page")
    micros, run_id = cursor.split(".", 1)
    return EPOCH + dt.timedelta(microseconds=int(micros)), run_id
