"""`loopline run --ray [ADDRESS]`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import loopline
from loopline.cli.main import cli
from loopline.cli.run import _split_target
from loopline.engine.run_options import take_run_options

HELLO = Path(__file__).resolve().parents[2] / "examples" / "hello" / "pipeline.py"


@pytest.mark.parametrize(
    ("args", "address"),
    [
        (["--ray"], ""),
        (["--ray", "auto"], "auto"),
        (["--ray", "ray://head:10001"], "ray://head:10001"),
        (["--ray=10.0.0.5:6379"], "10.0.0.5:6379"),
        (["--ray", "--name", "Ada"], ""),
    ],
)
def test_ray_takes_an_optional_address(args: list[str], address: str) -> None:
    options, rest = take_run_options(args, reserved={"name"})
    assert options.ray == address and rest == args[len(args) - len(rest) :]


def test_a_target_after_ray_is_not_taken_for_its_address() -> None:
    assert _split_target(["--ray", "flow.py:pipeline", "--x", "1"]) == (
        ["--ray"],
        "flow.py:pipeline",
        ["--x", "1"],
    )
    assert _split_target(["--ray", "auto", "flow.py"]) == (["--ray", "auto"], "flow.py", [])


@pytest.mark.ray
def test_run_with_ray_runs_the_steps_as_ray_tasks(ray_instance: None, home: Path) -> None:
    result = CliRunner().invoke(cli, ["run", "--ray", str(HELLO), "--name", "Ada"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "HELLO, ADA!" in result.output
    runs = loopline.Client(home).runs(name="greet")
    assert runs[0].executor == "ray"
