"""Helpers for testing pipelines: mock funcs' bodies while keeping their types and graph."""

from __future__ import annotations

from loopline.core.clock import ManualClock
from loopline.sdk.testing import FuncMock, mock_funcs, mock_sematic_funcs

__all__ = ["FuncMock", "ManualClock", "mock_funcs", "mock_sematic_funcs"]
