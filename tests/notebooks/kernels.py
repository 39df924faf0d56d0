"""Real notebooks on a real IPython kernel: executed with nbclient (no browser, no Jupyter server).

The kernel runs this interpreter with this checkout first on its path, and a LOOPLINE_HOME of the
test's own; a test reads the cells' outputs (the text they printed, their values, their HTML).
The fixtures `kernelspec` and `kernel` (tests/conftest.py) skip where nbclient or ipykernel is
missing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "loopline-tests"


def kernelspec_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A kernel spec of this interpreter, so no other Python installed on the machine is used."""
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"})
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(root))
        yield KERNEL


@dataclasses.dataclass
class Executed:
    """An executed notebook: its cells with their outputs."""

    notebook: Any

    def cell(self, index: int) -> Any:
        return self.notebook.cells[index]

    def text(self, index: int) -> str:
        """Everything cell `index` printed, and its value as text."""
        parts = []
        for output in self.cell(index).get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
        return "".join(parts)

    def html(self, index: int) -> str:
        return "".join(o.get("data", {}).get("text/html", "") for o in self.cell(index).get("outputs", []))

    def find(self, code: str) -> int:
        """The index of the first cell whose code contains `code`."""
        return next(i for i, cell in enumerate(self.notebook.cells) if code in cell.source)


@dataclasses.dataclass
class Kernel:
    """Runs notebooks, each on a fresh kernel (a restart, for what a kernel remembers)."""

    name: str
    home: Path
    folder: Path

    def run(self, notebook: Any, *, env: Mapping[str, str] | None = None, timeout: int = 240) -> Executed:
        variables = {
            **{k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"},
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
            "LOOPLINE_HOME": str(self.home),
            **(env or {}),
        }
        import nbclient

        client = nbclient.NotebookClient(
            notebook,
            timeout=timeout,
            kernel_name=self.name,
            resources={"metadata": {"path": str(self.folder)}},
        )
        client.execute(env=variables)
        return Executed(notebook)


def notebook(*cells: str) -> Any:
    """A notebook of these code cells."""
    import nbformat

    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])


def read(path: Path) -> Any:
    import nbformat

    return nbformat.read(str(path), as_version=4)
