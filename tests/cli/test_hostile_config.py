"""Broken configuration gets one clear error (what, which file or URL, what to do), a non-zero
exit and no traceback, from the CLI and from the SDK: an unreachable database, a LOOPLINE_HOME
that is a file or cannot be written, a corrupt loopline.db, a pipeline file that does not parse."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import loopline
from loopline.cli.main import cli
from loopline.errors import StoreError, UsageError

UNREACHABLE = "postgresql://loopline:s3cret-pw@127.0.0.1:1/loopline"  # nothing listens on port 1


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def fails_clearly(*args: str) -> str:
    """The command's error line(s), after checking that it failed without a traceback."""
    code, out = invoke(*args)
    assert code == 1, out
    assert out.startswith("Error: ") and "Traceback" not in out
    return out


@pytest.fixture
def unreachable_database(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOPLINE_DATABASE_URL", UNREACHABLE)


@pytest.mark.parametrize("command", [["runs", "ls"], ["clean"], ["server"]])
@pytest.mark.usefixtures("unreachable_database")
def test_an_unreachable_database_is_named_without_its_password(command: list[str]) -> None:
    out = fails_clearly(*command)
    assert "cannot connect to the database postgresql://loopline:***@127.0.0.1:1/loopline" in out
    assert "Connection refused" in out and "Check that the database server runs" in out
    assert "s3cret-pw" not in out


@pytest.mark.usefixtures("unreachable_database")
def test_the_sdk_says_the_same_about_an_unreachable_database() -> None:
    with pytest.raises(StoreError, match=r"cannot connect to the database .*\*\*\*@127\.0\.0\.1:1") as caught:
        loopline.Client()
    assert "s3cret-pw" not in str(caught.value)


def test_a_home_that_is_a_file_is_named(home: Path) -> None:
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text("not a folder")
    out = fails_clearly("runs", "ls")
    assert f"LOOPLINE_HOME is {home}, which is a file, not a folder" in out
    with pytest.raises(StoreError, match="which is a file, not a folder"):
        loopline.LocalRunner(echo=False).stores()


def test_a_home_under_a_file_is_named(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text("not a folder")
    monkeypatch.setenv("LOOPLINE_HOME", str(home / "inside"))
    out = fails_clearly("runs", "ls")
    assert (
        f"cannot create LOOPLINE_HOME {home / 'inside'}: Not a directory (a part of that path is a file)"
        in out
    )


@pytest.fixture
def read_only_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder this process may not write in. Root writes through chmod 555, so as root the
    home is /sys, which the kernel refuses to root too."""
    monkeypatch.delenv("LOOPLINE_DATABASE_URL", raising=False)
    monkeypatch.delenv("LOOPLINE_ARTIFACTS_URL", raising=False)
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        monkeypatch.setenv("LOOPLINE_HOME", str(folder))
        yield folder
        folder.chmod(0o755)
        return
    folder = Path("/sys")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pytest.skip("no folder that root may not write in: /sys is writable here")
    except OSError:
        pass
    monkeypatch.setenv("LOOPLINE_HOME", str(folder))
    yield folder


def test_a_read_only_home_is_named(read_only_home: Path) -> None:
    out = fails_clearly("runs", "ls")
    database = read_only_home / "loopline.db"
    assert (
        f"cannot write to the Loopline database {database}: it or its folder {read_only_home} is read-only"
        in out
    )
    assert "point LOOPLINE_HOME at a folder you can write to" in out
    with pytest.raises(StoreError, match="is read-only"):
        loopline.Client()


def test_an_artifact_folder_that_cannot_be_made_is_named(
    read_only_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPLINE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOOPLINE_ARTIFACTS_URL", str(read_only_home / "artifacts"))
    out = fails_clearly("runs", "ls")
    assert f"cannot use the artifact folder {read_only_home / 'artifacts'}: " in out
    assert "point LOOPLINE_ARTIFACTS_URL (or LOOPLINE_HOME) elsewhere" in out


def corrupt_database(home: Path) -> Path:
    """A store with a run in it, then its first page overwritten with garbage."""
    assert invoke("clean")[0] == 0  # makes the store
    database = home / "loopline.db"
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the first page lives in the file now
    with open(database, "r+b") as file:
        file.write(b"this is no SQLite database" * 8)
    return database


def test_a_corrupt_database_is_named_with_how_to_restore_it(home: Path) -> None:
    database = corrupt_database(home)
    out = fails_clearly("runs", "ls")
    assert f"the Loopline database {database} is corrupt" in out
    assert "restore it from a backup" in out and f"delete {database}-wal" in out


def test_the_sdk_says_the_same_about_a_corrupt_database(home: Path) -> None:
    database = corrupt_database(home)
    with pytest.raises(StoreError, match=f"the Loopline database {database} is corrupt"):
        loopline.LocalRunner(echo=False).stores()


SYNTAX_ERROR = "import loopline\n\n\ndef (\n"


@pytest.mark.parametrize("target", ["{file}", "{file}:pipeline"])
def test_a_syntax_error_is_shown_as_python_shows_it(home: Path, tmp_path: Path, target: str) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text(SYNTAX_ERROR)
    out = fails_clearly("run", target.format(file=flow))
    assert f"Error: {flow} has a syntax error; fix it, then run again." in out
    assert f'File "{flow}", line 4\n    def (\n        ^\nSyntaxError: invalid syntax' in out
    assert "targets.py" not in out


def test_a_syntax_error_in_an_imported_module_names_that_module(home: Path, tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("x = = 1\n")
    flow = tmp_path / "flow.py"
    flow.write_text(
        "import loopline\nimport helpers\n\n@loopline.func\ndef pipeline() -> int:\n    return 1\n"
    )
    out = fails_clearly("run", str(flow))
    assert f"{flow} imports {tmp_path / 'helpers.py'}, which has a syntax error" in out
    assert f'File "{tmp_path / "helpers.py"}", line 1' in out


def test_the_command_itself_prints_no_traceback(home: Path, tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text(SYNTAX_ERROR)
    env = {**os.environ, "LOOPLINE_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-m", "loopline.cli.main", "run", str(flow)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"Error: {flow} has a syntax error")


def test_the_sdk_raises_a_usage_error_for_a_syntax_error(tmp_path: Path) -> None:
    from loopline.sdk.targets import Target

    flow = tmp_path / "flow.py"
    flow.write_text(SYNTAX_ERROR)
    with pytest.raises(UsageError, match="has a syntax error"):
        Target.parse(f"{flow}:pipeline").load()
