"""`/api/v1/reports`: regression reports, listed and scenario by scenario (read-only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from loopline.cl.regression.report import Flips, ScenarioResult
from loopline.cl.regression.stats import Interval
from loopline.server.lookups import load_report
from loopline.server.schemas.common import ErrorOut, finite
from loopline.server.schemas.reports import CheckOut, FlipOut, ReportEntryOut, ReportOut, ScenarioOut
from loopline.server.state import ServerState, server_state

router = APIRouter(prefix="/api/v1", tags=["registry"], responses={404: {"model": ErrorOut}})
State = Annotated[ServerState, Depends(server_state)]
FLIPS_OUT = 100


@router.get("/reports", response_model=list[ReportEntryOut], summary="Regression reports, newest first")
def list_reports(
    state: State,
    model: Annotated[str | None, Query(max_length=256, description="only reports about this model")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ReportEntryOut]:
    return [
        ReportEntryOut.model_validate(e)
        for e in state.workspace.store.list_reports(model=model or None, limit=limit)
    ]


@router.get(
    "/reports/{report_id}", response_model=ReportOut, summary="A regression report, scenario by scenario"
)
def get_report(report_id: str, state: State) -> ReportOut:
    report = load_report(state, report_id)
    return ReportOut(
        id=report_id,
        name=report.name,
        created_at=report.created_at,
        passed=report.passed,
        golden=report.golden,
        golden_size=report.golden_size,
        candidate=report.candidate.label,
        baseline=None if report.baseline is None else report.baseline.label,
        scenarios=[_scenario(s) for s in report.scenarios],
        notes=list(report.notes),
    )


def _scenario(result: ScenarioResult) -> ScenarioOut:
    return ScenarioOut(
        name=result.name,
        description=result.description,
        must_pass=result.must_pass,
        size=result.size,
        passed=result.passed,
        reason=result.reason,
        checks=[CheckOut.model_validate(c) for c in result.checks],
        candidate={k: finite(v) for k, v in result.candidate.items()},
        baseline=None if result.baseline is None else {k: finite(v) for k, v in result.baseline.items()},
        candidate_interval=_interval(result.candidate_interval),
        baseline_interval=_interval(result.baseline_interval),
        right_to_wrong=result.right_to_wrong_count,
        wrong_to_right=result.wrong_to_right_count,
        flipped=_flips(result.right_to_wrong),
        notes=list(result.notes),
    )


def _interval(interval: Interval | None) -> list[float] | None:
    return None if interval is None else [interval.low, interval.high]


def _flips(flips: Flips) -> list[FlipOut]:
    return [
        FlipOut(id=f.id, label=_plain(f.label), candidate=_plain(f.candidate), baseline=_plain(f.baseline))
        for f in flips[:FLIPS_OUT]
    ]


def _plain(value: Any) -> Any:
    """numpy scalars as JSON values."""
    item = getattr(value, "item", None)
    plain = item() if callable(item) else value
    if isinstance(plain, float):
        return finite(plain)
    return plain if isinstance(plain, (str, int, bool, type(None))) else str(plain)
