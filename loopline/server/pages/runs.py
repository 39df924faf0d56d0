"""The runs pages: the list of runs (filtered, paged, nested runs unfolded on demand) and one run's
page with its pipeline's graph and tree, its panel's tabs, and the fragments they refresh."""

from __future__ import annotations

import collections
import dataclasses
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from loopline.cl.loop import loop_round
from loopline.core.records import ArtifactRecord, RunFilter, RunRecord, RunState
from loopline.errors import ArtifactNotFoundError, UsageError
from loopline.server import queries
from loopline.server.pages import compare, run_values
from loopline.server.pages.render import render
from loopline.server.rendering.charts import metric_chart
from loopline.server.rendering.entities import entity_link
from loopline.server.rendering.formats import brief
from loopline.server.rendering.graph_layout import Layout, layout
from loopline.server.rendering.graph_svg import render_graph
from loopline.server.rendering.markdown import render_markdown
from loopline.server.rendering.states import shown_counts, urgency
from loopline.server.rendering.timeline import render_timeline, timeline
from loopline.server.state import ServerState, server_state

router = APIRouter(include_in_schema=False)
State = Annotated[ServerState, Depends(server_state)]
PAGE_SIZE = 50
FANOUT_LIST = 300
TABS = {
    "overview": "Overview",
    "io": "Inputs & output",
    "logs": "Logs",
    "timeline": "Timeline",
    "metrics": "Metrics",
    "source": "Source",
    "notes": "Notes",
}


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/runs", status_code=307)


# -- runs --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunsQuery:
    q: str | None
    states: tuple[str, ...]
    tag: str | None
    pipeline: str | None
    nested: bool
    cursor: str | None
    where: str | None = None  # conditions on inputs and metrics: `lr = 0.01 and accuracy > 0.9`
    sort: str | None = None  # an input or metric to sort by: `lr`, or `-accuracy` for the highest first

    @property
    def any(self) -> bool:
        return bool(
            self.q or self.states or self.tag or self.pipeline or self.nested or self.where or self.sort
        )

    def filter(self) -> RunFilter:
        return queries.run_filter(
            states=[RunState(s) for s in self.states],
            search=self.q,
            tags=[self.tag] if self.tag else [],
            pipeline=self.pipeline,
            root_only=not self.nested,
        )

    def url(self, cursor: str | None) -> str:
        params: list[tuple[str, str]] = [
            ("q", self.q or ""),
            ("tag", self.tag or ""),
            ("pipeline", self.pipeline or ""),
            ("where", self.where or ""),
            ("sort", self.sort or ""),
        ]
        params += [("state", s) for s in self.states]
        params += [("nested", "1")] if self.nested else []
        params += [("cursor", cursor)] if cursor else []
        return "/runs?" + urlencode([(k, v) for k, v in params if v])


def runs_query(
    q: Annotated[str | None, Query(max_length=512)] = None,
    state: Annotated[list[str], Query(max_length=20)] = [],  # noqa: B006
    tag: Annotated[str | None, Query(max_length=256)] = None,
    pipeline: Annotated[str | None, Query(max_length=512)] = None,
    nested: bool = False,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    where: Annotated[str | None, Query(max_length=512)] = None,
    sort: Annotated[str | None, Query(max_length=256)] = None,
) -> RunsQuery:
    valid = {s.value for s in RunState}
    return RunsQuery(
        q or None,
        tuple(s for s in state if s in valid),
        tag or None,
        pipeline or None,
        nested,
        cursor or None,
        where.strip() or None if where else None,
        sort.strip() or None if sort else None,
    )


Filters = Annotated[RunsQuery, Depends(runs_query)]


@dataclasses.dataclass(frozen=True)
class Listing:
    """One page of the runs list, as the page and its rows fragment show it."""

    runs: list[RunRecord]
    total: str  # "1,234 runs", or what a value filter found: "3 runs match in 812 read"
    next_cursor: str | None
    notice: str = ""  # the scan stopped at its limit: say so
    problem: str = ""  # the value filter cannot be read: say how to write it


