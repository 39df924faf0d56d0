"""Examples shown as what they are, and the label keys of the labeling page (no server needed)."""

from __future__ import annotations

import numpy as np

import loopline
from loopline.core.image import Image, encode_png
from loopline.server.pages.labeling import label_options
from loopline.server.rendering import exhibits


def test_a_flat_row_with_an_image_hint_is_a_picture() -> None:
    shown = exhibits.show(np.arange(64.0), "image 8x8")
    assert shown.kind == "image" and shown.image.startswith("data:image/png;base64,")
    assert (shown.width, shown.height, shown.caption) == (72, 72, "8x8")


def test_large_pictures_are_encoded_smaller() -> None:
    shown = exhibits.show(np.zeros((1024, 512)), "image")
    assert shown.caption == "256x128" and (shown.width, shown.height) == (90, 180)  # rows x columns


def test_encoded_images_keep_their_bytes_and_svg_is_never_inlined() -> None:
    png = encode_png(np.zeros((4, 4), dtype=np.uint8))
    assert exhibits.show(Image.from_bytes(png)).image.startswith("data:image/png;base64,")
    assert exhibits.show(b"<svg onload=alert(1)>", "image").kind != "image"


def test_texts_rows_and_arrays() -> None:
    assert exhibits.show("a\nb", "text") == exhibits.Shown("text", text="a\nb")
    row = exhibits.show({"rooms": 3, "city": "Lyon"}, "table")
    assert row.row == (("rooms", "3"), ("city", "Lyon"))
    assert exhibits.show(np.array([1.5, 2.0]), "table").row == (("0", "1.5"), ("1", "2"))
    assert exhibits.show(np.arange(100), "array").text.endswith(", …]")


def test_dataframe_examples_become_rows() -> None:
    import pandas as pd

    data = loopline.Dataset("t", pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), [0, 1], display="table")
    (second,) = exhibits.dataset_examples(data, [1])
    assert second.shown.row == (("a", "2"), ("b", "y")) and second.label == "1"


def test_lineage_columns_with_one_value_per_example_are_counted_not_listed() -> None:
    data = loopline.Dataset(
        "l", np.zeros((30, 1)), lineage={"request_id": [f"r{i}" for i in range(30)], "miner": ["m"] * 30}
    )
    summary = {c.name: c for c in exhibits.lineage_summary(data)}
    assert list(summary) == ["source", "miner", "request_id"]
    assert summary["source"].values == [("import", 30)]
    assert (summary["request_id"].values, summary["request_id"].distinct) == ([], 30)


def test_digits_keep_their_keys_and_other_labels_get_numbers() -> None:
    digits = label_options([3, 7, None, 3])
    assert [(o.value, o.key) for o in digits] == [(d, str(d)) for d in range(10)]
    words = label_options(["cat", "dog", "cat"])
    assert [(o.value, o.key) for o in words] == [("cat", "1"), ("dog", "2")]
