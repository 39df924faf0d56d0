"""`loopline doctor`: one line per check (store, integrity, migrations, artifacts, hashes), ok or
FAILED with the fix, exit 1 when any fails; it changes nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import loopline
from loopline.cli.main import cli
from loopline.storage.sql.head import HEAD_REVISION


@loopline.func
def big() -> bytes:
    return b"x" * 100_000  # over the small-value size: a file of its own


def doctor(*args: str) -> tuple[int, dict[str, str]]:
    """The exit code and, per check, its line after the name."""
    result = CliRunner().invoke(cli, ["doctor", *args], catch_exceptions=False)
    lines = result.output.splitlines()
    return result.exit_code, {line.split()[0]: " ".join(line.split()[1:]) for line in lines}


@pytest.fixture
def tracked(runner: loopline.LocalRunner) -> loopline.LocalRunner:
    runner.run(big())
    return runner


def test_a_healthy_store_passes_every_check(tracked: loopline.LocalRunner, home: Path) -> None:
    code, checks = doctor()
    assert code == 0
    assert checks == {
        "store": f"ok {home / 'loopline.db'} answers",
        "integrity": "ok SQLite's integrity_check finds no damage",
        "migrations": f"ok at the head revision {HEAD_REVISION}",
        "artifacts": f"ok {home / 'artifacts'} exists and is writable",
        "hashes": "ok 1 sampled artifact(s) match their hash",
        "references": "ok 1 sampled artifact(s) the records refer to are there",
    }


def test_an_empty_home_is_fine_and_left_empty(home: Path) -> None:
    code, checks = doctor()
    assert code == 0 and checks["store"].startswith("ok no database at")
    assert not home.exists()


def test_records_that_refer_to_a_missing_artifact_fail_as_after_a_restore_of_an_older_copy(
    tracked: loopline.LocalRunner, home: Path
) -> None:
    (blob,) = [p for p in (home / "artifacts").glob("??/*") if len(p.name) == 64]
    blob.unlink()
    code, checks = doctor()
    assert code == 1
    assert checks["references"].startswith("FAILED 1 of 1 sampled artifacts the records refer to are not in")
    assert blob.name in checks["references"] and "restore the artifact copy" in checks["references"]


def test_a_corrupt_artifact_fails_the_hash_check(tracked: loopline.LocalRunner, home: Path) -> None:
    (blob,) = [p for p in (home / "artifacts").glob("??/*") if len(p.name) == 64]
    blob.write_bytes(blob.read_bytes()[:-1] + b"!")
    code, checks = doctor()
    assert code == 1
    assert checks["hashes"].startswith(f"FAILED artifact {blob.name} is corrupted")
    assert checks["store"].startswith("ok")


def test_a_corrupt_database_fails_saying_how_to_restore_it(tracked: loopline.LocalRunner, home: Path) -> None:
    database = home / "loopline.db"
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(database, "r+b") as file:
        file.write(b"garbage" * 16)
    code, checks = doctor()
    assert code == 1
    assert checks["store"].startswith(f"FAILED the Loopline database {database} is corrupt")
    assert "restore it from a backup" in checks["store"]


def test_damage_inside_the_database_fails_the_integrity_check(
    tracked: loopline.LocalRunner, home: Path
) -> None:
    database = home / "loopline.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE filler(x)")
        connection.executemany("INSERT INTO filler VALUES (?)", [("y" * 500,)] * 200)
        connection.execute("CREATE INDEX filler_x ON filler(x)")
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (page,) = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = 'filler_x'").fetchone()
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    with open(database, "r+b") as file:  # the index's root page: the tables still read
        file.seek((page - 1) * page_size + 8)
        file.write(b"\x00\xff" * 40)
    code, checks = doctor()
    assert code == 1 and checks["store"].startswith("ok")
    assert checks["integrity"].startswith(
        f"FAILED the Loopline database {database} is corrupt (On tree page {page}"
    )
    assert "restore it from a backup" in checks["integrity"]


def set_revision(home: Path, revision: str) -> None:
    with sqlite3.connect(home / "loopline.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def test_a_store_behind_the_migrations_is_fine_and_not_migrated(
    tracked: loopline.LocalRunner, home: Path
) -> None:
    set_revision(home, "0001")
    code, checks = doctor()
    assert code == 0
    assert (
        checks["migrations"]
        == f"ok at revision 0001, behind {HEAD_REVISION}: Loopline migrates it when it next opens it"
    )
    with sqlite3.connect(home / "loopline.db") as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]


def test_a_store_from_a_newer_loopline_fails(tracked: loopline.LocalRunner, home: Path) -> None:
    set_revision(home, "9999")
    code, checks = doctor()
    assert code == 1
    assert checks["migrations"].startswith(
        "FAILED the database is at revision 9999, which this Loopline does not know"
    )
    assert "Upgrade Loopline" in checks["migrations"]


def test_an_unreachable_database_fails_without_its_password(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPLINE_DATABASE_URL", "postgresql://u:s3cret-pw@127.0.0.1:1/db")
    code, checks = doctor()
    assert code == 1
    assert checks["store"].startswith(
        "FAILED cannot connect to the database postgresql://u:***@127.0.0.1:1/db"
    )
    assert "s3cret-pw" not in str(checks)


def test_a_home_that_is_a_file_fails_both_checks(home: Path) -> None:
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text("")
    code, checks = doctor()
    assert code == 1
    assert checks["store"].startswith(f"FAILED LOOPLINE_HOME is {home}, which is a file")
    assert checks["artifacts"].startswith(f"FAILED no folder {home / 'artifacts'}, and it cannot be made")