def listing(state: ServerState, f: RunsQuery) -> Listing:
    if f.sort:
        return _sorted_listing(state, f)
    if not f.where:
        page = state.metadata.list_runs(f.filter(), limit=PAGE_SIZE, cursor=f.cursor)
        total = state.metadata.count_runs(f.filter())
        kind = "run" if total == 1 else "runs"
        return Listing(page.runs, f"{total:,} {kind}{'' if f.nested else ' (pipelines)'}", page.next_cursor)
    try:
        conditions = run_values.parse_conditions(f.where)
    except UsageError as e:
        return Listing([], "no runs", None, problem=str(e))
    found = run_values.scan(state.metadata, f.filter(), conditions, want=PAGE_SIZE, cursor=f.cursor)
    match = "run matches" if len(found.runs) == 1 else "runs match"
    more = "+" if found.next_cursor and not found.limit_hit else ""
    notice = (
        f"Stopped after reading {found.scanned:,} runs (the limit of one page's search): "
        "older runs were not searched; “Older »” searches on."
        if found.limit_hit
        else ""
    )
    return Listing(
        found.runs, f"{len(found.runs):,}{more} {match} in {found.scanned:,} read", found.next_cursor, notice
    )


def _sorted_listing(state: ServerState, f: RunsQuery) -> Listing:
    """The most recent runs that match (up to SORT_LIMIT), sorted by an input or metric."""
    try:
        key, descending = run_values.parse_sort(f.sort or "")
        conditions = run_values.parse_conditions(f.where) if f.where else []
    except UsageError as e:
        return Listing([], "no runs", None, problem=str(e))
    limit = run_values.SORT_LIMIT
    values = run_values.RunValues(state.metadata)  # each artifact and metric read once for both
    found = run_values.scan(state.metadata, f.filter(), conditions, want=limit, limit=limit, values=values)
    ranked = run_values.sort_by_value(values, found.runs, key, descending)
    shown = ranked[:PAGE_SIZE]
    notice = (
        f"Sorted among the {len(found.runs):,} most recent runs that match "
        f"(a sorted list reads at most {limit:,}); runs without {key.name} come last."
    )
    return Listing(shown, f"{len(shown):,} of {len(found.runs):,} runs, by {f.sort}", None, notice)


LOOP_ROUND = loop_round.path  # the function of a loop round's run


def round_labels(state: ServerState, runs: list[RunRecord]) -> dict[str, str]:
    """`digits-loop round 3` for each run among `runs` that is a round of a loop (its number is
    given inside the run, so its name cannot carry it)."""
    wanted = {run.id for run in runs if run.function == LOOP_ROUND}
    if not wanted:
        return {}
    store = state.workspace.store
    return {
        r.run_id: f"{r.loop} round {r.round}"
        for latest in store.loops()
        for r in store.rounds(latest.loop)
        if r.run_id in wanted
    }


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request, state: State, f: Filters) -> HTMLResponse:
    found = listing(state, f)
    return render(
        request,
        "runs.html",
        nav="runs",
        f=f,
        nested=f.nested,
        runs=found.runs,
        rounds=round_labels(state, found.runs),
        expandable=True,
        depth=0,
        listing=found,
        all_states=[s.value for s in RunState],
        pipelines=[p.stats.function for p in queries.pipelines(state.metadata, recent=1)],
        next_url=f.url(found.next_cursor) if found.next_cursor else None,
        first_url=f.url(None),
        compare_max=compare.MOST,
    )


@router.get("/fragments/runs", response_class=HTMLResponse)
def runs_rows(request: Request, state: State, f: Filters) -> HTMLResponse:
    """The list's rows; the page's script reads the count and the next page's address from the
    headers (as text that stays ASCII)."""
    found = listing(state, f)
    response = render(
        request,
        "runs_rows.html",
        runs=found.runs,
        rounds=round_labels(state, found.runs),
        expandable=True,
        depth=0,
        listing=found,
    )
    response.headers["X-Runs-Total"] = found.total.encode("ascii", "replace").decode()
    response.headers["X-Runs-Next"] = f.url(found.next_cursor) if found.next_cursor else ""
    return response


