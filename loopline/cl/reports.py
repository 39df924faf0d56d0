"""Recording regression reports: stored as artifacts and indexed in the CL store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loopline.cl.records import ReportEntry
from loopline.cl.report import RegressionReport
from loopline.errors import UsageError

if TYPE_CHECKING:
    from loopline.cl.workspace import Workspace


def model_name(report: RegressionReport) -> str | None:
    """The registered model a report is about (the candidate's, else the baseline's)."""
    for info in (report.candidate, report.baseline):
        if info is not None and info.ref is not None:
            return info.ref.partition("@")[0]
    return None


def record_report(
    report: RegressionReport,
    *,
    run_id: str | None = None,
    commit: str | None = None,
    workspace: Workspace | None = None,
) -> str:
    """Store `report` (if it is not stored yet) and index it; returns its artifact id."""
    from loopline.cl.workspace import resolve

    ws = resolve(workspace)
    report_id = ws.put(report).id
    ws.store.save_report(
        ReportEntry(
            id=report_id,
            created_at=report.created_at,
            name=report.name,
            candidate=report.candidate.label,
            baseline=None if report.baseline is None else report.baseline.label,
            golden=report.golden,
            passed=report.passed,
            scenarios=len(report.scenarios),
            failed=len(report.failures),
            model=model_name(report),
            run_id=run_id,
            commit=commit,
        )
    )
    return report_id


def load_report(report_id: str, *, workspace: Workspace | None = None) -> RegressionReport:
    """A stored report by its artifact id."""
    from loopline.cl.workspace import resolve

    value: Any = resolve(workspace).get(report_id)
    if not isinstance(value, RegressionReport):
        raise UsageError(f"artifact {report_id} is a {type(value).__qualname__}, not a RegressionReport")
    return value
