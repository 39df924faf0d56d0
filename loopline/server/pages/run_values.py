"""A run's values as the compare page and the runs list's value filter read them: its inputs'
summaries, its metrics (a pipeline's with its steps'), and conditions such as `lr = 0.01` or
`accuracy > 0.9`, checked while walking the store's pages of runs (a bounded scan)."""

from __future__ import annotations

import collections
import dataclasses
import operator
import re
from collections.abc import Callable
from typing import Any

from loopline.core.records import MetricPoint, RunFilter, RunRecord
from loopline.errors import ArtifactNotFoundError, UsageError
from loopline.storage.base import MetadataStore
from loopline.storage.paging import encode_cursor

SCAN_LIMIT = 5_000  # runs one request of the runs list reads at most to find those a filter keeps
SCAN_PAGE = 250
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_CONDITION = re.compile(r"\s*(?:(inputs?|metrics?)\.)?([A-Za-z_][\w.-]*)\s*(!=|<=|>=|=|<|>)\s*(.*?)\s*")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
HOW = (
    "write NAME OPERATOR VALUE, e.g. lr = 0.01 or accuracy > 0.9 (operators = != < <= > >=; join with 'and')"
)

Value = float | str  # a number (ints, floats and bools compare as numbers) or a value's text


@dataclasses.dataclass(frozen=True)
class Condition:
    """`name op value` over a run's input (first) or metric's last value; `inputs.` or
    `metrics.` in front of the name says which."""

    name: str
    op: str
    value: str
    where: str | None = None  # "input", "metric" or None for either

    def holds(self, found: Value | None) -> bool:
        if found is None:
            return False
        target = _value(self.value)
        if isinstance(found, float) and isinstance(target, float):
            return OPERATORS[self.op](found, target)
        if self.op in ("=", "!="):
            return OPERATORS[self.op](str(found), self.value.strip("'\""))
        return False  # an ordering holds between numbers only


def parse_conditions(text: str) -> list[Condition]:
    """The conditions of a filter such as `lr = 0.01 and accuracy > 0.9`; a UsageError says
    which part cannot be read and how to write it."""
    conditions = []
    for part in _AND.split(text.strip()):
        found = _CONDITION.fullmatch(part)
        if found is None or not found[4]:
            raise UsageError(f"cannot read the filter {part.strip()!r}: {HOW}")
        kind, name, op, value = found.groups()
        conditions.append(Condition(name, op, value, kind.rstrip("s") if kind else None))
    return conditions


def _value(text: str) -> Value:
    bare = text.strip()
    if bare.lower() in ("true", "false"):
        return 1.0 if bare.lower() == "true" else 0.0
    try:
        return float(bare)
    except ValueError:
        return bare.strip("'\"")


def summary_value(summary: Any) -> Value | None:
    """What a condition compares an input's value with: its number, or its text."""
    if not isinstance(summary, dict):
        return None
    value = summary.get("value")
    if summary.get("kind") in ("bool", "int", "float") and isinstance(value, (bool, int, float)):
        return float(value)
    if summary.get("kind") in ("str", "enum") and isinstance(value, str):
        return value
    if summary.get("kind") == "none":
        return "None"
    return None


class RunValues:
    """Reads runs' input summaries and metrics, each artifact once per request."""

    def __init__(self, metadata: MetadataStore) -> None:
        self.metadata = metadata
        self._summaries: dict[str, Any] = {}
        self._metrics: dict[str, dict[str, list[MetricPoint]]] = {}

    def summary(self, artifact_id: str) -> Any:
        if artifact_id not in self._summaries:
            try:
                self._summaries[artifact_id] = self.metadata.get_artifact(artifact_id).summary
            except ArtifactNotFoundError:
                self._summaries[artifact_id] = None
        return self._summaries[artifact_id]

    def metrics(self, run: RunRecord) -> dict[str, list[MetricPoint]]:
        """The run's metrics by name, in the order they were logged. A pipeline's (a root run's)
        include its steps': a name more than one run logged reads `name (step)` for the steps'."""
        if run.id not in self._metrics:
            self._metrics[run.id] = self._read_metrics(run)
        return self._metrics[run.id]

    def _read_metrics(self, run: RunRecord) -> dict[str, list[MetricPoint]]:
        points = (
            self.metadata.read_metrics(root_id=run.id)
            if run.parent_id is None
            else self.metadata.read_metrics(run_id=run.id)
        )
        by_run: dict[tuple[str, str], list[MetricPoint]] = collections.defaultdict(list)
        for point in points:
            by_run[(point.name, point.run_id)].append(point)
        loggers = collections.Counter(name for name, _ in by_run)
        steps = {r.id: r for r in self.metadata.get_runs(sorted({i for _, i in by_run if i != run.id}))}
        step_names = collections.Counter(
            (name, steps[i].name) for name, i in by_run if i != run.id and i in steps
        )
        named: dict[str, list[MetricPoint]] = {}
        for (name, run_id), series in by_run.items():
            label = name
            if loggers[name] > 1 and run_id != run.id:
                step = steps[run_id].name if run_id in steps else run_id[:8]
                label = (
                    f"{name} ({step})" if step_names[(name, step)] <= 1 else f"{name} ({step} {run_id[:8]})"
                )
            named[label] = series
        return named

    def value(self, run: RunRecord, condition: Condition) -> Value | None:
        if condition.where != "metric" and condition.name in run.inputs:
            return summary_value(self.summary(run.inputs[condition.name].artifact_id))
        if condition.where == "input":
            return None
        series = self.metrics(run).get(condition.name)
        return series[-1].value if series else None


