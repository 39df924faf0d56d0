"""`ServerState`: what every route needs (stores, config, live feed, caches), held by the app."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, cast

from fastapi import Request

from loopline.cl.store.revisions import RecordKind
from loopline.cl.store.workspace import Workspace
from loopline.core.records import ArtifactRecord, RunRecord
from loopline.engine.relaunch import Relaunch
from loopline.errors import ArtifactNotFoundError
from loopline.server.auth.identity import Identities
from loopline.server.config import ServerConfig
from loopline.server.live import ChangeFeed, LivePage, records_revision
from loopline.storage.base import ArtifactStore, MetadataStore
from loopline.team.store import TeamStore

PIPELINE_CACHE = 6
VALUE_CACHE = 8
FRAME_CACHE = 4  # tables loaded for paging (whole DataFrames: few, they can be large)
RECORD_CACHE = 4096  # artifact records (small): what graph nodes returned, read on every redraw
T = TypeVar("T")


class Recent(Generic[T]):
    """The latest few things loaded by key, for things that never change once made (artifacts):
    a key's value stays true, so only memory bounds how many are kept."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._kept: collections.OrderedDict[str, T] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, load: Callable[[], T]) -> T:
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._kept[key]
        value = load()  # outside the lock: a slow load holds up no other key
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return value


@dataclasses.dataclass(eq=False)
class ServerState:
    metadata: MetadataStore
    artifacts: ArtifactStore
    config: ServerConfig
    feed: ChangeFeed
    workspace: Workspace
    team: TeamStore
    identities: Identities
    relaunches: list[Relaunch] = dataclasses.field(default_factory=list)
    _pipelines: collections.OrderedDict[str, tuple[tuple[int, dt.datetime | None], list[RunRecord]]] = (
        dataclasses.field(default_factory=collections.OrderedDict)
    )
    _values: Recent[Any] = dataclasses.field(default_factory=lambda: Recent(VALUE_CACHE))
    # Tables being paged through (`/api/v1/artifacts/{id}/rows`), and their sorted row orders.
    frames: Recent[Any] = dataclasses.field(default_factory=lambda: Recent(FRAME_CACHE))
    row_orders: Recent[Any] = dataclasses.field(default_factory=lambda: Recent(FRAME_CACHE))
    _records: Recent[ArtifactRecord] = dataclasses.field(default_factory=lambda: Recent(RECORD_CACHE))
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def artifact_record(self, artifact_id: str) -> ArtifactRecord | None:
        """An artifact's record, or None while none is recorded (a record never changes once made,
        so it is kept; a miss is asked again next time)."""
        try:
            return self._records.get(artifact_id, lambda: self.metadata.get_artifact(artifact_id))
        except ArtifactNotFoundError:
            return None

    def value(self, artifact_id: str) -> Any:
        """An artifact's value (datasets, reports, batches of inputs), kept while it is among
        the latest few asked for: artifacts never change, so pages of one dataset load it once."""
        return self._values.get(artifact_id, lambda: self.workspace.get(artifact_id))

    def pipeline_runs(self, root_id: str) -> list[RunRecord]:
        """Every run of one pipeline, cached until the live feed sees one of them change."""
        version = (self.feed.epoch, self.feed.versions.get(root_id))
        with self._lock:
            cached = self._pipelines.get(root_id)
            if cached is not None and cached[0] == version and not _unfinished(cached[1], version[1]):
                self._pipelines.move_to_end(root_id)
                return cached[1]
        runs = self.metadata.pipeline_outline(root_id)
        with self._lock:
            self._pipelines[root_id] = (version, runs)
            while len(self._pipelines) > PIPELINE_CACHE:
                self._pipelines.popitem(last=False)
        return runs

    def reap(self) -> None:
        """Forget finished rerun workers (so none stays a zombie)."""
        self.relaunches = [r for r in self.relaunches if r.process.poll() is None]


def _unfinished(runs: list[RunRecord], version: dt.datetime | None) -> bool:
    # Without a version the feed has not seen this pipeline change since the server started: only
    # trust the cache if the pipeline had ended by then.
    return version is None and any(not r.state.is_terminal for r in runs)


def server_state(request: Request) -> ServerState:
    return cast(ServerState, request.app.state.loopline)


def live_page(*kinds: RecordKind) -> Callable[[Request], LivePage]:
    """A dependency of a page that shows records of `kinds` and refreshes when they change. It
    reads their revision before the page reads the records, so no change in between is missed."""
    names = tuple(kind.value for kind in kinds)

    def dependency(request: Request) -> LivePage:
        return LivePage(names, records_revision(server_state(request).workspace.revisions(), names))

    return dependency
