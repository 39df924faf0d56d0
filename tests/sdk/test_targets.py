from __future__ import annotations

import dataclasses
import enum
import re
import sys
import uuid
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


@loopline.func
def configure(config: Config) -> float:
    return config.lr


@loopline.func
def pick(size: int | str, ids: list[int] | str = "all") -> str:
    return str(size)


@loopline.func
def train(data: loopline.Dataset) -> int:
    return len(data)


@pytest.fixture
def own_sys_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a target puts its folder on sys.path; keep that from other tests."""
    monkeypatch.setattr(sys, "path", [*sys.path])


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


def test_dataclass_fields_are_checked_by_name() -> None:
    with pytest.raises(
        UsageError, match=r"^--config: unknown field 'lrr' for Config \(its fields: lr, layers\)$"
    ):
        parse_params(configure, {"config": '{"lrr": 1, "layers": []}'})
    with pytest.raises(UsageError, match=r"^--config: missing field 'lr' for Config$"):
        parse_params(configure, {"config": '{"layers": []}'})


def test_a_union_value_takes_the_first_member_type_that_reads_it() -> None:
    assert parse_params(pick, {"size": "5"}) == {"size": 5}
    assert parse_params(pick, {"size": "five"}) == {"size": "five"}
    assert parse_params(pick, {"size": "5", "ids": "[1, 2]"})["ids"] == [1, 2]
    assert parse_params(pick, {"size": "5", "ids": "odd"})["ids"] == "odd"


def test_a_dataset_is_given_by_name_and_version(home: Path) -> None:
    loopline.Dataset("digits", [[0.0], [1.0]], [0, 1]).save()
    loopline.Dataset("digits", [[0.0], [1.0], [2.0]], [0, 1, 2]).save()
    assert parse_params(train, {"data": "digits@1"})["data"].ref == "digits@1"
    assert parse_params(train, {"data": "digits"})["data"].ref == "digits@2"


def test_a_malformed_or_unknown_dataset_is_explained(home: Path) -> None:
    with pytest.raises(UsageError, match=r"^--data: give a dataset as NAME@VERSION, e.g. digits-train@3$"):
        parse_params(train, {"data": "digits@latest"})
    with pytest.raises(UsageError, match=r"^--data: no dataset named 'faces'"):
        parse_params(train, {"data": "faces@1"})


@pytest.mark.usefixtures("own_sys_path")
def test_a_file_named_like_a_standard_module_is_explained(tmp_path: Path) -> None:
    file = tmp_path / "random.py"
    file.write_text("import loopline\n\n@loopline.func\ndef pipeline(x: int) -> int:\n    return x\n")
    with pytest.raises(UsageError, match="random.py has the name of Python's own module 'random'.*rename"):
        Target.parse(str(file)).load()


@pytest.mark.usefixtures("own_sys_path")
def test_a_file_shadowed_by_another_of_the_same_name_is_explained(tmp_path: Path) -> None:
    name = f"flow_{uuid.uuid4().hex[:8]}.py"
    for folder in ("first", "second"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / name).write_text(
            "import loopline\n\n@loopline.func\ndef pipeline() -> int:\n    return 1\n"
        )
    Target.parse(str(tmp_path / "first" / name)).load()
    with pytest.raises(
        UsageError, match=re.escape(f"finds {tmp_path / 'first' / name} instead; rename the file")
    ):
        Target.parse(str(tmp_path / "second" / name)).load()


def test_a_loopline_error_while_importing_the_file_says_where(tmp_path: Path) -> None:
    flow = tmp_path / "bad_resources.py"
    flow.write_text(
        "import loopline\n\n"
        '@loopline.func(resources=loopline.ResourceRequirements(memory="lots"))\n'
        "def pipeline(n: int = 1) -> int:\n    return n\n"
    )
    with pytest.raises(UsageError, match=r"cannot read memory size 'lots'.*\(bad_resources.py, line 3\)"):
        Target.parse(str(flow)).load()
