"""What the schemathesis tests share."""

from __future__ import annotations

import urllib.parse
from typing import Any

# HTTP servers refuse request lines past a limit of their own (uvicorn's parser near 64 KiB,
# nginx 8 KiB by default) with a plain-text 400 before the app sees them: not the API's answer.
REQUEST_LINE_LIMIT = 32 * 1024


def sendable(case: Any) -> bool:
    """Whether an HTTP server would hand this request to the app at all."""
    query = urllib.parse.urlencode(case.query or {}, doseq=True)
    return len(urllib.parse.quote(case.formatted_path)) + len(query) < REQUEST_LINE_LIMIT
