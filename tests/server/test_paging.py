"""Every list the API answers is bounded: a `limit` with a default and a maximum, refused above it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from loopline.server import ServerConfig, create_app
from loopline.storage.artifacts import MemoryArtifactStore
from loopline.storage.memory import MemoryMetadataStore

PAGES = ("RunListOut", "InferenceListOut", "PipelinesOut", "LogsOut")  # a page, with a cursor or window


def list_operations() -> list[tuple[str, dict[str, Any]]]:
    """Every GET of the API (as its schema says) that answers a list, or a page of one."""
    spec = create_app(MemoryMetadataStore(), MemoryArtifactStore(), ServerConfig(auth=True)).openapi()
    found = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        answer = (
            (get or {}).get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
        )
        schema = answer.get("schema", {})
        if schema.get("type") == "array" or schema.get("$ref", "").rsplit("/", 1)[-1] in PAGES:
            found.append((path, get))
    return found


def test_the_api_has_lists() -> None:
    assert len(list_operations()) >= 15


@pytest.mark.parametrize(("path", "operation"), list_operations(), ids=[p for p, _ in list_operations()])
def test_every_list_takes_a_bounded_limit_with_a_default(path: str, operation: dict[str, Any]) -> None:
    limit = next((p for p in operation.get("parameters", []) if p["name"] == "limit"), None)
    assert limit is not None, f"{path} answers a list without a limit parameter"
    schema = limit["schema"]
    assert not limit.get("required") and schema["type"] == "integer"
    assert schema["minimum"] == 1 and schema["maximum"] >= schema["default"] >= 1


def test_a_larger_page_is_refused_with_422(http: httpx.Client) -> None:
    for path in (
        "/api/v1/datasets",
        "/api/v1/models",
        "/api/v1/loops",
        "/api/v1/schedules",
        "/api/v1/labeling",
    ):
        response = http.get(path, params={"limit": 1001})
        assert response.status_code == 422, path
        assert "limit" in response.json()["detail"]


def test_a_page_is_at_most_the_limit(http: httpx.Client, loop: Any) -> None:
    everything = http.get("/api/v1/loops").json()
    assert len(everything) >= 1
    assert http.get("/api/v1/loops", params={"limit": 1}).json() == everything[:1]
    assert http.get("/api/v1/loops", params={"limit": 1, "offset": 1}).json() == everything[1:2]
