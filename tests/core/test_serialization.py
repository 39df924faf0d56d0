from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import uuid
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loopline.core import serialization
from loopline.core.codecs import install_builtin_codecs
from loopline.core.serialization import CodecRegistry, decode, encode, register_type
from loopline.errors import SerializationError
from tests.core.strategies import Color, Derived, Labeled, Permission, Plain, Point, hashables, same, values


def roundtrip(value: Any, registry: CodecRegistry = serialization.REGISTRY) -> Any:
    return decode(io.BytesIO(encode(value, registry).to_bytes()), registry)


def digest(value: Any) -> str:
    return hashlib.sha256(encode(value).to_bytes()).hexdigest()


@pytest.fixture
def registry() -> CodecRegistry:
    """A registry of our own, so user types registered by a test stay in that test."""
    fresh = CodecRegistry()
    install_builtin_codecs(fresh)
    return fresh


# -- round trips -------------------------------------------------------------------------------


@settings(max_examples=150)
@given(values)
def test_every_supported_value_roundtrips_with_its_type(value: Any) -> None:
    assert same(roundtrip(value), value)


@given(values)
def test_the_same_value_always_gives_the_same_bytes(value: Any) -> None:
    assert encode(value).to_bytes() == encode(value).to_bytes()


@pytest.mark.parametrize(
    "number", [float("nan"), float("inf"), float("-inf"), -0.0, 5e-324, 1.7976931348623157e308]
)
def test_special_floats_roundtrip_exactly(number: float) -> None:
    assert same(roundtrip(number), number)


@pytest.mark.parametrize(
    "number", [2**64, -(2**64), 10**5000, -(10**5000)], ids=["2^64", "-2^64", "1e5000", "-1e5000"]
)
def test_huge_ints_roundtrip(number: int) -> None:
    assert roundtrip(number) == number


@pytest.mark.parametrize(
    "value",
    [(1, (2, 3)), {1, 2}, frozenset({"a"}), {(1, 2): [3]}, [(), set(), frozenset(), {}]],
    ids=["nested tuple", "set", "frozenset", "tuple key", "empty containers"],
)
def test_containers_keep_their_type(value: Any) -> None:
    assert same(roundtrip(value), value)


def test_dict_order_is_kept() -> None:
    assert list(roundtrip({"b": 1, "a": 2})) == ["b", "a"]


@pytest.mark.parametrize("data", [b"", b"\x00\xff" * 1000])
def test_bytes_roundtrip(data: bytes) -> None:
    assert roundtrip(data) == data


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2024, 2, 29, 12, 30, 1, 5, tzinfo=dt.UTC),
        dt.datetime(2024, 1, 1),
        dt.date(1999, 12, 31),
        dt.time(23, 59, 59, 999999),
        dt.timedelta(days=-3, microseconds=7),
        uuid.UUID(int=7),
        Decimal("-1.10"),
        Path("/tmp/a b.txt"),
        PurePosixPath("x/y"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_standard_library_values_roundtrip(value: Any) -> None:
    assert same(roundtrip(value), value)


def test_enum_members_roundtrip_by_name() -> None:
    assert roundtrip(Color.RED) is Color.RED
    assert b'"name":"RED"' in encode(Color.RED).to_bytes()


@pytest.mark.parametrize("flag", [Permission.READ | Permission.WRITE, Permission(0)])
def test_flag_combinations_roundtrip(flag: Permission) -> None:
    assert roundtrip(flag) is flag


def test_nested_dataclasses_roundtrip() -> None:
    value = Labeled([Point(1.0, 2.0)], Color.GREEN, points=(Point(3, 4, "p"),))
    assert same(roundtrip(value), value)


def test_dataclasses_are_stored_field_by_field_not_pickled() -> None:
    assert b'"$dataclass":"tests.core.strategies:Point"' in encode(Point(1, 2)).to_bytes()


def test_attributes_set_after_init_survive() -> None:
    assert roundtrip(Derived(3)).doubled == 6


def test_a_dataclass_defined_in_a_function_roundtrips() -> None:
    @dataclasses.dataclass
    class Local:
        x: int

    assert roundtrip(Local(3)).x == 3


def test_an_enum_defined_in_a_function_roundtrips() -> None:
    Local = enum.Enum("Local", ["A", "B"])
    assert roundtrip(Local.B).name == "B"


def test_a_datetime_subclass_keeps_its_class() -> None:
    pd = pytest.importorskip("pandas")
    stamp = pd.Timestamp("2024-01-01 00:00:00.000000001")
    assert roundtrip(stamp) == stamp and type(roundtrip(stamp)) is pd.Timestamp


def test_other_objects_are_pickled() -> None:
    assert roundtrip(Plain([1, 2])) == Plain([1, 2])


def test_encoded_size_is_the_number_of_bytes() -> None:
    encoded = encode({"a": [b"xyz", 1.5]})
    assert encoded.size == len(encoded.to_bytes())


def test_encoded_type_name_is_the_qualified_class() -> None:
    assert encode(Point(1, 2)).type_name == "tests.core.strategies:Point"


# -- stable bytes (artifact ids) ---------------------------------------------------------------


@given(st.lists(hashables, max_size=8, unique=True), st.randoms())
def test_set_bytes_do_not_depend_on_insertion_order(items: list[Any], random: Any) -> None:
    shuffled = list(items)
    random.shuffle(shuffled)
    assert encode(set(items)).to_bytes() == encode(set(shuffled)).to_bytes()


STABLE_VALUE = """{
    "strings": {"alpha", "beta", "gamma", "delta"},
    "blobs": frozenset({b"one", b"two", b"three", (b"four", "x")}),
    "nested": [Point(1.5, float("nan")), Color.GREEN, (dt.date(2024, 1, 1), None)],
}"""


def test_bytes_are_the_same_in_another_process_with_another_hash_seed() -> None:
    namespace = {"Point": Point, "Color": Color, "dt": dt}
    here = digest(eval(STABLE_VALUE, namespace))
    script = (
        "import datetime as dt, hashlib\n"
        "from loopline.core.serialization import encode\n"
        "from tests.core.strategies import Color, Point\n"
        f"print(hashlib.sha256(encode({STABLE_VALUE}).to_bytes()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    there = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert there.stdout.strip() == here


def test_encoding_plain_values_imports_no_optional_library() -> None:
    script = (
        "import io, sys\n"
        "from loopline.core.serialization import decode, encode\n"
        "decode(io.BytesIO(encode({'a': [1, 2.5, 'x', {3}], 'b': b'raw'}).to_bytes()))\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'torch', 'sklearn') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [threading.Lock(), (i for i in range(3)), {"deep": [1, threading.Lock()]}],
    ids=["lock", "generator", "nested"],
)
def test_unpicklable_values_raise_a_serialization_error_that_says_what_to_do(value: Any) -> None:
    with pytest.raises(SerializationError, match="not picklable.*register_type"):
        encode(value)


def test_serialization_error_is_a_type_error() -> None:
    assert issubclass(SerializationError, TypeError)


def test_a_value_that_contains_itself_is_refused_clearly() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    with pytest.raises(SerializationError, match="contains itself"):
        encode(cycle)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK\x03\x04 not ours", "bad magic"),
        (b"LLA1\xff\x00\x00\x00{}", "truncated"),
        (b"LLA1\x03\x00\x00\x00abc", "not valid JSON"),
        (b'LLA1\x09\x00\x00\x00{"v": 99}', "version 99"),
    ],
    ids=["magic", "truncated", "json", "version"],
)
def test_bytes_that_are_not_an_artifact_raise_a_serialization_error(data: bytes, message: str) -> None:
    with pytest.raises(SerializationError, match=message):
        decode(io.BytesIO(data))


