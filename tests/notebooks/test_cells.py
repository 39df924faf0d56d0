"""Funcs defined in notebook cells, run on a real kernel: every runner, worker processes included,
with what other cells define; named after their notebook; cached across kernel restarts."""

from __future__ import annotations

import re
from pathlib import Path

from tests.notebooks.kernels import Kernel, notebook

SETUP = "import dataclasses, os\nimport loopline\nPARENT = os.getpid()"
TYPES = """\
@dataclasses.dataclass
class Config:
    lr: float
    epochs: int

class Scaler:
    def __init__(self, k: float) -> None:
        self.k = k

    def apply(self, x: float) -> float:
        return x * self.k"""
HELPERS = "SCALE = Scaler(10)\n\ndef helper(x: float) -> float:\n    return SCALE.apply(x)"
FUNCS = """\
@loopline.func(standalone=True)
def step(i: int, cfg: Config) -> Config:
    print(f"step {i} in pid {os.getpid()}, a worker: {os.getpid() != PARENT}")
    return Config(helper(cfg.lr) + i, cfg.epochs)

@loopline.func
def pipeline(cfg: Config) -> list[Config]:
    return [step(i, cfg) for i in range(2)]"""


def test_funcs_from_cells_run_in_parallel_workers_and_silently(kernel: Kernel, tmp_path: Path) -> None:
    done = kernel.run(
        notebook(
            SETUP,
            TYPES,
            HELPERS,
            FUNCS,
            "local = loopline.LocalRunner(max_parallelism=2).run(pipeline(Config(0.5, 3)))\nlocal",
            "silent = loopline.SilentRunner().run(pipeline(Config(0.5, 3)))\nprint(silent == local, type(local[0]) is Config)",
        ),
        env={"JPY_SESSION_NAME": str(tmp_path / "explore.ipynb")},
    )
    local = done.text(4)
    assert "[Config(lr=5.0, epochs=3), Config(lr=6.0, epochs=3)]" in local
    assert "step 0" in local and "a worker: True" in local  # a worker's print, in the cell
    assert len(set(re.findall(r"in pid (\d+)", local))) == 2  # two worker processes at once
    assert "pipeline pipeline" in done.html(4) and "succeeded" in done.html(4)  # the live progress
    assert "True True" in done.text(5)


def test_funcs_are_named_after_the_notebook_and_runs_show_their_cell(kernel: Kernel, tmp_path: Path) -> None:
    done = kernel.run(
        notebook(
            SETUP,
            TYPES,
            HELPERS,
            FUNCS,
            "loopline.LocalRunner().run(pipeline(Config(0.5, 3)))",
            "runs = loopline.Client().runs(limit=10)\nprint(sorted({r.function for r in runs}))",
            'print(loopline.Client().runs(name="step")[0].source)',
        ),
        env={"JPY_SESSION_NAME": str(tmp_path / "explore.ipynb")},
    )
    assert "['explore.pipeline', 'explore.step']" in done.text(5)
    source = done.text(6)
    assert source.startswith("# explore.ipynb, In [4]") and "def pipeline" in source  # the whole cell


CACHED = """\
@loopline.func(cache=True, standalone=True)
def square(cfg: Config) -> int:
    return cfg.n ** 2"""
CHECK = """\
print(loopline.LocalRunner().run(square(Config(4))), [
    (r.function, r.state.value) for r in loopline.Client().runs(name="square", limit=1)
])"""


def test_a_named_notebook_caches_across_kernel_restarts_and_misses_on_a_changed_cell(kernel: Kernel) -> None:
    cells = [
        'import dataclasses\nimport loopline\nloopline.notebook("cache-demo")',
        "@dataclasses.dataclass(frozen=True)\nclass Config:\n    n: int",
        CACHED,
        CHECK,
    ]
    first = kernel.run(notebook(*cells, CHECK, CACHED.replace("cfg.n ** 2", "cfg.n * cfg.n"), CHECK))
    assert "16 [('cache-demo.square', 'succeeded')]" in first.text(3)
    assert "16 [('cache-demo.square', 'cached')]" in first.text(4)  # the same cell again
    assert "16 [('cache-demo.square', 'succeeded')]" in first.text(6)  # the cell was changed
    restarted = kernel.run(notebook(*cells))
    assert "16 [('cache-demo.square', 'cached')]" in restarted.text(3)
