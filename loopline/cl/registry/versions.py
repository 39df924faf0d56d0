"""Registered model versions: immutable, with lineage; looked up by version, alias or name.

    version = models.register("digits", model, dataset=train, metrics={"accuracy": 0.97})
    report = regression_test(model, golden, scenarios, baseline="digits@production")
    models.promote(version, "production", report=report, reason="nightly retrain")
    production = models.load("digits@production")

References: "digits@production" (an alias), "digits@3" (a version), "digits" (the latest).
Moving an alias (`promote`) is in `registry/promotion.py`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopline.cl.datasets.dataset import Dataset, parse_ref
from loopline.cl.store.errors import DatasetNotFoundError, ModelNotFoundError
from loopline.cl.store.provenance import current_commit, current_run_id, current_user
from loopline.cl.store.records import AliasMove, ModelVersion
from loopline.cl.store.workspace import resolve
from loopline.core.records import utcnow
from loopline.engine.launch import git_info
from loopline.errors import RunNotFoundError, UsageError

if TYPE_CHECKING:
    from loopline.cl.store.protocol import CLStore
    from loopline.cl.store.workspace import Workspace


def parse_model_ref(ref: str) -> tuple[str, int | str | None]:
    """`"digits@production"` -> ("digits", "production"); `"digits@3"` -> ("digits", 3)."""
    if not isinstance(ref, str):
        raise UsageError(f"a model reference is a string like 'digits@production', got {ref!r}")
    name, sep, selector = ref.partition("@")
    if not name or (sep and not selector) or "@" in selector:
        raise UsageError(f"{ref!r} is not a model reference: use NAME, NAME@VERSION or NAME@ALIAS")
    if not sep:
        return name, None
    return name, int(selector) if selector.isdigit() else selector


def check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not alias or alias.isdigit() or "@" in alias or alias != alias.strip():
        raise UsageError(f"{alias!r} cannot be an alias: use a word such as 'production' or 'candidate'")
    return alias


def find_version(ref: str, *, workspace: Workspace | None = None) -> ModelVersion | None:
    """The version `ref` names; None when it names an alias that points nowhere yet."""

    store = resolve(workspace).store
    name, selector = parse_model_ref(ref)
    if isinstance(selector, str):
        store.get_model_version(name)  # ModelNotFoundError for an unknown model
        version = store.aliases(name).get(selector)
        return None if version is None else store.get_model_version(name, version)
    return store.get_model_version(name, selector)


def get(ref: str, *, workspace: Workspace | None = None) -> ModelVersion:
    """The registered version `ref` names (ModelNotFoundError if none)."""

    found = find_version(ref, workspace=workspace)
    if found is None:
        name, _ = parse_model_ref(ref)
        aliases = resolve(workspace).store.aliases(name)
        known = ", ".join(f"{a} -> {v}" for a, v in aliases.items()) or "none yet"
        raise ModelNotFoundError(
            f"{ref} points at no version (aliases of {name}: {known}); promote one first"
        )
    return found


def load(ref: str | ModelVersion, *, workspace: Workspace | None = None) -> Any:
    """The model object a reference names: `models.load("digits@production")`."""
    version = ref if isinstance(ref, ModelVersion) else get(ref, workspace=workspace)
    return load_version(version, workspace=workspace)


def load_version(version: ModelVersion, *, workspace: Workspace | None = None) -> Any:
    return resolve(workspace).get(version.artifact_id)


def register(
    name: str,
    model: Any,
    *,
    dataset: Dataset | str | None = None,
    metrics: Mapping[str, float] | None = None,
    training_run: str | None = None,
    code_version: str | None = None,
    description: str = "",
    workspace: Workspace | None = None,
) -> ModelVersion:
    """Record `model` as the next version of `name`, with its lineage.

    - `dataset`: the training dataset: a saved Dataset, "name@version", or "name" (pinned to
      its latest version now, so the lineage does not move as the dataset grows).
    - `metrics`: names to numbers, e.g. {"accuracy": 0.97}.
    - `training_run`: the id of the run that trained it (default: the run calling `register`).
    - `code_version`: the git commit it was trained from (default: the pipeline's commit, or
      the current folder's; "-dirty" is appended for uncommitted changes).
    """

    if not isinstance(name, str) or not name or "@" in name:
        raise UsageError(f"models.register(name=...) must be a name without '@', got {name!r}")
    if isinstance(model, (str, ModelVersion)):
        raise UsageError("models.register(model=...) takes the model object itself, not a reference")
    ws = resolve(workspace)
    dataset_ref = None if dataset is None else _pinned_dataset(dataset, ws)
    values = _metric_values(metrics)
    if training_run is not None:
        _check_run(training_run, ws)
    record = ws.put(model)
    run_id = training_run or current_run_id()
    return ws.store.add_model_version(
        ModelVersion(
            name=name,
            version=0,
            artifact_id=record.id,
            type_name=record.type_name,
            created_at=utcnow(),
            created_by=current_user(),
            training_run_id=run_id,
            dataset=dataset_ref,
            code_version=code_version or _code_version(ws, run_id),
            metrics=values,
            description=description,
        )
    )


def _pinned_dataset(dataset: Dataset | str, ws: Workspace) -> str:
    """The saved version `dataset` names, as "name@version" (a bare name: its latest version)."""

    if isinstance(dataset, Dataset):
        if dataset.version is None:
            raise UsageError(f"models.register(dataset=...): {dataset.ref} is not saved; save() it first")
        return dataset.ref
    name, version = parse_ref(dataset, "dataset")
    try:
        return ws.store.get_dataset_version(name, version).ref
    except DatasetNotFoundError as error:
        raise DatasetNotFoundError(f"models.register(dataset={dataset!r}): {error}") from None


def _metric_values(metrics: Mapping[str, float] | None) -> dict[str, float]:
    if metrics is None:
        return {}
    valid = isinstance(metrics, Mapping) and all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in metrics.values()
    )
    if not valid:
        raise UsageError(
            f"models.register(metrics=...) must map metric names to finite numbers, e.g. "
            f"{{'accuracy': 0.97}}, got {metrics!r}"
        )
    return {str(k): float(v) for k, v in metrics.items()}


def _check_run(run_id: str, ws: Workspace) -> None:
    try:
        ws.metadata.get_run(run_id)
    except RunNotFoundError:
        raise RunNotFoundError(
            f"models.register(training_run={run_id!r}): no run with this id is recorded; give the id "
            "of the run that trained the model (loopline runs ls), or leave it out to record the "
            "run calling register"
        ) from None


def _code_version(ws: Workspace, run_id: str | None) -> str | None:
    git = None
    if run_id is not None:
        try:
            git = ws.metadata.get_run(ws.metadata.get_run(run_id).root_id).git
        except RunNotFoundError:
            git = None
    if git is None:
        git = git_info(Path.cwd())
        if git is None:
            return current_commit()
    if git.commit is None:
        return None
    return f"{git.commit}-dirty" if git.dirty else git.commit


def versions(name: str, *, workspace: Workspace | None = None) -> list[ModelVersion]:
    """Every version of the model, oldest first (ModelNotFoundError if none is registered)."""
    return _registered(name, workspace).model_versions(name)


def aliases(name: str, *, workspace: Workspace | None = None) -> dict[str, int]:
    """Alias -> version number."""

    return resolve(workspace).store.aliases(name)


def history(name: str, alias: str | None = None, *, workspace: Workspace | None = None) -> list[AliasMove]:
    """Every move of the model's aliases (or of one alias), oldest first (ModelNotFoundError if
    the model is not registered)."""
    return _registered(name, workspace).alias_history(name, alias)


def _registered(name: str, workspace: Workspace | None) -> CLStore:
    """The store, once it says `name` is a registered model (ModelNotFoundError otherwise)."""

    store = resolve(workspace).store
    store.get_model_version(name)
    return store
