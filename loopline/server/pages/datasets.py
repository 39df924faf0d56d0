"""The datasets pages: every dataset, one version's examples (filtered, paged, shown as what they
are), and the examples two versions differ by."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from loopline.cl.datasets.dataset import Dataset, DatasetDiff
from loopline.cl.store.records import DatasetVersion
from loopline.cl.store.revisions import RecordKind
from loopline.server.live import LivePage
from loopline.server.lookups import checked_version, golden_names, load_dataset
from loopline.server.pages.render import render
from loopline.server.rendering import exhibits
from loopline.server.rendering.charts import bar_chart
from loopline.server.state import ServerState, live_page, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
EXAMPLES_PAGE = 48
DIFF_SHOWN = 24


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


def dataset_link(ref: str | None) -> str | None:
    """The page of a dataset version "name@N" (None for anything else)."""
    if not ref or "@" not in ref:
        return None
    name, _, version = ref.partition("@")
    return f"/datasets/{quote(name)}/{version}" if version.isdigit() else None
