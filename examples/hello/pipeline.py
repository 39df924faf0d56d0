"""The smallest Loopline pipeline: `loopline run examples/hello/pipeline.py --name Ada`."""

from __future__ import annotations

import loopline


@loopline.func
def greet(name: str) -> str:
    """Say hello."""
    print(f"greeting {name}")
    return f"Hello, {name}!"


@loopline.func
def shout(text: str) -> str:
    return text.upper()


@loopline.func
def pipeline(name: str = "world") -> str:
    """Greet someone, loudly."""
    return shout(greet(name))


if __name__ == "__main__":
    print(loopline.LocalRunner().run(pipeline("Ada")))
