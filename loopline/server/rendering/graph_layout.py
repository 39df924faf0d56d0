"""Laying out a pipeline's graph so that it stays readable at 10,000 runs.

Each nested func is a group that holds the runs it started. Within a group, runs are put in
layers by their data dependencies (longest path); a chain of calls of one function, each fed by
the one before (a loop), becomes a single node, and so do sibling calls of one function in one
layer (a fan-out); each counts its runs and their states. A group whose nodes still exceed the
node budget collapses further by structure (see `_LEVELS`), so no group ever draws more than the
budget. Nested groups open while the drawing stays under the budget; the user opens or closes
any of them. Sizes are computed bottom-up, positions top-down; edges are lifted to the visible
boxes holding their two ends and merged with a count.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Collection, Iterable, Sequence

from loopline.core.records import RunRecord
from loopline.server.rendering.states import SETTLED, URGENCY

FANOUT_MIN = 4  # this many sibling calls of one function in one layer become one node
CHAIN_MIN = 4  # this many calls of one function, each fed by the one before, become one node
NODE_BUDGET = 80  # nested groups open by default while the drawing has at most this many boxes
MAX_ROW = 10  # a layer wider than this wraps onto several rows
NODE_W, NODE_H, FANOUT_H = 184.0, 46.0, 58.0
GAP_X, GAP_Y, PAD, HEADER = 22.0, 52.0, 14.0, 30.0


@dataclasses.dataclass(eq=False)
class Box:
    """One drawn box: a run, a fan-out of runs, or an open group (a nested func and its runs)."""

    key: str
    kind: str  # run, fanout, chain, span (a stretch of mixed runs), group
    runs: list[RunRecord]
    depth: int
    layer: int = 0
    children: list[Box] = dataclasses.field(default_factory=list)
    hidden: int = 0  # runs nested under this box that are not drawn (a closed group)
    parent: Box | None = None
    x: float = 0.0
    y: float = 0.0
    width: float = NODE_W
    height: float = NODE_H

    @property
    def run(self) -> RunRecord:
        return self.runs[0]

    @property
    def label(self) -> str:
        if self.kind in ("fanout", "chain"):
            return f"{self.run.name} \u00d7{len(self.runs):,}"
        if self.kind == "span":
            return f"{len(self.runs):,} runs"
        return self.run.name

    @property
    def collapsed(self) -> bool:
        """Whether the box stands for several runs (a fan-out, a chain or a span)."""
        return self.kind in ("fanout", "chain", "span")

    def states(self) -> dict[str, int]:
        return dict(collections.Counter(r.state.value for r in self.runs).most_common())

    @property
    def state(self) -> str:
        """The most urgent state among the runs that are not settled, else the commonest."""
        counts = self.states()
        return next((s for s in URGENCY if s in counts and s not in SETTLED), next(iter(counts)))


@dataclasses.dataclass
class Layout:
    root_id: str
    total_runs: int
    boxes: list[Box]  # every drawn box, outer groups before what they contain
    edges: list[tuple[Box, Box, int]]
    width: float
    height: float
    owner: dict[str, Box]  # run id -> the box that shows it


class _Pipeline:
    """The runs of one pipeline, indexed by parent."""

    def __init__(self, runs: Sequence[RunRecord]) -> None:
        self.by_id = {r.id: r for r in runs}
        self.children: dict[str | None, list[RunRecord]] = collections.defaultdict(list)
        for run in sorted(runs, key=lambda r: (r.created_at, r.id)):
            self.children[run.parent_id].append(run)
        self._sizes: dict[str, int] = {}

    def subtree_size(self, run_id: str) -> int:
        """How many runs are nested (at any depth) under this run."""
        if run_id not in self._sizes:
            order, stack = [], [run_id]
            while stack:
                current = stack.pop()
                order.append(current)
                stack += [c.id for c in self.children.get(current, ()) if c.id not in self._sizes]
            for current in reversed(order):
                self._sizes[current] = sum(1 + self._sizes[c.id] for c in self.children.get(current, ()))
        return self._sizes[run_id]


def _layers(siblings: Sequence[RunRecord]) -> dict[str, int]:
    """Longest-path layer of each sibling over the data edges between siblings (Kahn's order)."""
    preds, succs = _data_edges(siblings)
    missing = {run_id: len(sources) for run_id, sources in preds.items()}
    layer = dict.fromkeys(preds, 0)
    queue = collections.deque(r.id for r in siblings if not missing[r.id])
    while queue:
        current = queue.popleft()
        for nxt in succs[current]:
            layer[nxt] = max(layer[nxt], layer[current] + 1)
            missing[nxt] -= 1
            if not missing[nxt]:
                queue.append(nxt)
    return layer


@dataclasses.dataclass(frozen=True)
class _Level:
    """How hard one group collapses: each level is tried in turn until the group fits the budget."""

    fanout_min: int
    chain_min: int
    nested_chains: bool  # whether chains of nested funcs (groups) collapse too
    by_function: bool = False  # one node per function, whatever the layers
    spans: bool = False  # consecutive runs in stretches, whatever their functions


_LEVELS = (
    _Level(FANOUT_MIN, CHAIN_MIN, nested_chains=False),
    _Level(2, 2, nested_chains=True),
    _Level(2, 2, nested_chains=True, by_function=True),
    _Level(2, 2, nested_chains=True, spans=True),
)


def _data_edges(siblings: Sequence[RunRecord]) -> tuple[dict[str, set[str]], dict[str, list[str]]]:
    ids = {r.id for r in siblings}
    preds = {
        r.id: {s for ref in r.inputs.values() for s in ref.sources if s in ids and s != r.id}
        for r in siblings
    }
    succs: dict[str, list[str]] = collections.defaultdict(list)
    for run_id, sources in preds.items():
        for source in sources:
            succs[source].append(run_id)
    return preds, succs


def _chains(
    pipeline: _Pipeline, siblings: Sequence[RunRecord], layers: dict[str, int], level: _Level
) -> list[list[RunRecord]]:
    """Maximal chains r1 -> r2 -> ... of one function where each link is fed by the one before and
    by nothing else drawn below the chain's first run (so a chain drawn as one node makes no
    cycle: everything it reads is above r1, everything reading it below)."""
    preds, succs = _data_edges(siblings)
    by_id = {r.id: r for r in siblings}

    def eligible(run: RunRecord) -> bool:
        return level.nested_chains or not pipeline.subtree_size(run.id)

    def next_link(run: RunRecord, top: int) -> RunRecord | None:
        found = [
            by_id[s]
            for s in succs.get(run.id, ())
            if by_id[s].function == run.function
            and eligible(by_id[s])
            and all(p == run.id or layers[p] < top for p in preds[s])
        ]
        return found[0] if len(found) == 1 else None

    taken: set[str] = set()
    chains = []
    for run in sorted(siblings, key=lambda r: (layers[r.id], r.created_at, r.id)):
        if run.id in taken or not eligible(run):
            continue
        chain, top = [run], layers[run.id]
        current = next_link(run, top)
        while current is not None and current.id not in taken:
            chain.append(current)
            current = next_link(current, top)
        if len(chain) >= level.chain_min:
            chains.append(chain)
            taken.update(r.id for r in chain)
    return chains


def _boxes_for(
    pipeline: _Pipeline, parent_id: str, depth: int, level: _Level, budget: int = NODE_BUDGET
) -> list[Box]:
    siblings = pipeline.children.get(parent_id, [])
    layers = _layers(siblings)
    if level.spans:
        return _spans(pipeline, parent_id, depth, siblings, layers, budget)
    boxes = []
    taken: set[str] = set()
    for chain in _chains(pipeline, siblings, layers, level):
        box = Box(f"chain:{chain[0].id}", "chain", chain, depth, layers[chain[0].id])
        box.height = FANOUT_H
        box.hidden = sum(pipeline.subtree_size(r.id) for r in chain)
        boxes.append(box)
        taken.update(r.id for r in chain)
    groups: dict[tuple[int, str], list[RunRecord]] = {}
    for run in siblings:
        if run.id not in taken:
            layer = 0 if level.by_function else layers[run.id]
            groups.setdefault((layer, run.function), []).append(run)
    for (layer, function), runs in groups.items():
        if len(runs) >= level.fanout_min:
            first = min(layers[r.id] for r in runs)
            box = Box(f"fan:{parent_id}:{layer}:{function}", "fanout", runs, depth, first)
            box.height = FANOUT_H
            box.hidden = sum(pipeline.subtree_size(r.id) for r in runs)
            boxes.append(box)
        else:
            for run in runs:
                boxes.append(
                    Box(run.id, "run", [run], depth, layers[run.id], hidden=pipeline.subtree_size(run.id))
                )
    _relayer(boxes, ordered=level.by_function)
    boxes.sort(key=lambda b: (b.layer, b.run.created_at, b.run.id))
    return boxes


def _spans(
    pipeline: _Pipeline,
    parent_id: str,
    depth: int,
    siblings: Sequence[RunRecord],
    layers: dict[str, int],
    budget: int,
) -> list[Box]:
    """The last resort for a group of many distinct functions: stretches of runs in layer order."""
    ordered = sorted(siblings, key=lambda r: (layers[r.id], r.created_at, r.id))
    size = -(-len(ordered) // max(1, budget))
    boxes = []
    for i in range(0, len(ordered), size):
        runs = ordered[i : i + size]
        box = Box(f"span:{parent_id}:{runs[0].id}", "span", runs, depth, i // size)
        box.height = FANOUT_H
        box.hidden = sum(pipeline.subtree_size(r.id) for r in runs)
        boxes.append(box)
    return boxes


def _relayer(boxes: list[Box], *, ordered: bool) -> None:
    """Layers of the boxes themselves, so that what follows a collapsed chain moves up beside it.
    Boxes by function (`ordered`) can read each other both ways: they keep the order of the layer
    their first run had."""
    if ordered:
        ranks = {layer: i for i, layer in enumerate(sorted({b.layer for b in boxes}))}
        for box in boxes:
            box.layer = ranks[box.layer]
        return
    index = {r.id: b for b in boxes for r in b.runs}
    preds: dict[Box, set[Box]] = {
        b: {index[s] for r in b.runs for ref in r.inputs.values() for s in ref.sources if s in index} - {b}
        for b in boxes
    }
    succs: dict[Box, list[Box]] = collections.defaultdict(list)
    for box, sources in preds.items():
        for source in sources:
            succs[source].append(box)
    missing = {b: len(p) for b, p in preds.items()}
    layer = dict.fromkeys(boxes, 0)
    queue = collections.deque(b for b in boxes if not missing[b])
    while queue:
        current = queue.popleft()
        for nxt in succs[current]:
            layer[nxt] = max(layer[nxt], layer[current] + 1)
            missing[nxt] -= 1
            if not missing[nxt]:
                queue.append(nxt)
    for box in boxes:
        box.layer = layer[box]


def _children_within(pipeline: _Pipeline, parent_id: str, depth: int, budget: int) -> list[Box]:
    """The boxes of one group at the first level of collapse that fits `budget`."""
    for level in _LEVELS:
        boxes = _boxes_for(pipeline, parent_id, depth, level, budget)
        if len(boxes) <= budget:
            return boxes
    return boxes


def layout(
    runs: Sequence[RunRecord],
    root_id: str,
    *,
    opened: Collection[str] = (),
    closed: Collection[str] = (),
    budget: int = NODE_BUDGET,
) -> Layout:
    """The drawing of the pipeline `root_id` (all its `runs` given). `opened`/`closed` name runs
    whose group the user opened or closed; other groups open breadth-first within `budget`. An open
    group never draws more than `budget` boxes of its own: it collapses by structure first."""
    pipeline = _Pipeline(runs)
    if root_id not in pipeline.by_id:
        raise KeyError(root_id)
    root = Box(root_id, "run", [pipeline.by_id[root_id]], 0, hidden=pipeline.subtree_size(root_id))
    drawn = 1
    queue = collections.deque([root])
    while queue:
        box = queue.popleft()
        if box.kind != "run" or not box.hidden or box.key in closed:
            continue
        if box is root or box.key in opened:
            children = _children_within(pipeline, box.key, box.depth + 1, budget - 1)
        else:
            children = _boxes_for(pipeline, box.key, box.depth + 1, _LEVELS[0])
            if drawn + len(children) > budget:
                continue
        box.kind, box.children, box.hidden = "group", children, 0
        for child in children:
            child.parent = box
        drawn += len(children)
        queue.extend(children)
    _measure(root)
    _place(root, 0.0, 0.0)
    boxes = list(_walk(root))
    owner = _owners(pipeline, boxes)
    return Layout(
        root_id, len(pipeline.by_id), boxes, _edges(pipeline, owner), root.width, root.height, owner
    )


def _walk(box: Box) -> Iterable[Box]:
    stack = [box]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _measure(box: Box) -> None:
    """Sizes bottom-up; children get positions relative to their group's top-left corner."""
    order = [b for b in _walk(box) if b.kind == "group"]
    for group in reversed(order):
        rows = _rows(group.children)
        y = HEADER + PAD
        width = 0.0
        for row in rows:
            row_width = sum(b.width for b in row) + GAP_X * (len(row) - 1)
            width = max(width, row_width)
        for row in rows:
            row_width = sum(b.width for b in row) + GAP_X * (len(row) - 1)
            x = PAD + (width - row_width) / 2
            row_height = max(b.height for b in row)
            for child in row:
                child.x, child.y = x, y + (row_height - child.height) / 2
                x += child.width + GAP_X
            y += row_height + GAP_Y
        group.width = max(width + 2 * PAD, NODE_W + 2 * PAD)
        group.height = y - GAP_Y + PAD if rows else HEADER + PAD


def _rows(boxes: list[Box]) -> list[list[Box]]:
    """Boxes by layer, each layer ordered by where its predecessors sit (barycenters), wrapped."""
    by_layer: dict[int, list[Box]] = collections.defaultdict(list)
    for box in boxes:
        by_layer[box.layer].append(box)
    position: dict[str, float] = {}
    index = {r.id: b.key for b in boxes for r in b.runs}
    rows: list[list[Box]] = []
    for layer in sorted(by_layer):
        members = by_layer[layer]

        def center(box: Box) -> float:
            spots = [
                position[index[s]]
                for r in box.runs[:50]
                for ref in r.inputs.values()
                for s in ref.sources
                if s in index and index[s] in position
            ]
            return sum(spots) / len(spots) if spots else float("inf")

        members.sort(key=center)
        for i, box in enumerate(members):
            position[box.key] = i - len(members) / 2
        rows += [members[i : i + MAX_ROW] for i in range(0, len(members), MAX_ROW)]
    return rows


def _place(box: Box, dx: float, dy: float) -> None:
    """Relative positions to absolute ones, top-down."""
    stack = [(box, dx, dy)]
    while stack:
        current, ox, oy = stack.pop()
        current.x += ox
        current.y += oy
        stack += [(child, current.x, current.y) for child in current.children]


def _owners(pipeline: _Pipeline, boxes: list[Box]) -> dict[str, Box]:
    """Each run's visible box: itself, its fan-out, or the closest drawn ancestor."""
    owner: dict[str, Box] = {}
    for box in boxes:
        for run in box.runs:
            owner[run.id] = box
    for run_id in pipeline.by_id:
        chain = []
        current: str | None = run_id
        while current is not None and current not in owner:
            chain.append(current)
            parent = pipeline.by_id.get(current)
            current = parent.parent_id if parent else None
        found = owner.get(current) if current is not None else None
        if found is not None:
            for link in chain:
                owner[link] = found
    return owner


def _edges(pipeline: _Pipeline, owner: dict[str, Box]) -> list[tuple[Box, Box, int]]:
    counts: collections.Counter[tuple[Box, Box]] = collections.Counter()
    for run in pipeline.by_id.values():
        target = owner.get(run.id)
        if target is None:
            continue
        for ref in run.inputs.values():
            for source_id in ref.sources:
                source = owner.get(source_id)
                if source is not None and not _nested(source, target) and not _nested(target, source):
                    counts[(source, target)] += 1
    return [(s, t, n) for (s, t), n in counts.items()]


def _nested(outer: Box, inner: Box) -> bool:
    """Whether `inner` is `outer` or drawn inside it."""
    current: Box | None = inner
    while current is not None:
        if current is outer:
            return True
        current = current.parent
    return False
