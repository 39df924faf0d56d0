"""A notebook's funcs on Ray: the kernel joins the test session's one Ray instance by its address."""

from __future__ import annotations

import pytest

from tests.notebooks.kernels import Kernel, notebook

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

CELLS = [
    'import dataclasses, os\nimport loopline\nloopline.notebook("ray-demo")\nPARENT = os.getpid()',
    "@dataclasses.dataclass\nclass Point:\n    x: int\n\nOFFSET = 100",
    """\
@loopline.func
def shift(p: Point) -> Point:
    print(f"shifting {p.x} on Ray: {os.getpid() != PARENT}")
    return Point(p.x + OFFSET)

@loopline.func
def pipeline(n: int) -> list[Point]:
    return [shift(Point(i)) for i in range(n)]""",
    "loopline.RayRunner().run(pipeline(2))",
    "import ray\nprint(len(ray.nodes()), ray.get_runtime_context().gcs_address)",
]


def test_a_notebooks_funcs_run_on_the_sessions_ray(ray_instance: None, kernel: Kernel) -> None:
    address = ray.get_runtime_context().gcs_address
    done = kernel.run(notebook(*CELLS), env={"RAY_ADDRESS": address})
    assert "[Point(x=100), Point(x=101)]" in done.text(3)
    assert "shifting 0 on Ray: True" in done.text(3)  # a Ray worker's print, in the cell
    assert "pipeline pipeline" in done.html(3)
    assert done.text(4).strip() == f"1 {address}"  # joined the session's instance, started none
