"""`make demo`: run the example pipelines on the embedded store and say where to look next."""

from __future__ import annotations

import os

import loopline
from examples.digits.pipeline import TrainConfig
from examples.digits.pipeline import pipeline as digits
from examples.hello.pipeline import pipeline as hello
from loopline.cli.progress import TerminalProgress


def main() -> None:
    home = os.environ.get("LOOPLINE_HOME", "~/.loopline")
    print(f"Loopline demo: runs are tracked in {home}\n")
    for title, future in [
        ("hello", hello("Loopline")),
        ("digits (first run: trains)", digits(TrainConfig(C=10.0)).set(tags=["demo"])),
        ("digits (second run: cache hits)", digits(TrainConfig(C=10.0)).set(tags=["demo"])),
    ]:
        print(f"== {title}")
        with TerminalProgress() as progress:
            value = loopline.LocalRunner(hooks=[progress], echo=False).run(future)
        summary = f"accuracy {value.accuracy:.3f}" if hasattr(value, "accuracy") else repr(value)
        print(f"   -> {summary}\n")
    print("See what ran:   .venv/bin/loopline runs ls")
    print("The dashboard:  .venv/bin/loopline server   (then open http://127.0.0.1:8707)")


if __name__ == "__main__":
    main()
