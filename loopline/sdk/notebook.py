"""Funcs defined in notebooks: their stable identity, the cell each came from, and notebook files
loaded as modules (`loopline run analysis.ipynb:train`).

In a Jupyter kernel every cell runs in `__main__`, which names nothing: two notebooks could both
define `train`. A func defined in a cell is named after its notebook instead, so its runs, its
cache and its pipelines page are the notebook's own and survive a kernel restart:

- the notebook's path, when the kernel knows it (`__vsc_ipynb_file__` in VS Code, `__session__`
  or `JPY_SESSION_NAME` in Jupyter): `analysis.ipynb` names its funcs `analysis.train`, the
  name `loopline run analysis.ipynb:train` gives them too, so both share one cache;
- else the name given once, before the funcs, with `loopline.notebook("analysis")`.

A notebook file runs as a module: its code cells in order, each compiled under its own name
(`analysis.ipynb, cell 3`), so that tracebacks and errors name the cell; IPython's magics and
shell lines (`%matplotlib`, `!pip install`) are skipped, and a cell that starts a pipeline stops
there: loading defines the funcs, `loopline run` runs the one asked for. A cell below such a
cell that fails (for want of that pipeline's results, most likely) is skipped from where it
failed too; any other failure stops the loading with an error that names the cell.
"""

from __future__ import annotations

import dataclasses
import linecache
import os
import re
import sys
import threading
import traceback
import types
import warnings
from pathlib import Path
from typing import Any

import cloudpickle

from loopline.errors import LooplineError, LooplineWarning, UsageError
from loopline.sdk.importing import TargetRunsPipeline, importing_target

SUFFIX = ".ipynb"
UNNAMED = "notebook"  # the identity of an unnamed notebook's funcs (with a warning to name it)
# Cell magics whose body is Python, run as it is; a cell under any other one is skipped.
PYTHON_CELL_MAGICS = frozenset({"time", "capture", "timeit", "prun"})


@dataclasses.dataclass(frozen=True)
class Cell:
    """One code cell: its notebook (path or name), its label (`cell 3`, `In [7]`) and code."""

    notebook: str
    label: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.notebook}, {self.label}"


