"""Schedules: cron and dataset triggers, slots that run once across restarts, the missed-slot
policy, and real worker processes, all driven by a controllable clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

import loopline
from loopline import Dataset
from loopline.cl.schedules import scheduler as schedules
from loopline.cl.schedules.cron import CronExpression
from loopline.cl.schedules.scheduler import ProcessLauncher, Scheduler
from loopline.cl.schedules.worker import run_slot
from loopline.cl.store.records import Schedule, Webhook
from loopline.cl.store.workspace import Workspace
from loopline.errors import UsageError
from loopline.settings import Settings
from loopline.testing import ManualClock
from tests.cl.receiver import Receiver

T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)  # a Tuesday, midnight UTC

PIPELINE = """
import numpy as np

import loopline
from loopline import Dataset, RegressionReport, Scenario

@loopline.func
def pipeline(label: str = "nightly", fail: bool = False, broken: int = 0) -> RegressionReport:
    if fail:
        raise RuntimeError("no training data tonight")
    labels = np.arange(40) % 2
    golden = Dataset("golden", labels.reshape(-1, 1), labels, ids=[f"g{i}" for i in range(40)])
    candidate = labels.copy()
    candidate[: 2 * broken : 2] = 1
    return loopline.regression_test(candidate, golden, [Scenario("zeros", labels=[0])], labels, name=label)
"""


def at(days: int = 0, hours: int = 0, minutes: int = 0, seconds: int = 0) -> dt.datetime:
    return T0 + dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


@pytest.fixture
def ws(home: Path) -> Workspace:
    return Workspace.open(Settings.for_home(home))


@pytest.fixture
def target(tmp_path: Path) -> str:
    path = tmp_path / f"scheduled_{uuid.uuid4().hex[:8]}.py"
    path.write_text(PIPELINE)
    return str(path)


def nightly(
    ws: Workspace, target: str, *params: str, cron: str = "0 2 * * *", name: str = "nightly", **extra: object
) -> Schedule:
    trigger = schedules.cron_trigger(cron)
    return schedules.add_schedule(ws.store, name, target, params, trigger, now=T0, created_by="ada", **extra)  # type: ignore[arg-type]


def fire(ws: Workspace, name: str, now: dt.datetime) -> str | None:
    """Decide and claim like a scheduler would (without launching); the claimed slot's key."""
    decision = schedules.due(ws.store, ws.store.get_schedule(name), now)
    if decision is None or not ws.store.claim_slot(decision.slot):
        return None
    return decision.slot.key


def test_cron_expressions_find_their_next_and_latest_times() -> None:
    weekdays = CronExpression.parse("30 9 * * mon-fri")
    assert weekdays.next_after(at(days=3, hours=10)) == at(days=6, hours=9, minutes=30)  # Fri -> Mon
    assert weekdays.latest_at_or_before(at(days=5, hours=12)) == at(days=3, hours=9, minutes=30)
    assert CronExpression.parse("@monthly").next_after(T0) == dt.datetime(2030, 2, 1, tzinfo=dt.UTC)
    assert CronExpression.parse("*/20 * * * *").next_after(at(minutes=41)) == at(hours=1)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("0 2 * *", "expected 5 fields"),
        ("0 24 * * *", "hour field '24' must lie within 0-23"),
        ("0 0 31 2 *", "never fires"),
        ("x * * * *", "cannot read 'x' as the minute field"),
    ],
)
def test_bad_cron_expressions_are_explained(text: str, error: str) -> None:
    with pytest.raises(UsageError, match=error):
        CronExpression.parse(text)


def test_cron_follows_the_wall_clock_of_its_time_zone_across_daylight_saving() -> None:
    paris = CronExpression.parse("30 2 * * *", "Europe/Paris")
    utc = dt.UTC
    summer = dt.datetime(2026, 7, 1, 12, tzinfo=utc)
    assert paris.next_after(summer) == dt.datetime(2026, 7, 2, 0, 30, tzinfo=utc)  # 02:30 CEST
    # 29 March 2026: clocks jump from 02:00 to 03:00, so 02:30 does not exist and fires at 03:30
    spring = dt.datetime(2026, 3, 28, 12, tzinfo=utc)
    assert paris.next_after(spring) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=utc)
    # 25 October 2026: 02:00-03:00 happens twice; an every-half-hour cron fires at each wall
    # time once, the first time round
    half_hours = CronExpression.parse("*/30 * * * *", "Europe/Paris")
    t, fired = dt.datetime(2026, 10, 24, 23, 40, tzinfo=utc), []
    for _ in range(4):
        t = half_hours.next_after(t)
        fired.append(t.astimezone(half_hours.zone).strftime("%H:%M%z"))
    assert fired == ["02:00+0200", "02:30+0200", "03:00+0100", "03:30+0100"]
    during_repeat = dt.datetime(2026, 10, 25, 1, 45, tzinfo=utc)  # 02:45, the second time round
    assert paris.latest_at_or_before(during_repeat) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=utc)