@router.get("/fragments/children/{run_id}", response_class=HTMLResponse)
def children_rows(
    request: Request, run_id: str, state: State, depth: Annotated[int, Query(ge=1, le=50)] = 1
) -> HTMLResponse:
    children = state.metadata.list_runs(RunFilter(parent_id=run_id), limit=500).runs
    children.sort(key=lambda r: (r.created_at, r.id))
    return render(
        request,
        "runs_rows.html",
        runs=children,
        rounds=round_labels(state, children),
        expandable=True,
        depth=depth,
    )


# -- one run -----------------------------------------------------------------------------------


def _artifacts(state: ServerState, run: RunRecord) -> dict[str, ArtifactRecord]:
    ids = [ref.artifact_id for ref in run.inputs.values()] + ([run.output_id] if run.output_id else [])
    found = {}
    for artifact_id in ids:
        try:
            found[artifact_id] = state.metadata.get_artifact(artifact_id)
        except ArtifactNotFoundError:
            pass
    return found


def _repeats(run: RunRecord) -> dict[str, tuple[str, str]]:
    """Places of the Inputs & output tab (`input:NAME`, `output`) whose artifact an earlier place
    there already shows, each with that place's anchor and name: a value is drawn once a page."""
    places = [
        (f"input:{name}", f"io-input-{name}", f"input {name}", ref.artifact_id)
        for name, ref in run.inputs.items()
    ]
    if run.output_id:
        places.append(("output", "io-output", "the output", run.output_id))
    first: dict[str, tuple[str, str]] = {}
    repeats = {}
    for place, anchor, label, artifact_id in places:
        if artifact_id in first:
            repeats[place] = first[artifact_id]
        else:
            first[artifact_id] = (anchor, label)
    return repeats


def metric_charts(state: ServerState, run_id: str) -> list[str]:
    by_name: dict[str, list[Any]] = collections.defaultdict(list)
    for point in state.metadata.read_metrics(run_id=run_id):
        by_name[point.name].append(point)
    return [metric_chart(name, points) for name, points in by_name.items()]


def rendered_notes(state: ServerState, run_id: str) -> list[dict[str, Any]]:
    return [
        {"author": n.author, "created_at": n.created_at, "html": render_markdown(n.body)}
        for n in state.metadata.notes(run_id)
    ]


def panel_context(state: ServerState, run: RunRecord, root: RunRecord, tab: str) -> dict[str, Any]:
    charts = metric_charts(state, run.id)
    can_rerun = state.config.settings is not None and root.launch is not None
    reason = (
        "this server cannot start workers"
        if state.config.settings is None
        else "no launch spec was recorded for this pipeline"
    )
    tab = tab if tab in TABS else "overview"
    return {
        "run": run,
        "root": root,
        "tab": tab,
        "tabs": TABS,
        "timeline": timeline_context(state, root, run.id) if tab == "timeline" else None,
        "artifacts": _artifacts(state, run),
        "repeats": _repeats(run),
        "notes": rendered_notes(state, run.id),
        "charts": charts,
        "metric_count": len(charts),
        "children_count": state.metadata.count_runs(RunFilter(parent_id=run.id)),
        "can_rerun": can_rerun,
        "rerun_reason": "" if can_rerun else reason,
    }


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _names(value: str | None) -> set[str]:
    return {v for v in (value or "").split(",") if v}


