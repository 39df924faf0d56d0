"""The dashboard's regression-testing pages: datasets, models, regression reports, schedules."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from loopline.cl.datasets import Dataset, DatasetDiff
from loopline.cl.records import DatasetVersion, ModelVersion
from loopline.cl.report import RegressionReport
from loopline.cl.revisions import RecordKind
from loopline.cl.schedules import next_run
from loopline.core.records import utcnow
from loopline.errors import UsageError
from loopline.server import exhibits
from loopline.server.charts import bar_chart
from loopline.server.live import LivePage
from loopline.server.routes.pages import render
from loopline.server.state import ServerState, live_page, server_state
from loopline.storage.artifacts import check_artifact_id

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
EXAMPLES_PAGE = 48
DIFF_SHOWN = 24
FLIPS_SHOWN = 60
Name = Annotated[str, Query(max_length=256)]


# -- datasets ----------------------------------------------------------------------------------


def load_dataset(state: ServerState, record: DatasetVersion) -> Dataset:
    value = state.value(record.artifact_id)
    if not isinstance(value, Dataset):
        raise HTTPException(409, f"artifact {record.artifact_id} of {record.ref} is not a Dataset")
    return value


def golden_names(state: ServerState) -> set[str]:
    """Datasets some regression report tested against."""
    return {e.golden.partition("@")[0] for e in state.workspace.store.list_reports(limit=500) if e.golden}


@router.get("/datasets", response_class=HTMLResponse)
def datasets_page(
    request: Request, state: State, live: Annotated[LivePage, Depends(live_page(RecordKind.DATASETS))]
) -> HTMLResponse:
    return render(
        request,
        "datasets.html",
        live=live,
        nav="datasets",
        rows=state.workspace.store.latest_dataset_versions(),
        golden=golden_names(state),
    )


@dataclasses.dataclass(frozen=True)
class ExampleFilter:
    q: str | None
    tag: str | None
    source: str | None
    label: str | None
    page: int

    @property
    def any(self) -> bool:
        return bool(self.q or self.tag or self.source or self.label)

    def url(self, base: str, page: int) -> str:
        params = [("q", self.q), ("tag", self.tag), ("source", self.source), ("label", self.label)]
        kept = [(k, v) for k, v in params if v] + ([("page", str(page))] if page > 1 else [])
        return base + ("?" + urlencode(kept) if kept else "")

    def mask(self, dataset: Dataset) -> Any:
        import numpy as np

        keep = np.ones(len(dataset), dtype=bool)
        if self.tag:
            keep &= dataset.tags.get(self.tag, np.zeros(len(dataset), dtype=bool))
        if self.source:
            source = dataset.lineage.get("source")
            keep &= (
                np.zeros(len(dataset), dtype=bool) if source is None else source.astype(str) == self.source
            )
        if self.label:
            keep &= (
                np.zeros(len(dataset), dtype=bool)
                if dataset.labels is None
                else dataset.labels.astype(str) == self.label
            )
        if self.q:
            keep &= np.char.find(np.char.lower(dataset.ids.astype(str)), self.q.lower()) >= 0
        return keep


def example_filter(
    q: Annotated[str | None, Query(max_length=256)] = None,
    tag: Annotated[str | None, Query(max_length=256)] = None,
    source: Annotated[str | None, Query(max_length=256)] = None,
    label: Annotated[str | None, Query(max_length=256)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> ExampleFilter:
    return ExampleFilter(q or None, tag or None, source or None, label or None, page)


Examples = Annotated[ExampleFilter, Depends(example_filter)]


MAX_VERSION = 2**31


def checked_version(version: int) -> int:
    """A version number the store can look up (a huge one is simply not there)."""
    if not 1 <= version <= MAX_VERSION:
        raise HTTPException(404, f"no version {version}: versions are numbered from 1")
    return version


# Names may hold "/": the routes match the version numbers at the end (most specific first).


@router.get("/datasets/{name:path}/diff/{old:int}/{new:int}", response_class=HTMLResponse)
def dataset_diff_page(request: Request, name: str, old: int, new: int, state: State) -> HTMLResponse:
    store = state.workspace.store
    old_record = store.get_dataset_version(name, checked_version(old))
    new_record = store.get_dataset_version(name, checked_version(new))
    before, after = load_dataset(state, old_record), load_dataset(state, new_record)
    diff: DatasetDiff = after.diff(before)

    def shown(dataset: Dataset, ids: tuple[str, ...]) -> list[exhibits.Example]:
        return exhibits.dataset_examples(dataset, dataset.positions(ids[:DIFF_SHOWN]).tolist())

    return render(
        request,
        "dataset_diff.html",
        nav="datasets",
        name=name,
        old=old_record,
        new=new_record,
        diff=diff,
        added=shown(after, diff.added),
        removed=shown(before, diff.removed),
        changed=list(zip(shown(before, diff.changed), shown(after, diff.changed))),
        limit=DIFF_SHOWN,
        versions=store.dataset_versions(name),
    )


@router.get("/datasets/{name:path}/{version:int}", response_class=HTMLResponse)
def dataset_version_page(
    request: Request, name: str, version: int, state: State, f: Examples
) -> HTMLResponse:
    return dataset_page(
        request, state, state.workspace.store.get_dataset_version(name, checked_version(version)), f
    )


@router.get("/datasets/{name:path}", response_class=HTMLResponse)
def dataset_latest(
    request: Request,
    name: str,
    state: State,
    f: Examples,
    live: Annotated[LivePage, Depends(live_page(RecordKind.DATASETS))],
) -> HTMLResponse:
    """The latest version, followed live (a new version shows); a pinned version never changes."""
    return dataset_page(request, state, state.workspace.store.get_dataset_version(name), f, live)


def dataset_page(
    request: Request,
    state: ServerState,
    record: DatasetVersion,
    f: ExampleFilter,
    live: LivePage | None = None,
) -> HTMLResponse:
    import numpy as np

    name = record.name
    versions = state.workspace.store.dataset_versions(name)
    dataset = load_dataset(state, record)
    matching = np.flatnonzero(f.mask(dataset))
    start = (f.page - 1) * EXAMPLES_PAGE
    shown = exhibits.dataset_examples(dataset, matching[start : start + EXAMPLES_PAGE].tolist())
    base = f"/datasets/{quote(name)}/{record.version}"
    return render(
        request,
        "dataset.html",
        live=live,
        nav="datasets",
        record=record,
        versions=versions,
        dataset=dataset,
        examples=shown,
        matching=len(matching),
        f=f,
        base=base,
        prev_url=f.url(base, f.page - 1) if f.page > 1 else None,
        next_url=f.url(base, f.page + 1) if start + EXAMPLES_PAGE < len(matching) else None,
        tags=[(tag, int(mask.sum())) for tag, mask in sorted(dataset.tags.items())],
        labels=exhibits.counts(dataset.labels, limit=40) if dataset.labels is not None else [],
        lineage=exhibits.lineage_summary(dataset),
        sources=exhibits.counts(dataset.lineage["source"]) if "source" in dataset.lineage else [],
        sizes=bar_chart(
            [
                (f"v{v.version}", float(v.size), f"/datasets/{quote(name)}/{v.version}")
                for v in versions[-40:]
            ],
            title="examples per version",
        ),
        golden=name in golden_names(state),
    )


# -- models ------------------------------------------------------------------------------------


@router.get("/models", response_class=HTMLResponse)
def models_page(
    request: Request, state: State, live: Annotated[LivePage, Depends(live_page(RecordKind.MODELS))]
) -> HTMLResponse:
    store = state.workspace.store
    rows = [(m, store.aliases(m.name)) for m in store.latest_model_versions()]
    return render(request, "models.html", live=live, nav="models", rows=rows)


@router.get("/models/{name:path}", response_class=HTMLResponse)
def model_page(
    request: Request,
    name: str,
    state: State,
    live: Annotated[LivePage, Depends(live_page(RecordKind.MODELS, RecordKind.REPORTS))],
) -> HTMLResponse:
    store = state.workspace.store
    versions: list[ModelVersion] = store.model_versions(name)
    if not versions:
        store.get_model_version(name)  # the registry's own "not registered" message, as a 404
    aliases = store.aliases(name)
    by_version: dict[int, list[str]] = {}
    for alias, version in aliases.items():
        by_version.setdefault(version, []).append(alias)
    return render(
        request,
        "model.html",
        live=live,
        nav="models",
        name=name,
        versions=list(reversed(versions)),
        aliases=aliases,
        by_version=by_version,
        history=list(reversed(store.alias_history(name))),
        reports=store.list_reports(model=name, limit=20),
        run_ids=_known_runs(state, [v.training_run_id for v in versions]),
    )


def _known_runs(state: ServerState, run_ids: list[str | None]) -> set[str]:
    """Which of these runs are in this server's store (others are shown without a link)."""
    from loopline.errors import RunNotFoundError

    known = set()
    for run_id in {r for r in run_ids if r}:
        try:
            state.metadata.get_run(run_id)
            known.add(run_id)
        except RunNotFoundError:
            pass
    return known


