"""Writing inference records and feedback into a workspace: the one path that the SDK's
`InferenceLog` and the REST endpoints (`POST /api/v1/inferences`, `POST /api/v1/feedback`) share.

    result = ingest_inferences([{"request_id": "r1", "model": "digits@production",
                                 "input": [0, 3, ...], "prediction": 7, "scores": [...]}],
                               workspace=ws)
    result.to_json()   # {"accepted": [...], "duplicates": [...], "rejected": [{"index", "request_id", "error"}]}

A batch is checked record by record: a malformed record is rejected with its own error and the
others are still written. Inputs are packed into one artifact per batch (a Dataset whose example
ids are the request ids, shown by its display hint), written before the rows that point at it,
so a record never points at a missing input. Request ids are idempotent: one recorded already is
reported as a duplicate and keeps its first record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from loopline.cl.datasets import examples
from loopline.cl.datasets.dataset import Dataset
from loopline.cl.production import checks as check
from loopline.cl.production.checks import PendingInference
from loopline.cl.registry.versions import check_alias, parse_model_ref
from loopline.cl.store.errors import InvalidRecordError, ModelNotFoundError
from loopline.cl.store.protocol import inference_missing_message
from loopline.cl.store.records import Feedback, InferenceRecord, ModelVersion
from loopline.core import serialization
from loopline.core.records import ArtifactRecord, WriteBatch, utcnow
from loopline.errors import UsageError

if TYPE_CHECKING:
    from loopline.cl.store.protocol import CLStore
    from loopline.cl.store.workspace import Workspace

INFERENCE_FIELDS = frozenset(
    {
        "request_id",
        "model",
        "model_version",
        "input",
        "prediction",
        "confidence",
        "scores",
        "time",
        "metadata",
        "display",
        "alias",
    }
)
FEEDBACK_FIELDS = frozenset({"request_id", "kind", "label", "score", "note", "source", "time"})


@dataclasses.dataclass(frozen=True)
class RecordProblem:
    """Why record `index` of a batch was rejected."""

    index: int
    request_id: str | None
    error: str


@dataclasses.dataclass(frozen=True)
class IngestResult:
    """What became of a batch: request ids newly recorded, recorded before, and rejected records."""

    accepted: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    rejected: tuple[RecordProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.rejected

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": list(self.accepted),
            "duplicates": list(self.duplicates),
            "rejected": [dataclasses.asdict(problem) for problem in self.rejected],
        }


class ModelResolver:
    """Model references -> (name, version, alias), aliases looked up again after `ttl_s` seconds
    (`now` is a monotonic clock), so logging thousands of records does not query the registry
    for each one and an alias that moves is followed within `ttl_s`."""

    def __init__(self, store: CLStore, *, ttl_s: float = 1.0, now: Callable[[], float] | None = None) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.now = now or time.monotonic
        self._cache: dict[str, tuple[float, tuple[str, int, str | None]]] = {}

    def resolve(self, model: Any, version: Any = None) -> tuple[str, int, str | None]:
        if isinstance(model, ModelVersion):
            return model.name, model.version, None
        if not isinstance(model, str):
            raise check.not_a_model_reference(model)
        key = model if version is None else f"{model}@{version}"
        hit = self._cache.get(key)
        moment = self.now()
        if hit is not None and moment - hit[0] < self.ttl_s:
            return hit[1]
        resolved = self._lookup(model, version)
        self._cache[key] = (moment, resolved)
        return resolved

    def _lookup(self, model: str, version: Any) -> tuple[str, int, str | None]:
        try:
            name, selector = parse_model_ref(model)
            if version is not None:
                if selector is not None or type(version) is not int:
                    raise InvalidRecordError(
                        f"give model_version (an int) with a bare model name, got model={model!r}, "
                        f"model_version={version!r}"
                    )
                selector = version
            if isinstance(selector, str):
                holder = self.store.aliases(name).get(selector)
                if holder is None:
                    self.store.get_model_version(name)  # an unknown model says so
                    raise InvalidRecordError(
                        f"{model} points at no version yet: promote a version to {selector!r} first"
                    )
                return name, holder, selector
            return name, self.store.get_model_version(name, selector).version, None
        except (ModelNotFoundError, UsageError) as error:
            raise InvalidRecordError(str(error)) from None


def check_inference(
    resolver: ModelResolver,
    *,
    model: Any,
    input: Any,
    prediction: Any,
    request_id: str,
    logged_at: dt.datetime,
    confidence: Any = None,
    scores: Any = None,
    metadata: Any = None,
    display: str = "",
    model_version: Any = None,
    alias: Any = None,
) -> PendingInference:
    """One inference, checked and resolved (InvalidRecordError saying what is wrong). `alias`
    names the alias a pinned version was served under (`model="digits@3", alias="production"`),
    for a model server that resolved the alias itself when it predicted."""
    name, version, resolved_alias = resolver.resolve(model, model_version)
    if alias is not None:
        resolved_alias = served_alias(alias, resolved_alias, model)
    checked_scores = check.scores(scores)
    return PendingInference(
        request_id=check.request_id(request_id),
        model=name,
        model_version=version,
        alias=resolved_alias,
        input=input,
        prediction=check.json_value(prediction, "prediction"),
        confidence=check.confidence(confidence, checked_scores),
        scores=checked_scores,
        logged_at=logged_at,
        metadata=check.metadata(metadata),
        display=check.display(display),
    )


def served_alias(alias: Any, resolved: str | None, model: Any) -> str:
    """The alias a pinned version was served under, checked."""
    if resolved is not None:
        raise InvalidRecordError(
            f"alias={alias!r} goes with a pinned version such as 'digits@3'; {model!r} names an alias already"
        )
    try:
        return check_alias(alias)
    except UsageError as error:
        raise InvalidRecordError(f"alias: {error}") from None


def write_inferences(
    pending: Sequence[PendingInference], workspace: Workspace
) -> tuple[list[str], list[str]]:
    """Pack the inputs into batch artifacts and record the inferences: (new, duplicate) request ids."""
    if not pending:
        return [], []
    records: list[InferenceRecord] = []
    for group in _groups(pending):
        batch_id = _put_batch(_pack(group), workspace)
        records += [
            InferenceRecord(
                request_id=p.request_id,
                model=p.model,
                model_version=p.model_version,
                prediction=p.prediction,
                logged_at=p.logged_at,
                batch_id=batch_id,
                confidence=p.confidence,
                scores=p.scores,
                alias=p.alias,
                metadata=p.metadata,
                display=p.display,
            )
            for p in group
        ]
    added = workspace.store.add_inferences(records)
    fresh = set(added)
    return added, [p.request_id for p in pending if p.request_id not in fresh]


def _groups(pending: Sequence[PendingInference]) -> list[list[PendingInference]]:
    """One group per display hint, each request id once (a repeat is a duplicate)."""
    groups: dict[str, dict[str, PendingInference]] = {}
    for p in pending:
        groups.setdefault(p.display, {}).setdefault(p.request_id, p)
    return [list(group.values()) for group in groups.values()]


def _pack(group: Sequence[PendingInference]) -> Any:
    """The inputs of a group as one Dataset: stacked into an array when they are arrays (or
    lists of numbers) of one shape, else kept as a list (texts, rows, ...)."""

    inputs = [p.input for p in group]
    return Dataset(
        "inferences", examples.stack(inputs), ids=[p.request_id for p in group], display=group[0].display
    )


def _put_batch(batch: Dataset, workspace: Workspace) -> str:
    """Store a batch of inputs with a one-line summary (summarizing a thousand inputs would cost
    more than writing them; the dashboard shows a batch's inputs from the artifact itself)."""

    encoded = serialization.encode(batch)
    artifact_id = workspace.artifacts.put(encoded)
    shown = f", {batch.display}" if batch.display else ""
    summary = {
        "kind": "object",
        "type": encoded.type_name,
        "repr": f"<inference batch: {len(batch)} inputs{shown}>",
    }
    record = ArtifactRecord(artifact_id, encoded.type_name, encoded.size, summary, utcnow())
    workspace.metadata.write(WriteBatch(artifacts=[record]))
    return artifact_id


def record_feedback(items: Sequence[Feedback], workspace: Workspace) -> list[Feedback]:
    """Record feedback on recorded request ids (InferenceNotFoundError naming one that is not)."""
    return workspace.store.add_feedback(items)


# -- JSON batches (the REST endpoints) ---------------------------------------------------------


def ingest_inferences(
    records: Sequence[Mapping[str, Any]], *, workspace: Workspace, now: dt.datetime | None = None
) -> IngestResult:
    """Check and record a batch of inference records given as JSON objects (fields:
    `request_id`, `model` ("name@alias", "name@version", or "name" with `model_version`),
    `input`, `prediction`, optional `confidence`, `scores`, `time` (ISO 8601), `metadata`,
    `display`, and `alias`: the alias a pinned version ("digits@3") was served under)."""

    moment = now or utcnow()
    resolver = ModelResolver(workspace.store, ttl_s=float("inf"))
    pending: list[PendingInference] = []
    rejected: list[RecordProblem] = []
    for index, raw in enumerate(records):
        try:
            fields = _fields(raw, INFERENCE_FIELDS, required=("request_id", "model", "input", "prediction"))
            pending.append(
                check_inference(
                    resolver,
                    model=fields["model"],
                    model_version=fields.get("model_version"),
                    input=fields["input"],
                    prediction=fields["prediction"],
                    request_id=fields["request_id"],
                    logged_at=check.moment(fields["time"]) if "time" in fields else moment,
                    confidence=fields.get("confidence"),
                    scores=fields.get("scores"),
                    metadata=fields.get("metadata"),
                    display=fields.get("display", ""),
                    alias=fields.get("alias"),
                )
            )
        except InvalidRecordError as error:
            rejected.append(RecordProblem(index, _request_id(raw), str(error)))
    added, duplicates = write_inferences(pending, workspace)
    return IngestResult(tuple(added), tuple(duplicates), tuple(rejected))


def ingest_feedback(
    records: Sequence[Mapping[str, Any]],
    *,
    workspace: Workspace,
    now: dt.datetime | None = None,
    source: str = "api",
) -> IngestResult:
    """Check and record a batch of feedback given as JSON objects (fields: `request_id`, `kind`
    (flag, correction, confirmation, heuristic), optional `label`, `score`, `note`, `source`,
    `time`). Feedback on a request id that is not recorded is rejected."""

    moment = now or utcnow()
    checked: list[tuple[int, Feedback]] = []
    rejected: list[RecordProblem] = []
    for index, raw in enumerate(records):
        try:
            fields = _fields(raw, FEEDBACK_FIELDS, required=("request_id", "kind"))
            checked.append((index, feedback_record(fields, moment, source)))
        except InvalidRecordError as error:
            rejected.append(RecordProblem(index, _request_id(raw), str(error)))
    known = workspace.store.known_request_ids({f.request_id for _, f in checked})
    for index, item in checked:
        if item.request_id not in known:
            rejected.append(RecordProblem(index, item.request_id, inference_missing_message(item.request_id)))
    saved = record_feedback([f for _, f in checked if f.request_id in known], workspace)
    rejected.sort(key=lambda problem: problem.index)
    return IngestResult(tuple(f.request_id for f in saved), (), tuple(rejected))


def feedback_record(fields: Mapping[str, Any], moment: dt.datetime, source: str) -> Feedback:
    kind = check.feedback_kind(fields["kind"])
    label, score = check.feedback_fields(kind, fields.get("label"), fields.get("score"))
    note = fields.get("note", "")
    who = fields.get("source", source)
    if not isinstance(note, str) or not isinstance(who, str) or not who:
        raise InvalidRecordError("note must be a string and source a non-empty string")
    return Feedback(
        request_id=check.request_id(fields["request_id"]),
        kind=kind,
        created_at=check.moment(fields["time"]) if "time" in fields else moment,
        source=who,
        label=label,
        score=score,
        note=note,
    )


def _fields(raw: Any, allowed: frozenset[str], required: Sequence[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise InvalidRecordError(f"a record must be a JSON object, got {type(raw).__qualname__}")
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise InvalidRecordError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; the fields are {', '.join(sorted(allowed))}"
        )
    missing = [name for name in required if name not in raw]
    if missing:
        raise InvalidRecordError(f"missing field(s): {', '.join(missing)}")
    return raw


def _request_id(raw: Any) -> str | None:
    value = raw.get("request_id") if isinstance(raw, Mapping) else None
    return value if isinstance(value, str) else None
