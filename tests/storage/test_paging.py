from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopline.errors import UsageError
from loopline.storage.paging import decode_cursor, encode_cursor


@given(st.datetimes(timezones=st.just(dt.UTC)), st.text())
def test_a_cursor_decodes_to_what_it_encodes(created_at: dt.datetime, run_id: str) -> None:
    assert decode_cursor(encode_cursor(created_at, run_id)) == (created_at, run_id)


def test_cursors_are_url_safe() -> None:
    cursor = encode_cursor(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), "a/b+c?d")
    assert cursor.replace("-", "").replace("_", "").isalnum()


@pytest.mark.parametrize("cursor", ["", "!!!", "bm9waXBl", "é"])
def test_a_cursor_we_did_not_make_is_a_usage_error_that_says_what_to_pass(cursor: str) -> None:
    with pytest.raises(UsageError, match="next_cursor"):
        decode_cursor(cursor)
