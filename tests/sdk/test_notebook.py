"""Notebook files as pipeline targets (`NOTEBOOK.ipynb:FUNC`), and naming a notebook's funcs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

import loopline
from loopline.cli.main import cli
from loopline.errors import UsageError
from loopline.sdk.notebook import python_of
from loopline.sdk.targets import Target

CELLS = [
    "%matplotlib inline\nimport dataclasses\nimport loopline\n!pip install nothing",
    "@dataclasses.dataclass\nclass Config:\n    lr: float\n\nSCALE = 10",
    """\
def helper(x: float) -> float:
    return x * SCALE

@loopline.func(standalone=True)
def step(cfg: Config) -> Config:
    return Config(helper(cfg.lr))

@loopline.func
def train(epochs: int = 1) -> Config:
    return step(Config(0.5 * epochs))""",
    "result = loopline.LocalRunner().run(train())\nprint('not reached')",
    "print(result)",  # fails without the run above: skipped
    "%%bash\necho skipped",
]


def write(folder: Path, *cells: str, name: str = "analysis.ipynb") -> Path:
    path = folder / name
    document = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# notes")])
    document.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    nbformat.write(document, str(path))
    return path


def test_magics_and_shell_lines_become_pass_and_other_cell_magics_are_left_out() -> None:
    assert python_of("if x:\n    %time f()\n!ls") == ("if x:\n    pass\npass\n", ["%time f()", "!ls"])
    assert python_of("%%time\nx = 1")[0] == "\nx = 1\n"
    assert python_of("%%bash\nls") == ("", ["the %%bash cell"])


def test_a_notebooks_funcs_are_named_after_it_and_its_cells_are_skipped_with_reasons(tmp_path: Path) -> None:
    target = Target.parse(f"{write(tmp_path, *CELLS)}:train")
    function = target.load()
    assert function.path == "analysis.train"
    assert function.recorded_source.startswith("# analysis.ipynb, cell 4\ndef helper")
    assert [(s.cell, s.what.split(",")[0]) for s in target.skipped] == [
        ("cell 2", "%matplotlib inline"),
        ("cell 2", "!pip install nothing"),
        ("cell 5", "the rest of the cell"),
        ("cell 6", "the rest of the cell"),
        ("cell 7", "the %%bash cell"),
    ]


def test_loopline_run_runs_a_notebooks_func_with_its_parameters(tmp_path: Path, home: Path) -> None:
    result = CliRunner().invoke(cli, ["run", f"{write(tmp_path, *CELLS)}:train", "--epochs", "3"])
    assert result.exit_code == 0, result.output
    assert "train succeeded: Config(lr=15.0)" in result.output
    step = loopline.Client(home).runs(name="step")[0]
    assert step.function == "analysis.step" and "# analysis.ipynb, cell 4" in step.source


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("def broken(:\n    pass", r"analysis.ipynb, cell 2 is not valid Python \(line 1"),
        ("x = 1\nraise ValueError('no data')", r"analysis.ipynb, cell 2, line 2 raised ValueError: no data"),
        (
            "import loopline\n@loopline.func\ndef f(x):\n    return x",
            r"(?s)cannot wrap `f`.*\(analysis.ipynb, cell 2, line 2\)",
        ),
    ],
)
def test_a_failing_cell_is_named(tmp_path: Path, cell: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Target.parse(str(write(tmp_path, cell))).load()


def test_a_notebook_target_without_func_names_how_to_give_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["run", str(write(tmp_path, "x = 1"))])
    assert result.exit_code != 0 and "name the func to run: loopline run" in result.output


def test_outside_a_notebook_funcs_keep_their_module_and_no_notebook_is_named() -> None:
    assert loopline.notebook() is None
    with pytest.raises(UsageError, match="non-empty name"):
        loopline.notebook(" ")
