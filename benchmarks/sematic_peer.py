"""Sematic 0.41.0 as a peer: its own virtualenv, its own server, and its cells.

- The virtualenv lives in `.cache/venv-sematic` (git-ignored) and is created on first use with
  `python3 -m venv` + `pip install sematic==0.41.0 numpy`: the only download a benchmark run does.
- Its LocalRunner tracks through `sematic start`, started here with its own SEMATIC_CONFIG_DIR,
  bound to 127.0.0.1 on a free port, and stopped by the PID it wrote, when the block ends.
- Each cell runs `benchmarks/peers/sematic_cells.py` with that virtualenv's Python.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from benchmarks.harness import ROOT, Cell, progress, run_child, scratch_dir

VERSION = "0.41.0"
VENV = ROOT / ".cache" / "venv-sematic"
CELLS_SCRIPT = ROOT / "benchmarks" / "peers" / "sematic_cells.py"


def python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> str | None:
    """Create Sematic's virtualenv if needed; None when ready, else why it is not."""
    check = [str(python()), "-c", f"import sematic, numpy; assert sematic.__version__ == {VERSION!r}"]
    if python().exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return None
    progress(f"creating {VENV} with sematic=={VERSION} (one-time download)")
    try:
        subprocess.run(["python3", "-m", "venv", str(VENV)], check=True, capture_output=True)
        subprocess.run(
            [str(python()), "-m", "pip", "install", "--quiet", f"sematic=={VERSION}", "numpy"],
            check=True,
            capture_output=True,
            text=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return f"could not install sematic=={VERSION}: {detail.strip().splitlines()[-1:]}"
    return None if subprocess.run(check, capture_output=True).returncode == 0 else "sematic does not import"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class SematicPeer:
    """Runs cells on Sematic; `server()` must be entered for the `local` runner."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}

    @contextlib.contextmanager
    def server(self) -> Iterator[SematicPeer]:
        with scratch_dir("sematic") as config_dir:
            port = _free_port()
            self.env = {
                "SEMATIC_CONFIG_DIR": str(config_dir),
                "SEMATIC_SERVER_ADDRESS": "127.0.0.1",
                "PORT": str(port),
            }
            env = {**os.environ, **self.env}
            # `sematic start` daemonizes and writes the server's PID next to its database.
            subprocess.run(
                [str(VENV / "bin" / "sematic"), "start"],
                env=env,
                check=True,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=120,
            )
            pid_file = config_dir / "server.pid"
            pid = None
            try:
                deadline = time.monotonic() + 120
                while not _answers(f"http://127.0.0.1:{port}/api/v1/ping"):
                    if pid is None and pid_file.exists():
                        pid = int(pid_file.read_text().strip() or 0) or None
                    if time.monotonic() > deadline:
                        raise RuntimeError("the Sematic server did not answer within 120 s")
                    time.sleep(0.5)
                pid = pid or int(pid_file.read_text().strip())
                progress(f"Sematic server up on 127.0.0.1:{port} (pid {pid})")
                yield self
            finally:
                if pid is None and pid_file.exists():
                    pid = int(pid_file.read_text().strip() or 0) or None
                if pid is not None:
                    _stop(pid)
                self.env = {}

    def cell(
        self, workload: str, runner: str, size: int, *, runs: int = 3, warmup_size: int | None = None
    ) -> Cell:
        if runner == "local" and not self.env:
            return {"error": "the Sematic server is not running"}
        command = [str(python()), str(CELLS_SCRIPT), workload, runner, str(size), "--runs", str(runs)]
        if warmup_size is not None:
            command += ["--warmup-steps", str(warmup_size)]
        env = {**self.env, "PYTHONPATH": ""}
        return run_child(command, env=env, timeout_s=4 * 3600)

    def fresh_cell(self, runner: str, size: int) -> Cell:
        """A fresh process: `import sematic` and a first run of an L1 chain, then a second run."""
        if runner == "local" and not self.env:
            return {"error": "the Sematic server is not running"}
        command = [str(python()), str(CELLS_SCRIPT), "L1", runner, str(size), "--fresh"]
        return run_child(command, env={**self.env, "PYTHONPATH": ""}, timeout_s=4 * 3600)


def _stop(pid: int) -> None:
    """Stop the server we started, by its PID: SIGTERM, then SIGKILL after 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":  # a smoke test: python -m benchmarks.sematic_peer
    problem = ensure_venv()
    if problem:
        sys.exit(problem)
    peer = SematicPeer()
    print(peer.cell("L1", "silent", 10))
    with peer.server():
        print(peer.cell("L1", "local", 10))
