"""The HTTP face of a served model: `POST /predict`, `POST /feedback`, `GET /health`, and the
OpenAPI schema (`/openapi.json`, `/docs`), which shows the input the served version takes.

    POST /predict  {"input": [0, 3, 16, ...]}                     one input
                   {"inputs": [[...], [...]], "metadata": {...}}  a batch (optional request_id(s))
    -> {"request_id": "9f2c...", "model": "digits@3", "version": 3, "alias": "production",
        "prediction": 7, "confidence": 0.93, "scores": [...]}
       (a batch: {"model": ..., "version": ..., "alias": ..., "predictions": [{"request_id", ...}]})
    POST /feedback {"request_id": "9f2c...", "kind": "correction", "label": 9}

A request whose body or input is malformed is answered 422, each problem with its `loc` (the
path to the bad value, e.g. ["body", "inputs", 3, 12]) and what was expected, as FastAPI answers
its own validation errors; a predictor that fails on a checked input is the server's fault (500,
naming the version and the predictor). When the model declares no input (see
`loopline.serving.inputs`), an input it fails on is answered 422 too: the input is then the
likely cause. The predictor runs on the event loop (no thread hop: the fastest for models that
answer in a millisecond or two; scale out with more processes, `loopline serve --ray`).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from loopline._version import __version__
from loopline.cl.production import checks
from loopline.cl.store.errors import InferenceNotFoundError, InvalidRecordError
from loopline.errors import AuthenticationError, LooplineError, ServerUnavailableError
from loopline.serving import inputs
from loopline.serving.inputs import AnyInput, InvalidInput
from loopline.serving.keys import Caller
from loopline.serving.served import PredictorError
from loopline.serving.service import Service

MODEL_HEADER = "X-Loopline-Model"
_PREDICT_FIELDS = ("input", "inputs", "request_id", "request_ids", "metadata")


class PredictIn(BaseModel):
    """Give `input` (one input) or `inputs` (a batch)."""

    model_config = ConfigDict(extra="forbid")
    input: Any = Field(None, description="One input, as the served model takes it (see its schema).")
    inputs: list[Any] | None = Field(None, description="A batch of inputs.")
    request_id: str | None = Field(
        None, description="The request id to log `input` under (default: a new one)."
    )
    request_ids: list[str] | None = Field(None, description="One request id per input of `inputs`.")
    metadata: dict[str, Any] | None = Field(
        None, description='Logged with each prediction, e.g. {"user": "u-42"}.'
    )


class PredictionOut(BaseModel):
    request_id: str
    prediction: Any
    confidence: float | None = None
    scores: list[float] | None = None


class PredictOut(PredictionOut):
    model: str = Field(description="The version that predicted, e.g. digits@3.")
    version: int
    alias: str | None = None


class BatchOut(BaseModel):
    model: str
    version: int
    alias: str | None = None
    predictions: list[PredictionOut]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(description="The request id /predict answered with.")
    kind: Literal["flag", "correction", "confirmation", "heuristic"] = "flag"
    label: Any = Field(None, description="What the model should have predicted (a correction needs it).")
    score: float | None = Field(None, ge=0, le=1, description="How likely the prediction is wrong.")
    note: str = ""
    source: str | None = Field(None, description="Who says so (default: the caller's user, or 'api').")


class FeedbackOut(BaseModel):
    request_id: str
    kind: str
    source: str
    label: Any = None
    score: float | None = None


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"]
    serving: str = Field(description="What is served, e.g. digits@production.")
    model: str = Field(description="The version serving it now, e.g. digits@3.")
    version: int
    alias: str | None
    loaded_at: str
    predictor: str
    input: dict[str, Any]
    display: str
    poll_s: float
    checked_s_ago: float
    problem: str | None = Field(
        description="Why the alias's version is not served, or predictions are not logged, when so."
    )
    logged_pending: int = Field(description="Predictions logged but not written yet.")


async def _caller(request: Request) -> Caller | None:
    """Who calls, when the service requires a key of the team (401 without a valid one)."""
    keys = request.app.state.service.keys
    if keys is None:
        return None
    key = _bearer(request)
    try:
        found: Caller = keys.cached(key) or await run_in_threadpool(keys.check, key)
    except AuthenticationError as error:
        raise HTTPException(401, str(error), headers={"WWW-Authenticate": "Bearer"}) from None
    except ServerUnavailableError as error:
        raise HTTPException(503, f"cannot check the API key: {error}") from None
    return found


Who = Annotated[Caller | None, Depends(_caller)]


def create_app(service: Service) -> FastAPI:
    """The app serving `service`; its lifespan starts the service and closes it (writing what
    is logged) on shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            await run_in_threadpool(service.close)

    app = FastAPI(
        title=f"loopline serve {service.config.model}",
        version=__version__,
        description="A registered model served by Loopline: every prediction logged, feedback accepted.",
        lifespan=lifespan,
    )
    app.state.service = service
    _routes(app, service)
    app.add_exception_handler(InvalidInput, _invalid_input)  # type: ignore[arg-type]
    app.add_exception_handler(PredictorError, _predictor_failed)  # type: ignore[arg-type]
    app.openapi = lambda: _openapi(app, service)  # type: ignore[method-assign]
    return app


