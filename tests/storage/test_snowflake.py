"""`SnowflakeTable`: a typed reference that says what it needs before it can be read."""

from __future__ import annotations

import importlib.util

import pytest

from loopline.errors import UsageError
from loopline.types import SnowflakeTable

CREDENTIALS = {"SNOWFLAKE_USER": "ada", "SNOWFLAKE_PASSWORD": "p@ss", "SNOWFLAKE_ACCOUNT": "acme"}


def test_the_url_comes_from_sematic_settings_in_the_environment() -> None:
    table = SnowflakeTable(database="SALES", table="ORDERS")
    assert table.url(CREDENTIALS) == "snowflake://ada:p%40ss@acme/SALES"


def test_missing_credentials_are_named() -> None:
    with pytest.raises(UsageError, match="SNOWFLAKE_PASSWORD, SNOWFLAKE_ACCOUNT"):
        SnowflakeTable(database="SALES", table="ORDERS").url({"SNOWFLAKE_USER": "ada"})


@pytest.mark.skipif(
    importlib.util.find_spec("snowflake") is not None, reason="snowflake-sqlalchemy is installed"
)
def test_without_the_dialect_it_says_what_to_install() -> None:
    pytest.importorskip("pandas")
    with pytest.raises(UsageError, match="pip install snowflake-sqlalchemy"):
        SnowflakeTable(database="SALES", table="ORDERS").to_df(url="snowflake://ada:x@acme/SALES")
