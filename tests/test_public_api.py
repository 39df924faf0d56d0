"""The public face: what `loopline` exports, how light it is to import, and which imports may wait
until a function runs (the layer contracts are in pyproject.toml; `make test` runs `lint-imports`)."""

from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path

import loopline

PACKAGE = Path(loopline.__file__).parent
ROOT = PACKAGE.parent

# Imports inside functions are for what must not load with its module. Of our own modules, only
# these, each for its reason:
LAZY_OWN_MODULES = {
    # Sematic's `future.resolve()` runs the graph on a runner (the one upward arrow).
    "loopline.engine.local": {"loopline/sdk/future.py"},
    "loopline.engine.silent": {"loopline/sdk/future.py"},
    # Ray is an optional heavy integration.
    "loopline.engine.ray": {"loopline/engine/run_options.py"},
    # Backends load when a store of their kind is opened: SQLAlchemy for a database (the embedded
    # SQLite store loads it, and Alembic, only for a query a runner does not make, or a
    # migration), httpx for a server; neither is cheap to import.
    "loopline.storage.sql.store": {
        "loopline/storage/embedded.py",
        "loopline/storage/sql/sqlite.py",
        "loopline/cli/doctor.py",
    },
    # `loopline doctor` loads SQLAlchemy when it runs, not for every command.
    "loopline.storage.sql.database": {
        "loopline/storage/sql/sqlite.py",
        "loopline/storage/embedded.py",
        "loopline/cli/doctor.py",
    },
    # failures.py explains the errors of the SQLite store, which imports it (a cycle at the top).
    "loopline.storage.sql.sqlite": {"loopline/storage/embedded.py", "loopline/storage/sql/failures.py"},
    "loopline.storage.sql.values": {"loopline/storage/embedded.py"},
    "loopline.storage.remote.opening": {"loopline/storage/embedded.py"},
    "loopline.storage.remote.artifacts": {"loopline/storage/embedded.py"},
    # The artifact tiers (and sqlite3 with them) load with the first store, not with `import loopline`.
    "loopline.storage.values": {"loopline/storage/embedded.py"},
    "loopline.cl.store.sql": {"loopline/cl/store/workspace.py"},
    "loopline.cl.store.http": {"loopline/cl/store/workspace.py"},
    # `loopline server` loads FastAPI and the dashboard when it runs, not for every command.
    "loopline.server": {"loopline/cli/server.py"},
    # `loopline migrate` loads libcst when it runs, not for every command.
    "loopline.cli.sematic_migration": {"loopline/cli/migrate.py"},
    # `loopline serve` loads FastAPI and uvicorn when it runs, and Ray Serve only with --ray.
    "loopline.serving.background": {"loopline/cli/serve.py"},
    "loopline.serving.ray": {"loopline/cli/serve.py"},
}
# Third-party libraries that may be imported where they are used: optional or heavy ones.
LAZY_LIBRARIES = {
    "alembic",
    "cleanlab",
    "cloudpickle",
    "duckdb",
    "fsspec",
    # notebook support: IPython's display in a kernel, nbformat to read a notebook file
    "IPython",
    "matplotlib",
    "nbformat",
    "numpy",
    "pandas",
    "playwright",
    "plotly",
    "polars",
    "pyarrow",
    "ray",
    "sklearn",
    # loopline.data reads warehouses through it; the SDK and engine never load it (pyproject.toml)
    "sqlalchemy",
    "torch",
    "uvicorn",
}
# Public names `__all__` leaves out on purpose.
NOT_EXPORTED = {"RayRunner"}  # Ray is optional: `from loopline import *` must work without it


def test_every_name_in_all_exists() -> None:
    missing = [name for name in loopline.__all__ if not hasattr(loopline, name)]
    assert missing == []


def test_every_public_name_is_in_all() -> None:
    public = {  # Loopline's own objects (not `typing.Any` or a submodule imported by the way)
        name
        for name, value in vars(loopline).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", "").startswith("loopline")
    }
    public |= set(loopline._LAZY) | set(loopline._SUBMODULES)
    assert sorted(public - set(loopline.__all__) - NOT_EXPORTED) == []


def test_all_lists_the_sematic_compatible_api() -> None:
    expected = {
        "func",
        "Runner",
        "SilentRunner",
        "LocalRunner",
        "RetrySettings",
        "ResourceRequirements",
        "PipelineRunError",
        "context",
    }
    assert expected <= set(loopline.__all__)


def test_import_loopline_stays_light() -> None:
    heavy = [
        "sqlalchemy",
        "fastapi",
        "uvicorn",
        "numpy",
        "pandas",
        "torch",
        "sklearn",
        "ray",
        "alembic",
        "IPython",
        "nbformat",
    ]
    code = f"import loopline, sys; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_command_line_loads_no_web_server_or_ray_until_a_command_needs_them() -> None:
    heavy = ["fastapi", "uvicorn", "starlette", "ray", "numpy"]
    code = f"import loopline.cli.main, sys; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _imports_inside_functions(path: Path) -> list[tuple[int, str]]:
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, ast.ImportFrom):
                assert child.level == 0, f"{path}:{child.lineno}: use an absolute import"
                found.append((child.lineno, child.module or ""))
            elif in_function and isinstance(child, ast.Import):
                found.extend((child.lineno, alias.name) for alias in child.names)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(ast.parse(path.read_text()), False)
    return found


def test_imports_inside_functions_are_only_the_allow_listed_lazy_ones() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        for line, module in _imports_inside_functions(path):
            top = module.split(".")[0]
            if top == "loopline":
                if where not in LAZY_OWN_MODULES.get(module, set()):
                    problems.append(f"{where}:{line} imports {module} inside a function")
            elif top not in LAZY_LIBRARIES:
                problems.append(f"{where}:{line} imports {module} inside a function (move it to the top)")
    assert problems == []