def _routes(app: FastAPI, service: Service) -> None:
    max_batch = service.config.max_batch

    @app.post(
        "/predict",
        summary="Predict one input or a batch; every prediction is logged",
        response_model=PredictOut | BatchOut,
        responses={422: {"description": "The body or an input is malformed; each problem has its loc."}},
        openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}},
    )
    async def predict(request: Request) -> JSONResponse:
        if service.keys is not None:  # checked here, not as a dependency: a dependency costs on every call
            await _caller(request)
        body = _json_body(await request.body())
        values, loc, ids, metadata = _predict_request(body, max_batch)
        single = loc[-1] == "input"
        served = service.follower.current  # read once: this version answers and is logged
        batch = inputs.check(served.input, values, loc, single=single)
        try:
            predicted = served.predict(batch, len(values))
        except InvalidInput as error:  # the predictor's own check: locs (i, ...) within the batch
            raise InvalidInput(
                [(_within(loc, single, where), why) for where, why in error.problems]
            ) from None
        except PredictorError as error:
            if isinstance(served.input, AnyInput) and error.__cause__ is not None:
                raise InvalidInput.at(loc, f"the model could not predict from this input: {error}") from error
            raise
        request_ids = ids or [uuid.uuid4().hex for _ in values]
        service.recorder.record(served, request_ids, predicted, metadata)
        scores = None if predicted.scores is None else predicted.scores.tolist()
        answers = [
            _prediction(
                request_ids[i],
                predicted.predictions[i],
                None if predicted.confidence is None else predicted.confidence[i],
                None if scores is None else scores[i],
            )
            for i in range(len(values))
        ]
        head = {"model": served.ref, "version": served.version.version, "alias": served.alias}
        content = {**answers[0], **head} if single else {**head, "predictions": answers}
        return JSONResponse(content, headers={MODEL_HEADER: served.ref})

    @app.post(
        "/feedback",
        summary="Feedback on a prediction: a flag, a correction (with the right label), a confirmation",
        response_model=FeedbackOut,
        responses={404: {"description": "No prediction was served under this request id."}},
    )
    def feedback(body: FeedbackIn, who: Who) -> FeedbackOut:
        source = body.source or (who.name if who is not None else "api")
        if body.kind == "correction" and body.label is None:
            raise InvalidInput.at(
                ("body", "label"), "a correction needs the label the model should have predicted"
            )
        try:
            saved = service.recorder.feedback(
                body.request_id, body.kind, label=body.label, score=body.score, note=body.note, source=source
            )
        except InferenceNotFoundError as error:
            raise HTTPException(404, str(error)) from None
        except InvalidRecordError as error:
            raise InvalidInput.at(("body",), str(error)) from None
        return FeedbackOut(
            request_id=saved.request_id,
            kind=saved.kind,
            source=saved.source,
            label=saved.label,
            score=saved.score,
        )

    @app.get(
        "/health",
        summary="What is served, since when, and whether the alias's version is",
        response_model=HealthOut,
    )
    def health() -> HealthOut:
        served, follower = service.follower.current, service.follower
        problem = follower.problem or service.recorder.problem
        try:
            pending = service.recorder.pending
        except LooplineError as error:  # the writer process is gone
            pending, problem = 0, problem or str(error)
        return HealthOut(
            status="degraded" if problem else "ok",
            serving=service.config.model,
            model=served.ref,
            version=served.version.version,
            alias=served.alias,
            loaded_at=served.loaded_at.isoformat(),
            predictor=served.predictor.name,
            input=served.input.describe(),
            display=served.display,
            poll_s=follower.poll_s,
            checked_s_ago=round(time.monotonic() - follower.checked_at, 3),
            problem=problem,
            logged_pending=pending,
        )


