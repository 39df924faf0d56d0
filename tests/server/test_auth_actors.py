"""With auth on, a change is recorded as who made it: a note's author, a labeler's claims and
labels, a reviewer are the signed-in user, whatever the page or the script says. An editor's or
admin's tool (a Label Studio import, a bot) may name the people it records."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

import loopline
from loopline import models
from loopline.cl.labeling.queue import LabelingQueue
from loopline.cl.mining import miners
from loopline.cl.production.log import InferenceLog
from loopline.cl.production.table import InferenceTable
from loopline.cl.store.records import InferenceQuery
from loopline.team.records import Role
from tests.server.team import sign_in, user_with_password
from tests.team import pipelines
from tests.team_server import TeamServer


class Always:
    def predict(self, x: object) -> int:
        return 0


@pytest.fixture(scope="module")
def run_id(team: TeamServer) -> str:
    future = pipelines.double(2)
    loopline.LocalRunner(metadata=team.state.metadata, artifacts=team.state.artifacts, echo=False).run(future)
    return future.id


@pytest.fixture(scope="module")
def queue(team: TeamServer) -> str:
    """A labeling queue of four low-confidence predictions."""
    workspace = team.state.workspace
    models.register("spam", Always(), workspace=workspace)
    log = InferenceLog(workspace, background=False)
    scores = np.array([[0.55, 0.45]] * 4)
    inputs = np.arange(12.0).reshape(4, 3)  # four different inputs: identical ones are queued once
    log.log_batch("spam@1", inputs, [0] * 4, scores=scores, request_ids=list("abcd"))
    log.flush()
    queue = LabelingQueue("spam", workspace=workspace)
    queue.add(miners.low_confidence(InferenceTable.load(InferenceQuery(), workspace=workspace)))
    return "spam"


def client(team: TeamServer, name: str, role: Role) -> httpx.Client:
    return httpx.Client(base_url=team.url, headers={"Authorization": f"Bearer {team.key(name, role)}"})


def test_a_note_is_written_by_who_sent_it(team: TeamServer, run_id: str) -> None:
    with client(team, "lee", Role.LABELER) as lee:
        note = lee.post(f"/api/v1/runs/{run_id}/notes", json={"body": "hm", "author": "the boss"}).json()
    assert note["author"] == "lee"


def test_an_editors_tool_may_name_the_author(team: TeamServer, run_id: str) -> None:
    with client(team, "ci", Role.EDITOR) as ci:
        note = ci.post(f"/api/v1/runs/{run_id}/notes", json={"body": "nightly", "author": "nightly-bot"})
    assert note.json()["author"] == "nightly-bot"


def test_a_labeler_claims_labels_and_reviews_as_themselves(team: TeamServer, queue: str) -> None:
    with client(team, "lee", Role.LABELER) as lee:
        (task,) = lee.post(f"/api/v1/labeling/{queue}/claim", json={"labeler": "mallory", "limit": 1}).json()
        assert task["claimed_by"] == "lee"
        labeled = lee.post(
            f"/api/v1/labeling/tasks/{task['id']}/label", json={"labeler": "mallory", "label": 1}
        )
        assert labeled.json()["labeled_by"] == "lee"
        review = {"reviewer": "mallory", "approve": True}
        reviewed = lee.post(f"/api/v1/labeling/tasks/{task['id']}/review", json=review)
        assert reviewed.json()["reviewed_by"] == "lee"


def test_an_editors_import_records_its_labelers(team: TeamServer, queue: str) -> None:
    with client(team, "importer", Role.EDITOR) as tool:
        (task,) = tool.post(f"/api/v1/labeling/{queue}/claim", json={"labeler": "ann", "limit": 1}).json()
        labeled = tool.post(f"/api/v1/labeling/tasks/{task['id']}/label", json={"labeler": "ann", "label": 0})
    assert (task["claimed_by"], labeled.json()["labeled_by"]) == ("ann", "ann")


def test_the_labeling_page_labels_as_the_signed_in_user(team: TeamServer, queue: str) -> None:
    user_with_password(team.state, "liz", Role.LABELER)
    with httpx.Client(base_url=team.url) as browser:
        sign_in(browser, "liz")
        page = browser.get(f"/labeling/{queue}").text
    assert 'id="labeler" value="liz"' in page and "readonly" in page
