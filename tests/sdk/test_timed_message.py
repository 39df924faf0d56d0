from __future__ import annotations

import pytest

from loopline import TimedMessage
from loopline.errors import ExternalResourceError


def test_the_message_is_readable_only_inside_the_block() -> None:
    resource = TimedMessage(message="hi", allocation_seconds=0, deallocation_seconds=0)
    with resource as active:
        assert active.read_message() == "hi"
    with pytest.raises(ExternalResourceError, match="not active"):
        resource.read_message()


def test_the_message_times_out() -> None:
    expired = TimedMessage(message="hi", allocation_seconds=0, deallocation_seconds=0, max_active_seconds=-1)
    with expired as active, pytest.raises(ExternalResourceError, match="timed out"):
        active.read_message()
