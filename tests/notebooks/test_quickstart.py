"""examples/notebooks/quickstart.ipynb runs as it is: train → regression test → promote, shown
inline; and the same notebook runs as a pipeline from the command line."""

from __future__ import annotations

from pathlib import Path

import nbformat

from tests.cli.test_commands import loopline_cmd
from tests.notebooks.kernels import ROOT, Kernel, read

QUICKSTART = ROOT / "examples" / "notebooks" / "quickstart.ipynb"
DASHBOARD = "http://dashboard.test"


def test_the_quickstart_trains_gates_and_promotes_with_rich_displays(kernel: Kernel) -> None:
    notebook = read(QUICKSTART)
    notebook.cells.insert(
        0, nbformat.v4.new_code_cell(f"import loopline\nloopline.dashboard_url({DASHBOARD!r})")
    )
    done = kernel.run(notebook)

    golden = done.html(done.find("golden = Dataset("))
    assert "quickstart-golden@1" in golden and "<img" in golden
    assert f'href="{DASHBOARD}/datasets/quickstart-golden/1"' in golden

    passed = done.find("report = loopline.LocalRunner()")
    assert "training on 1257 examples with C=0.2" in done.text(passed)  # printed in a worker process
    assert "promoted quickstart-digits@2 to production" in done.text(passed)
    assert "PASS" in done.html(passed) and "[0." in done.html(passed)  # the verdict, the intervals
    assert f'href="{DASHBOARD}/reports/' in done.html(passed)
    production = done.html(passed + 1)
    assert (
        "quickstart-digits@2" in production and f'href="{DASHBOARD}/models/quickstart-digits"' in production
    )

    blocked = done.find("bad = loopline.LocalRunner()")
    assert "REGRESSION" in done.html(blocked) and "FAIL" in done.html(blocked)
    assert "flipped right → wrong" in done.html(blocked) and done.html(blocked).count("<img") > 5
    assert "REGRESSION, 2 of 11 scenarios failed" in done.text(blocked)  # the plain-text repr

    last = done.html(done.find("loopline.Client().runs(root_only=True"))
    assert "quickstart.pipeline" in last and f'href="{DASHBOARD}/runs/' in last


def test_the_quickstart_runs_from_the_command_line(home: Path) -> None:
    done = loopline_cmd(home, "run", str(QUICKSTART) + ":pipeline", "--config", '{"C": 0.2}', "--promote")
    assert done.returncode == 0, done.stderr
    assert "pipeline succeeded" in done.stdout and "PASS" in done.stdout
    assert "skipped the rest of the cell, which runs a pipeline" in done.stderr
    bad = loopline_cmd(home, "ci", str(QUICKSTART) + ":pipeline", "--config", '{"drop_digit": 3}')
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "REGRESSION" in bad.stdout and "digit 3" in bad.stdout
