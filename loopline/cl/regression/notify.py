"""Webhook notifications on pipeline failure and on a regression verdict.

Two formats: "json" posts the event as a JSON object (`{"event": "pipeline.failed", ...}`);
"slack" posts `{"text": ...}`, which Slack's incoming webhooks (and Mattermost, Teams
connectors, Discord's `/slack` endpoints) accept. A failed delivery is reported, never raised:
a notification must not turn a finished pipeline into a failed one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import httpx

from loopline.cl.regression.report import RegressionReport
from loopline.cl.store.records import Webhook
from loopline.errors import UsageError
from loopline.storage.remote.client import post_json

TIMEOUT_S = 10.0


@dataclasses.dataclass(frozen=True)
class Event:
    """What happened: `kind` is "pipeline.failed" or "regression.detected"; `text` is the one
    line a person reads; `details` the machine-readable rest."""

    kind: str
    text: str
    details: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Delivery:
    url: str
    ok: bool
    detail: str  # the HTTP status, or why it failed


def check_webhook(url: str, format: str = "json") -> Webhook:
    """A Webhook after checking its URL and format (UsageError that says what is wrong)."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"webhook URL {url!r} must start with http:// or https://")
    if format not in ("json", "slack"):
        raise UsageError(f"webhook format {format!r}: use 'json' or 'slack'")
    return Webhook(url, "slack" if format == "slack" else "json")


def pipeline_failed(pipeline: str, run_id: str, error: str, *, schedule: str | None = None) -> Event:
    where = f" (schedule {schedule})" if schedule else ""
    return Event(
        "pipeline.failed",
        f"Pipeline {pipeline}{where} failed: {error}",
        {"pipeline": pipeline, "run_id": run_id, "error": error, "schedule": schedule},
    )


def regression_detected(
    reports: Sequence[RegressionReport],
    *,
    run_id: str | None,
    commit: str | None,
    schedule: str | None = None,
) -> Event:
    failing = [r for r in reports if not r.passed]
    scenarios = [f"{r.name}: {s.name}" for r in failing for s in r.failures]
    where = f" at {commit[:12]}" if commit else ""
    text = f"Regression{where}: {len(scenarios)} must-pass scenario(s) failed ({', '.join(scenarios[:5])})"
    details = {
        "run_id": run_id,
        "commit": commit,
        "schedule": schedule,
        "reports": [
            {
                "name": r.name,
                "candidate": r.candidate.label,
                "baseline": None if r.baseline is None else r.baseline.label,
                "golden": r.golden,
                "verdict": r.verdict,
                "failed": [
                    {
                        "scenario": s.name,
                        "reason": s.reason,
                        "right_to_wrong": list(s.right_to_wrong.ids[:50]),
                    }
                    for s in r.failures
                ],
            }
            for r in reports
        ],
    }
    return Event("regression.detected", text, details)


def payload(webhook: Webhook, event: Event) -> dict[str, Any]:
    if webhook.format == "slack":
        return {"text": f":rotating_light: {event.text}"}
    return {"event": event.kind, "text": event.text, **event.details}


def notify(webhooks: Sequence[Webhook], event: Event) -> list[Delivery]:
    """Post `event` to every webhook; returns how each delivery went."""
    return [_post(webhook, event) for webhook in webhooks]


def _post(webhook: Webhook, event: Event) -> Delivery:
    body = json.loads(json.dumps(payload(webhook, event), default=str))
    try:
        response = post_json(webhook.url, body, timeout_s=TIMEOUT_S)
    except httpx.HTTPStatusError as error:
        return Delivery(webhook.url, False, f"HTTP {error.response.status_code}")
    except httpx.HTTPError as error:
        return Delivery(webhook.url, False, str(error) or type(error).__name__)
    return Delivery(webhook.url, True, f"HTTP {response.status_code}")
