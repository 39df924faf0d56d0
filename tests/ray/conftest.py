"""One local Ray instance for the whole session: 2 CPUs, no dashboard, on 127.0.0.1 only.

Run these tests alone with `pytest -m ray`; they start Ray once (about 5 s).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Read by Ray when it picks the node's address: keep the instance on the loopback interface.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

ray = pytest.importorskip("ray")


@pytest.fixture(scope="session")
def ray_instance() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture
def ray_runner(ray_instance: None, home: Path):  # type: ignore[no-untyped-def]
    from loopline import RayRunner

    return RayRunner(home=home, echo=False)
