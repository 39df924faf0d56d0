"""A throwaway PostgreSQL server from Debian's binaries, on a free port of 127.0.0.1, for the
tests and the benchmarks (initdb and postgres refuse to run as root: then as `postgres`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_BIN = Path(os.environ.get("LOOPLINE_PG_BIN", "/usr/lib/postgresql/15/bin"))


class PostgresUnavailable(RuntimeError):
    """The server could not be started (no binaries here, or it failed: the message has its log)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_as_postgres(*args: str | Path) -> None:
    command = [str(arg) for arg in args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, cwd="/")


@contextlib.contextmanager
def postgres_server(*, durable: bool = False) -> Iterator[str]:
    """The URL of a running server (database `postgres`), stopped and deleted on exit. Without
    `durable`, fsync is off: fast, and fine for data that dies with the server."""
    if not (PG_BIN / "initdb").exists():
        raise PostgresUnavailable(f"no PostgreSQL binaries in {PG_BIN} (`make postgres-deps` installs them)")
    root = Path(tempfile.mkdtemp(prefix="loopline-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, log, port = root / "data", root / "server.log", free_port()
    initdb: list[str | Path] = [
        "-D",
        data,
        "-U",
        "postgres",
        "--auth=trust",
        "--no-locale",
        "--encoding=UTF8",
        "--no-sync",
    ]
    run_as_postgres(PG_BIN / "initdb", *initdb)
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} -c max_connections=200"
    )
    if not durable:
        options += " -c fsync=off"
    try:
        run_as_postgres(PG_BIN / "pg_ctl", "start", "--wait", "-D", data, "-l", log, "-o", options)
    except subprocess.CalledProcessError:
        raise PostgresUnavailable(
            "PostgreSQL did not start:\n" + (log.read_text(errors="replace") if log.exists() else "")
        ) from None
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        run_as_postgres(PG_BIN / "pg_ctl", "stop", "-D", data, "-m", "immediate")
        shutil.rmtree(root, ignore_errors=True)
