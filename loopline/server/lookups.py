"""Records and artifact values a request names, looked up and checked, so that the API and the
pages answer 404 or 409 the same way when one is missing or is not what it should be."""

from __future__ import annotations

from fastapi import HTTPException

from loopline.cl.datasets.dataset import Dataset
from loopline.cl.regression.report import RegressionReport
from loopline.cl.store.records import DatasetVersion
from loopline.errors import RunNotFoundError, UsageError
from loopline.server.state import ServerState
from loopline.storage.artifacts import check_artifact_id

MAX_VERSION = 2**31


def checked_version(version: int) -> int:
    """A version number the store can look up (a huge one is simply not there)."""
    if not 1 <= version <= MAX_VERSION:
        raise HTTPException(404, f"no version {version}: versions are numbered from 1")
    return version


def load_dataset(state: ServerState, record: DatasetVersion) -> Dataset:
    value = state.value(record.artifact_id)
    if not isinstance(value, Dataset):
        raise HTTPException(409, f"artifact {record.artifact_id} of {record.ref} is not a Dataset")
    return value


def load_report(state: ServerState, report_id: str) -> RegressionReport:
    try:
        check_artifact_id(report_id)
        state.workspace.store.get_report(report_id)
    except UsageError as error:
        raise HTTPException(404, str(error)) from None
    value = state.value(report_id)
    if not isinstance(value, RegressionReport):
        raise HTTPException(409, f"artifact {report_id} is not a RegressionReport")
    return value


def golden_names(state: ServerState) -> set[str]:
    """Datasets some regression report tested against."""
    return {e.golden.partition("@")[0] for e in state.workspace.store.list_reports(limit=500) if e.golden}


def known_runs(state: ServerState, run_ids: list[str | None]) -> set[str]:
    """Which of these runs are in this server's store (others are shown without a link)."""
    known = set()
    for run_id in {r for r in run_ids if r}:
        try:
            state.metadata.get_run(run_id)
            known.add(run_id)
        except RunNotFoundError:
            pass
    return known
