"""`POST /api/v1/rpc/{store}/{method}`: the stores of this server, for team clients (runners,
workers, the CLI, `loopline.Client`) that read and write through it (`loopline.storage.rpc`).

The guard has checked the caller's role for the method (`auth/policy.py`) before this runs.
Here the server also decides what only it can: the user a write is recorded as is the caller
(not what the client says), a protected alias moves only for an admin and only on a passing
regression report, and each change is written to the audit log with what it changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse

from loopline.cl.store.errors import AliasMovedError, DatasetConflictError, TaskStateError
from loopline.cl.store.protocol import CLStore
from loopline.cl.store.records import AliasMove
from loopline.core.records import Note, RunRecord, WriteBatch, utcnow
from loopline.core.wire import WireError
from loopline.errors import LooplineError, PermissionDeniedError
from loopline.server.auth.guard import AUDITED, origin_of, principal_of
from loopline.server.auth.policy import rpc_access
from loopline.server.schemas.common import ErrorOut
from loopline.server.state import ServerState, server_state
from loopline.storage import rpc
from loopline.storage.base import MetadataStore
from loopline.team.records import AuditEvent, Principal, Role

router = APIRouter(prefix="/api/v1/rpc", tags=["team"])
State = Annotated[ServerState, Depends(server_state)]
PROTOCOLS: Mapping[str, type] = {"metadata": MetadataStore, "cl": CLStore}
_NOT_FOUND = (KeyError,)  # the stores' "no such ..." errors are KeyErrors too


@router.post(
    "/{store}/{method}",
    summary="Call a store method (team clients); arguments and result as typed JSON",
    responses={400: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
def call(
    store: str, method: str, request: Request, state: State, body: Annotated[dict[str, Any], Body()]
) -> JSONResponse:
    protocol = PROTOCOLS.get(store)
    if protocol is None or method not in rpc.methods(protocol):
        return _failure(404, LooplineError(f"no store method {store}.{method} on this server"))
    arguments = body.get("arguments", {})
    if not isinstance(arguments, dict):
        return _failure(422, WireError('the body must be {"arguments": {...}}'))
    target = state.metadata if store == "metadata" else state.workspace.store
    who = principal_of(request)
    try:
        values, audit = _decide(state, who, store, method, rpc.decode_arguments(protocol, method, arguments))
        result = rpc.invoke(target, method, values)
    except WireError as error:
        return _failure(422, error)
    except PermissionDeniedError as error:
        return _failure(403, error)
    except LooplineError as error:
        status = 404 if isinstance(error, _NOT_FOUND) else 409 if _is_conflict(error) else 400
        return _failure(status, error)
    request.scope[AUDITED] = True
    action = rpc_access(store, method).action
    for what, target_name, detail in audit:
        state.team.record(_event(request, state, who, what or action or method, target_name, detail))
    return JSONResponse({"result": result})


def _decide(
    state: ServerState, who: Principal, store: str, method: str, values: dict[str, Any]
) -> tuple[dict[str, Any], list[tuple[str | None, str, dict[str, Any]]]]:
    """The arguments as this server will apply them, and the audit events the call makes."""
    if (store, method) == ("metadata", "write"):
        batch: WriteBatch = values["batch"]
        if state.config.auth_on:  # who ran it is the caller, whatever the client says
            batch = dataclasses.replace(batch, runs=[r.replace(user=who.name) for r in batch.runs])
        started: list[tuple[str | None, str, dict[str, Any]]] = [
            ("run.started", r.id, {"function": r.function, "name": r.name})
            for r in _new_roots(state, batch.runs)
        ]
        return {**values, "batch": batch}, started
    if (store, method) == ("cl", "move_alias"):
        move: AliasMove = values["move"]
        _check_promotion(state, who, move)
        if state.config.auth_on:
            move = dataclasses.replace(move, moved_by=who.name)
        detail = {
            "version": move.version,
            "previous": move.previous,
            "report": move.report_id,
            "forced": move.forced,
        }
        return {"move": move}, [(None, f"{move.model}@{move.alias}", detail)]
    if (store, method) == ("metadata", "add_note") and state.config.auth_on:
        note: Note = values["note"]
        if not who.role.allows(Role.EDITOR) or not note.author:  # a note is signed by its writer
            values = {"note": dataclasses.replace(note, author=who.name)}
    labeling = store == "cl" and method in ("claim_tasks", "transition_tasks")
    # A labeler labels as themselves; an editor's tool (an import) records its labelers.
    if labeling and state.config.auth_on and not who.role.allows(Role.EDITOR):
        values = _acting_as(who, method, values)
    access = rpc_access(store, method)
    return values, [] if access.action is None else [(None, _target(values), {})]


def _check_promotion(state: ServerState, who: Principal, move: AliasMove) -> None:
    """A protected alias moves only for an admin; a forced move, too; and a move off a holder
    only on a passing report (what `models.promote` checks, checked again where it counts)."""
    protected = move.alias in state.config.protected_aliases
    if (protected or move.forced) and not who.role.allows(Role.ADMIN):
        why = f"{move.model}@{move.alias} is protected" if protected else "a forced promotion"
        raise PermissionDeniedError(f"{why}: only an admin may move it ({who.name} is a {who.role.value})")
    if move.previous is not None and not move.forced:
        if move.report_id is None:
            raise PermissionDeniedError(
                f"moving {move.model}@{move.alias} off version {move.previous} needs a passing regression report"
            )
        entry = state.workspace.store.get_report(move.report_id)
        if not entry.passed:
            raise PermissionDeniedError(f"the regression report {move.report_id[:12]} did not pass")


def _acting_as(who: Principal, method: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A labeler claims and labels as themselves (an editor's tool, such as a Label Studio
    import, records the labelers who made the labels)."""
    if method == "claim_tasks":
        return {**arguments, "labeler": who.name}
    changes = arguments.get("changes")
    if isinstance(changes, dict):
        named = {
            k: who.name for k in ("labeled_by", "reviewed_by", "claimed_by") if changes.get(k) is not None
        }
        return {**arguments, "changes": {**changes, **named}}
    return arguments


def _new_roots(state: ServerState, runs: list[RunRecord]) -> list[RunRecord]:
    roots = [r for r in runs if r.parent_id is None]
    if not roots:
        return []
    known = {r.id for r in state.metadata.get_runs([r.id for r in roots])}
    return [r for r in roots if r.id not in known]


def _target(values: Mapping[str, Any]) -> str:
    """A short name of what a call changes, for the audit log."""
    for value in values.values():
        if isinstance(value, str):
            return value
        for key in ("name", "model", "queue", "loop", "request_id"):
            found = getattr(value, key, None)
            if isinstance(found, str):
                return found
        if isinstance(value, (list, tuple)) and value:
            return f"{len(value)} item(s)"
    return ""


def _event(
    request: Request, state: ServerState, who: Principal, action: str, target: str, detail: dict[str, Any]
) -> AuditEvent:
    return AuditEvent(
        utcnow(), who.name, who.role.value, origin_of(request, state.config), action, target, detail
    )


def _is_conflict(error: LooplineError) -> bool:
    return isinstance(error, (AliasMovedError, DatasetConflictError, TaskStateError))


def _failure(status: int, error: Exception) -> JSONResponse:
    return JSONResponse({"error": rpc.error_to_wire(error), "detail": str(error)}, status_code=status)
