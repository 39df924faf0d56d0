from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given

from loopline.core import summaries
from loopline.core.codecs import install_builtin_codecs
from loopline.core.image import Image
from loopline.core.serialization import CodecRegistry, register_type
from loopline.core.summaries import summarize
from tests.core.strategies import Color, Point, values

np = pytest.importorskip("numpy")


def as_json(summary: dict[str, Any]) -> str:
    """The summary as the store writes it: strict JSON, no NaN."""
    return json.dumps(summary, allow_nan=False)


@given(values)
def test_every_summary_is_strict_json(value: Any) -> None:
    as_json(summarize(value))


# -- kinds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {"kind": "none"}),
        (True, {"kind": "bool", "value": True}),
        (3, {"kind": "int", "value": 3}),
        (2**60, {"kind": "int", "value": str(2**60)}),
        (1.5, {"kind": "float", "value": 1.5}),
        (float("nan"), {"kind": "float", "value": "nan"}),
        (float("-inf"), {"kind": "float", "value": "-inf"}),
        ("hi", {"kind": "str", "value": "hi", "length": 2}),
        (b"\x00\x01", {"kind": "bytes", "length": 2, "preview": "0001"}),
        (dt.date(2024, 5, 1), {"kind": "datetime", "value": "2024-05-01"}),
        (Color.RED, {"kind": "enum", "type": "tests.core.strategies:Color", "name": "RED", "value": "'red'"}),
    ],
    ids=lambda v: type(v).__name__,
)
def test_scalar_summaries(value: Any, expected: dict[str, Any]) -> None:
    assert summarize(value) == expected


@pytest.mark.parametrize(
    "container", [[1, 2], (1, 2), {1, 2}, frozenset({1, 2})], ids=lambda v: type(v).__name__
)
def test_containers_say_their_kind_length_and_items(container: Any) -> None:
    summary = summarize(container)
    assert summary["kind"] == type(container).__name__ and summary["length"] == 2
    assert [item["value"] for item in summary["items"]] == [1, 2]


def test_dict_items_are_key_summary_pairs() -> None:
    assert summarize({"a": 1, 2: "b"})["items"] == [["a", {"kind": "int", "value": 1}], ["2", summarize("b")]]


def test_dataclass_summaries_list_their_fields() -> None:
    summary = summarize(Point(1.0, 2.0, "p"))
    assert summary["kind"] == "dataclass" and summary["type"] == "tests.core.strategies:Point"
    assert summary["fields"]["label"] == {"kind": "str", "value": "p", "length": 1}


def test_unknown_objects_show_their_repr() -> None:
    summary = summarize(object())
    assert summary["kind"] == "object" and summary["repr"].startswith("<object object")


def test_a_broken_repr_does_not_break_the_summary() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert summarize(Broken())["repr"].endswith(".Broken>")


# -- bounded size ------------------------------------------------------------------------------


def test_long_strings_are_cut_but_keep_their_length() -> None:
    summary = summarize("x" * 1_000_000)
    assert len(summary["value"]) == summaries.MAX_TEXT and summary["length"] == 1_000_000


def test_long_lists_show_the_first_items_and_their_real_length() -> None:
    summary = summarize(list(range(10_000)))
    assert summary["length"] == 10_000 and len(summary["items"]) == summaries.MAX_ITEMS


def test_long_dict_keys_are_cut() -> None:
    [[key, _]] = summarize({"k" * 10_000: 1})["items"]
    assert len(key) == summaries.MAX_KEY


def test_deeply_nested_containers_stay_small() -> None:
    nested = [[["x" * 10_000] * 50] * 50] * 50
    assert len(as_json(summarize(nested))) < 500_000


def test_deep_nesting_stops_at_a_repr() -> None:
    deep: Any = 1
    for _ in range(20):
        deep = [deep]
    assert '"kind": "object"' in as_json(summarize(deep))


def test_many_nested_images_keep_only_what_fits() -> None:
    noise = np.random.default_rng(0).integers(0, 256, size=(400, 400, 3), dtype=np.uint8)
    summary = summarize([Image.from_array(noise)] * 20)
    assert len(as_json(summary)) < 3 * summaries.MAX_NESTED_DETAIL
    assert summary["items"][-1]["truncated"] is True


# -- library types -----------------------------------------------------------------------------


def test_array_summaries_have_shape_dtype_stats_and_values() -> None:
    summary = summarize(np.array([[1.0, np.nan], [3.0, np.inf]]))
    assert summary["kind"] == "ndarray" and summary["shape"] == [2, 2] and summary["dtype"] == "float64"
    assert summary["stats"] == {"min": 1.0, "max": 3.0, "mean": 2.0, "std": 1.0, "nan_count": 1}
    assert summary["values"] == [[1.0, "nan"], [3.0, "inf"]]


def test_large_arrays_have_sampled_stats_and_no_values() -> None:
    summary = summarize(np.zeros(summaries.FULL_STATS_LIMIT + 1, dtype=np.uint8))
    assert summary["stats_sampled"] is True and "values" not in summary


def test_image_like_arrays_carry_a_png_preview() -> None:
    summary = summarize(np.zeros((16, 16, 3), dtype=np.uint8))
    assert summary["image"].startswith("data:image/png;base64,")