def test_an_unknown_time_zone_is_explained() -> None:
    with pytest.raises(UsageError, match="unknown time zone 'Mars/Olympus'.*IANA name"):
        schedules.cron_trigger("0 2 * * *", "Mars/Olympus")


def test_a_schedule_in_a_time_zone_fires_at_its_local_time(ws: Workspace, target: str) -> None:
    trigger = schedules.cron_trigger("0 2 * * *", "America/New_York")  # 02:00 EST is 07:00 UTC
    added = schedules.add_schedule(ws.store, "ny", target, (), trigger, now=T0, created_by="ada")
    assert added.describe_trigger() == "cron 0 2 * * * (America/New_York)"
    assert ws.store.get_schedule("ny").trigger == trigger
    assert schedules.next_run(added, T0) == "2030-01-01 02:00 EST"
    assert fire(ws, "ny", at(hours=2)) is None
    assert fire(ws, "ny", at(hours=7)) == at(hours=7).isoformat()


def test_a_cron_slot_is_due_once_at_its_time(ws: Workspace, target: str) -> None:
    nightly(ws, target)
    assert fire(ws, "nightly", at(hours=1, minutes=59)) is None
    assert fire(ws, "nightly", at(hours=2, seconds=30)) == at(hours=2).isoformat()
    assert fire(ws, "nightly", at(hours=2, minutes=30)) is None
    assert fire(ws, "nightly", at(days=1, hours=2)) == at(days=1, hours=2).isoformat()


def test_after_downtime_only_the_latest_missed_slot_runs(ws: Workspace, target: str) -> None:
    nightly(ws, target)
    assert fire(ws, "nightly", at(hours=2)) is not None
    assert fire(ws, "nightly", at(days=3, hours=10)) == at(days=3, hours=2).isoformat()
    (latest, first) = ws.store.slots("nightly")
    assert latest.detail == "skipped 2 missed slot(s) before this one" and first.detail == ""


def test_slots_that_pass_while_paused_never_run(ws: Workspace, target: str) -> None:
    nightly(ws, target)
    schedules.pause(ws.store, "nightly")
    assert fire(ws, "nightly", at(hours=3)) is None
    schedules.resume(ws.store, "nightly", now=at(hours=4))
    assert fire(ws, "nightly", at(hours=5)) is None  # 02:00 passed while paused
    assert fire(ws, "nightly", at(days=1, hours=2)) is not None


def test_a_dataset_trigger_fires_when_enough_examples_arrived(ws: Workspace, target: str) -> None:
    train = Dataset("train", np.zeros((10, 1)), ids=[f"t{i}" for i in range(10)]).save(workspace=ws)
    trigger = schedules.dataset_trigger(ws.store, "train", 50)
    schedules.add_schedule(ws.store, "retrain", target, [], trigger, now=T0, created_by="ada")

    def grow(data: Dataset, n: int) -> Dataset:
        start = len(data)
        return data.append(np.zeros((n, 1)), ids=[f"t{i}" for i in range(start, start + n)]).save(
            workspace=ws
        )

    train = grow(train, 30)
    assert fire(ws, "retrain", at(hours=1)) is None  # 30 < 50
    train = grow(train, 30)
    assert fire(ws, "retrain", at(hours=2)) == "train@3"
    assert ws.store.slots("retrain")[0].detail == "train gained 60 examples (versions 2-3)"
    assert fire(ws, "retrain", at(hours=3)) is None  # nothing new since train@3
    grow(train, 50)
    assert fire(ws, "retrain", at(hours=4)) == "train@4"


