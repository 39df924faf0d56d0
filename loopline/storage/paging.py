"""Cursor pagination over runs ordered newest first: a cursor names the last run of a page."""

from __future__ import annotations

import base64
import datetime as dt

from loopline.errors import UsageError


def encode_cursor(created_at: dt.datetime, run_id: str) -> str:
    raw = f"{created_at.isoformat()}|{run_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, run_id = base64.urlsafe_b64decode(padded.encode()).decode().split("|", 1)
        return dt.datetime.fromisoformat(stamp), run_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"invalid cursor {cursor!r}: pass the next_cursor of a previous page") from exc
