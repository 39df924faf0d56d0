"""What the schemathesis tests share."""

from __future__ import annotations

import urllib.parse
from typing import Any

import schemathesis

# HTTP servers refuse request lines past a limit of their own (uvicorn's parser near 64 KiB,
# nginx 8 KiB by default) with a plain-text 400 before the app sees them: not the API's answer.
REQUEST_LINE_LIMIT = 32 * 1024


def sendable(case: Any) -> bool:
    """Whether an HTTP server would hand this request to the app at all."""
    query = urllib.parse.urlencode(case.query or {}, doseq=True)
    return len(urllib.parse.quote(case.formatted_path)) + len(query) < REQUEST_LINE_LIMIT


# Operations whose well-formed requests the server may still refuse with a documented 400 for
# what it holds or where it runs, which no schema can say; every other operation must accept
# every request its schema allows (schemathesis's positive_data_acceptance).
REFUSED_BY_STATE = {
    "POST /api/v1/schedules": "the target must be a pipeline file on the server's machine, "
    "with parameters it takes and a cron it can read",
    "POST /api/v1/schedules/{name}/edit": "the same, for the changed fields",
    "POST /api/v1/artifacts/batch": "the body is Loopline's framed batch of values (binary)",
    "PUT /api/v1/artifacts/{artifact_id}": "the body must hash to the id in the path",
    "POST /api/v1/rpc/{store}/{method}": "the arguments are those of the store method in the path",
    "POST /api/v1/runs/{run_id}/rerun": "the run's pipeline file must still be there to import",
}

# Slow enough with every check on: at most this many examples an operation, from a fixed seed.
MAX_EXAMPLES = 15


def excluded_checks(case: Any) -> list[Any]:
    """Every check runs, except positive_data_acceptance where a refusal may depend on state."""
    if f"{case.operation.method.upper()} {case.operation.path}" in REFUSED_BY_STATE:
        return [schemathesis.checks.positive_data_acceptance]
    return []
