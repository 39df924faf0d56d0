"""Worker processes outlive their run: the next run of the same process starts warm, unless the
environment or the code it imported changed, or the spare waited too long."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

STEP_MODULE = """
    import os
    import loopline

    VERSION = {version}

    @loopline.func(standalone=True)
    def which() -> list[int]:
        return [os.getpid(), VERSION]
"""

SCRIPT = """
    import importlib, json, os, pathlib, sys
    import loopline

    folder = pathlib.Path(sys.argv[1])
    sys.path.insert(0, str(folder))
    import stepmod

    def run():
        return loopline.LocalRunner(echo=False).run(stepmod.which())

    first = run()
    second = run()
    os.environ["SOME_SETTING"] = "changed"
    new_environment = run()
    source = folder / "stepmod.py"
    source.write_text(source.read_text().replace("VERSION = 1", "VERSION = 2"))
    later = os.stat(source).st_mtime_ns + 10**9
    os.utime(source, ns=(later, later))
    importlib.reload(stepmod)
    new_code = run()
    import loopline.engine.workers, time
    loopline.engine.workers.SPARE_IDLE_S = 0.1
    run()  # parked with the short idle limit
    time.sleep(2.0)
    after_idle = run()
    print(json.dumps({"first": first, "second": second, "env": new_environment, "code": new_code,
                      "idle": after_idle}))
"""


def test_a_later_run_reuses_warm_workers_but_never_stale_ones(tmp_path: Path, home: Path) -> None:
    (tmp_path / "stepmod.py").write_text(textwrap.dedent(STEP_MODULE.format(version=1)))
    script = tmp_path / "runs.py"
    script.write_text(textwrap.dedent(SCRIPT))
    env = {**os.environ, "LOOPLINE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    pids = json.loads(done.stdout.strip().splitlines()[-1])
    worker_pids = {pid for pid, _ in pids.values()}
    assert len(worker_pids) == 4, pids  # the second run reused the first run's worker
    assert pids["second"] == pids["first"] == [pids["first"][0], 1]
    assert pids["env"][0] != pids["second"][0]  # another environment: a fresh worker
    assert pids["code"][0] != pids["env"][0] and pids["code"][1] == 2  # edited code: a fresh one
    assert pids["idle"][0] != pids["code"][0]  # a spare left idle past its limit exited
