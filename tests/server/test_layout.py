"""The server's layout is an import-linter contract (pyproject.toml, run by `make test`); a new
folder or module of the server must take its place in it, or nothing would check its imports."""

from __future__ import annotations

import tomllib
from pathlib import Path

import loopline.server

SERVER = Path(loopline.server.__file__).parent
PYPROJECT = SERVER.parents[1] / "pyproject.toml"


def test_every_unit_of_the_server_has_a_layer_in_its_contract() -> None:
    contracts = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]
    (server,) = [c for c in contracts if c.get("containers") == ["loopline.server"]]
    ranked = {name.strip() for layer in server["layers"] for name in layer.split("|")}
    units = {
        p.name.removesuffix(".py")
        for p in SERVER.iterdir()
        if p.suffix == ".py" or (p / "__init__.py").exists()
    }
    assert units - {"__init__"} == ranked
