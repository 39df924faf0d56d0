"""Laying out a pipeline's graph so that it stays readable at 10,000 runs.

Each nested func is a group that holds the runs it started. Within a group, runs are put in
layers by their data dependencies (longest path), and sibling calls of one function in one layer
(a fan-out) become a single node that counts them and their states. Nested groups open while
the drawing stays under a node budget; the user opens or closes any of them. Sizes are computed
bottom-up, positions top-down; edges are lifted to the visible boxes holding their two ends and
merged with a count.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Collection, Iterable, Sequence

from loopline.core.records import RunRecord

FANOUT_MIN = 4  # this many sibling calls of one function in one layer become one node
NODE_BUDGET = 80  # nested groups open by default while the drawing has at most this many boxes
MAX_ROW = 10  # a layer wider than this wraps onto several rows
NODE_W, NODE_H, FANOUT_H = 184.0, 46.0, 58.0
GAP_X, GAP_Y, PAD, HEADER = 22.0, 52.0, 14.0, 30.0


@dataclasses.dataclass(eq=False)
class Box:
    """One drawn box: a run, a fan-out of runs, or an open group (a nested func and its runs)."""

    key: str
    kind: str  # run, fanout, group
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
        return f"{self.run.name} \u00d7{len(self.runs)}" if self.kind == "fanout" else self.run.name

    def states(self) -> dict[str, int]:
        return dict(collections.Counter(r.state.value for r in self.runs).most_common())

    @property
    def state(self) -> str:
        counts = self.states()
        for urgent in (
            "failed",
            "running",
            "retrying",
            "waiting",
            "ready",
            "created",
            "orphaned",
            "cancelled",
            "abandoned",
        ):
            if urgent in counts:
                return urgent
        return next(iter(counts))


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
    ids = {r.id for r in siblings}
    preds = {
        r.id: {s for ref in r.inputs.values() for s in ref.sources if s in ids and s != r.id}
        for r in siblings
    }
    succs: dict[str, list[str]] = collections.defaultdict(list)
    for run_id, sources in preds.items():
        for source in sources:
            succs[source].append(run_id)
    missing = {run_id: len(sources) for run_id, sources in preds.items()}
    layer = dict.fromkeys(ids, 0)
    queue = collections.deque(r.id for r in siblings if not missing[r.id])
    while queue:
        current = queue.popleft()
        for nxt in succs[current]:
            layer[nxt] = max(layer[nxt], layer[current] + 1)
            missing[nxt] -= 1
            if not missing[nxt]:
                queue.append(nxt)
    return layer


def _boxes_for(pipeline: _Pipeline, parent_id: str, depth: int) -> list[Box]:
    siblings = pipeline.children.get(parent_id, [])
    layers = _layers(siblings)
    groups: dict[tuple[int, str], list[RunRecord]] = {}
    for run in siblings:
        groups.setdefault((layers[run.id], run.function), []).append(run)
    boxes = []
    for (layer, function), runs in groups.items():
        if len(runs) >= FANOUT_MIN:
            box = Box(f"fan:{parent_id}:{layer}:{function}", "fanout", runs, depth, layer)
            box.height = FANOUT_H
            box.hidden = sum(pipeline.subtree_size(r.id) for r in runs)
            boxes.append(box)
        else:
            for run in runs:
                boxes.append(Box(run.id, "run", [run], depth, layer, hidden=pipeline.subtree_size(run.id)))
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
    whose group the user opened or closed; other groups open breadth-first within `budget`."""
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
        children = _boxes_for(pipeline, box.key, box.depth + 1)
        if box is not root and box.key not in opened and drawn + len(children) > budget:
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