class _State:
    """This process's notebook: the name set with `loopline.notebook(...)` and the cells of the
    notebook files loaded here, by the file name their code was compiled under."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.name: str | None = None
        self.cells: dict[str, Cell] = {}
        self.warned = False


_STATE = _State()


def notebook(name: str | None = None) -> str | None:
    """Name the funcs of this notebook: call `loopline.notebook("analysis")` in a cell before
    the funcs (needed only where the kernel does not tell the notebook's path). Without a name,
    returns the identity funcs defined now get (None outside a notebook)."""
    if name is not None:
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise UsageError(f"loopline.notebook(name) takes a non-empty name, got {name!r}")
        with _STATE.lock:
            _STATE.name = name
        return name
    return identity(warn=False)


def kernel_shell() -> Any:
    """The IPython shell this process runs cells in, or None (IPython is never imported here)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython() if callable(get_ipython) else None


def in_kernel() -> bool:
    """Whether this process is a Jupyter kernel (a notebook's, not a terminal IPython)."""
    shell = kernel_shell()
    return shell is not None and getattr(shell, "kernel", None) is not None


def notebook_path() -> Path | None:
    """The path of the notebook this kernel runs, when the kernel knows it."""
    shell = kernel_shell()
    user_ns: dict[str, Any] = getattr(shell, "user_ns", None) or {}
    for candidate in (user_ns.get("__vsc_ipynb_file__"), user_ns.get("__session__")):
        if isinstance(candidate, str) and candidate.endswith(SUFFIX):
            return Path(candidate)
    session = os.environ.get("JPY_SESSION_NAME", "") if shell is not None else ""
    return Path(session) if session.endswith(SUFFIX) else None


def module_name(path: Path) -> str:
    """What a notebook's funcs are named after: its file name without `.ipynb`."""
    return path.name.removesuffix(SUFFIX)


def identity(warn: bool = True) -> str | None:
    """The module name funcs defined in this notebook's cells get; None outside a notebook."""
    if kernel_shell() is None:
        return None
    with _STATE.lock:
        if _STATE.name is not None:
            return _STATE.name
    path = notebook_path()
    if path is not None:
        return module_name(path)
    if warn and not _STATE.warned:
        _STATE.warned = True
        warnings.warn(
            "this notebook's path is not known to its kernel, so its funcs are named "
            f"{UNNAMED}.<name>, like those of any other unnamed notebook: call "
            'loopline.notebook("a name") in a cell above them to keep their runs and cache apart',
            LooplineWarning,
            stacklevel=4,
        )
    return UNNAMED


def is_cell_function(fn: Any) -> bool:
    """Whether `fn` was defined in a cell of the notebook this kernel runs."""
    return getattr(fn, "__module__", None) == "__main__" and kernel_shell() is not None


def cell_of(fn: Any) -> Cell | None:
    """The cell `fn` was defined in: of a notebook file loaded here, or of this kernel."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    filename = code.co_filename
    with _STATE.lock:
        loaded = _STATE.cells.get(filename)
    if loaded is not None:
        return loaded
    if not is_cell_function(fn):
        return None
    shell = kernel_shell()
    numbers = getattr(getattr(shell, "compile", None), "_filename_map", {})
    lines = linecache.getlines(filename)
    if not lines:
        return None
    number = numbers.get(filename)
    path = notebook_path()
    where = path.name if path is not None else identity(warn=False) or UNNAMED
    return Cell(where, f"In [{number}]" if number is not None else "a cell", "".join(lines))


# -- notebook files as modules ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Skipped:
    """What loading a notebook left out: IPython lines and cells, and cells that run pipelines."""

    cell: str
    what: str
    ran_pipeline: bool = False


def read_cells(path: Path) -> list[tuple[int, str]]:
    """(position counting every cell from 1, source) of each code cell, read with nbformat."""
    try:
        import nbformat
    except ImportError:
        raise UsageError(f"reading {path.name} needs nbformat: pip install 'loopline[notebook]'") from None
    try:
        document = nbformat.read(str(path), as_version=4)  # type: ignore[no-untyped-call]
    except Exception as error:  # noqa: BLE001 - nbformat raises JSON and validation errors of many kinds
        raise UsageError(f"{path} is not a readable notebook: {error}") from None
    return [(i, cell.source) for i, cell in enumerate(document.cells, 1) if cell.cell_type == "code"]


_MAGIC_LINE = re.compile(r"^(\s*)(%|!)")


def python_of(source: str) -> tuple[str, list[str]]:
    """A cell's code as Python: IPython's magic and shell lines become `pass` (the line numbers
    stay), a cell under a cell magic that is not Python becomes nothing. Returns what was left out."""
    lines = source.splitlines()
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in PYTHON_CELL_MAGICS:
            return "", [f"the %%{magic} cell"]
        lines = ["", *lines[1:]]
    skipped: list[str] = []
    out: list[str] = []
    for line in lines:
        match = _MAGIC_LINE.match(line)
        if match:
            skipped.append(line.strip())
            out.append(f"{match.group(1)}pass")
        else:
            out.append(line)
    return "\n".join(out) + "\n", skipped


def load_module(path: Path, name: str) -> tuple[types.ModuleType, list[Skipped]]:
    """Run the code cells of the notebook at `path` as the module `name` (put in `sys.modules`,
    its funcs and classes pickled by value, since no other process can import it)."""
    path = path.resolve()
    cells = read_cells(path)
    module = types.ModuleType(name)
    module.__file__ = str(path)
    module.__dict__["display"] = _no_display
    previous = sys.modules.get(name)
    sys.modules[name] = module
    cloudpickle.register_pickle_by_value(module)
    skipped: list[Skipped] = []
    try:
        with importing_target(path, notebook=True):
            for position, source in cells:
                # After a cell that ran a pipeline, a cell may fail for want of its results.
                lenient = any(s.ran_pipeline for s in skipped)
                skipped += _run_cell(module, path, position, source, lenient=lenient)
    except BaseException:
        _forget(name, previous)
        raise
    return module, skipped


def _run_cell(
    module: types.ModuleType, path: Path, position: int, source: str, *, lenient: bool
) -> list[Skipped]:
    """Run one cell in the module. `lenient`: a cell above ran a pipeline, so an error here is
    likely for want of that pipeline's results, and skips the rest of this cell instead."""
    cell = Cell(path.name, f"cell {position}", source)
    code_text, left_out = python_of(source)
    skipped = [Skipped(cell.label, what) for what in left_out]
    if not code_text.strip():
        return skipped
    filename = f"{path} ({cell.label})"
    linecache.cache[filename] = (len(code_text), None, code_text.splitlines(True), filename)
    with _STATE.lock:
        _STATE.cells[filename] = Cell(cell.notebook, cell.label, code_text)
    try:
        compiled = compile(code_text, filename, "exec", dont_inherit=True)  # not this module's __future__
    except SyntaxError as error:
        raise UsageError(
            f"{cell.where} is not valid Python (line {error.lineno}: {error.msg}); fix the cell, "
            "or turn it into a Markdown cell"
        ) from None
    try:
        exec(compiled, module.__dict__)
    except TargetRunsPipeline:
        return [
            *skipped,
            Skipped(cell.label, "the rest of the cell, which runs a pipeline", ran_pipeline=True),
        ]
    except Exception as error:
        line = _line_in(error, filename)
        at = f", line {line}" if line else ""
        what = f"{type(error).__name__}: {error}"
        if lenient:
            return [
                *skipped,
                Skipped(
                    cell.label,
                    f"the rest of the cell{at}, which raised {what} (without the results of the pipeline run above)",
                ),
            ]
        if isinstance(error, LooplineError):
            raise UsageError(f"{error} ({cell.where}{at})") from error
        raise UsageError(f"{cell.where}{at} raised {what}") from error
    return skipped


def _line_in(error: BaseException, filename: str) -> int | None:
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]
    return lines[-1] if lines else None


def _forget(name: str, previous: types.ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(name, None)
    else:
        sys.modules[name] = previous


def _no_display(*objects: Any, **options: Any) -> None:
    """`display(...)` of a cell, when the notebook runs as a pipeline: there is no cell to show in."""