def test_array_summaries_of_odd_dtypes_are_json() -> None:
    for array in [
        np.array(["a" * 1000]),
        np.array([1 + 2j]),
        np.array(["2024-01-01"], dtype="M8[D]"),
        np.array(3),
    ]:
        assert as_json(summarize(array))


def test_dataframe_summaries_have_the_head_and_shape() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": range(500), "b": [None, "x"] * 250, "c": [np.nan] * 500})
    summary = summarize(frame)
    assert summary["kind"] == "dataframe" and summary["shape"] == [500, 3] and summary["truncated"] is True
    assert len(summary["rows"]) == summaries.MAX_TABLE_ROWS and summary["rows"][0][2] == "nan"


def test_dataframe_summaries_have_column_stats_over_the_whole_frame() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "n": [float(i) for i in range(300)],
            "gap": [np.nan if i % 3 == 0 else 2.0 for i in range(300)],
            "word": ["a" if i < 200 else "b" for i in range(299)] + [None],
        }
    )
    n, gap, word = summarize(frame)["column_stats"]
    assert n == {"dtype": "float64", "missing": 0, "min": 0.0, "max": 299.0, "mean": 149.5}
    assert gap["missing"] == 100 and gap["mean"] == 2.0
    assert {k: v for k, v in word.items() if k != "dtype"} == {
        "missing": 1,
        "distinct": 2,
        "top": "a",
        "top_count": 200,
    }


def test_column_stats_of_odd_columns_are_json() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-01-01", None]),
            "lists": [[1], [1]],
            "flag": [True, False],
            "empty": [np.nan, np.nan],
            "nullable": pd.array([1, None], dtype="Int64"),
        }
    )
    when, lists, flag, empty, nullable = summarize(frame)["column_stats"]
    assert when["min"] == when["max"] == "2024-01-01 00:00:00" and when["missing"] == 1
    assert lists["distinct"] == 1 and lists["top"] in ([1], "[1]")  # as pandas counts lists
    assert flag["distinct"] == 2
    assert empty["min"] is None and empty["missing"] == 2
    assert nullable["mean"] == 1.0 and nullable["missing"] == 1
    as_json(summarize(frame))


def test_column_stats_of_a_huge_frame_are_sampled() -> None:
    pd = pytest.importorskip("pandas")
    summary = summarize(pd.DataFrame({"a": np.arange(summaries.FULL_STATS_LIMIT * 2), "b": 0}))
    assert summary["stats_sampled"] is True
    assert summary["stats_rows"] == summaries.FULL_STATS_LIMIT // 2
    assert summary["column_stats"][0]["min"] == 0.0


def test_column_stats_of_a_small_frame_are_not_sampled() -> None:
    pd = pytest.importorskip("pandas")
    assert "stats_sampled" not in summarize(pd.DataFrame({"a": [1, 2]}))


def test_wide_dataframes_show_the_first_columns() -> None:
    pd = pytest.importorskip("pandas")
    summary = summarize(pd.DataFrame(np.zeros((2, 5_000))))
    assert len(summary["columns"]) == summaries.MAX_TABLE_COLUMNS and summary["shape"] == [2, 5_000]


def test_series_summaries() -> None:
    pd = pytest.importorskip("pandas")
    summary = summarize(pd.Series([1, 2], name="n"))
    assert summary["kind"] == "series" and summary["columns"] == ["n"]


def test_tensor_summaries() -> None:
    torch = pytest.importorskip("torch")
    summary = summarize(torch.ones(2, 3, dtype=torch.bfloat16))
    assert summary["kind"] == "tensor" and summary["shape"] == [2, 3] and summary["dtype"] == "torch.bfloat16"


def test_module_summaries_count_parameters() -> None:
    torch = pytest.importorskip("torch")
    summary = summarize(torch.nn.Linear(3, 2))
    assert summary["kind"] == "torch_module" and summary["parameters"] == 8


def test_estimator_summaries_show_params_and_whether_fitted() -> None:
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=0.5)
    assert summarize(model)["fitted"] is False and summarize(model)["params"]["C"] == 0.5
    assert summarize(model.fit([[0.0], [1.0]], [0, 1]))["fitted"] is True


def test_image_summaries_inline_the_image() -> None:
    image = Image.from_array(np.zeros((2, 3), dtype=np.uint8))
    summary = summarize(image)
    assert (summary["kind"], summary["width"], summary["height"]) == ("image", 3, 2)
    assert summary["image"].startswith("data:image/png;base64,")


# -- user types --------------------------------------------------------------------------------


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


def celsius_registry(summary: Any) -> CodecRegistry:
    registry = CodecRegistry()
    install_builtin_codecs(registry)
    register_type(Celsius, serialize=lambda c: b"", deserialize=Celsius, summary=summary, registry=registry)
    return registry


def test_a_registered_summary_is_shown_as_custom() -> None:
    registry = celsius_registry(lambda c: {"text": f"{c.degrees} °C"})
    assert summarize(Celsius(20), registry)["text"] == "20 °C"


def test_a_registered_summary_is_made_json() -> None:
    registry = celsius_registry(lambda c: {"value": float("nan"), "array": np.float32(1.5), 3: "x"})
    assert json.loads(as_json(summarize(Celsius(20), registry)))["value"] == "nan"


def test_a_registered_summary_that_raises_gives_an_error_summary() -> None:
    registry = celsius_registry(lambda c: 1 / 0)
    summary = summarize(Celsius(20), registry)
    assert summary["kind"] == "object" and "division by zero" in summary["error"]