def graph_context(
    state: ServerState, root: RunRecord, selected: str, opened: set[str], closed: set[str]
) -> dict[str, Any]:
    runs = state.pipeline_runs(root.id)
    drawn: Layout = layout(runs, root.id, opened=opened, closed=closed)
    children: dict[str, list[RunRecord]] = collections.defaultdict(list)
    by_id = {r.id: r for r in runs}
    for run in sorted(runs, key=lambda r: (r.created_at, r.id)):
        if run.parent_id:
            children[run.parent_id].append(run)
    open_path, current = set(), by_id.get(selected)
    while current is not None:
        open_path.add(current.id)
        current = by_id.get(current.parent_id) if current.parent_id else None
    shown = sum(1 for b in drawn.boxes if b.kind != "group")
    groups = len(drawn.boxes) - shown
    return {
        "graph_svg": render_graph(drawn, selected, _entity_outputs(state, drawn)),
        "graph_caption": f"{_count(drawn.total_runs, 'run')} drawn as {_count(shown, 'node')} in {_count(groups, 'group')}",
        "total_runs": drawn.total_runs,
        "children": children,
        "tree_root": by_id.get(root.id, root),
        "open_path": open_path,
        "selected": selected,
        "opened": sorted(opened),
        "closed": sorted(closed),
    }


def _entity_outputs(state: ServerState, drawn: Layout) -> dict[str, str]:
    """What each drawn single run returned, when that is a registered entity (the node budget
    bounds the boxes; their records are kept between redraws)."""
    found = {}
    for box in drawn.boxes:
        if box.kind == "group" or box.collapsed or box.run.output_id is None:
            continue
        artifact = state.artifact_record(box.run.output_id)
        entity = None if artifact is None else entity_link(artifact.summary, artifact)
        if entity is not None:
            found[box.run.id] = entity.label
    return found


def timeline_context(state: ServerState, root: RunRecord, selected: str) -> dict[str, str]:
    chart = timeline(state.pipeline_runs(root.id), root.id)
    caption = f"{_count(chart.total_runs, 'run')} in {_count(len(chart.rows), 'row')}"
    if chart.left_out:
        caption += f"; {_count(chart.left_out, 'more run')} not drawn"
    return {"svg": render_timeline(chart, selected), "caption": caption}


@router.get("/fragments/timeline/{run_id}", response_class=HTMLResponse)
def timeline_fragment(
    request: Request, run_id: str, state: State, selected: Annotated[str | None, Query(max_length=64)] = None
) -> HTMLResponse:
    run = state.metadata.get_run(run_id)
    root = run if run.parent_id is None else state.metadata.get_run(run.root_id)
    context = timeline_context(state, root, selected or run_id)
    response = render(request, "timeline.html", timeline=context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    run_id: str,
    state: State,
    tab: str = "overview",
    open: Annotated[str | None, Query(max_length=20_000)] = None,
    closed: Annotated[str | None, Query(max_length=20_000)] = None,
) -> HTMLResponse:
    run = state.metadata.get_run(run_id)
    root = run if run.parent_id is None else state.metadata.get_run(run.root_id)
    context = graph_context(state, root, run.id, _names(open), _names(closed))
    return render(
        request,
        "run.html",
        nav="runs",
        root_round=round_labels(state, [root]).get(root.id),
        **context,
        **panel_context(state, run, root, tab),
    )


@router.get("/fragments/panel/{run_id}", response_class=HTMLResponse)
def panel(request: Request, run_id: str, state: State, tab: str = "overview") -> HTMLResponse:
    run = state.metadata.get_run(run_id)
    root = run if run.parent_id is None else state.metadata.get_run(run.root_id)
    return render(request, "panel.html", **panel_context(state, run, root, tab))


@router.get("/fragments/graph/{run_id}", response_class=HTMLResponse)
def graph_fragment(
    request: Request,
    run_id: str,
    state: State,
    selected: Annotated[str | None, Query(max_length=64)] = None,
    open: Annotated[str | None, Query(max_length=20_000)] = None,
    closed: Annotated[str | None, Query(max_length=20_000)] = None,
) -> HTMLResponse:
    root = state.metadata.get_run(state.metadata.get_run(run_id).root_id)
    context = graph_context(state, root, selected or run_id, _names(open), _names(closed))
    svg, caption = context["graph_svg"], context["graph_caption"]
    return HTMLResponse(
        svg,
        headers={"X-Graph-Caption": caption.encode("ascii", "replace").decode(), "Cache-Control": "no-store"},
    )


