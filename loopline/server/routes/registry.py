"""`/api/v1/datasets`, `/api/v1/models`, `/api/v1/reports`: the regression-testing records, read-only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from loopline.cl.report import Flips, ScenarioResult
from loopline.cl.stats import Interval
from loopline.server.routes.cl_pages import MAX_VERSION, load_dataset, load_report
from loopline.server.schemas import (
    AliasMoveOut,
    CheckOut,
    DatasetDiffOut,
    DatasetOut,
    DatasetVersionOut,
    ErrorOut,
    FlipOut,
    ModelOut,
    ModelSummaryOut,
    ModelVersionOut,
    ReportEntryOut,
    ReportOut,
    ScenarioOut,
    finite,
)
from loopline.server.state import ServerState, server_state

router = APIRouter(prefix="/api/v1", tags=["registry"], responses={404: {"model": ErrorOut}})
State = Annotated[ServerState, Depends(server_state)]
FLIPS_OUT = 100


@router.get(
    "/datasets", response_model=list[DatasetVersionOut], summary="The latest version of every dataset"
)
def list_datasets(state: State) -> list[DatasetVersionOut]:
    return [DatasetVersionOut.of(v) for v in state.workspace.store.latest_dataset_versions()]


@router.get(
    "/datasets/{name:path}/diff",
    response_model=DatasetDiffOut,
    summary="Example ids added, removed and changed between two versions",
)
def diff_datasets(
    name: str,
    state: State,
    old: Annotated[int, Query(ge=1, le=MAX_VERSION)],
    new: Annotated[int, Query(ge=1, le=MAX_VERSION)],
) -> DatasetDiffOut:
    store = state.workspace.store
    before = load_dataset(state, store.get_dataset_version(name, old))
    after = load_dataset(state, store.get_dataset_version(name, new))
    diff = after.diff(before)
    return DatasetDiffOut(
        old=diff.old,
        new=diff.new,
        added=list(diff.added),
        removed=list(diff.removed),
        changed=list(diff.changed),
    )


@router.get("/datasets/{name:path}", response_model=DatasetOut, summary="Every version of a dataset")
def get_dataset(name: str, state: State) -> DatasetOut:
    store = state.workspace.store
    versions = store.dataset_versions(name)
    if not versions:
        store.get_dataset_version(name)  # DatasetNotFoundError: 404 with the registry's message
    return DatasetOut(name=name, versions=[DatasetVersionOut.of(v) for v in versions])


@router.get(
    "/models",
    response_model=list[ModelSummaryOut],
    summary="Every registered model, its latest version and aliases",
)
def list_models(state: State) -> list[ModelSummaryOut]:
    store = state.workspace.store
    return [
        ModelSummaryOut(latest=ModelVersionOut.of(m), aliases=store.aliases(m.name))
        for m in store.latest_model_versions()
    ]


@router.get(
    "/models/{name:path}",
    response_model=ModelOut,
    summary="A model's versions, aliases and promotion history",
)
def get_model(name: str, state: State) -> ModelOut:
    store = state.workspace.store
    versions = store.model_versions(name)
    if not versions:
        store.get_model_version(name)  # ModelNotFoundError: 404
    return ModelOut(
        name=name,
        versions=[ModelVersionOut.of(v) for v in versions],
        aliases=store.aliases(name),
        history=[AliasMoveOut.of(m) for m in store.alias_history(name)],
    )


@router.get("/reports", response_model=list[ReportEntryOut], summary="Regression reports, newest first")
def list_reports(
    state: State,
    model: Annotated[str | None, Query(max_length=256, description="only reports about this model")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ReportEntryOut]:
    return [
        ReportEntryOut.of(e) for e in state.workspace.store.list_reports(model=model or None, limit=limit)
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
        checks=[
            CheckOut(
                kind=c.kind,
                metric=c.metric,
                passed=c.passed,
                rule=c.rule,
                reason=c.reason,
                candidate=finite(c.candidate),
                baseline=finite(c.baseline),
                threshold=finite(c.threshold),
                p_value=finite(c.p_value),
            )
            for c in result.checks
        ],
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
