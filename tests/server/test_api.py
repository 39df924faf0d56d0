"""The REST API against a real uvicorn server on a free port."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx

from loopline.core.serialization import decode
from tests.server.conftest import Seeded, eventually


def test_runs_are_listed_newest_first(http: httpx.Client, seeded: Seeded) -> None:
    runs = http.get("/api/v1/runs", params={"root_only": True, "limit": 100}).json()["runs"]
    seeded_order = [
        seeded.xss,
        seeded.failing,
        seeded.fan,
        seeded.showcase,
    ]  # the order they ran in, reversed
    assert [r["id"] for r in runs if r["id"] in seeded_order] == seeded_order


def test_runs_filter_by_state(http: httpx.Client, seeded: Seeded) -> None:
    runs = http.get("/api/v1/runs", params={"state": "failed"}).json()["runs"]
    assert {r["name"] for r in runs} == {"failing", "explode"}


def test_runs_filter_by_tag_pipeline_and_name(http: httpx.Client, seeded: Seeded) -> None:
    assert [r["id"] for r in http.get("/api/v1/runs", params={"tag": "nightly"}).json()["runs"]] == [
        seeded.showcase
    ]
    by_pipeline = http.get(
        "/api/v1/runs", params={"pipeline": "tests.server.pipelines.fan", "root_only": True}
    ).json()
    assert {r["id"] for r in by_pipeline["runs"]} == {seeded.fan, seeded.xss}
    assert [r["name"] for r in http.get("/api/v1/runs", params={"name": "make_ta"}).json()["runs"]] == [
        "make_table"
    ]


def test_runs_free_text_search_matches_ids(http: httpx.Client, seeded: Seeded) -> None:
    runs = http.get("/api/v1/runs", params={"q": seeded.showcase[:10]}).json()["runs"]
    assert [r["id"] for r in runs] == [seeded.showcase]


def test_runs_filter_by_creation_time(http: httpx.Client) -> None:
    assert http.get("/api/v1/runs", params={"created_after": "2999-01-01T00:00:00"}).json()["runs"] == []
    assert http.get("/api/v1/runs", params={"created_before": "2999-01-01T00:00:00Z", "limit": 1}).json()[
        "runs"
    ]


def test_cursor_pages_walk_every_run_once(http: httpx.Client, seeded: Seeded) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {
            "root_id": seeded.fan,
            "limit": 300,
            **({"cursor": cursor} if cursor else {}),
        }
        page = http.get("/api/v1/runs", params=params).json()
        seen += [r["id"] for r in page["runs"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 1002


def test_count_is_given_on_request(http: httpx.Client, seeded: Seeded) -> None:
    assert (
        http.get("/api/v1/runs", params={"root_id": seeded.fan, "count": True, "limit": 1}).json()["total"]
        == 1002
    )


def test_bad_input_is_a_4xx_with_a_message(http: httpx.Client) -> None:
    for params in ({"limit": 0}, {"limit": 5000}, {"state": "bogus"}, {"created_after": "yesterday"}):
        response = http.get("/api/v1/runs", params=params)
        assert response.status_code == 422, params
        assert isinstance(response.json()["detail"], str)
    bad_cursor = http.get("/api/v1/runs", params={"cursor": "not-a-cursor"})
    assert bad_cursor.status_code == 422
    assert "cursor" in bad_cursor.json()["detail"]


def test_any_cursor_of_the_documented_form_is_a_position(http: httpx.Client) -> None:
    assert http.get("/api/v1/runs", params={"cursor": "0.x"}).json()["runs"] == []
    newest = http.get("/api/v1/runs", params={"limit": 2}).json()
    assert (
        http.get("/api/v1/runs", params={"cursor": newest["next_cursor"], "limit": 1}).json()["runs"]
        == (http.get("/api/v1/runs", params={"limit": 3}).json()["runs"][2:3])
    )


def test_unknown_ids_are_404(http: httpx.Client) -> None:
    for path in (
        "/api/v1/runs/nope",
        "/api/v1/runs/nope/tree",
        "/api/v1/runs/nope/logs",
        "/api/v1/artifacts/" + "0" * 64,
    ):
        response = http.get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"]


def test_run_detail_has_source_docstring_git_and_launch(http: httpx.Client, seeded: Seeded) -> None:
    run = http.get(f"/api/v1/runs/{seeded.showcase}").json()
    assert run["docstring"] == "A bit of everything the dashboard renders."
    assert "def showcase" in run["source"]
    assert run["launch"]["function"] == "tests.server.pipelines:showcase"
    assert run["git"] is None or "commit" in run["git"]
    assert run["tags"] == ["demo", "nightly"]


def test_failed_run_carries_its_traceback(http: httpx.Client) -> None:
    explode = http.get("/api/v1/runs", params={"name": "explode"}).json()["runs"][0]
    error = http.get(f"/api/v1/runs/{explode['id']}").json()["error"]
    assert error["type"] == "ValueError"
    assert "the data is bad" in error["traceback"]


def test_tree_lists_parents_before_children(http: httpx.Client, seeded: Seeded) -> None:
    tree = http.get(f"/api/v1/runs/{seeded.showcase}/tree").json()
    names = [r["name"] for r in tree["runs"]]
    assert names[0] == "showcase"
    assert set(names) == {"showcase", "make_table", "make_arrays", "summarize"}


def test_graph_collapses_a_fan_out_to_one_node(http: httpx.Client, seeded: Seeded) -> None:
    graph = http.get(f"/api/v1/runs/{seeded.fan}/graph").json()
    assert graph["total_runs"] == 1002
    fanout = [n for n in graph["nodes"] if n["kind"] == "fanout"]
    assert [(n["label"], n["count"], n["states"]) for n in fanout] == [
        ("inc \u00d71,000", 1000, {"succeeded": 1000})
    ]
    total = next(n for n in graph["nodes"] if n["label"] == "total")
    assert {"source": fanout[0]["id"], "target": total["id"], "count": 1000} in graph["edges"]


def test_artifact_summary_and_raw_download(http: httpx.Client, seeded: Seeded, stores: Any) -> None:
    run = http.get("/api/v1/runs", params={"name": "make_table"}).json()["runs"][0]
    output_id = http.get(f"/api/v1/runs/{run['id']}").json()["output_id"]
    summary = http.get(f"/api/v1/artifacts/{output_id}").json()["summary"]
    assert summary["kind"] == "dataframe"
    assert summary["columns"] == ["x", "y", "mixed"]
    raw = http.get(f"/api/v1/artifacts/{output_id}/download")
    assert raw.headers["content-type"] == "application/octet-stream"
    import io

    table = decode(io.BytesIO(raw.content))
    assert table.shape == (12, 3)


def test_artifact_converted_downloads(http: httpx.Client) -> None:
    run = http.get("/api/v1/runs", params={"name": "make_table"}).json()["runs"][0]
    output_id = http.get(f"/api/v1/runs/{run['id']}").json()["output_id"]
    csv = http.get(f"/api/v1/artifacts/{output_id}/download", params={"format": "csv"})
    assert csv.text.splitlines()[0] == ",x,y,mixed"
    assert http.get(f"/api/v1/artifacts/{output_id}/download", params={"format": "npy"}).status_code == 409
    assert http.get(f"/api/v1/artifacts/{output_id}/download", params={"format": "exe"}).status_code == 422


def test_logs_are_read_from_an_offset(http: httpx.Client) -> None:
    run = http.get("/api/v1/runs", params={"name": "make_table"}).json()["runs"][0]
    logs = http.get(f"/api/v1/runs/{run['id']}/logs").json()
    assert "making a table of 12 rows" in "".join(c["text"] for c in logs["chunks"])
    assert (logs["finished"], logs["truncated"], logs["earlier"], logs["later"]) == (True, False, None, None)
    assert http.get(f"/api/v1/runs/{run['id']}/logs", params={"offset": logs["end"]}).json()["chunks"] == []


def test_followed_logs_of_a_finished_run_end(http: httpx.Client) -> None:
    run = http.get("/api/v1/runs", params={"name": "make_table"}).json()["runs"][0]
    events = []
    with http.stream("GET", f"/api/v1/runs/{run['id']}/logs/stream") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
    assert events[0] == "log"
    assert events[-1] == "end"


def test_metrics(http: httpx.Client) -> None:
    run = http.get("/api/v1/runs", params={"name": "make_arrays"}).json()["runs"][0]
    points = http.get(f"/api/v1/runs/{run['id']}/metrics").json()
    assert [p["value"] for p in points if p["name"] == "loss"] == [1.0, 0.5, 1 / 3, 0.25, 0.2]


def test_notes_are_added_and_listed(guarded: httpx.Client, seeded: Seeded) -> None:
    added = guarded.post(f"/api/v1/runs/{seeded.fan}/notes", json={"body": "**looks good**", "author": "ada"})
    assert added.status_code == 201
    assert added.json()["html"] == "<p><strong>looks good</strong></p>\n"
    notes = guarded.get(f"/api/v1/runs/{seeded.fan}/notes").json()
    assert [(n["author"], n["body"]) for n in notes][-1] == ("ada", "**looks good**")


def test_empty_note_is_refused(guarded: httpx.Client, seeded: Seeded) -> None:
    assert guarded.post(f"/api/v1/runs/{seeded.fan}/notes", json={"body": ""}).status_code == 422
    assert guarded.post(f"/api/v1/runs/{seeded.fan}/notes", content=b"{not json").status_code == 422


def test_cancelling_a_finished_pipeline_is_a_conflict(guarded: httpx.Client, seeded: Seeded) -> None:
    response = guarded.post(f"/api/v1/runs/{seeded.fan}/cancel")
    assert response.status_code == 409
    assert "already ended" in response.json()["detail"]


def test_rerun_from_a_run_of_another_pipeline_is_refused(guarded: httpx.Client, seeded: Seeded) -> None:
    response = guarded.post(f"/api/v1/runs/{seeded.fan}/rerun", json={"from_run_id": seeded.showcase})
    assert response.status_code == 400
    assert "not part of pipeline" in response.json()["detail"]


def test_pipelines_have_counts_success_rate_and_durations(http: httpx.Client) -> None:
    pipelines = {p["function"]: p for p in http.get("/api/v1/pipelines").json()["pipelines"]}
    fan = pipelines["tests.server.pipelines.fan"]
    assert (fan["runs"], fan["succeeded"], fan["success_rate"]) == (2, 2, 1.0)
    assert len(fan["recent"]) == 2 and all(p["duration_s"] > 0 for p in fan["recent"])
    assert pipelines["tests.server.pipelines.failing"]["success_rate"] == 0.0


def test_openapi_schema_and_offline_docs_page(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    assert "/api/v1/runs" in spec["paths"]
    page = http.get("/api").text
    assert "/api/v1/runs/{run_id}/rerun" in page
    assert "cdn" not in page.lower() and 'src="http' not in page
    assert http.get("/docs").status_code == 404  # FastAPI's Swagger page would load from a CDN


def test_pages_render(http: httpx.Client, seeded: Seeded) -> None:
    for path in (
        "/runs",
        "/runs?nested=1&state=failed",
        f"/runs/{seeded.showcase}",
        f"/runs/{seeded.fan}?tab=logs",
        "/pipelines",
    ):
        response = http.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")


def test_pages_for_unknown_runs_are_404_pages(http: httpx.Client) -> None:
    response = http.get("/runs/nope", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "no run with id" in response.text


def test_run_page_renders_artifacts_by_type(http: httpx.Client) -> None:
    arrays = http.get("/api/v1/runs", params={"name": "make_arrays"}).json()["runs"][0]
    page = http.get(f"/runs/{arrays['id']}", params={"tab": "io"}).text
    assert 'class="confusion"' in page
    assert "data:image/png;base64," in page  # the image-like array
    assert "shape <code>(16, 16)</code>" in page
    assert '<svg class="chart"' in page  # the metrics


def test_events_stream_announces_changes(http: httpx.Client, start_slow: Any, guarded: httpx.Client) -> None:
    with http.stream("GET", "/api/v1/events", params={"roots": True}) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith(":")  # listening
        terminal = start_slow(60.0)
        seen: list[dict[str, Any]] = []
        for line in lines:
            if line.startswith("data:"):
                seen += json.loads(line[5:])
                if any(r["id"] == terminal.root_id for r in seen):
                    break
    assert all(r["parent_id"] is None for r in seen)
    assert guarded.post(f"/api/v1/runs/{terminal.root_id}/cancel").status_code == 200


def test_rerun_from_a_step_reuses_everything_upstream(
    guarded: httpx.Client, http: httpx.Client, seeded: Seeded
) -> None:
    summarize = http.get("/api/v1/runs", params={"root_id": seeded.showcase, "name": "summarize"}).json()[
        "runs"
    ][0]
    started = guarded.post(f"/api/v1/runs/{seeded.showcase}/rerun", json={"from_run_id": summarize["id"]})
    assert started.status_code == 202, started.text
    new_id = started.json()["run_id"]

    def finished() -> dict[str, Any] | None:
        run = http.get(f"/api/v1/runs/{new_id}").json()
        return run if run["state"] in ("succeeded", "failed", "cancelled", "orphaned") else None

    root = eventually(finished, timeout=120, what="the rerun to finish")
    assert root["state"] == "succeeded"
    assert (root["name"], root["tags"]) == ("showcase", ["demo", "nightly"])
    states = {
        r["name"]: r["state"] for r in http.get("/api/v1/runs", params={"root_id": new_id}).json()["runs"]
    }
    assert states == {
        "showcase": "succeeded",
        "make_table": "cached",
        "make_arrays": "cached",
        "summarize": "succeeded",
    }


def test_rerun_of_a_pipeline_whose_file_is_gone_says_why(
    guarded: httpx.Client, stores: Any, tmp_path: Any
) -> None:
    import loopline
    from loopline.sdk.targets import Target

    script = tmp_path / "vanishing_pipeline.py"
    script.write_text("import loopline\n\n@loopline.func\ndef vanishing(x: int = 1) -> int:\n    return x\n")
    metadata, artifacts = stores
    future = Target(script, "vanishing").load()(2)
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(future)
    script.unlink()
    response = guarded.post(f"/api/v1/runs/{future.id}/rerun", json={})
    assert response.status_code == 400
    assert "could not start" in response.json()["detail"]
    assert "is gone" in response.json()["detail"]


def test_events_first_replay_what_changed_since_a_moment(http: httpx.Client, seeded: Seeded) -> None:
    params = {"root_id": seeded.showcase, "since": "2000-01-01T00:00:00Z"}
    with http.stream("GET", "/api/v1/events", params=params) as stream:
        data = next(line for line in stream.iter_lines() if line.startswith("data:"))
    assert {r["name"] for r in json.loads(data[5:])} == {"showcase", "make_table", "make_arrays", "summarize"}
    assert http.get("/api/v1/events", params={"since": "soon"}).status_code == 422


def event_stream(http: httpx.Client, params: dict[str, Any], wanted: str) -> Iterator[Any]:
    """The data of each `wanted` event the stream sends (after its "listening" comment)."""
    with http.stream("GET", "/api/v1/events", params=params) as stream:
        event = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == wanted:
                yield json.loads(line[5:])


def test_events_announce_the_kinds_of_record_that_changed(http: httpx.Client, workspace: Any) -> None:
    import loopline

    with http.stream("GET", "/api/v1/events", params={"records": "models,reports"}) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith(":")  # listening
        loopline.models.register("announced", {"w": 1}, workspace=workspace)
        data = next(line for line in lines if line.startswith("data:"))
    assert json.loads(data[5:]) == {"kinds": ["models"]}


def test_a_page_learns_at_once_that_its_records_changed_since_it_was_read(
    http: httpx.Client, workspace: Any
) -> None:
    import loopline

    page = http.get("/models").text
    kinds, seen = re.search(r'data-live-main="([^"]+)" data-seen="(\d+)"', page).groups()  # type: ignore[union-attr]
    assert kinds == "models"
    loopline.models.register("registered-meanwhile", {"w": 2}, workspace=workspace)
    params = {"records": kinds, "seen": seen}
    assert next(event_stream(http, params, "records")) == {"kinds": ["models"]}


def test_events_name_an_unknown_kind_of_record(http: httpx.Client) -> None:
    response = http.get("/api/v1/events", params={"records": "models,modles"})
    assert response.status_code == 422
    assert "'modles' is not a kind of record" in response.json()["detail"]
    assert "datasets" in response.json()["detail"]
