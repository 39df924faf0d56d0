"""Every way the server hands out an artifact's bytes checks them against the id first:
a flipped byte never reaches a client as if it were the value."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from loopline.core.records import WriteBatch
from loopline.storage.artifacts import store_value
from tests.storage.test_artifact_stores import corrupt_tiered


@pytest.fixture(scope="module")
def corrupt_id(stores: Any) -> str:
    metadata, artifacts = stores
    record = store_value(bytes(range(256)) * 20_000, artifacts)  # 5 MB: several streamed chunks
    metadata.write(WriteBatch(artifacts=[record]))
    reader = artifacts.open(record.id)
    stored = reader.read()
    reader.close()
    corrupt_tiered(artifacts, record.id, stored[:1000] + bytes([stored[1000] ^ 1]) + stored[1001:])
    return record.id


def test_a_raw_download_of_a_corrupt_artifact_is_refused_with_409(
    http: httpx.Client, corrupt_id: str
) -> None:
    response = http.get(f"/api/v1/artifacts/{corrupt_id}/download", params={"format": "raw"})
    assert response.status_code == 409
    assert "corrupted" in response.json()["detail"]


def test_the_clients_byte_stream_of_a_corrupt_artifact_is_cut_short(
    http: httpx.Client, corrupt_id: str
) -> None:
    with pytest.raises(httpx.HTTPError):
        http.get(f"/api/v1/artifacts/{corrupt_id}/bytes")


def test_converted_downloads_of_a_corrupt_artifact_are_refused(http: httpx.Client, corrupt_id: str) -> None:
    response = http.get(f"/api/v1/artifacts/{corrupt_id}/download", params={"format": "json"})
    assert response.status_code == 409
