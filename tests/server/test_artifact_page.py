"""Lineage both ways: every artifact has a page naming the runs that produced it and every run
that took it, and a value that is a registered entity links to that entity's page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx

import loopline
from loopline.cl.store.records import DatasetVersion, LoopRound, ModelVersion
from loopline.core.records import WriteBatch
from loopline.core.summaries import summarize
from loopline.server.background import serve
from loopline.server.rendering.entities import EntityLink, entity_link
from loopline.settings import Settings
from loopline.storage.artifacts import store_value
from loopline.storage.embedded import open_stores
from tests.server.conftest import Registry, Seeded

WHEN = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MODEL = ModelVersion("digits", 4, "a" * 64, "LogisticRegression", WHEN, "ci")


def stored(stores: Any, value: object) -> str:
    metadata, artifacts = stores
    record = store_value(value, artifacts)
    metadata.write(WriteBatch(artifacts=[record]))
    return record.id


def made_table(http: httpx.Client) -> dict[str, Any]:
    run_id = http.get("/api/v1/runs", params={"name": "make_table"}).json()["runs"][0]["id"]
    run: dict[str, Any] = http.get(f"/api/v1/runs/{run_id}").json()
    return run


def test_an_artifact_page_names_the_run_that_made_it_and_the_runs_that_took_it(
    http: httpx.Client, seeded: Seeded
) -> None:
    table = made_table(http)
    page = http.get(f"/artifacts/{table['output_id']}").text
    sections = re.search(r"<h2>Produced by</h2>(.*?)<h2>Taken as an input by</h2>(.*?)<h2>", page, re.S)
    assert sections is not None
    produced, consumed = sections.groups()
    assert f'href="/runs/{table["id"]}"' in produced
    assert "summarize" in consumed and "<code>table</code>" in consumed
    assert table["output_id"] in page  # the whole hash
    assert f"/api/v1/artifacts/{table['output_id']}/download" in page


def test_the_runs_api_finds_the_runs_of_an_artifact(http: httpx.Client, seeded: Seeded) -> None:
    table = made_table(http)
    runs = http.get("/api/v1/runs", params={"artifact": table["output_id"]}).json()["runs"]
    assert {r["name"] for r in runs} == {"make_table", "summarize"}
    assert http.get("/api/v1/runs", params={"artifact": "../etc"}).status_code == 422


def test_a_value_stored_outside_a_pipeline_says_no_run_made_it(http: httpx.Client, stores: Any) -> None:
    artifact_id = stored(stores, ["stored", "by hand"])
    page = http.get(f"/artifacts/{artifact_id}").text
    assert "No run produced it" in page and "No run took it as an input." in page


def test_an_unknown_artifact_is_404_and_a_bad_id_is_refused(http: httpx.Client) -> None:
    assert http.get(f"/artifacts/{'f' * 64}").status_code == 404
    assert http.get("/artifacts/..%2F..%2Fetc%2Fpasswd").status_code in (400, 404)


def test_a_model_version_value_links_to_its_model(http: httpx.Client, stores: Any) -> None:
    page = http.get(f"/artifacts/{stored(stores, MODEL)}").text
    assert '<a class="entity" href="/models/digits#v4">model digits@4 →</a>' in page


def test_a_nested_model_version_links_too(http: httpx.Client, stores: Any) -> None:
    page = http.get(f"/artifacts/{stored(stores, {'promoted': MODEL})}").text
    assert 'href="/models/digits#v4"' in page


def test_a_report_links_to_its_report_page(http: httpx.Client, registry: Registry) -> None:
    report = registry.showcase.passing_report
    assert f'href="/reports/{report}"' in http.get(f"/artifacts/{report}").text


def test_dataset_versions_and_loop_rounds_name_their_pages() -> None:
    dataset = DatasetVersion("digits-train", 2, "b" * 64, 100, 10, 0, 0, 1, WHEN, "ci")
    round_ = LoopRound("digits-loop", 3, "promoted", WHEN, "digits", "digits-train", "q")
    assert entity_link(summarize(dataset)) == EntityLink("dataset digits-train@2", "/datasets/digits-train/2")
    assert entity_link(summarize(round_)) == EntityLink(
        "loop digits-loop, round 3", "/loops/digits-loop#round-3"
    )
    assert entity_link(summarize({"a": 1})) is None


@loopline.func
def registers() -> ModelVersion:
    return MODEL


@loopline.func
def release() -> ModelVersion:
    return registers()


def test_a_graph_node_names_the_entity_its_run_returned(tmp_path: Any) -> None:
    settings = Settings.for_home(tmp_path / "home")
    metadata, artifacts = stores = open_stores(settings)
    future = release()
    loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(future)
    with serve(*stores, settings) as server:
        page = httpx.get(f"{server.url}/runs/{future.id}").text
    assert "<title>registers: succeeded \u2192 model digits@4</title>" in page
