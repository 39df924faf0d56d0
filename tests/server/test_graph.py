"""The graph layout: fan-outs collapse, nested funcs are groups, edges are lifted and counted."""

from __future__ import annotations

import datetime as dt
import itertools

from loopline.core.records import InputRef, RunRecord, RunState
from loopline.server.graph import layout
from loopline.server.svg import render_graph

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_ids = itertools.count()


def run(
    name: str,
    parent: RunRecord | None = None,
    sources: tuple[str, ...] = (),
    state: RunState = RunState.SUCCEEDED,
) -> RunRecord:
    n = next(_ids)
    run_id = f"r{n:05d}"
    return RunRecord(
        id=run_id,
        root_id=parent.root_id if parent else run_id,
        parent_id=parent.id if parent else None,
        function=f"m.{name}",
        name=name,
        state=state,
        created_at=T0 + dt.timedelta(microseconds=n),
        inputs={"x": InputRef("a" * 64, sources)} if sources else {},
    )


def fan_pipeline(width: int) -> list[RunRecord]:
    root = run("root")
    load = run("load", root)
    parts = [
        run("part", root, (load.id,), RunState.FAILED if i == 0 else RunState.SUCCEEDED) for i in range(width)
    ]
    join = run("join", root, tuple(p.id for p in parts))
    return [root, load, *parts, join]


def test_a_fan_out_is_one_node_with_its_count_and_states() -> None:
    runs = fan_pipeline(500)
    drawn = layout(runs, runs[0].id)
    fans = [b for b in drawn.boxes if b.kind == "fanout"]
    assert len(fans) == 1
    assert (len(fans[0].runs), fans[0].states(), fans[0].state) == (
        500,
        {"succeeded": 499, "failed": 1},
        "failed",
    )
    edges = {(s.label, t.label, n) for s, t, n in drawn.edges}
    assert edges == {("load", "part \u00d7500", 500), ("part \u00d7500", "join", 500)}


def test_layers_follow_the_data() -> None:
    runs = fan_pipeline(10)
    drawn = layout(runs, runs[0].id)
    y = {b.label: b.y for b in drawn.boxes}
    assert y["load"] < y["part \u00d710"] < y["join"]


def test_few_siblings_stay_separate_nodes() -> None:
    runs = fan_pipeline(3)
    assert [b.label for b in layout(runs, runs[0].id).boxes if b.kind == "run"] == [
        "load",
        "part",
        "part",
        "part",
        "join",
    ]


def test_nested_groups_open_within_the_budget_and_on_request() -> None:
    root = run("root")
    shards = [run("shard", root) for _ in range(3)]  # fewer than a fan-out
    runs = [root, *shards] + [run("step", shard) for shard in shards for _ in range(2)]
    assert {b.kind for b in layout(runs, root.id).boxes if b.run.name == "shard"} == {"group"}
    small = layout(runs, root.id, budget=6)
    assert [b.kind for b in small.boxes if b.run.name == "shard"] == ["group", "run", "run"]
    assert [b.hidden for b in small.boxes if b.kind == "run" and b.run.name == "shard"] == [2, 2]
    opened = layout(runs, root.id, budget=6, opened={shards[2].id})
    assert next(b for b in opened.boxes if b.key == shards[2].id).kind == "group"
    closed = layout(runs, root.id, closed={shards[0].id})
    assert next(b for b in closed.boxes if b.key == shards[0].id).kind == "run"


def test_a_fan_out_of_nested_funcs_is_one_node_too() -> None:
    root = run("root")
    shards = [run("shard", root) for _ in range(6)]
    runs = [root, *shards] + [run("step", shard) for shard in shards]
    fan = next(b for b in layout(runs, root.id).boxes if b.kind == "fanout")
    assert (len(fan.runs), fan.hidden) == (6, 6)


def test_runs_inside_a_closed_group_are_owned_by_it() -> None:
    root = run("root")
    inner = run("inner", root)
    leaf = run("leaf", inner)
    drawn = layout([root, inner, leaf], root.id, closed={inner.id})
    assert drawn.owner[leaf.id].key == inner.id


def test_ten_thousand_runs_draw_as_few_boxes() -> None:
    root = run("root")
    runs = [root]
    previous: str | None = None
    for _ in range(20):
        shard = run("shard", root, (previous,) if previous else ())
        runs.append(shard)
        runs += fan_pipeline_in(shard, 497)
        previous = shard.id
    drawn = layout(runs, root.id)
    assert drawn.total_runs == len(runs) > 10_000
    assert len(drawn.boxes) < 100
    svg = render_graph(drawn, runs[5].id)
    assert svg.count('class="node') < 100
    assert "selected" in svg


def fan_pipeline_in(parent: RunRecord, width: int) -> list[RunRecord]:
    load = run("load", parent)
    parts = [run("part", parent, (load.id,)) for _ in range(width)]
    return [load, *parts, run("join", parent, tuple(p.id for p in parts))]


def test_labels_are_escaped_in_the_svg() -> None:
    root = run("root")
    evil = run("<script>x</script>", root)
    svg = render_graph(layout([root, evil], root.id))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_a_group_title_is_cut_to_the_width_of_its_frame() -> None:
    import re

    root = run("nightly_retraining_pipeline_for_the_production_model")
    svg = render_graph(layout([root, run("fit", root)], root.id))
    width = float(re.search(r'class="frame" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    title = re.search(r'class="title">([^<]*)</text></g><g class="toggle"', svg).group(1)  # type: ignore[union-attr]
    assert title.endswith("…") and len(title) * 7.5 <= width - 62
