"""What a pipeline run records about where it was started: git, user, launch spec."""

from __future__ import annotations

import getpass
import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from loopline.core.records import GitInfo, LaunchSpec
from loopline.core.serialization import is_by_value_module
from loopline.sdk import notebook


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info(directory: Path) -> GitInfo | None:
    """The commit, branch and dirtiness of the git working tree holding `directory`."""
    commit = _git(["rev-parse", "HEAD"], directory)
    if commit is None:
        return None
    branch = _git(["rev-parse", "--abbrev-ref", "HEAD"], directory)
    status = _git(["status", "--porcelain", "--untracked-files=no"], directory)
    remote = _git(["config", "--get", "remote.origin.url"], directory)
    return GitInfo(commit=commit, branch=branch, dirty=bool(status), remote=remote or None)


def source_file(fn: Any) -> Path | None:
    """The file `fn` was written in: its notebook for a func from a notebook (run in a kernel
    that knows its path, or loaded from the file), else its source file."""
    if notebook.is_cell_function(fn):
        return notebook.notebook_path()
    module = sys.modules.get(getattr(fn, "__module__", ""))
    module_file = getattr(module, "__file__", None)
    if isinstance(module_file, str) and module_file.endswith(notebook.SUFFIX):
        return Path(module_file)
    try:
        file = inspect.getsourcefile(fn)
    except TypeError:
        file = None
    return Path(file) if file else None


def source_directory(fn: Any) -> Path:
    file = source_file(fn)
    return file.resolve().parent if file else Path.cwd()


def launch_spec(fn: Any) -> LaunchSpec:
    module = fn.__module__
    file = source_file(fn)
    if notebook.is_cell_function(fn):
        module = notebook.identity(warn=False) or module
    importable = not is_by_value_module(fn.__module__)
    return LaunchSpec(
        function=f"{module}:{fn.__qualname__}",
        module=module if importable else None,
        file=str(file.resolve()) if file else None,
        python=sys.executable,
        cwd=os.getcwd(),
        argv=tuple(sys.argv),
    )