def test_a_proposed_dataset_version_fires_no_trigger_until_it_is_canonical(
    ws: Workspace, target: str
) -> None:
    train = Dataset("train", np.zeros((10, 1)), ids=[f"t{i}" for i in range(10)]).save(workspace=ws)
    schedules.add_schedule(
        ws.store,
        "retrain",
        target,
        [],
        schedules.dataset_trigger(ws.store, "train", 5),
        now=T0,
        created_by="ada",
    )
    proposed = train.append(np.zeros((8, 1)), ids=[f"n{i}" for i in range(8)]).save(
        candidate=True, workspace=ws
    )
    assert fire(ws, "retrain", at(hours=1)) is None  # a loop round's proposal, waiting for its gate
    ws.store.decide_dataset_version(
        "train", proposed.version or 0, state="canonical", by="loop", at=T0, reason=""
    )
    assert fire(ws, "retrain", at(hours=2)) == "train@2"


def test_an_edited_cron_counts_from_the_edit_and_keeps_the_history(ws: Workspace, target: str) -> None:
    nightly(ws, target)
    assert fire(ws, "nightly", at(hours=2)) is not None
    later = schedules.changed_trigger(ws.store, ws.store.get_schedule("nightly").trigger, cron="0 3 * * *")
    schedules.edit_schedule(ws.store, "nightly", trigger=later, now=at(hours=4))
    assert fire(ws, "nightly", at(hours=5)) is None  # today's 03:00 passed before the edit
    assert fire(ws, "nightly", at(days=1, hours=3)) == at(days=1, hours=3).isoformat()
    assert len(ws.store.slots("nightly")) == 2


def test_a_dataset_trigger_edited_on_the_same_dataset_keeps_counting(ws: Workspace, target: str) -> None:
    train = Dataset("train", np.zeros((10, 1)), ids=[f"t{i}" for i in range(10)]).save(workspace=ws)
    trigger = schedules.dataset_trigger(ws.store, "train", 50)
    schedules.add_schedule(ws.store, "retrain", target, [], trigger, now=T0, created_by="ada")
    train.append(np.zeros((30, 1)), ids=[f"n{i}" for i in range(30)]).save(workspace=ws)
    fewer = schedules.changed_trigger(ws.store, trigger, min_new=20)
    assert fewer == dataclasses.replace(trigger, min_new=20)  # still counting from train@1
    schedules.edit_schedule(ws.store, "retrain", trigger=fewer, now=at(hours=1))
    assert fire(ws, "retrain", at(hours=2)) == "train@2"


def test_edits_are_checked_like_new_schedules(ws: Workspace, target: str) -> None:
    current = nightly(ws, target, "--label", "x")
    with pytest.raises(UsageError, match="has no parameter --nope"):
        schedules.edit_schedule(ws.store, "nightly", params=["--nope", "1"], now=T0)
    with pytest.raises(UsageError, match="not both"):
        schedules.changed_trigger(ws.store, current.trigger, cron="@daily", dataset="train")
    with pytest.raises(UsageError, match="needs a dataset and a number"):
        schedules.changed_trigger(ws.store, current.trigger, dataset="train")
    with pytest.raises(UsageError, match="give the cron expression too"):
        schedules.changed_trigger(ws.store, schedules.dataset_trigger(ws.store, "d", 5), timezone="UTC")
    assert schedules.edit_schedule(ws.store, "nightly", now=T0) == current  # nothing to change
    relabeled = schedules.edit_schedule(ws.store, "nightly", params=["--label", "y"], now=T0)
    assert relabeled.params == ("--label", "y") and relabeled.target == current.target


def test_schedules_check_their_target_and_parameters_when_added(ws: Workspace, target: str) -> None:
    with pytest.raises(UsageError, match="has no parameter --nope"):
        nightly(ws, target, "--nope", "1")
    with pytest.raises(UsageError, match="no such file"):
        nightly(ws, "missing.py")
    nightly(ws, target, "--label", "x")
    with pytest.raises(UsageError, match="exists already"):
        nightly(ws, target)


