"""What a failure of a SQLite store means to its user: a full disk, a read-only or corrupt file.

SQLite names the condition (`SQLITE_FULL`, `SQLITE_READONLY`, `SQLITE_CORRUPT`, ...) but not
the file nor what to do; `explain` turns its error into a `StoreError` that says both, and
leaves any other error as it is. Kept free of SQLAlchemy: the runner's fast path uses it.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import tempfile
from pathlib import Path

from loopline.errors import StoreError


def explain(error: sqlite3.Error, path: str | os.PathLike[str]) -> StoreError | None:
    """A `StoreError` that says what `error`, met on database file `path`, means and what to do;
    None when it is no condition of the file or its disk."""
    name = getattr(error, "sqlite_errorname", "") or ""
    where = os.fspath(path)
    if name == "SQLITE_FULL":
        return StoreError(
            f"cannot write to the Loopline database {where}: the disk is full ({error}). "
            "Free some space on that disk (or move LOOPLINE_HOME to a larger one), then run again"
        )
    if name.startswith("SQLITE_IOERR"):
        return StoreError(f"cannot read or write the Loopline database {where}: {_io_cause(error)}")
    if name.startswith("SQLITE_READONLY"):
        return _read_only(where, str(error))
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return corrupt(where, str(error))
    if name.startswith("SQLITE_CANTOPEN"):
        cause = _cannot_write(where)
        if cause is not None:
            return _read_only(where, cause)
        return StoreError(
            f"cannot open the Loopline database {where} ({error}): check that its folder exists "
            "and is a folder, or point LOOPLINE_HOME (or LOOPLINE_DATABASE_URL) elsewhere"
        )
    return None


def _read_only(where: str, detail: str) -> StoreError:
    folder = Path(where).parent
    return StoreError(
        f"cannot write to the Loopline database {where}: it or its folder {folder} is read-only "
        f"({detail}). Make both writable by this user (chmod u+w), or point LOOPLINE_HOME at a "
        "folder you can write to"
    )


def corrupt(where: str, detail: str) -> StoreError:
    return StoreError(
        f"the Loopline database {where} is corrupt ({detail}). Stop every runner and server that "
        f"uses it, then restore it from a backup (copy the backup over {where} and delete "
        f"{where}-wal and {where}-shm), or move it aside to start an empty store; "
        "`loopline doctor` checks the store again"
    )


def _io_cause(error: sqlite3.Error) -> str:
    """SQLite says "disk I/O error" for a full disk it learns of as EFBIG (a file size limit,
    `ulimit -f`) and for a failing disk alike: say which one it most likely is."""
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        return (
            f"the disk is full for this process: its file size limit (`ulimit -f`) is {limit} bytes "
            f"({error}). Raise that limit (or free some space), then run again"
        )
    return (
        f"the disk failed a read or write ({error}): the disk is full, or failing. Free some space "
        "on it (or move LOOPLINE_HOME to another disk), then run again"
    )


def _cannot_write(where: str) -> str | None:
    """Why this process cannot write the database file or make its journal next to it (as the
    system says it), or None. Tries for real: `os.access` says yes to root on a folder it may
    not write after all. Creates nothing that stays."""
    try:
        with tempfile.TemporaryFile(dir=Path(where).parent):
            pass
        if os.path.exists(where):
            os.close(os.open(where, os.O_RDWR))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def explain_any(error: BaseException, database_url: str) -> StoreError | None:
    """`explain` for an error met anywhere on the store at `database_url`: SQLite's own, or
    SQLAlchemy's wrapping of it; None for any other error (or another database's)."""
    from loopline.storage.sql.sqlite import sqlite_file

    path = sqlite_file(database_url)
    cause = getattr(error, "orig", None) if type(error).__module__.startswith("sqlalchemy") else error
    if path is None or not isinstance(cause, sqlite3.Error):
        return None
    return explain(cause, path)
