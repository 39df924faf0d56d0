"""Continuous-learning records with untrusted content, for the pages' escaping tests."""

from __future__ import annotations

import dataclasses

import numpy as np

import loopline
from loopline import models
from loopline.cl.labeling.queue import LabelingQueue
from loopline.cl.mining.candidates import Candidates
from loopline.cl.production.ingest import ingest_feedback, ingest_inferences
from loopline.cl.schedules import scheduler as schedules
from loopline.cl.store.records import InferenceQuery
from loopline.cl.store.workspace import Workspace
from loopline.core.records import utcnow
from tests.server.pipelines import XSS
from tools import showcase

XSS_NO_SLASH = '<img src=x onerror="window.__xss = 1">'  # where names may not hold "/"


@dataclasses.dataclass(frozen=True)
class Untrusted:
    dataset: str
    model: str
    report: str
    schedule: str


def untrusted_records(ws: Workspace) -> Untrusted:
    """A dataset, a model, a report and a schedule whose names, labels, metadata, lineage, texts,
    reasons and descriptions are markup."""
    data = loopline.Dataset(
        XSS,
        [XSS, "plain text", f"more {XSS}"],
        [XSS, "b", "c"],
        ids=[XSS, "x-2", "x-3"],
        tags={XSS: [XSS]},
        metadata={XSS: [XSS, "m", "n"]},
        lineage={"source": [XSS, "import", "import"], "request_id": [XSS, "", ""]},
        display="text",
    ).save(XSS, workspace=ws)
    more = data.append([XSS], [XSS], ids=["x-4"]).save(XSS, workspace=ws)
    first = models.register(
        XSS, {"weights": [1, 2]}, dataset=more, description=XSS, metrics={XSS: 1.0}, workspace=ws
    )
    models.promote(first, "production", reason=XSS, workspace=ws)
    second = models.register(XSS, {"weights": [1, 3]}, description=XSS, workspace=ws)
    models.promote(second, "production", force=True, reason=XSS, workspace=ws)
    golden = loopline.Dataset(
        f"{XSS}-golden", np.arange(6.0).reshape(6, 1), np.array([XSS, "b"] * 3), display="array"
    ).save(workspace=ws)
    report = loopline.regression_test(
        np.array(["b", "b", XSS, "b", XSS, "b"]),
        golden,
        [loopline.Scenario(XSS, description=XSS, at_least={"accuracy": 0.99})],
        baseline=np.array([XSS, "b"] * 3),
        name=XSS,
        workspace=ws,
    )
    schedule = schedules.add_schedule(
        ws.store,
        XSS_NO_SLASH,
        f"{showcase.__file__}:training_pipeline",
        (),
        schedules.cron_trigger("0 3 * * *"),
        now=utcnow(),
        created_by=XSS,
    )
    return Untrusted(data.name, XSS, report.save(workspace=ws), schedule.name)


def queue_of(
    ws: Workspace, name: str, request_ids: list[str], reason: str = "picked by a test"
) -> LabelingQueue:
    """A labeling queue holding one task per logged request id (the first ones score highest)."""
    queue = LabelingQueue(name, workspace=ws)
    scores = [1.0 - i / (len(request_ids) + 1) for i in range(len(request_ids))]
    logged = ws.store.list_inferences(InferenceQuery(request_ids=tuple(request_ids)), limit=None)
    by_id = {r.request_id: r.prediction for r in logged}
    queue.add(Candidates.of("test", request_ids, scores, reason, [by_id[r] for r in request_ids]))
    return queue


def untrusted_inference(ws: Workspace) -> str:
    """An inference whose request id, input, prediction, metadata, feedback and task are markup."""
    result = ingest_inferences(
        [
            {
                "request_id": XSS,
                "model": f"{XSS}@production",
                "input": XSS,
                "prediction": XSS,
                "metadata": {XSS: XSS},
                "display": "text",
            }
        ],
        workspace=ws,
    )
    assert result.accepted == (XSS,), result
    feedback = ingest_feedback(
        [{"request_id": XSS, "kind": "correction", "label": XSS, "note": XSS, "source": XSS}], workspace=ws
    )
    assert feedback.ok, feedback
    LabelingQueue(XSS_NO_SLASH, workspace=ws).add(Candidates.of(XSS, [XSS], [0.9], XSS, [XSS]))
    return XSS
