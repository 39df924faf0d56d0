"""Funcs defined in notebook cells (IPython's `__main__`) run on every runner, workers included."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CELLS = [
    "import os\nimport loopline",
    "@loopline.func(standalone=True)\ndef in_worker(x: int) -> int:\n    return x * 10 + (os.getpid() != PARENT)",
    "PARENT = os.getpid()",
    "@loopline.func\ndef pipeline() -> list[int]:\n    return [in_worker(1), in_worker(2)]",
    "result = loopline.LocalRunner(echo=False).run(pipeline())\nsilent = loopline.SilentRunner().run(pipeline())",
    "print('RESULT', result, silent)",
]

DRIVER = f"""
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
for cell in {CELLS!r}:
    outcome = shell.run_cell(cell)
    outcome.raise_error()
"""


def test_funcs_from_notebook_cells_run_in_worker_processes(home: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", DRIVER],
        env={**os.environ, "LOOPLINE_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "RESULT [11, 21] [10, 20]" in done.stdout, done.stdout + done.stderr
