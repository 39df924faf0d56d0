"""Fixtures of the serving tests: scikit-learn models of the digits, registered in a temporary
store, and `loopline serve` running for real on a free port of 127.0.0.1."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from loopline import Dataset, models
from loopline.cl.store.records import ModelVersion
from loopline.cl.store.workspace import Workspace
from loopline.serving.background import RunningService, serve_in_thread
from loopline.serving.service import ServeConfig


@functools.cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data, data.target


@functools.cache
def trained(c: float) -> Any:
    """A logistic regression of the first 600 digits (C=1: accurate; C=1e-4: a poor one)."""
    from sklearn.linear_model import LogisticRegression

    features, labels = digits()
    return LogisticRegression(C=c, max_iter=2000).fit(features[:600], labels[:600])


def register(
    model: Any,
    *,
    workspace: Workspace | None = None,
    promote: bool = False,
    dataset: str | None = "digits-train",
) -> ModelVersion:
    version = models.register("digits", model, dataset=dataset, workspace=workspace)
    if promote:
        holder = models.aliases("digits", workspace=workspace).get("production")
        models.promote(version, "production", force=holder is not None, reason="test", workspace=workspace)
    return version


def first_production() -> ModelVersion:
    """digits@1, the accurate model, in production; its training set shows inputs as 8x8 images."""
    features, labels = digits()
    Dataset("digits-train", features[:600], labels[:600], display="image 8x8").save("the first 600")
    return register(trained(1.0), promote=True)


@pytest.fixture
def production(home: Path) -> ModelVersion:
    return first_production()


@pytest.fixture
def running(production: ModelVersion) -> Iterator[RunningService]:
    with serve_in_thread(ServeConfig("digits@production", poll_s=0.05)) as served:
        yield served


@pytest.fixture
def http(running: RunningService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.url, timeout=30) as client:
        yield client


def image(row: int) -> list[float]:
    return digits()[0][row].tolist()
