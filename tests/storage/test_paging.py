from __future__ import annotations

import datetime as dt
import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loopline.errors import UsageError
from loopline.storage.paging import CURSOR_PATTERN, decode_cursor, encode_cursor

RUN_IDS = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=64)
MOMENTS = st.datetimes(min_value=dt.datetime(1970, 1, 1), timezones=st.just(dt.UTC))


@given(MOMENTS, RUN_IDS)
def test_a_cursor_decodes_to_what_it_encodes(created_at: dt.datetime, run_id: str) -> None:
    assert decode_cursor(encode_cursor(created_at, run_id)) == (created_at, run_id)


@given(MOMENTS, RUN_IDS)
def test_cursors_are_url_safe_and_match_the_schemas_pattern(created_at: dt.datetime, run_id: str) -> None:
    cursor = encode_cursor(created_at, run_id)
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    assert cursor.replace("-", "").replace("_", "").replace(".", "").isalnum()


@pytest.mark.parametrize("cursor", ["", "!!!", "bm9waXBl", "é", "12.a/b", "-5.abc"])
def test_a_cursor_we_did_not_make_is_a_usage_error_that_says_what_to_pass(cursor: str) -> None:
    with pytest.raises(UsageError, match="next_cursor"):
        decode_cursor(cursor)