def _prediction(request_id: str, prediction: Any, confidence: float | None, scores: Any) -> dict[str, Any]:
    answer = {"request_id": request_id, "prediction": prediction}
    if confidence is not None:
        answer["confidence"] = confidence
        answer["scores"] = scores
    return answer


def _within(loc: inputs.Loc, single: bool, where: inputs.Loc) -> inputs.Loc:
    """A loc a predictor gave, (i, ...) within its batch, as a loc of the request."""
    if where and type(where[0]) is int:
        return (*inputs.at(loc, where[0], single), *where[1:])
    return (*loc, *where)


def _bearer(request: Request) -> str:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise HTTPException(
            401,
            "this endpoint needs an API key of the team: send Authorization: Bearer KEY (an admin "
            "makes one with loopline keys create NAME)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return key.strip()


def _json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as error:
        raise InvalidInput.at(("body",), f"the body must be JSON: {error}") from None


def _predict_request(body: Any, max_batch: int) -> tuple[list[Any], inputs.Loc, list[str] | None, Any]:
    """(inputs, where they are, request ids or None, metadata) of a /predict body."""
    if not isinstance(body, dict):
        raise InvalidInput.at(("body",), 'expected a JSON object: {"input": ...} or {"inputs": [...]}')
    unknown = [name for name in body if name not in _PREDICT_FIELDS]
    if unknown:
        raise InvalidInput(
            [
                (("body", name), f"unknown field; the fields are {', '.join(_PREDICT_FIELDS)}")
                for name in unknown
            ]
        )
    if ("input" in body) == ("inputs" in body):
        raise InvalidInput.at(
            ("body",), 'give "input" (one input) or "inputs" (a list of inputs), not both or neither'
        )
    if "input" in body:
        if "request_ids" in body:
            raise InvalidInput.at(
                ("body", "request_ids"), 'goes with "inputs"; give "request_id" with "input"'
            )
        ids = (
            None
            if body.get("request_id") is None
            else [_request_id(body["request_id"], ("body", "request_id"))]
        )
        return [body["input"]], ("body", "input"), ids, _metadata(body)
    values = body["inputs"]
    if not isinstance(values, list) or not values:
        raise InvalidInput.at(("body", "inputs"), "expected a non-empty list of inputs")
    if len(values) > max_batch:
        raise InvalidInput.at(
            ("body", "inputs"), f"at most {max_batch} inputs per request, got {len(values)}"
        )
    if "request_id" in body:
        raise InvalidInput.at(("body", "request_id"), 'goes with "input"; give "request_ids" with "inputs"')
    ids = None
    if body.get("request_ids") is not None:
        given = body["request_ids"]
        if not isinstance(given, list) or len(given) != len(values):
            raise InvalidInput.at(
                ("body", "request_ids"), f"expected a list of {len(values)} request ids, one per input"
            )
        ids = [_request_id(value, ("body", "request_ids", i)) for i, value in enumerate(given)]
        if len(set(ids)) != len(ids):
            raise InvalidInput.at(("body", "request_ids"), "request ids must differ from each other")
    return values, ("body", "inputs"), ids, _metadata(body)


def _request_id(value: Any, loc: inputs.Loc) -> str:
    try:
        return checks.request_id(value)
    except InvalidRecordError as error:
        raise InvalidInput.at(loc, str(error)) from None


def _metadata(body: Mapping[str, Any]) -> Any:
    try:
        return checks.metadata(body.get("metadata"))
    except InvalidRecordError as error:
        raise InvalidInput.at(("body", "metadata"), str(error)) from None


async def _invalid_input(request: Request, error: InvalidInput) -> JSONResponse:
    detail = [{"type": "value_error", "loc": list(loc), "msg": message} for loc, message in error.problems]
    return JSONResponse({"detail": detail}, status_code=422)


async def _predictor_failed(request: Request, error: PredictorError) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=500)


def _openapi(app: FastAPI, service: Service) -> dict[str, Any]:
    """FastAPI's schema, with the input the served version takes written into /predict's body."""
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    served = service.follower.current
    body = PredictIn.model_json_schema()
    one = served.input.json_schema() | {"description": f"One input, as {served.ref} takes it."}
    body["properties"]["input"] = one
    body["properties"]["inputs"] = {
        "type": "array",
        "items": served.input.json_schema(),
        "maxItems": service.config.max_batch,
    }
    schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"] = body
    return schema
