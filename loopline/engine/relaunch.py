"""Rerunning a recorded pipeline in a new worker process, with the code as it is on disk now.

The server calls `start_rerun`: it picks the new run's id, then starts
`python -m loopline.engine.relaunch` with the interpreter and working directory the pipeline was
first launched with — only when its `RelaunchPolicy` allows them: a launch record is data in a
database, and running whatever interpreter or file it names would let anyone who can write that
database run code on the server's machine. The worker imports the root func again (so the current source becomes the
new runs' code version), loads the root run's recorded inputs from the artifact store, and runs
the call with `LocalRunner(rerun_from=...)`: from the root (everything executes again) or from a
chosen run (everything upstream of it is reused).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from loopline.core.records import LaunchSpec, RunRecord
from loopline.engine.local import LocalRunner
from loopline.errors import LooplineError, UsageError
from loopline.sdk.function import Function
from loopline.sdk.targets import Target
from loopline.settings import Settings
from loopline.storage.artifacts import load_value
from loopline.storage.embedded import open_stores


@dataclasses.dataclass(frozen=True)
class RelaunchPolicy:
    """What a server may start again: interpreters (`pythons`) and project folders (`roots`,
    None: any folder) that its operator named, not whatever a launch record says."""

    pythons: frozenset[str]
    roots: tuple[Path, ...] | None

    def check(self, launch: LaunchSpec) -> tuple[str, str]:
        """The interpreter and folder to rerun `launch` with, or UsageError saying what to allow."""
        python = launch.python or sys.executable
        if _resolved(python) not in {_resolved(p) for p in self.pythons}:
            raise UsageError(
                f"this pipeline was launched with {python}, which this server does not start: allow "
                f"it with `loopline server --rerun-python {python}`"
            )
        cwd = launch.cwd or "."
        for place in filter(None, (cwd, launch.file)):
            if self.roots is not None and not any(_inside(Path(place), root) for root in self.roots):
                raise UsageError(
                    f"{place} is outside this server's project folders, so it does not rerun it: allow "
                    "the folder with `loopline server --project-root DIR`"
                )
        return python, cwd


def _resolved(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def _inside(path: Path, root: Path) -> bool:
    return Path(_resolved(str(path))).is_relative_to(Path(_resolved(str(root))))


@dataclasses.dataclass(frozen=True)
class Relaunch:
    run_id: str  # the new pipeline run's id
    process: subprocess.Popen[bytes]
    log_file: Path


def start_rerun(
    root: RunRecord, settings: Settings, policy: RelaunchPolicy, *, from_run_id: str | None = None
) -> Relaunch:
    """Start a worker that reruns the pipeline `root`; the new run appears in the store soon."""
    launch = _launch_of(root)
    python, cwd = policy.check(launch)
    if not Path(python).exists():
        raise UsageError(f"the interpreter {python} this pipeline was launched with is not on this machine")
    if not Path(cwd).is_dir():
        cwd = str(settings.home)
    run_id = uuid.uuid4().hex
    log_dir = settings.home / "relaunch"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"{run_id}.log"
    env = {
        **os.environ,
        "LOOPLINE_HOME": str(settings.home),
        "LOOPLINE_DATABASE_URL": settings.database_url,
        "LOOPLINE_ARTIFACTS_URL": settings.artifacts_url,
        "PYTHONUNBUFFERED": "1",
    }
    command = [python, "-m", "loopline.engine.relaunch", root.id, "--run-id", run_id]
    if from_run_id is not None:
        command += ["--from", from_run_id]
    with open(log_file, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Relaunch(run_id, process, log_file)


def _launch_of(root: RunRecord) -> LaunchSpec:
    if root.parent_id is not None:
        raise UsageError(f"run {root.id} is nested in pipeline {root.root_id}; rerun the pipeline instead")
    if root.launch is None:
        raise UsageError(
            f"pipeline {root.name} ({root.id}) has no recorded launch spec (it was not run by a LocalRunner), "
            "so it cannot be started again from here"
        )
    return root.launch


def load_root_function(launch: LaunchSpec) -> Any:
    """The root func of a launch spec, imported from its file (or module) as it is now."""

    module_name, _, qualname = launch.function.partition(":")
    if launch.file and Path(launch.file).is_file() and launch.file.endswith((".py", ".ipynb")):
        module = Target(Path(launch.file), None).import_module()
    elif launch.module:
        if launch.cwd and launch.cwd not in sys.path:
            sys.path.insert(0, launch.cwd)
        try:
            module = importlib.import_module(launch.module)
        except ImportError as exc:
            where = (
                f"its file {launch.file} is gone"
                if launch.file
                else f"module {launch.module} cannot be imported"
            )
            raise UsageError(f"cannot load {launch.function} again: {where} ({exc})") from exc
    else:
        raise UsageError(f"cannot find the code of {launch.function}: its file {launch.file!r} is gone")
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
    if not isinstance(found, Function):
        raise UsageError(f"{launch.function} is no longer a @loopline.func in {launch.file or module_name}")
    return found


def rerun(root_id: str, run_id: str, from_run_id: str | None, settings: Settings) -> Any:
    """Run the pipeline `root_id` again as run `run_id` (in this process)."""

    metadata, artifacts = open_stores(settings)
    root = metadata.get_run(root_id)
    function = load_root_function(_launch_of(root))
    kwargs = {name: load_value(ref.artifact_id, artifacts) for name, ref in root.inputs.items()}
    future = function(**kwargs)
    future.set(name=root.name, tags=list(root.tags) or None)
    object.__setattr__(future, "id", run_id)  # the id the server already told the user
    runner = LocalRunner(rerun_from=from_run_id or root_id, metadata=metadata, artifacts=artifacts)
    return runner.run(future)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loopline.engine.relaunch", description=__doc__)
    parser.add_argument("root_id")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--from", dest="from_run_id")
    args = parser.parse_args(argv)

    try:
        rerun(args.root_id, args.run_id, args.from_run_id, Settings.from_env())
    except LooplineError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
