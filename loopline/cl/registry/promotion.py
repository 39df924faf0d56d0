"""Promotion: moving a model's alias (`production`, `candidate`, ...) to a version, gated by a
passing regression report, with who, when, why and on what evidence recorded.

    models.promote(version, "production", report=report, reason="nightly retrain")

Promoting to an alias that already points at a version needs a passing report whose baseline is
that version and whose candidate is the promoted one; `force=True` (with a reason) overrides,
and the move is recorded as forced. The registry sits below the regression layer: a report is
taken by what it offers (`Evidence`), so `RegressionReport` is one such value, not an import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from loopline.cl.registry.versions import check_alias, get
from loopline.cl.store.errors import PromotionRefusedError
from loopline.cl.store.provenance import current_user
from loopline.cl.store.records import AliasMove, ModelVersion
from loopline.cl.store.workspace import Workspace, resolve
from loopline.core.records import utcnow
from loopline.errors import UsageError


class TestedModel(Protocol):
    """One side of a regression report: which model was tested."""

    @property
    def ref(self) -> str | None: ...

    @property
    def artifact_id(self) -> str | None: ...

    @property
    def label(self) -> str: ...


class FailedScenario(Protocol):
    @property
    def name(self) -> str: ...


@runtime_checkable
class Evidence(Protocol):
    """What a promotion reads of a regression report (`loopline.RegressionReport` is one)."""

    @property
    def passed(self) -> bool: ...

    @property
    def failures(self) -> Sequence[FailedScenario]: ...

    @property
    def candidate(self) -> TestedModel: ...

    @property
    def baseline(self) -> TestedModel | None: ...

    def save(self, *, workspace: Workspace | None = None) -> str: ...


def promote(
    ref: str | ModelVersion,
    alias: str,
    *,
    report: Evidence | str | None = None,
    require_report: bool = True,
    force: bool = False,
    reason: str = "",
    workspace: Workspace | None = None,
) -> AliasMove:
    """Point `alias` at the version `ref` names, recording who, when, why and on what evidence.

    When the alias already points at a version (and `require_report`), `report` must be a
    passing RegressionReport (or its id) of this version against that one. `force=True` with a
    `reason` promotes anyway and records the move as forced."""
    ws = resolve(workspace)
    version = ref if isinstance(ref, ModelVersion) else get(ref, workspace=ws)
    check_alias(alias)
    if force and not reason.strip():
        raise UsageError("a forced promotion needs reason='...': it is recorded with the move")
    current = ws.store.aliases(version.name).get(alias)
    if current == version.version:
        raise UsageError(f"{version.name}@{alias} already points at version {version.version}")
    loaded: Evidence | None = None
    report_id = None
    if isinstance(report, str):
        loaded, report_id = _stored_report(report, ws), report
    elif isinstance(report, Evidence):
        loaded, report_id = report, report.save(workspace=ws)
    elif report is not None:
        raise UsageError(
            f"promote(report=...) takes a RegressionReport or its id, got {type(report).__qualname__}"
        )
    problems: list[str] = []
    if current is not None and require_report:
        holder = ws.store.get_model_version(version.name, current)
        problems = gate_problems(loaded, candidate=version, holder=holder, alias=alias)
    if problems and not force:
        raise PromotionRefusedError(
            f"cannot promote {version.ref} to {version.name}@{alias}: "
            + "; ".join(problems)
            + ". Run regression_test(candidate, golden, scenarios, baseline="
            + f"'{version.name}@{alias}') and pass its report, or force=True with a reason "
            + "(on the command line: --report REPORT_ID, or --force --reason TEXT)"
        )
    move = AliasMove(
        model=version.name,
        alias=alias,
        version=version.version,
        previous=current,
        moved_at=utcnow(),
        moved_by=current_user(),
        reason=reason,
        report_id=report_id,
        forced=bool(problems) and force,
    )
    return ws.store.move_alias(move)


def gate_problems(
    report: Evidence | None, *, candidate: ModelVersion, holder: ModelVersion, alias: str
) -> list[str]:
    """Why `report` does not allow moving `alias` from `holder` to `candidate` (empty: it does)."""
    if report is None:
        return [
            f"{holder.name}@{alias} is held by version {holder.version}, so a passing regression report against it is required"
        ]
    problems = []
    if not report.passed:
        failed = ", ".join(s.name for s in report.failures)
        problems.append(f"the regression report failed (scenarios: {failed})")
    if report.baseline is None or not _same(report.baseline.ref, report.baseline.artifact_id, holder):
        tested = "no baseline" if report.baseline is None else report.baseline.label
        problems.append(f"the report's baseline is {tested}, not the current holder {holder.ref}")
    if not _same(report.candidate.ref, report.candidate.artifact_id, candidate):
        problems.append(f"the report tested {report.candidate.label}, not {candidate.ref}")
    return problems


def _same(ref: str | None, artifact_id: str | None, version: ModelVersion) -> bool:
    return ref == version.ref or (artifact_id is not None and artifact_id == version.artifact_id)


def _stored_report(report_id: str, ws: Workspace) -> Evidence:
    value: Any = ws.get(report_id)
    if not isinstance(value, Evidence):
        raise UsageError(f"artifact {report_id} is a {type(value).__qualname__}, not a RegressionReport")
    return value
