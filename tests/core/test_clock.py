from __future__ import annotations

import datetime as dt
import queue

from loopline.core.clock import ManualClock, SystemClock


def test_the_manual_clock_only_moves_when_told() -> None:
    clock = ManualClock(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    clock.advance(1.5)
    assert clock.now() == dt.datetime(2030, 1, 1, 0, 0, 1, 500000, tzinfo=dt.UTC) and clock.monotonic() == 1.5


def test_waiting_without_events_jumps_to_the_deadline() -> None:
    clock = ManualClock()
    assert clock.wait(queue.SimpleQueue(), timeout=30) is None
    assert clock.monotonic() == 30


def test_a_pending_event_is_returned_without_moving_time() -> None:
    clock, events = ManualClock(), queue.SimpleQueue[str]()
    events.put("done")
    assert clock.wait(events, timeout=30) == "done" and clock.monotonic() == 0


def test_the_system_clock_returns_a_pending_event() -> None:
    events = queue.SimpleQueue[int]()
    events.put(1)
    assert SystemClock().wait(events, timeout=0) == 1


def test_the_system_clock_is_timezone_aware() -> None:
    assert SystemClock().now().tzinfo is dt.UTC
