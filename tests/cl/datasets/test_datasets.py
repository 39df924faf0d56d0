"""Datasets: immutable versions, stable example ids, append/remove/diff, lineage, tags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import loopline
from loopline import Dataset
from loopline.cl.datasets.dataset import parse_display
from loopline.cl.store.errors import DatasetConflictError, DatasetNotFoundError
from loopline.cl.store.workspace import Workspace
from loopline.errors import UsageError


@pytest.fixture
def ws() -> Workspace:
    return Workspace.in_memory()


def digits(n: int = 6, start: int = 0) -> Dataset:
    features = np.arange(start, start + n * 4, dtype=float).reshape(n, 4)
    return Dataset(
        "toy",
        features,
        np.arange(start, start + n) % 3,
        ids=[f"ex{i}" for i in range(start, start + n)],
        tags={"hard": [f"ex{start}"]},
        metadata={"brightness": np.linspace(0, 1, n)},
    )


def test_a_dataset_holds_examples_with_ids_tags_metadata_and_lineage() -> None:
    data = digits()
    assert len(data) == 6 and data.ref == "toy (unsaved)"
    example = data.example("ex0")
    assert example["tags"] == ["hard"] and example["label"] == 0
    assert example["lineage"] == {"source": "import"}
    assert list(example["features"]) == [0.0, 1.0, 2.0, 3.0]


def test_default_ids_come_from_content_and_are_stable() -> None:
    features = np.array([[1, 2], [3, 4], [1, 2]])
    first = Dataset("d", features, [0, 1, 0])
    second = Dataset("other", features.copy(), [0, 1, 0])
    assert first.ids.tolist() == second.ids.tolist()
    assert first.ids[2] == f"{first.ids[0]}-2"  # repeated content stays distinct


def test_features_can_be_dataframes_or_lists() -> None:
    table = Dataset("rows", pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), [0, 1])
    texts = Dataset("texts", ["good", "bad"], ["pos", "neg"], display="text")
    assert table.subset([table.ids[1]]).features["b"].tolist() == ["y"]
    assert texts.append(["meh"], ["neg"], ids=["t3"]).features[-1] == "meh"


def test_saving_records_immutable_versions(ws: Workspace) -> None:
    first = digits().save("import", workspace=ws)
    second = first.append(np.zeros((2, 4)), [1, 1], ids=["new1", "new2"]).save(workspace=ws)
    assert (first.version, second.version, second.parent) == (1, 2, 1)
    assert len(Dataset.load("toy@1", workspace=ws)) == 6
    assert len(Dataset.load("toy", workspace=ws)) == 8
    versions = Dataset.versions("toy", workspace=ws)
    assert [(v.size, v.added, v.removed, v.message) for v in versions] == [(6, 6, 0, "import"), (8, 2, 0, "")]


def test_reading_a_dataset_does_not_change_how_it_is_stored() -> None:
    from loopline.core.serialization import encode

    data = digits()
    before = encode(data).to_bytes()
    data.example("ex3")  # builds the id index
    assert encode(data).to_bytes() == before
    assert b'"$dataclass"' in before  # stored field by field, arrays as raw blobs


def test_saving_the_same_examples_again_returns_the_existing_version(ws: Workspace) -> None:
    assert digits().save(workspace=ws).version == 1
    assert digits().save(workspace=ws).version == 1
    assert len(Dataset.versions("toy", workspace=ws)) == 1


def test_concurrent_changes_to_one_version_are_not_silently_lost(ws: Workspace) -> None:
    first = digits().save(workspace=ws)
    mine = first.append(np.zeros((1, 4)), [0], ids=["mine"])
    theirs = first.append(np.ones((1, 4)), [1], ids=["theirs"]).save(workspace=ws)
    with pytest.raises(DatasetConflictError, match="is at version 2, not 1"):
        mine.save(workspace=ws)
    forced = mine.save(force=True, workspace=ws)
    assert (theirs.version, forced.version, forced.parent) == (2, 3, 1)


def test_remove_and_diff_by_example_id(ws: Workspace) -> None:
    old = digits().save(workspace=ws)
    relabelled = Dataset("toy", old.features, [9, 1, 2, 0, 1, 2], ids=old.ids)
    new = relabelled.remove(["ex5"]).append(np.ones((1, 4)), [0], ids=["ex9"])
    change = new.diff(old)
    assert (change.added, change.removed, change.changed) == (("ex9",), ("ex5",), ("ex0",))
    saved = new.save(workspace=ws)
    assert Dataset.versions("toy", workspace=ws)[-1].changed == 1 and saved.parent == 1


def test_lineage_follows_appended_examples() -> None:
    data = digits().append(
        np.ones((1, 4)), [2], ids=["mined1"], lineage={"source": "labeling", "task": "t-17"}
    )
    assert data.example("mined1")["lineage"] == {"source": "labeling", "task": "t-17"}
    assert data.example("ex1")["lineage"] == {"source": "import", "task": ""}


def test_tags_can_be_given_per_example() -> None:
    data = Dataset("d", np.zeros((3, 1)), ids=["a", "b", "c"], tags=[["hard"], [], ["hard", "dark"]])
    assert data.tagged("hard").tolist() == [True, False, True]
    with pytest.raises(UsageError, match="its tags: dark, hard"):
        data.tagged("blurry")


def test_bad_input_is_explained() -> None:
    with pytest.raises(UsageError, match="one value per example"):
        Dataset("d", np.zeros((3, 2)), [1, 2])
    with pytest.raises(UsageError, match="repeated: a"):
        Dataset("d", np.zeros((2, 2)), ids=["a", "a"])
    with pytest.raises(UsageError, match="exist already"):
        digits().append(np.zeros((1, 4)), [0], ids=["ex1"])
    with pytest.raises(UsageError, match="shape"):
        digits().append(np.zeros((1, 5)), [0], ids=["x"])
    with pytest.raises(UsageError, match="no example with id nope"):
        digits().remove(["nope"])
    with pytest.raises(UsageError, match="not a dataset reference"):
        Dataset.load("toy@latest", workspace=Workspace.in_memory())


@pytest.mark.parametrize(
    "features", [np.zeros((0, 4)), [], pd.DataFrame({"a": []})], ids=["array", "list", "dataframe"]
)
def test_an_empty_dataset_is_a_dataset(features: object, ws: Workspace) -> None:
    empty = Dataset("empty", features, [])
    assert len(empty) == 0 and empty.ids.tolist() == []
    assert len(Dataset.load(empty.save(workspace=ws).ref, workspace=ws)) == 0


def test_an_empty_list_dataset_takes_the_kind_of_what_is_appended() -> None:
    grown = Dataset("d", [], []).append(np.ones((2, 4)), [1, 2], ids=["a", "b"])
    assert grown.features.shape == (2, 4)


def test_a_single_id_means_that_example() -> None:
    data = Dataset("d", np.zeros((3, 1)), ids=["abc", "a", "b"])
    assert data.remove("abc").ids.tolist() == ["a", "b"]
    assert data.subset("b").ids.tolist() == ["b"]


def test_select_takes_positions_in_range_or_a_whole_mask() -> None:
    data = digits()
    assert data.select([-1]).ids.tolist() == ["ex5"] and len(data.select([])) == 0
    with pytest.raises(UsageError, match="position 100 is out of range: toy .* has 6 example"):
        data.select([100])
    with pytest.raises(UsageError, match="one bool per example"):
        data.select([True, False])
    with pytest.raises(UsageError, match="to pick examples by id, use subset"):
        data.select(["ex1"])


def test_a_dataset_reference_is_a_string(ws: Workspace) -> None:
    with pytest.raises(UsageError, match="a dataset reference is a string like 'digits@2'"):
        Dataset.load(3, workspace=ws)  # type: ignore[arg-type]


def test_loading_a_missing_dataset_says_how_to_list_them(ws: Workspace) -> None:
    with pytest.raises(DatasetNotFoundError, match="loopline datasets ls"):
        Dataset.load("nope", workspace=ws)


def test_display_hints_are_checked() -> None:
    assert parse_display("Image 8\N{MULTIPLICATION SIGN}8") == "image 8x8"
    with pytest.raises(UsageError, match="only images take a shape"):
        parse_display("text 3x3")
    with pytest.raises(UsageError, match="use one of"):
        parse_display("video")


def test_datasets_flow_through_funcs_and_save_into_the_home(runner: loopline.LocalRunner, home: Path) -> None:
    @loopline.func
    def make() -> Dataset:
        return digits().save("from a pipeline")

    @loopline.func
    def count(data: Dataset) -> int:
        return len(data)

    assert runner.run(count(make())) == 6
    (version,) = Dataset.versions("toy")
    assert version.run_id is not None and version.message == "from a pipeline"
    assert Dataset.load("toy@1").tagged("hard").sum() == 1
