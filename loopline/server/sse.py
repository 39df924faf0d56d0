"""Server-sent events: the wire format and a response that ends when the client or server goes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

HEARTBEAT_S = 15.0


def event(name: str, data: Any, event_id: str | None = None) -> str:
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines += [f"data: {line}" for line in json.dumps(data, default=str).splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


def comment(text: str) -> str:
    return f": {text}\n\n"


def stream(events: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
