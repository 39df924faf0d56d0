"""The public face: what `loopline` exports, how light it is to import, and which layer imports which."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import loopline

PACKAGE = Path(loopline.__file__).parent

# Each layer may import only the layers listed for it (and itself); see ARCHITECTURE.md.
ALLOWED = {
    "core": {"core", "errors"},
    "sdk": {"core", "errors", "sdk"},
    "storage": {"core", "errors", "storage", "settings"},
    "engine": {"core", "errors", "sdk", "storage", "engine", "settings"},
    "cl": {"core", "errors", "sdk", "storage", "engine", "settings", "cl", "client"},
    "server": {
        "core",
        "errors",
        "sdk",
        "storage",
        "engine",
        "settings",
        "cl",
        "client",
        "server",
        "_version",
    },
    "cli": None,  # the edge: may import everything
}


def test_every_name_in_all_exists() -> None:
    missing = [name for name in loopline.__all__ if not hasattr(loopline, name)]
    assert missing == []


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
    heavy = ["sqlalchemy", "fastapi", "uvicorn", "numpy", "pandas", "torch", "sklearn", "ray", "alembic"]
    code = f"import loopline, sys; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _module_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in tree.body:
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found.update(
            name.split(".")[1] for name in names if name.startswith("loopline.") and name.count(".") >= 1
        )
    return found


def test_layers_only_point_down() -> None:
    problems = []
    for layer, allowed in ALLOWED.items():
        if allowed is None or not (PACKAGE / layer).exists():
            continue
        for path in (PACKAGE / layer).rglob("*.py"):
            for imported in _module_level_imports(path) - allowed:
                problems.append(f"{path.relative_to(PACKAGE)} imports loopline.{imported}")
    assert problems == []