@router.get("/fragments/tree/{run_id}", response_class=HTMLResponse)
def tree_fragment(
    request: Request, run_id: str, state: State, selected: Annotated[str | None, Query(max_length=64)] = None
) -> HTMLResponse:
    root = state.metadata.get_run(state.metadata.get_run(run_id).root_id)
    return render(request, "tree.html", **graph_context(state, root, selected or run_id, set(), set()))


@router.get("/fragments/fanout", response_class=HTMLResponse)
def fanout(
    request: Request,
    state: State,
    parent_id: Annotated[str, Query(max_length=64)],
    function: Annotated[str, Query(max_length=512)],
) -> HTMLResponse:
    parent = state.metadata.get_run(parent_id)
    members = [
        r for r in state.pipeline_runs(parent.root_id) if r.parent_id == parent_id and r.function == function
    ]
    members.sort(key=lambda r: (urgency(r.state.value), r.created_at, r.id))
    shown = members[:FANOUT_LIST]
    varying = _varying_inputs(members)
    briefs = _input_briefs(state, shown, varying)
    name = members[0].name if members else function.rsplit(".", 1)[-1]
    return render(
        request,
        "fanout.html",
        rows=[
            FanoutRow(
                run,
                [(name, briefs[run.inputs[name].artifact_id]) for name in varying],
                _first_line(state, run),
            )
            for run in shown
        ],
        total=len(members),
        states=shown_counts(collections.Counter(r.state.value for r in members)),
        name=name,
        function=function,
        parent_id=parent_id,
    )


@dataclasses.dataclass(frozen=True)
class FanoutRow:
    run: RunRecord
    inputs: list[tuple[str, str]]  # the inputs that tell this call from its siblings, briefly
    error: str  # the first line of its error, or ""


VARYING_SHOWN = 3


def _varying_inputs(runs: list[RunRecord]) -> list[str]:
    """The names of the inputs whose values differ between the runs (at most VARYING_SHOWN)."""
    names = {name for run in runs for name in run.inputs}
    varying = [
        name
        for name in sorted(names)
        if all(name in run.inputs for run in runs) and len({run.inputs[name].artifact_id for run in runs}) > 1
    ]
    return varying[:VARYING_SHOWN]


def _input_briefs(state: ServerState, runs: list[RunRecord], names: list[str]) -> dict[str, str]:
    ids = {run.inputs[name].artifact_id for run in runs for name in names}
    briefs = {}
    for artifact_id in ids:
        try:
            briefs[artifact_id] = brief(state.metadata.get_artifact(artifact_id).summary)
        except ArtifactNotFoundError:
            briefs[artifact_id] = artifact_id[:8]
    return briefs


def _first_line(state: ServerState, run: RunRecord) -> str:
    """The first line of a failed run's error (the pipeline's outline leaves errors out)."""
    error = state.metadata.get_run(run.id).error if run.state is RunState.FAILED else None
    if error is None:
        return ""
    message = error.message.strip().splitlines()
    return f"{error.type}: {message[0]}" if message else error.type


@router.get("/fragments/metrics/{run_id}", response_class=HTMLResponse)
def metrics_fragment(request: Request, run_id: str, state: State) -> HTMLResponse:
    state.metadata.get_run(run_id)
    return render(request, "metrics.html", charts=metric_charts(state, run_id))


@router.get("/fragments/notes/{run_id}", response_class=HTMLResponse)
def notes_fragment(request: Request, run_id: str, state: State) -> HTMLResponse:
    state.metadata.get_run(run_id)
    return render(request, "notes.html", notes=rendered_notes(state, run_id))
