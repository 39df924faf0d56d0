"""A fan-out's list tells its calls apart and puts failures first."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

import loopline
from loopline.errors import PipelineRunError
from loopline.server.background import serve
from loopline.settings import Settings
from loopline.storage.embedded import open_stores
from tests.server import pipelines


@pytest.fixture(scope="module")
def listing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = Settings.for_home(tmp_path_factory.mktemp("fanout") / "home")
    metadata, artifacts = stores = open_stores(settings)
    future = pipelines.picky_fan(12)
    with pytest.raises(PipelineRunError):
        loopline.LocalRunner(metadata=metadata, artifacts=artifacts, echo=False).run(future)
    with serve(*stores, settings) as server, httpx.Client(base_url=server.url) as http:
        graph = http.get(f"/runs/{future.id}").text
        parent = re.search(r'data-fanout="([0-9a-f]+)" data-function="tests.server.pipelines.picky"', graph)
        assert parent is not None
        yield http.get(
            "/fragments/fanout", params={"parent_id": parent[1], "function": "tests.server.pipelines.picky"}
        ).text


def rows(page: str) -> list[str]:
    return re.findall(r"<tr data-run-id=.*?</tr>", page)


def test_failures_come_first_with_the_first_line_of_their_error(listing: str) -> None:
    first = rows(listing)[0]
    assert 'data-state="failed"' in first
    assert "ValueError: 3 is unlucky" in first
    assert "second line" not in listing


def test_each_call_shows_the_inputs_that_tell_it_from_its_siblings(listing: str) -> None:
    failed = rows(listing)[0]
    assert "i=</span><code>3</code>" in failed
    assert "label=</span><code>&#39;case-3&#39;</code>" in failed
    assert "n=" not in listing


def test_the_counts_by_state_are_all_shown(listing: str) -> None:
    states = re.search(r'<p class="fan-states">(.*?)</p>', listing, re.S)
    assert states is not None
    counts = re.findall(r'data-state="(\w+)">\w+</span> (\d+)', states[1])
    assert sum(int(n) for _, n in counts) == 12
    assert counts[0][0] == "failed"
