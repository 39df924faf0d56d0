"""Schedules: pipelines that run by themselves, on a cron or when a dataset grows.

`add_schedule` checks the target and its parameters up front; `Scheduler.tick(now)` decides
which schedules are due, claims their slots in the store (a slot is claimed once, whatever the
number of schedulers or restarts) and launches each due pipeline in a worker process.

Missed slots (the scheduler was down, or busy): when a tick finds several cron slots due since
the last one that ran, it runs only the LATEST of them, once, and records how many earlier ones
it skipped. Slots that passed while the schedule was paused never run. A dataset trigger fires
once when the dataset has gained at least N examples since the version the last run saw.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from loopline.cl.schedules.cron import CronExpression
from loopline.cl.store.errors import DatasetNotFoundError
from loopline.cl.store.protocol import CLStore
from loopline.cl.store.records import CronTrigger, DatasetTrigger, Schedule, Slot, Trigger, Webhook
from loopline.cl.store.workspace import Workspace
from loopline.core.clock import Clock, SystemClock
from loopline.engine.run_options import take_run_options
from loopline.errors import UsageError
from loopline.sdk.targets import Target, parse_params, split_params
from loopline.settings import Settings

MAX_COUNTED_MISSES = 10_000
_log = logging.getLogger(__name__)


# -- managing schedules ------------------------------------------------------------------------


def cron_trigger(expression: str, timezone: str = "UTC") -> CronTrigger:
    """Fires at the times `expression` names on the wall clock of `timezone` (an IANA name)."""
    CronExpression.parse(expression, timezone)
    return CronTrigger(expression.strip(), timezone)


def _cron(trigger: CronTrigger) -> CronExpression:
    return CronExpression.parse(trigger.expression, trigger.timezone)


def dataset_trigger(store: CLStore, dataset: str, min_new: int) -> DatasetTrigger:
    """Fires once `dataset` gained `min_new` examples after its current latest version."""
    if min_new < 1:
        raise UsageError(f"--min-new must be at least 1, got {min_new}")
    try:
        since = store.get_dataset_version(dataset).version
    except DatasetNotFoundError:
        since = 0  # not created yet: its first versions count
    return DatasetTrigger(dataset, min_new, since)


def check_target(target: str, params: Sequence[str]) -> str:
    """The target as an absolute FILE.py:FUNC after checking that it loads and that `params`
    (the func's parameters, and run options such as --no-cache or --ray) fit it, so mistakes
    surface now, not at 2 am."""

    parsed = Target.parse(target)
    function = parsed.load()
    _, func_params = take_run_options(list(params), set(function.signature.parameters))
    parse_params(function, split_params(func_params))
    return f"{parsed.file}:{parsed.func_name or 'pipeline'}"


TARGET_CHECK_TIMEOUT_S = 120.0


def check_target_elsewhere(target: str, params: Sequence[str]) -> str:
    """`check_target` run in a fresh interpreter (python -m loopline.cl.schedules.target_check): for a
    server, which must not import user code into its own process."""

    Target.parse(target)  # a missing file is said at once, without starting an interpreter
    try:
        done = subprocess.run(
            [sys.executable, "-m", "loopline.cl.schedules.target_check", target, *params],
            capture_output=True,
            text=True,
            timeout=TARGET_CHECK_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"{target}: loading it took longer than {TARGET_CHECK_TIMEOUT_S:g} s; does it do work at import time?"
        ) from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise UsageError(lines[-1] if lines else f"{target}: the check exited with code {done.returncode}")
    return done.stdout.strip().splitlines()[-1]


def add_schedule(
    store: CLStore,
    name: str,
    target: str,
    params: Sequence[str],
    trigger: Trigger,
    *,
    now: dt.datetime,
    created_by: str,
    webhooks: Sequence[Webhook] = (),
    cwd: str | None = None,
    check: Callable[[str, Sequence[str]], str] = check_target,
) -> Schedule:
    """Record a schedule after `check` loaded its target with its parameters (here, by default;
    a server passes `check_target_elsewhere`)."""
    if not name or name != name.strip() or "/" in name:
        raise UsageError(f"schedule name {name!r}: use a plain name such as 'nightly-digits'")
    schedule = Schedule(
        name=name,
        target=check(target, params),
        params=tuple(params),
        trigger=trigger,
        created_at=now,
        created_by=created_by,
        active_since=now,
        cwd=cwd if cwd is not None else os.getcwd(),
        webhooks=tuple(webhooks),
    )
    store.add_schedule(schedule)
    return schedule


def changed_trigger(
    store: CLStore,
    current: Trigger,
    *,
    cron: str | None = None,
    timezone: str | None = None,
    dataset: str | None = None,
    min_new: int | None = None,
) -> Trigger | None:
    """`current` with these changes (None when none is given). A cron keeps its time zone unless
    one is given; a dataset trigger on the same dataset keeps counting from where it was."""
    if cron is not None and (dataset is not None or min_new is not None):
        raise UsageError("give either a cron or a dataset trigger, not both")
    if cron is not None or timezone is not None:
        if cron is None and not isinstance(current, CronTrigger):
            raise UsageError("a time zone goes with a cron: give the cron expression too")
        was = current if isinstance(current, CronTrigger) else CronTrigger("")
        return cron_trigger(cron or was.expression, timezone or was.timezone)
    if dataset is None and min_new is None:
        return None
    same = current if isinstance(current, DatasetTrigger) else None
    name = dataset or (same.dataset if same else None)
    count = min_new if min_new is not None else (same.min_new if same and same.dataset == name else None)
    if name is None or count is None:
        raise UsageError(
            "a dataset trigger needs a dataset and a number of new examples (--dataset NAME --min-new N)"
        )
    trigger = dataset_trigger(store, name, count)
    if same is not None and same.dataset == name:
        trigger = dataclasses.replace(trigger, since_version=same.since_version)
    return trigger


def edit_schedule(
    store: CLStore,
    name: str,
    *,
    now: dt.datetime,
    target: str | None = None,
    params: Sequence[str] | None = None,
    trigger: Trigger | None = None,
    webhooks: Sequence[Webhook] | None = None,
    check: Callable[[str, Sequence[str]], str] = check_target,
) -> Schedule:
    """Change what a schedule runs, when, or whom it notifies, keeping its history of slots.
    A new or changed parameter list is checked against the target like a new schedule's; a new
    trigger counts from `now` (slots of it that passed before never run)."""
    current = store.get_schedule(name)
    changes: dict[str, Any] = {}
    if target is not None or params is not None:
        new_params = tuple(params if params is not None else current.params)
        changes.update(target=check(target or current.target, new_params), params=new_params)
    if trigger is not None and trigger != current.trigger:
        changes.update(trigger=trigger, active_since=now)
    if webhooks is not None:
        changes.update(webhooks=tuple(webhooks))
    if not changes:
        return current
    schedule = dataclasses.replace(current, **changes)
    store.update_schedule(schedule)
    return schedule


def pause(store: CLStore, name: str) -> Schedule:
    schedule = dataclasses.replace(store.get_schedule(name), paused=True)
    store.update_schedule(schedule)
    return schedule


def resume(store: CLStore, name: str, *, now: dt.datetime) -> Schedule:
    """Active again from `now`: slots that passed while paused never run."""
    current = store.get_schedule(name)
    if not current.paused:
        return current
    schedule = dataclasses.replace(current, paused=False, active_since=now)
    store.update_schedule(schedule)
    return schedule


def next_run(schedule: Schedule, now: dt.datetime) -> str:
    """When the schedule fires next, in words (for listings)."""
    if schedule.paused:
        return "paused"
    if isinstance(schedule.trigger, CronTrigger):
        cron = _cron(schedule.trigger)
        upcoming = cron.next_after(now)
        return "never" if upcoming is None else upcoming.astimezone(cron.zone).strftime("%Y-%m-%d %H:%M %Z")
    return f"when {schedule.trigger.dataset} gains {schedule.trigger.min_new} examples"


# -- deciding what is due ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Due:
    """A slot that should run now, and what was skipped to get there."""

    schedule: Schedule
    slot: Slot
    skipped: int = 0


def due(store: CLStore, schedule: Schedule, now: dt.datetime) -> Due | None:
    """The slot of `schedule` to run at `now`, if any (not claimed yet)."""
    if schedule.paused:
        return None
    if isinstance(schedule.trigger, CronTrigger):
        return _due_cron(store, schedule, schedule.trigger, now)
    return _due_dataset(store, schedule, schedule.trigger, now)


def _due_cron(store: CLStore, schedule: Schedule, trigger: CronTrigger, now: dt.datetime) -> Due | None:
    cron = _cron(trigger)
    latest = cron.latest_at_or_before(now)
    anchor = schedule.active_since
    previous = store.slots(schedule.name, limit=1)
    if previous:
        anchor = max(anchor, previous[0].due_at)
    if latest is None or latest <= anchor:
        return None
    skipped = 0
    moment = cron.next_after(anchor)
    while moment is not None and moment < latest and skipped < MAX_COUNTED_MISSES:
        skipped += 1
        moment = cron.next_after(moment)
    detail = f"skipped {skipped} missed slot(s) before this one" if skipped else ""
    slot = Slot(schedule.name, latest.isoformat(), latest, now, "claimed", detail=detail)
    return Due(schedule, slot, skipped)


def _due_dataset(store: CLStore, schedule: Schedule, trigger: DatasetTrigger, now: dt.datetime) -> Due | None:
    previous = store.slots(schedule.name, limit=1)
    seen = (
        previous[0].dataset_version
        if previous and previous[0].dataset_version is not None
        else trigger.since_version
    )
    newer = [  # proposed (candidate) and rejected versions are no gain
        v for v in store.dataset_versions(trigger.dataset) if v.version > seen and v.state == "canonical"
    ]
    gained = sum(v.added for v in newer)
    if not newer or gained < trigger.min_new:
        return None
    latest = newer[-1]
    detail = f"{trigger.dataset} gained {gained} examples (versions {seen + 1}-{latest.version})"
    slot = Slot(schedule.name, latest.ref, now, now, "claimed", detail=detail, dataset_version=latest.version)
    return Due(schedule, slot)


# -- launching ---------------------------------------------------------------------------------


class Launched(Protocol):
    def poll(self) -> int | None:
        """The exit code once finished, else None."""

    def wait(self, timeout: float | None = None) -> int: ...


class Launcher(Protocol):
    def launch(self, schedule: Schedule, slot: Slot) -> Launched:
        """Start the schedule's pipeline for `slot` (in the background); returns a handle."""


class ProcessLauncher:
    """Runs each firing in its own worker process (`python -m loopline.cl.schedules.worker`),
    tracked in the stores `settings` name; its output goes to `<home>/schedules/<name>.log`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def launch(self, schedule: Schedule, slot: Slot) -> Launched:
        env = {
            **os.environ,
            "LOOPLINE_HOME": str(self.settings.home),
            "LOOPLINE_DATABASE_URL": self.settings.database_url,
            "LOOPLINE_ARTIFACTS_URL": self.settings.artifacts_url,
        }
        logs = self.settings.home / "schedules"
        logs.mkdir(parents=True, exist_ok=True)
        cwd = schedule.cwd if schedule.cwd and Path(schedule.cwd).is_dir() else None
        with open(logs / f"{schedule.name}.log", "ab") as log:
            return subprocess.Popen(
                [sys.executable, "-m", "loopline.cl.schedules.worker", schedule.name, slot.key],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C of the server does not kill running pipelines
            )


@dataclasses.dataclass(frozen=True)
class Firing:
    due: Due
    handle: Launched


class Scheduler:
    """Runs due schedules. `tick(now)` does one pass; `serve()` ticks until `stop()`.

    Any number of schedulers (and restarts of them) may share a store: a slot is claimed in
    the store before it is launched, and a claimed slot is never launched again."""

    def __init__(self, store: CLStore, launcher: Launcher, *, clock: Clock | None = None) -> None:
        self.store = store
        self.launcher = launcher
        self.clock = clock or SystemClock()
        self.launched: list[Firing] = []
        self._events: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._lock = threading.Lock()

    @classmethod
    def for_settings(cls, settings: Settings, *, clock: Clock | None = None) -> Scheduler:
        return cls(Workspace.open(settings).store, ProcessLauncher(settings), clock=clock)

    def tick(self, now: dt.datetime | None = None) -> list[Firing]:
        """Launch every due slot (as of `now`, default the clock's time); returns them."""
        moment = now or self.clock.now()
        fired = []
        with self._lock:
            self._reap()
            for schedule in self.store.list_schedules():
                decision = due(self.store, schedule, moment)
                if decision is None or not self.store.claim_slot(decision.slot):
                    continue
                try:
                    handle = self.launcher.launch(schedule, decision.slot)
                except OSError as error:
                    self.store.update_slot(
                        schedule.name, decision.slot.key, state="lost", detail=f"launch failed: {error}"
                    )
                    continue
                fired.append(Firing(decision, handle))
            self.launched += fired
        return fired

    def _reap(self) -> None:
        """Forget finished workers; a worker that died before recording an outcome (killed,
        out of memory) leaves its slot `lost`, not `running` forever."""
        running = []
        for firing in self.launched:
            code = firing.handle.poll()
            if code is None:
                running.append(firing)
                continue
            slot = firing.due.slot
            recorded = next((s for s in self.store.slots(slot.schedule, limit=50) if s.key == slot.key), None)
            if recorded is not None and recorded.state in ("claimed", "running"):
                detail = f"the worker process exited with code {code} before recording an outcome"
                self.store.update_slot(slot.schedule, slot.key, state="lost", detail=detail)
        self.launched = running

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every pipeline launched so far to finish."""
        for firing in self.launched:
            firing.handle.wait(timeout)

    def serve(self, interval_s: float = 30.0) -> None:
        """Tick every `interval_s` seconds until `stop()` is called."""
        while True:
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a failed pass (database busy) must not end the service
                _log.exception("checking the schedules failed; trying again in %ss", interval_s)
            if self.clock.wait(self._events, interval_s) is not None:
                return

    def stop(self) -> None:
        self._events.put("stop")

    def __repr__(self) -> str:
        return f"Scheduler({len(self.store.list_schedules())} schedules)"
