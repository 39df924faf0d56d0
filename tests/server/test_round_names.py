"""A loop round's run reads with its round number in the runs list and on its page (the number
is given inside the run, so the run's own name cannot carry it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest

from loopline.cl.loop import loop_round
from loopline.cl.store.records import LoopRound
from loopline.cl.store.workspace import Workspace
from loopline.core.records import RunRecord, RunState, WriteBatch
from loopline.server.background import serve
from loopline.settings import Settings
from loopline.storage.embedded import open_stores

WHEN = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    settings = Settings.for_home(tmp_path_factory.mktemp("rounds") / "home")
    metadata, artifacts = stores = open_stores(settings)
    workspace = Workspace.from_stores(metadata, artifacts)
    for number, run_id in enumerate(("a" * 32, "b" * 32), start=1):
        metadata.write(
            WriteBatch(
                runs=[
                    RunRecord(
                        id=run_id,
                        root_id=run_id,
                        parent_id=None,
                        function=loop_round.path,
                        name="digits-loop round",
                        state=RunState.SUCCEEDED,
                        created_at=WHEN + dt.timedelta(hours=number),
                    )
                ]
            )
        )
        workspace.store.add_round(
            LoopRound("digits-loop", 0, "promoted", WHEN, "digits", "digits-train", "q", run_id=run_id)
        )
    with serve(*stores, settings) as server, httpx.Client(base_url=server.url) as client:
        yield client


def test_the_runs_list_names_each_rounds_number(http: httpx.Client) -> None:
    page = http.get("/runs").text
    assert page.index('<span class="round-label">digits-loop round 2</span>') < page.index(
        '<span class="round-label">digits-loop round 1</span>'
    )


def test_a_rounds_page_names_its_number(http: httpx.Client) -> None:
    assert '<span class="round-label">digits-loop round 1</span></h1>' in http.get(f"/runs/{'a' * 32}").text
