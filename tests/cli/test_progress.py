"""Live progress in the terminal."""

from __future__ import annotations

from loopline.cli.progress import STYLE
from loopline.core.records import RunState


def test_every_run_state_has_a_style() -> None:
    assert set(STYLE) == set(RunState)
