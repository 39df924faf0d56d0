"""Whether a runner's process is alive: a dead process is dead even before its parent reaps it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from loopline.engine.liveness import pid_alive


def test_a_running_process_is_alive_and_a_zombie_is_not() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert pid_alive(child.pid)
        child.kill()
        deadline = time.monotonic() + 10
        while pid_alive(child.pid):  # killed, and not reaped yet: a zombie
            assert time.monotonic() < deadline, "a killed child still counts as alive"
            time.sleep(0.01)
        assert os.waitpid(child.pid, os.WNOHANG)[0] == child.pid  # it was a zombie until now
    finally:
        child.kill()
        child.wait()
    assert not pid_alive(child.pid)