# -- regression reports ------------------------------------------------------------------------


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    state: State,
    live: Annotated[LivePage, Depends(live_page(RecordKind.REPORTS))],
    model: Name | None = None,
) -> HTMLResponse:
    store = state.workspace.store
    return render(
        request,
        "reports.html",
        live=live,
        nav="reports",
        rows=store.list_reports(model=model or None, limit=200),
        model=model or "",
        models=[m.name for m in store.latest_model_versions()],
    )


def load_report(state: ServerState, report_id: str) -> RegressionReport:
    try:
        check_artifact_id(report_id)
        state.workspace.store.get_report(report_id)
    except UsageError as error:
        raise HTTPException(404, str(error)) from None
    value = state.value(report_id)
    if not isinstance(value, RegressionReport):
        raise HTTPException(409, f"artifact {report_id} is not a RegressionReport")
    return value


@dataclasses.dataclass(frozen=True)
class FlipView:
    example: exhibits.Example
    label: str
    candidate: str
    baseline: str


def flip_views(report: RegressionReport, ids: tuple[str, ...]) -> list[FlipView]:
    """The report's stored copies of these golden examples, with both models' predictions."""
    examples = report.examples
    if examples is None or not ids:
        return []
    known = [i for i in ids[:FLIPS_SHOWN] if i in set(examples.ids.tolist())]
    if not known:
        return []
    shown = exhibits.dataset_examples(examples, examples.positions(known).tolist())
    views = []
    for example in shown:
        meta = dict(example.metadata)
        views.append(
            FlipView(
                example,
                example.label or "—",
                meta.get("candidate_prediction", "—"),
                meta.get("baseline_prediction", "—"),
            )
        )
    return views


