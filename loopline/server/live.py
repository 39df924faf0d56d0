"""Live updates: one poller watches the store for changed runs and records, and fans them out.

The poller asks `changed_runs(since)` a few times a second, with an overlap so that a write
committed late with an earlier timestamp is not missed, and drops what it already announced.
It also reads the record revisions (one counter per kind of record: datasets, models, ...) and
announces the kinds whose counter moved. Each listener (one open page's event stream) gets a
bounded queue, a filter for runs and the kinds of record it shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Mapping

from loopline.core.records import RunRecord, utcnow
from loopline.storage.base import MetadataStore

logger = logging.getLogger(__name__)

OVERLAP = dt.timedelta(seconds=2)
BATCH = 5000
QUEUE_SIZE = 20_000


@dataclasses.dataclass(frozen=True)
class RecordsChanged:
    kinds: frozenset[str]


@dataclasses.dataclass(frozen=True)
class LivePage:
    """A page that shows records of `kinds`, read when their revisions summed to `seen`."""

    kinds: tuple[str, ...]
    seen: int


def records_revision(revisions: Mapping[str, int], kinds: Iterable[str]) -> int:
    """One number for the records of these kinds: it grows whenever one of them is written."""
    return sum(revisions.get(kind, 0) for kind in kinds)


@dataclasses.dataclass(eq=False)
class Listener:
    wants: Callable[[RunRecord], bool]
    queue: asyncio.Queue[RunRecord | RecordsChanged | None]
    kinds: frozenset[str] = frozenset()  # the kinds of record whose changes it is told about
    overflowed: bool = False


class ChangeFeed:
    def __init__(
        self,
        metadata: MetadataStore,
        poll_s: float,
        revisions: Callable[[], Mapping[str, int]] = dict,
    ) -> None:
        self.metadata = metadata
        self.poll_s = poll_s
        self.revisions = revisions
        self._seen_revisions: Mapping[str, int] | None = None
        self.versions: dict[str, dt.datetime] = {}  # root id -> when a run of it last changed
        self.epoch = 0  # bumped when changes had to be skipped
        self._since = utcnow() - OVERLAP
        self._announced: dict[str, dt.datetime] = {}  # run id -> updated_at already sent
        self._listeners: set[Listener] = set()
        self._stopped = asyncio.Event()
        self._skipped = False  # changes were skipped: every listener must resync

    def poll(self) -> list[RunRecord]:
        """New changes since the last poll (blocking: call from a worker thread)."""
        changed = self.metadata.changed_runs(self._since, limit=BATCH)
        fresh = [r for r in changed if r.updated_at is not None and self._announced.get(r.id) != r.updated_at]
        if changed:
            newest = max(r.updated_at for r in changed if r.updated_at is not None)
            if len(changed) < BATCH:
                self._since = max(self._since, newest - OVERLAP)
            elif newest > self._since:
                self._since = newest  # catching up with a burst: no overlap, or it would never end
            else:
                # More than BATCH runs written in one transaction share one timestamp: skip past
                # them and tell every page to reload instead.
                self._since = newest + dt.timedelta(microseconds=1)
                self._skipped = True
                self.epoch += 1  # and every cached pipeline is stale
        for run in fresh:
            assert run.updated_at is not None
            self._announced[run.id] = run.updated_at
            self.versions[run.root_id] = max(self.versions.get(run.root_id, run.updated_at), run.updated_at)
        horizon = self._since - OVERLAP
        if len(self._announced) > 100_000:
            self._announced = {k: v for k, v in self._announced.items() if v >= horizon}
        return fresh

    def poll_records(self) -> frozenset[str]:
        """The kinds of record written since the last poll (blocking: call from a worker thread)."""
        now, before = self.revisions(), self._seen_revisions
        self._seen_revisions = now
        if before is None:
            return frozenset()
        return frozenset(kind for kind in now.keys() | before.keys() if now.get(kind) != before.get(kind))

    def publish_records(self, kinds: frozenset[str]) -> None:
        for listener in list(self._listeners):
            if listener.kinds & kinds and not listener.overflowed:
                try:
                    listener.queue.put_nowait(RecordsChanged(listener.kinds & kinds))
                except asyncio.QueueFull:
                    listener.overflowed = True

    def publish(self, runs: list[RunRecord]) -> None:
        if self._skipped:
            self._skipped = False
            for listener in self._listeners:
                listener.overflowed = True
                with contextlib.suppress(asyncio.QueueFull):
                    listener.queue.put_nowait(None)  # wake it up to resync
        for listener in list(self._listeners):
            for run in runs:
                if listener.overflowed or not listener.wants(run):
                    continue
                try:
                    listener.queue.put_nowait(run)
                except asyncio.QueueFull:
                    listener.overflowed = True  # its page reloads its data instead

    async def run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.publish(await asyncio.to_thread(self.poll))
                self.publish_records(await asyncio.to_thread(self.poll_records))
            except Exception:
                logger.warning("could not poll the store for changes; retrying", exc_info=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self.poll_s)

    def stop(self) -> None:
        self._stopped.set()
        for listener in self._listeners:
            with contextlib.suppress(asyncio.QueueFull):
                listener.queue.put_nowait(None)

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    @contextlib.asynccontextmanager
    async def listen(
        self, wants: Callable[[RunRecord], bool], kinds: frozenset[str] = frozenset()
    ) -> AsyncIterator[Listener]:
        listener = Listener(wants, asyncio.Queue(QUEUE_SIZE), kinds)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
