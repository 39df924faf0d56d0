"""What a failure of a SQLite store means to its user: a full disk, a read-only or corrupt file.

SQLite names the condition (`SQLITE_FULL`, `SQLITE_READONLY`, `SQLITE_CORRUPT`, ...) but not
the file nor what to do; `explain` turns its error into a `StoreError` that says both, and
leaves any other error as it is. Kept free of SQLAlchemy: the runner's fast path uses it.
"""

from __future__ import annotations

import os
import resource
import sqlite3
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
        return StoreError(f"cannot write to the Loopline database {where}: {_io_cause(error)}")
    if name.startswith("SQLITE_READONLY") or (name == "SQLITE_CANTOPEN" and not _writable(where)):
        return StoreError(
            f"cannot write to the Loopline database {where}: it (or its folder) is read-only "
            f"({error}). Make it writable (chmod u+w), or point LOOPLINE_HOME at a writable folder"
        )
    if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or name.startswith("SQLITE_CORRUPT"):
        return corrupt(where, str(error))
    if name == "SQLITE_CANTOPEN":
        return StoreError(
            f"cannot open the Loopline database {where} ({error}): check that its folder exists "
            "and is a folder, or point LOOPLINE_HOME (or LOOPLINE_DATABASE_URL) elsewhere"
        )
    return None


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


def _writable(where: str) -> bool:
    folder = Path(where).parent
    return os.access(where if Path(where).exists() else folder, os.W_OK)
