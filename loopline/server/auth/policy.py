"""What each route and each remote store method needs: the lowest role allowed, and the action
the audit log records when it succeeds (None: a read, or too frequent to be worth a line).

A route missing from `ROUTES` needs a viewer to read and an admin to change anything: a new
route is refused to everyone else until it is given its place here (fail closed). The same for
store methods missing from `RPC`. `tests/server/test_auth.py` drives every route of the app
through these rules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from loopline.team.records import Role

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RPC_PATH = "/api/v1/rpc/{store}/{method}"


@dataclasses.dataclass(frozen=True)
class Access:
    role: Role
    action: str | None = None


VIEW = Access(Role.VIEWER)

# Paths anyone may reach, signed in or not: the sign-in page, what it needs, and health checks.
PUBLIC_PATHS = frozenset({"/login", "/api/v1/health"})
PUBLIC_PREFIXES = ("/static/",)

ROUTES: Mapping[tuple[str, str], Access] = {
    ("POST", "/login"): VIEW,  # public; the route records who signed in ("user.signed_in")
    ("POST", "/logout"): VIEW,  # the route records "user.signed_out" when a session ends
    ("POST", "/api/v1/runs/{run_id}/cancel"): Access(Role.EDITOR, "run.cancelled"),
    ("POST", "/api/v1/runs/{run_id}/rerun"): Access(Role.EDITOR, "run.rerun"),
    ("POST", "/api/v1/runs/{run_id}/notes"): Access(Role.LABELER, "note.added"),
    ("POST", "/api/v1/schedules"): Access(Role.EDITOR, "schedule.added"),
    ("POST", "/api/v1/schedules/{name}/edit"): Access(Role.EDITOR, "schedule.edited"),
    ("POST", "/api/v1/schedules/{name}/pause"): Access(Role.EDITOR, "schedule.paused"),
    ("POST", "/api/v1/schedules/{name}/resume"): Access(Role.EDITOR, "schedule.resumed"),
    ("POST", "/api/v1/schedules/{name}/remove"): Access(Role.EDITOR, "schedule.removed"),
    ("POST", "/api/v1/inferences"): Access(Role.EDITOR),  # serving processes, many a second
    ("POST", "/api/v1/feedback"): Access(Role.LABELER, "feedback.added"),
    ("POST", "/api/v1/labeling/{queue_name:path}/claim"): Access(Role.LABELER),
    ("POST", "/api/v1/labeling/tasks/{task_id}/label"): Access(Role.LABELER, "task.labeled"),
    ("POST", "/api/v1/labeling/tasks/{task_id}/skip"): Access(Role.LABELER, "task.skipped"),
    ("POST", "/api/v1/labeling/tasks/{task_id}/release"): Access(Role.LABELER),
    ("POST", "/api/v1/labeling/tasks/{task_id}/review"): Access(Role.LABELER, "task.reviewed"),
    ("POST", "/api/v1/labeling/{queue_name:path}/commit"): Access(Role.EDITOR, "labels.committed"),
    ("PUT", "/api/v1/artifacts/{artifact_id}"): Access(Role.EDITOR),
    ("POST", "/api/v1/artifacts/batch"): Access(Role.EDITOR),
    ("DELETE", "/api/v1/artifacts/{artifact_id}"): Access(Role.ADMIN, "artifact.deleted"),
    ("POST", "/api/v1/artifacts/discard-partial-writes"): Access(Role.ADMIN),
    ("GET", "/api/v1/artifacts"): Access(Role.ADMIN),  # every id: for gc
    ("GET", "/api/v1/users"): Access(Role.ADMIN),
    ("POST", "/api/v1/users"): Access(Role.ADMIN, "user.added"),
    ("POST", "/api/v1/users/{name}"): Access(Role.ADMIN, "user.changed"),
    ("GET", "/api/v1/keys"): Access(Role.ADMIN),
    ("POST", "/api/v1/keys"): Access(Role.ADMIN, "key.created"),
    ("POST", "/api/v1/keys/{key_id}/revoke"): Access(Role.ADMIN, "key.revoked"),
    ("POST", "/api/v1/keys/{key_id}/rotate"): Access(Role.ADMIN, "key.rotated"),
    ("GET", "/api/v1/audit"): Access(Role.ADMIN),
    ("GET", "/audit"): Access(Role.ADMIN),
}

# The remote stores' methods (`loopline.storage.rpc`): reads need a viewer; writes what they are.
_RUNNER = Access(Role.EDITOR)  # what a runner, a worker or a serving process writes as it works
RPC: Mapping[tuple[str, str], Access] = {
    ("metadata", "write"): _RUNNER,  # audited as "run.started" for each new pipeline
    ("metadata", "save_runner"): _RUNNER,
    ("metadata", "orphan_runs"): Access(Role.EDITOR, "runs.orphaned"),
    ("metadata", "request_cancel"): Access(Role.EDITOR, "run.cancelled"),
    ("metadata", "add_note"): Access(Role.LABELER, "note.added"),
    ("metadata", "delete_runs"): Access(Role.ADMIN, "runs.deleted"),
    ("metadata", "delete_artifact_records"): Access(Role.ADMIN, "artifacts.deleted"),
    ("cl", "add_dataset_version"): Access(Role.EDITOR, "dataset.version_added"),
    # a round's candidate labels accepted or rejected (a person accepting a blocked round is an editor)
    ("cl", "decide_dataset_version"): Access(Role.EDITOR, "dataset.version_decided"),
    ("cl", "save_queue_settings"): Access(Role.EDITOR, "queue.configured"),
    ("cl", "add_model_version"): Access(Role.EDITOR, "model.version_added"),
    ("cl", "move_alias"): Access(Role.EDITOR, "alias.moved"),  # protected aliases: admin (rpc route)
    ("cl", "save_report"): Access(Role.EDITOR, "report.saved"),
    ("cl", "add_schedule"): Access(Role.EDITOR, "schedule.added"),
    ("cl", "update_schedule"): Access(Role.EDITOR, "schedule.edited"),
    ("cl", "remove_schedule"): Access(Role.EDITOR, "schedule.removed"),
    ("cl", "claim_slot"): _RUNNER,
    ("cl", "update_slot"): _RUNNER,
    ("cl", "add_inferences"): _RUNNER,
    ("cl", "add_feedback"): Access(Role.LABELER, "feedback.added"),
    ("cl", "add_tasks"): Access(Role.EDITOR, "tasks.queued"),
    ("cl", "claim_tasks"): Access(Role.LABELER),
    ("cl", "transition_tasks"): Access(Role.LABELER, "tasks.changed"),
    ("cl", "add_round"): Access(Role.EDITOR, "loop.round_started"),
    ("cl", "update_round"): Access(Role.EDITOR, "loop.round_recorded"),
}
RPC_READS: Mapping[str, frozenset[str]] = {
    "metadata": frozenset(
        {
            "get_run",
            "get_runs",
            "list_runs",
            "changed_runs",
            "count_runs",
            "find_cached",
            "get_artifact",
            "read_logs",
            "read_log_window",
            "read_pipeline_logs",
            "pipeline_log_steps",
            "read_metrics",
            "notes",
            "live_runners",
            "unfinished_runners",
            "cancel_requested",
            "referenced_artifact_ids",
            "pipeline_stats",
            "pipeline_outline",
        }
    ),
    "cl": frozenset(
        {
            "get_dataset_version",
            "dataset_versions",
            "latest_dataset_versions",
            "get_model_version",
            "model_versions",
            "latest_model_versions",
            "aliases",
            "alias_history",
            "get_report",
            "list_reports",
            "get_schedule",
            "list_schedules",
            "slots",
            "get_inference",
            "known_request_ids",
            "list_inferences",
            "count_inferences",
            "list_feedback",
            "get_task",
            "list_tasks",
            "task_counts",
            "queues",
            "queued_keys",
            "queued_fingerprints",
            "queue_settings",
            "rounds",
            "loops",
            "revisions",
            "referenced_artifact_ids",
        }
    ),
}


def route_access(method: str, path: str, params: Mapping[str, str]) -> Access:
    """What a request to route `path` (its template, e.g. /api/v1/runs/{run_id}) needs."""
    if path == RPC_PATH:
        return rpc_access(params.get("store", ""), params.get("method", ""))
    found = ROUTES.get(("GET" if method == "HEAD" else method, path))
    if found is not None:
        return found
    return VIEW if method in SAFE_METHODS else Access(Role.ADMIN, f"{method.lower()} {path}")


def rpc_access(store: str, method: str) -> Access:
    if method in RPC_READS.get(store, ()):
        return VIEW
    return RPC.get((store, method), Access(Role.ADMIN, f"{store}.{method}"))


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