@router.get("/reports/{report_id}", response_class=HTMLResponse)
def report_page(request: Request, report_id: str, state: State) -> HTMLResponse:
    report = load_report(state, report_id)
    entry = state.workspace.store.get_report(report_id)
    flips = {
        s.name: {
            "right_to_wrong": flip_views(report, s.right_to_wrong.ids),
            "wrong_to_right": flip_views(report, s.wrong_to_right.ids),
            "wrong": flip_views(report, s.wrong),
        }
        for s in report.scenarios
    }
    metric_names: list[str] = []
    for result in report.scenarios:
        metric_names += [k for k in result.candidate if k not in metric_names]
    return render(
        request,
        "report.html",
        nav="reports",
        report=report,
        entry=entry,
        flips=flips,
        metric_names=metric_names,
        shown_limit=FLIPS_SHOWN,
        golden_link=dataset_link(report.golden),
        run_known=_known_runs(state, [entry.run_id]),
    )


def dataset_link(ref: str | None) -> str | None:
    """The page of a dataset version "name@N" (None for anything else)."""
    if not ref or "@" not in ref:
        return None
    name, _, version = ref.partition("@")
    return f"/datasets/{quote(name)}/{version}" if version.isdigit() else None


# -- schedules ---------------------------------------------------------------------------------


@router.get("/schedules", response_class=HTMLResponse)
def schedules_page(
    request: Request, state: State, live: Annotated[LivePage, Depends(live_page(RecordKind.SCHEDULES))]
) -> HTMLResponse:
    store = state.workspace.store
    now = utcnow()
    rows = [(s, next_run(s, now), store.slots(s.name, limit=20)) for s in store.list_schedules()]
    return render(
        request,
        "schedules.html",
        live=live,
        nav="schedules",
        rows=rows,
        running=state.config.settings is not None and state.config.run_schedules,
        interval=state.config.schedule_interval_s,
    )
