"""SQL stores filter runs exactly as `run_matches` (the in-memory reference) defines it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopline.core.records import RunFilter, RunRecord, RunState, WriteBatch
from loopline.storage.memory import run_matches
from loopline.storage.sql.store import SqlMetadataStore
from tests.storage.metadata_conformance import at, make_run

# Text that trips naive SQL: LIKE wildcards, the escape character, JSON's quote and backslash.
ALPHABET = 'abuAB0 é%_/"\\,[]'
TAGS = ["gpu", "GPU", "équipe", 'q"uote', "back\\slash", "a b", "100%"]
FUNCTIONS = ["pkg.a", "pkg.b"]

texts = st.text(alphabet=ALPHABET, max_size=4)


@st.composite
def run_sets(draw: st.DrawFn) -> list[RunRecord]:
    runs: list[RunRecord] = []
    for i in range(draw(st.integers(0, 8))):
        parent = draw(st.none() | st.sampled_from([r.id for r in runs])) if runs else None
        runs.append(
            make_run(
                f"r{i}",
                root_id=parent or f"r{i}",
                parent_id=parent,
                name=draw(texts),
                function=draw(st.sampled_from(FUNCTIONS)),
                tags=tuple(draw(st.lists(st.sampled_from(TAGS), max_size=3, unique=True))),
                state=draw(st.sampled_from(list(RunState))),
                created_at=at(draw(st.integers(0, 3))),
            )
        )
    return runs


minutes = st.none() | st.integers(0, 3).map(at)
filters = st.builds(
    RunFilter,
    states=st.none() | st.lists(st.sampled_from(list(RunState)), max_size=3),
    name=st.none() | texts,
    function=st.none() | st.sampled_from(FUNCTIONS),
    tags=st.lists(st.sampled_from(TAGS), max_size=2),
    root_only=st.booleans(),
    created_after=minutes,
    created_before=minutes,
    search=st.none() | texts,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[SqlMetadataStore]:
    store = SqlMetadataStore(request.getfixturevalue(f"{request.param}_url"))
    yield store
    store.close()


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=run_sets(), queries=st.lists(filters, min_size=1, max_size=5))
def test_sql_filters_agree_with_the_reference(
    store: SqlMetadataStore, runs: list[RunRecord], queries: list[RunFilter]
) -> None:
    store.delete_runs([run.id for run in store.list_runs(limit=1000).runs])  # one store for all examples
    store.write(WriteBatch(runs=runs))
    newest_first = sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)
    for query in queries:
        expected = [run.id for run in newest_first if run_matches(run, query)]
        assert [run.id for run in store.list_runs(query, limit=1000).runs] == expected, query
        assert store.count_runs(query) == len(expected)
