"""Pickles of classes defined in scripts and notebooks: the same bytes in every process."""

from __future__ import annotations

import hashlib
import os
import pickle
import subprocess
import sys
import textwrap

from loopline.core import pickling

TYPES = textwrap.dedent(
    """
    import dataclasses, hashlib, sys
    from loopline.core.pickling import dumps

    @dataclasses.dataclass(frozen=True)
    class Inner:
        k: int
        def twice(self) -> int:
            return 2 * self.k

    @dataclasses.dataclass
    class Config:
        lr: float
        inner: Inner
        def copy(self) -> "Config":
            return Config(self.lr, self.inner)  # the class refers to itself
    """
)
SCRIPT = TYPES + "print(hashlib.sha256(dumps([Config(0.1, Inner(3)), Inner(4)])).hexdigest())\n"


def digest(script: str, seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    return subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout


def test_a_script_class_pickles_to_the_same_bytes_in_every_process() -> None:
    assert digest(SCRIPT, "1") == digest(SCRIPT, "2")


def test_a_changed_definition_pickles_differently() -> None:
    assert digest(SCRIPT, "1") != digest(SCRIPT.replace("2 * self.k", "3 * self.k"), "1")


def test_a_pickle_from_another_process_unpickles_with_its_methods() -> None:
    script = TYPES + "sys.stdout.buffer.write(dumps(Config(0.5, Inner(2))))\n"
    data = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout
    value = pickle.loads(data)
    assert value.inner.twice() == 4 and value.copy().lr == 0.5


def test_the_class_unpickles_as_itself_in_the_same_process() -> None:
    class Local:  # not importable by name: pickled by value
        pass

    again = pickle.loads(pickling.dumps(Local()))
    assert type(again) is Local
    assert pickling.stable_class_id(Local).startswith(pickling.PREFIX)
    assert (
        hashlib.sha256(pickling.dumps(Local())).digest() == hashlib.sha256(pickling.dumps(Local())).digest()
    )