def artifact_with(tree: Any, blobs: list[Any] | None = None) -> io.BytesIO:
    header = json.dumps({"v": 1, "type": "x", "tree": tree, "blobs": blobs or []}).encode()
    return io.BytesIO(b"LLA1" + len(header).to_bytes(4, "little") + header)


def test_an_unknown_tag_suggests_a_newer_version() -> None:
    with pytest.raises(SerializationError, match="newer Loopline"):
        decode(artifact_with({"$future": 1}))


def test_an_unknown_codec_says_to_register_the_type() -> None:
    with pytest.raises(SerializationError, match="'user:x:Y'.*register_type"):
        decode(artifact_with({"$blob": 0}, [{"codec": "user:x:Y", "n": 0, "meta": {}}]))


def test_a_class_that_cannot_be_imported_is_named() -> None:
    with pytest.raises(SerializationError, match="'gone.module:Thing'"):
        decode(artifact_with({"$dataclass": "gone.module:Thing", "fields": {}}))


def test_a_truncated_blob_raises_a_serialization_error() -> None:
    data = encode(b"0123456789").to_bytes()
    with pytest.raises(SerializationError, match="ends early"):
        decode(io.BytesIO(data[:-3]))


# -- user types --------------------------------------------------------------------------------


class Celsius:
    def __init__(self, degrees: float) -> None:
        self.degrees = degrees


def register_celsius(registry: CodecRegistry, **extra: Any) -> None:
    register_type(
        Celsius,
        serialize=lambda c: str(c.degrees).encode(),
        deserialize=lambda data: Celsius(float(data)),
        registry=registry,
        **extra,
    )


def test_a_registered_type_roundtrips_with_its_own_serializer(registry: CodecRegistry) -> None:
    register_celsius(registry)
    assert roundtrip([Celsius(21.5)], registry)[0].degrees == 21.5


def test_a_registered_type_is_stored_with_its_codec(registry: CodecRegistry) -> None:
    register_celsius(registry)
    assert b"user:tests.core.test_serialization:Celsius" in encode(Celsius(1), registry).to_bytes()


def test_a_serializer_that_returns_no_bytes_is_refused(registry: CodecRegistry) -> None:
    register_type(Celsius, serialize=lambda c: c.degrees, deserialize=Celsius, registry=registry)
    with pytest.raises(SerializationError, match="must return bytes"):
        encode(Celsius(1), registry)


def test_a_serializer_that_raises_becomes_a_serialization_error(registry: CodecRegistry) -> None:
    register_type(Celsius, serialize=lambda c: 1 / 0, deserialize=Celsius, registry=registry)
    with pytest.raises(SerializationError, match="Celsius.*division by zero"):
        encode(Celsius(1), registry)


def test_reading_a_registered_type_without_its_codec_says_how_to_fix_it(registry: CodecRegistry) -> None:
    register_celsius(registry)
    data = encode(Celsius(1), registry).to_bytes()
    with pytest.raises(SerializationError, match="register_type"):
        decode(io.BytesIO(data))  # the global registry does not know Celsius