def test_the_scheduler_runs_due_pipelines_in_worker_processes_once_across_restarts(
    home: Path, ws: Workspace, target: str
) -> None:
    nightly(ws, target, "--label", "from the schedule")
    clock = ManualClock(at(hours=1, minutes=59))
    settings = Settings.for_home(home)
    scheduler = Scheduler(ws.store, ProcessLauncher(settings), clock=clock)
    assert scheduler.tick() == []
    clock.advance(90)
    assert len(scheduler.tick()) == 1
    scheduler.wait(timeout=120)
    slot = ws.store.slots("nightly")[0]
    assert (slot.key, slot.state) == (at(hours=2).isoformat(), "succeeded")
    run = loopline.Client(home).run(slot.run_id or "")
    assert run.state is loopline.RunState.SUCCEEDED and run.tags == ("schedule:nightly",)
    assert ws.store.list_reports()[0].name == "from the schedule"
    restarted = Scheduler(ws.store, ProcessLauncher(settings), clock=clock)
    assert restarted.tick() == [] and scheduler.tick() == []


def test_a_schedule_takes_run_options_among_its_parameters(home: Path, ws: Workspace, target: str) -> None:
    with pytest.raises(UsageError, match="--max-parallelism needs a whole number"):
        nightly(ws, target, "--max-parallelism", "many", name="bad-options")
    params = ("--no-cache", "--tag", "gpu-night", "--run-name", "nightly gate", "--label", "x")
    nightly(ws, target, *params)
    key = fire(ws, "nightly", at(hours=2))
    assert key is not None and run_slot("nightly", key, Settings.for_home(home)) == 0
    run = loopline.Client(home).run(ws.store.slots("nightly")[0].run_id or "")
    assert (run.name, run.tags) == ("nightly gate", ("gpu-night", "schedule:nightly"))
    assert ws.store.list_reports()[0].name == "x"


def test_serve_ticks_until_stopped(ws: Workspace, home: Path) -> None:
    clock = ManualClock(T0)
    scheduler = Scheduler(ws.store, ProcessLauncher(Settings.for_home(home)), clock=clock)
    thread = threading.Thread(target=scheduler.serve, kwargs={"interval_s": 60})
    thread.start()
    while clock.now() < at(minutes=10) and thread.is_alive():  # each idle wait jumps a minute
        time.sleep(0.001)
    scheduler.stop()
    thread.join(timeout=10)
    assert not thread.is_alive() and clock.now() >= at(minutes=10)


def test_a_worker_that_dies_leaves_its_slot_lost(home: Path, ws: Workspace, target: str) -> None:
    nightly(ws, target)
    scheduler = Scheduler(ws.store, ProcessLauncher(Settings.for_home(home)))
    (firing,) = scheduler.tick(at(hours=2))
    handle = firing.handle
    assert isinstance(handle, subprocess.Popen)
    handle.kill()
    handle.wait()
    assert scheduler.tick(at(hours=3)) == []
    (slot,) = ws.store.slots("nightly")
    assert slot.state == "lost" and "exited with code -9" in slot.detail
    assert scheduler.launched == []


def test_two_schedulers_on_one_store_fire_a_slot_once(home: Path, ws: Workspace, target: str) -> None:
    nightly(ws, target)
    settings = Settings.for_home(home)
    first = Scheduler(ws.store, ProcessLauncher(settings))
    second = Scheduler(Workspace.open(settings).store, ProcessLauncher(settings))
    fired = first.tick(at(hours=2)) + second.tick(at(hours=2))
    first.wait(timeout=120)
    assert len(fired) == 1


def test_failures_and_regressions_notify_the_schedules_webhooks(
    home: Path, ws: Workspace, target: str
) -> None:
    settings = Settings.for_home(home)
    with Receiver() as receiver:
        hooks = (Webhook(receiver.url + "/json"),)
        nightly(ws, target, "--fail", "true", name="broken", webhooks=hooks)
        nightly(
            ws,
            target,
            "--broken",
            "10",
            name="regressed",
            webhooks=(Webhook(receiver.url + "/slack", "slack"),),
        )
        scheduler = Scheduler(ws.store, ProcessLauncher(settings))
        assert len(scheduler.tick(at(hours=2))) == 2
        scheduler.wait(timeout=120)
    assert [s.state for s in (ws.store.slots("broken")[0], ws.store.slots("regressed")[0])] == [
        "failed",
        "succeeded",
    ]
    assert "no training data tonight" in ws.store.slots("broken")[0].detail
    assert ws.store.slots("regressed")[0].detail == "regression in nightly: zeros"
    by_path = {r.path: r.body for r in receiver.requests}
    assert by_path["/json"]["event"] == "pipeline.failed" and by_path["/json"]["schedule"] == "broken"
    assert by_path["/slack"]["text"].startswith(":rotating_light: Regression")
