from __future__ import annotations

import hashlib
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopline.core.hashing import PIECE, StreamHasher, cache_key, digest_chunks, digest_text, pieces

names = st.text(min_size=1, max_size=10)
Call = tuple[str, dict[str, str], str]
input_ids = st.dictionaries(names, st.text(alphabet="0123456789abcdef", min_size=1, max_size=64), max_size=5)


@given(st.lists(st.binary(max_size=50), max_size=5))
def test_chunks_hash_like_their_concatenation(chunks: list[bytes]) -> None:
    assert digest_chunks(chunks) == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_digests_are_sha256_hex() -> None:
    assert digest_text("abc") == hashlib.sha256(b"abc").hexdigest()


def test_the_cache_key_format_is_pinned() -> None:
    """Changing it silently invalidates every user's cache: do it on purpose, with a release note."""
    key = cache_key("mod:train:3f2a", {"epochs": "cd", "data": "ab"}, None)
    assert key == hashlib.sha256(b'["mod:train:3f2a","",[["data","ab"],["epochs","cd"]]]').hexdigest()


@given(st.text(), input_ids, st.none() | st.text(), st.randoms())
def test_the_cache_key_does_not_depend_on_input_order(
    code: str, ids: dict[str, str], namespace: str | None, random: Random
) -> None:
    items = list(ids.items())
    random.shuffle(items)
    assert cache_key(code, dict(items), namespace) == cache_key(code, ids, namespace)


@given(st.tuples(st.text(), input_ids, st.text()), st.tuples(st.text(), input_ids, st.text()))
def test_different_calls_get_different_keys(a: Call, b: Call) -> None:
    if a != b:
        assert cache_key(*a) != cache_key(*b)


def test_a_namespace_cannot_forge_another_calls_key() -> None:
    assert cache_key("code", {"a": "1"}, "ns") != cache_key("code", {}, "ns\na=1")


def test_no_namespace_is_the_empty_namespace() -> None:
    assert cache_key("code", {}, None) == cache_key("code", {}, "")


@pytest.mark.parametrize("sizes", [[], [10], [3 << 20], [1, 9 << 20, 5, 2 << 20]])
def test_a_stream_hasher_gives_the_sha256_of_the_pieces_in_order(sizes: list[int]) -> None:
    chunks = [bytes([i % 251]) * size for i, size in enumerate(sizes)]
    hasher = StreamHasher()
    for piece in pieces(chunks):
        hasher.update(piece)
    assert hasher.hexdigest() == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_pieces_cut_large_chunks_without_copying() -> None:
    chunk = bytearray(PIECE * 2 + 1)
    cut = list(pieces([chunk]))
    assert [p.nbytes for p in cut] == [PIECE, PIECE, 1] and all(p.obj is chunk for p in cut)