@dataclasses.dataclass(frozen=True)
class Scan:
    """The runs a filter kept out of one bounded walk over the store's pages, newest first."""

    runs: list[RunRecord]
    scanned: int  # how many runs were read
    next_cursor: str | None  # where the next page's walk starts; None at the end of the list
    limit_hit: bool  # the walk stopped at SCAN_LIMIT runs before filling the page


def scan(
    metadata: MetadataStore,
    filter: RunFilter,
    conditions: list[Condition],
    *,
    want: int,
    cursor: str | None = None,
    limit: int = SCAN_LIMIT,
    values: RunValues | None = None,
) -> Scan:
    """Up to `want` runs that `filter` lists and every condition holds for, reading at most `limit`
    runs from `cursor` on (`values`: the request's reads, to share with what comes next)."""
    values = values or RunValues(metadata)
    found: list[RunRecord] = []
    scanned = 0
    while True:
        page = metadata.list_runs(filter, limit=min(SCAN_PAGE, limit - scanned), cursor=cursor)
        for i, run in enumerate(page.runs):
            scanned += 1
            if all(c.holds(values.value(run, c)) for c in conditions):
                found.append(run)
                if len(found) == want:
                    last = i == len(page.runs) - 1 and page.next_cursor is None
                    return Scan(
                        found, scanned, None if last else encode_cursor(run.created_at, run.id), False
                    )
        cursor = page.next_cursor
        if cursor is None:
            return Scan(found, scanned, None, False)
        if scanned >= limit:
            return Scan(found, scanned, cursor, True)


SORT_LIMIT = 1_000  # runs a sorted list reads at most (each run's value costs a lookup)
_SORT_KEY = re.compile(r"\s*(-)?\s*(?:(inputs?|metrics?)\.)?([A-Za-z_][\w.-]*)\s*")


def parse_sort(text: str) -> tuple[Condition, bool]:
    """`lr` (ascending) or `-accuracy` (descending) as the value to sort by, and whether
    descending; a UsageError says how to write it."""
    found = _SORT_KEY.fullmatch(text)
    if found is None:
        raise UsageError(
            f"cannot sort by {text.strip()!r}: name an input or a metric, e.g. lr, or -accuracy for the highest first"
        )
    minus, kind, name = found.groups()
    return Condition(name, "=", "", kind.rstrip("s") if kind else None), bool(minus)


def sort_by_value(
    values: RunValues, runs: list[RunRecord], key: Condition, descending: bool
) -> list[RunRecord]:
    """`runs` ordered by the value `key` names: numbers first (by number), then texts, then the
    runs without that value; equal values keep their listed order."""
    numbers: list[tuple[float, RunRecord]] = []
    texts: list[tuple[str, RunRecord]] = []
    missing: list[RunRecord] = []
    for run in runs:
        value = values.value(run, key)
        if isinstance(value, float):
            numbers.append((value, run))
        elif isinstance(value, str):
            texts.append((value, run))
        else:
            missing.append(run)
    numbers.sort(key=lambda pair: pair[0], reverse=descending)
    texts.sort(key=lambda pair: pair[0], reverse=descending)
    return [run for _, run in numbers] + [run for _, run in texts] + missing
