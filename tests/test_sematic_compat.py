"""Sematic pipelines port by renaming the import: its own shipped examples run on Loopline.

The examples come from Sematic 0.41.0's wheel (downloaded by `make test`'s setup, never
installed); the only change made to them is the rename of `sematic` to `loopline`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import loopline

WHEEL = Path(__file__).resolve().parents[1] / ".cache" / "wheels" / "sematic-0.41.0-py3-none-any.whl"
ROOT = Path(__file__).resolve().parents[1]


def rename(source: str) -> str:
    """The port: `sematic` becomes `loopline`, and the examples' package path a local one."""
    source = source.replace("sematic.examples.", "sematic_examples.")
    source = re.sub(r"^import sematic$", "import loopline as sematic", source, flags=re.M)
    return re.sub(r"^from sematic import", "from loopline import", source, flags=re.M)


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not WHEEL.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{WHEEL} is missing: `make test` downloads it")
        pytest.skip(f"Sematic's wheel is not at {WHEEL}; run `make test` once to download it")
    root = tmp_path_factory.mktemp("ported")
    package = root / "sematic_examples"
    package.mkdir()
    (package / "__init__.py").write_text("")
    with zipfile.ZipFile(WHEEL) as wheel:
        for name in wheel.namelist():
            match = re.match(r"sematic/examples/(add|dynamic_graph|retry|template)/(.+\.py)$", name)
            if match:
                target = package / match.group(1) / match.group(2)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(rename(wheel.read(name).decode()))
    return root


def run_example(examples: Path, home: Path, name: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOOPLINE_HOME": str(home), "PYTHONPATH": f"{examples}{os.pathsep}{ROOT}"}
    return subprocess.run(
        [sys.executable, "-m", f"sematic_examples.{name}"],
        cwd=examples,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_port_changes_only_the_import(examples: Path) -> None:
    source = (examples / "sematic_examples" / "add" / "pipeline.py").read_text()
    assert "import loopline as sematic" in source and "@sematic.func" in source


def test_add_example_runs_on_local_runner(examples: Path, home: Path) -> None:
    done = run_example(examples, home, "add")
    assert done.returncode == 0, done.stderr
    root = loopline.Client(home).runs(root_only=True)[0]
    assert root.name == "Basic add example pipeline" and root.tags == ("example", "basic", "final")
    assert loopline.Client(home).output(root.id) == 12.0


def test_dynamic_graph_example_runs_on_local_runner(examples: Path, home: Path) -> None:
    done = run_example(examples, home, "dynamic_graph")
    assert done.returncode == 0, done.stderr
    client = loopline.Client(home)
    root = client.runs(root_only=True)[0]
    assert root.state is loopline.RunState.SUCCEEDED
    assert client.output(root.id).startswith(("RARE EVENT", "MEH"))
    assert len(client.runs(name="process")) == 5


def test_the_project_template_runs_on_local_runner(examples: Path, home: Path) -> None:
    # its root func has no return annotation and returns nothing: Sematic reads that as -> None
    done = run_example(examples, home, "template")
    assert done.returncode == 0, done.stderr
    root = loopline.Client(home).runs(root_only=True)[0]
    assert (root.name, root.state) == ("pipeline", loopline.RunState.SUCCEEDED)


def test_retry_example_retries_as_configured(examples: Path, home: Path) -> None:
    done = run_example(examples, home, "retry")
    run = loopline.Client(home).runs(name="raise_exception")[0]
    logs = loopline.Client(home).logs(run.id)
    if done.returncode == 0:  # a random number below 0.1 came up within the 6 attempts
        assert 1 <= run.attempts <= 6 and run.state is loopline.RunState.SUCCEEDED
    else:
        assert run.attempts == 6 and run.state is loopline.RunState.FAILED
        assert "SomeException" in done.stderr
        assert logs.count("Raising exception") == 6
    assert "Random number" in logs
