from __future__ import annotations

import dataclasses
import enum
from pathlib import Path

import pytest

import loopline
from loopline.errors import UsageError
from loopline.sdk.targets import Target, parse_params, split_params


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclasses.dataclass
class Config:
    lr: float
    layers: tuple[int, ...]


@loopline.func
def job(
    n: int, rate: float, name: str, verbose: bool, mode: Mode, config: Config, labels: list[str] | None = None
) -> int:
    return n


def parse(*args: str) -> dict[str, object]:
    return parse_params(job, split_params(list(args)))


BASE = [
    "--n",
    "3",
    "--rate",
    "0.5",
    "--name",
    "x",
    "--mode",
    "FAST",
    "--config",
    '{"lr": 1, "layers": [2, 3]}',
]


def test_parameters_are_read_by_their_annotations() -> None:
    values = parse(*BASE, "--verbose")
    assert (
        values["n"] == 3
        and values["rate"] == 0.5
        and values["verbose"] is True
        and values["mode"] is Mode.FAST
    )
    assert values["config"] == Config(1.0, (2, 3))


def test_json_structures_and_optionals() -> None:
    assert parse(*BASE, "--verbose=false", "--labels", '["a", "b"]')["labels"] == ["a", "b"]
    assert parse(*BASE, "--verbose", "no", "--labels", "none")["labels"] is None


def test_dashes_map_to_underscores() -> None:
    assert split_params(["--learning-rate=0.1"]) == {"learning_rate": "0.1"}


def test_errors_name_the_parameter_and_type() -> None:
    with pytest.raises(UsageError, match=r"--n: cannot read 'three' as int"):
        parse(*[a if a != "3" else "three" for a in BASE], "--verbose")
    with pytest.raises(UsageError, match=r"job\(\) needs --verbose \(bool\)"):
        parse(*BASE)
    with pytest.raises(UsageError, match="has no parameter --colour; its parameters: --n, --rate"):
        parse(*BASE, "--verbose", "--colour", "red")


def test_targets_name_a_file_and_optionally_a_func(tmp_path: Path) -> None:
    file = tmp_path / "flow.py"
    file.write_text("import loopline\n\n@loopline.func\ndef train(x: int) -> int:\n    return x\n")
    assert Target.parse(f"{file}:train").func_name == "train"
    assert Target.parse(str(file)).func_name is None
    assert Target.parse(str(file)).defines("train") and not Target.parse(str(file)).defines("pipeline")


def test_bad_targets_are_explained(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        Target.parse(str(tmp_path / "missing.py"))
    with pytest.raises(UsageError, match="expected FILE.py"):
        Target.parse(str(tmp_path))
