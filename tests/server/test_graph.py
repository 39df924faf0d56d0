"""The graph layout: fan-outs collapse, nested funcs are groups, edges are lifted and counted."""

from __future__ import annotations

import datetime as dt
import itertools

from loopline.core.records import InputRef, RunRecord, RunState
from loopline.server.rendering.graph_layout import layout
from loopline.server.rendering.graph_svg import render_graph

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


def chain_pipeline(length: int, name: str = "inc") -> list[RunRecord]:
    root = run("root")
    runs = [root, run("load", root)]
    for _ in range(length):
        runs.append(run(name, root, (runs[-1].id,)))
    runs.append(run("report", root, (runs[-1].id,)))
    return runs


def test_a_chain_of_one_function_is_one_node_with_its_count() -> None:
    runs = chain_pipeline(2_000)
    drawn = layout(runs, runs[0].id)
    assert [b.label for b in drawn.boxes] == ["root", "load", "inc \u00d72,000", "report"]
    edges = {(s.label, t.label, n) for s, t, n in drawn.edges}
    assert edges == {("load", "inc \u00d72,000", 1), ("inc \u00d72,000", "report", 1)}
    y = {b.label: b.y for b in drawn.boxes}
    assert y["load"] < y["inc \u00d72,000"] < y["report"]  # what follows the chain moves up beside it


def test_a_chain_also_fed_from_above_still_collapses() -> None:
    root = run("root")
    config = run("config", root)
    runs = [root, config, run("load", root)]
    for _ in range(10):
        runs.append(run("step", root, (runs[-1].id, config.id)))
    assert [b.label for b in layout(runs, root.id).boxes][-1] == "step \u00d710"


def test_short_chains_stay_separate_nodes() -> None:
    runs = chain_pipeline(3)
    assert [b.label for b in layout(runs, runs[0].id).boxes] == [
        "root",
        "load",
        "inc",
        "inc",
        "inc",
        "report",
    ]


def test_a_chain_state_bar_counts_its_states() -> None:
    root = run("root")
    runs = [root, run("inc", root)]
    for state in [RunState.SUCCEEDED] * 5 + [RunState.RUNNING, RunState.CREATED]:
        runs.append(run("inc", root, (runs[-1].id,), state))
    chain = next(b for b in layout(runs, root.id).boxes if b.kind == "chain")
    assert (chain.states(), chain.state) == ({"succeeded": 6, "running": 1, "created": 1}, "running")
    svg = render_graph(layout(runs, root.id))
    assert 'class="node chain s-running"' in svg and "<title>6 succeeded</title>" in svg
    assert 'aria-label="inc \u00d78"' in svg and f'data-fanout="{root.id}" data-function="m.inc"' in svg


def nested_grid(rows: int, cols: int) -> list[RunRecord]:
    """`rows` nested `row` funcs, each fed by the one before, each a fan-out of `cols` cells."""
    root = run("root")
    runs = [root]
    previous: tuple[str, ...] = ()
    for _ in range(rows):
        row = run("row", root, previous)
        runs.append(row)
        runs += [run("cell", row) for _ in range(cols)]
        previous = (row.id,)
    return runs


def test_a_nested_grid_over_the_budget_collapses_its_rows() -> None:
    runs = nested_grid(100, 100)
    drawn = layout(runs, runs[0].id)
    assert len(drawn.boxes) <= 80
    assert [b.label for b in drawn.boxes] == ["root", "row \u00d7100"]
    assert drawn.boxes[1].hidden == 10_000


def test_a_nested_grid_within_the_budget_keeps_its_groups() -> None:
    runs = nested_grid(3, 5)
    assert [b.kind for b in layout(runs, runs[0].id).boxes] == ["group"] + ["group", "fanout"] * 3


def test_many_distinct_functions_collapse_into_spans_within_the_budget() -> None:
    root = run("root")
    runs = [root] + [run(f"step_{i}", root) for i in range(500)]
    drawn = layout(runs, root.id, budget=20)
    assert len(drawn.boxes) <= 20
    assert {b.kind for b in drawn.boxes[1:]} == {"span"}
    assert sum(len(b.runs) for b in drawn.boxes[1:]) == 500


def test_two_functions_taking_turns_collapse_by_function() -> None:
    root = run("root")
    runs = [root, run("a", root)]
    for i in range(199):
        runs.append(run("b" if i % 2 == 0 else "a", root, (runs[-1].id,)))
    drawn = layout(runs, root.id)
    assert sorted(b.label for b in drawn.boxes[1:]) == ["a \u00d7100", "b \u00d7100"]


def test_an_opened_group_draws_within_the_budget_too() -> None:
    root = run("root")
    shard = run("shard", root)
    runs = [root, shard] + [run(f"step_{i}", shard) for i in range(200)]
    drawn = layout(runs, root.id, opened={shard.id}, budget=30)
    assert next(b for b in drawn.boxes if b.key == shard.id).kind == "group"
    assert len(drawn.boxes) <= 30 + 1


def test_a_fan_out_node_names_its_most_urgent_states_in_whole_words_and_all_in_its_tooltip() -> None:
    root = run("root")
    states = (
        [RunState.SUCCEEDED] * 116 + [RunState.CANCELLED] * 3 + [RunState.FAILED] + [RunState.RUNNING] * 2
    )
    parts = [run("part", root, state=state) for state in states]
    svg = render_graph(layout([root, *parts], root.id), root.id)
    assert ">1 failed, 2 running +2</text>" in svg
    assert "<title>1 failed, 2 running, 3 cancelled, 116 succeeded: sibling calls" in svg
