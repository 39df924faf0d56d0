"""The built-in codecs for library types: numpy, pandas, torch, scikit-learn and images."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from loopline.core.image import Image
from loopline.core.serialization import decode, encode

np = pytest.importorskip("numpy")


def roundtrip(value: Any) -> Any:
    return decode(io.BytesIO(encode(value).to_bytes()))


def assert_same_array(result: Any, expected: Any) -> None:
    """Same class, shape, dtype (in native byte order) and memory (so NaN and NaT count too)."""
    assert type(result) is np.ndarray
    assert result.shape == expected.shape and result.dtype == expected.dtype.newbyteorder("=")
    assert result.tobytes() == expected.astype(result.dtype).tobytes()


# -- numpy -------------------------------------------------------------------------------------

DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
    "datetime64[ns]", "datetime64[D]", "timedelta64[s]", "U7", "S3",
]  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (5,), (2, 3, 4)], ids=str)
def test_arrays_of_every_dtype_and_shape_roundtrip(dtype: str, shape: tuple[int, ...]) -> None:
    array = np.arange(int(np.prod(shape))).reshape(shape).astype(dtype)
    assert_same_array(roundtrip(array), array)


@settings(max_examples=60)
@given(hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)))
def test_any_array_roundtrips(array: Any) -> None:
    assert_same_array(roundtrip(array), array)


def test_structured_arrays_roundtrip() -> None:
    array = np.array(
        [(1, 2.5, b"ab"), (3, -1.0, b"c")], dtype=[("id", "<i4"), ("score", ">f8"), ("tag", "S2")]
    )
    result = roundtrip(array)
    assert result.dtype == array.dtype and result.tolist() == array.tolist()


@pytest.mark.parametrize(
    "make",
    [lambda a: a[::2, ::3], lambda a: a.T, lambda a: np.asfortranarray(a)],
    ids=["strided", "transposed", "fortran"],
)
def test_non_contiguous_arrays_roundtrip(make: Any) -> None:
    view = make(np.arange(60.0).reshape(6, 10))
    assert_same_array(roundtrip(view), view)


def test_big_endian_arrays_roundtrip_and_hash_like_little_endian() -> None:
    big = np.arange(5, dtype=">i4")
    assert_same_array(roundtrip(big), big)
    assert encode(big).to_bytes() == encode(big.astype("<i4")).to_bytes()


def test_nan_and_infinities_in_arrays_roundtrip() -> None:
    array = np.array([np.nan, np.inf, -np.inf, -0.0])
    assert_same_array(roundtrip(array), array)


def test_array_bytes_are_written_without_pickle() -> None:
    array = np.arange(1000, dtype=np.int64)
    assert array.tobytes() in encode(array).to_bytes()


def test_object_arrays_roundtrip_through_pickle() -> None:
    array = np.array([{"a": 1}, None, "x"], dtype=object)
    assert roundtrip(array).tolist() == array.tolist()


def test_masked_arrays_keep_their_mask() -> None:
    masked = np.ma.masked_array([1, 2, 3], mask=[False, True, False])
    result = roundtrip(masked)
    assert type(result) is np.ma.MaskedArray and result.mask.tolist() == [False, True, False]


@pytest.mark.parametrize(
    "scalar", [np.float32(1.5), np.int8(-3), np.bool_(True), np.datetime64("2024-01-01")]
)
def test_numpy_scalars_keep_their_type(scalar: Any) -> None:
    result = roundtrip(scalar)
    assert type(result) is type(scalar) and result == scalar


def test_arrays_inside_containers_roundtrip() -> None:
    value = {"x": np.ones((2, 2)), "y": [np.zeros(3, dtype=np.uint8)]}
    result = roundtrip(value)
    assert_same_array(result["x"], value["x"])
    assert_same_array(result["y"][0], value["y"][0])


# -- pandas ------------------------------------------------------------------------------------


def test_dataframes_with_nan_and_mixed_types_roundtrip() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "i": [1, 2, 3],
            "f": [1.5, np.nan, np.inf],
            "s": ["a", None, "c"],
            "o": [{"k": 1}, [2], None],
            "t": pd.to_datetime(["2024-01-01", None, "2024-03-01"]),
            "c": pd.Categorical(["x", "y", "x"]),
        },
        index=pd.Index(["r1", "r2", "r3"], name="row"),
    )
    pd.testing.assert_frame_equal(roundtrip(frame), frame)


def test_series_roundtrip() -> None:
    pd = pytest.importorskip("pandas")
    series = pd.Series([1.0, None, 3.0], name="score", index=pd.date_range("2024-01-01", periods=3))
    pd.testing.assert_series_equal(roundtrip(series), series)


def test_the_same_dataframe_gives_the_same_bytes() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", "y"]})
    assert encode(frame).to_bytes() == encode(frame.copy()).to_bytes()


# -- torch -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "float16", "bfloat16", "int64", "uint8", "bool", "complex64"]
)
def test_tensors_roundtrip(dtype: str) -> None:
    torch = pytest.importorskip("torch")
    tensor = torch.arange(6).reshape(2, 3).to(getattr(torch, dtype))
    result = roundtrip(tensor)
    assert result.dtype == tensor.dtype and torch.equal(result, tensor)


def test_a_tensor_that_needs_grad_is_stored_detached() -> None:
    torch = pytest.importorskip("torch")
    tensor = torch.ones(3, requires_grad=True) * 2
    result = roundtrip(tensor)
    assert torch.equal(result, tensor.detach()) and result.grad_fn is None


def test_a_parameter_stays_a_parameter() -> None:
    torch = pytest.importorskip("torch")
    result = roundtrip(torch.nn.Parameter(torch.ones(2)))
    assert type(result) is torch.nn.Parameter and result.requires_grad


def test_the_same_tensor_gives_the_same_bytes() -> None:
    torch = pytest.importorskip("torch")
    tensor = torch.linspace(0, 1, 50)
    assert encode(tensor).to_bytes() == encode(tensor.clone()).to_bytes()


def test_modules_roundtrip_with_their_weights() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    result = roundtrip(model)
    assert type(result) is torch.nn.Sequential
    for name, weight in model.state_dict().items():
        assert torch.equal(result.state_dict()[name], weight)


# -- scikit-learn ------------------------------------------------------------------------------


def test_fitted_estimators_roundtrip_and_predict_the_same() -> None:
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    features = np.array([[0.0, 1.0], [1.0, 0.0], [0.9, 0.2], [0.1, 0.8]])
    model = LogisticRegression().fit(features, [0, 1, 1, 0])
    result = roundtrip(model)
    assert type(result) is LogisticRegression
    assert result.predict_proba(features).tolist() == model.predict_proba(features).tolist()


# -- images ------------------------------------------------------------------------------------


@given(st.binary(max_size=64), st.sampled_from(["image/png", "image/jpeg"]))
def test_images_roundtrip_with_their_mime_type(data: bytes, mime: str) -> None:
    image = Image(data, mime, 3, 4)
    assert roundtrip(image) == image


def test_images_are_stored_as_raw_bytes() -> None:
    image = Image.from_array(np.zeros((8, 8), dtype=np.uint8))
    assert image.data in encode(image).to_bytes()
