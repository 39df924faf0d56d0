"""Pipelines the server tests run for real (importable, so reruns can import them again)."""

from __future__ import annotations

import dataclasses
import sys
import time

import loopline

XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 1">'


@dataclasses.dataclass
class Report:
    accuracy: float
    label: str


@loopline.func
def make_table(n: int) -> object:
    import numpy as np
    import pandas as pd

    print(f"making a table of {n} rows")
    print(f"untrusted log line: {XSS}")
    return pd.DataFrame(
        {
            "x": np.arange(n, dtype=float),
            "y": [np.nan if i % 3 == 0 else i * 1.5 for i in range(n)],
            "mixed": [XSS if i == 0 else (i if i % 2 else f"s{i}") for i in range(n)],
        }
    )


@loopline.func
def make_arrays(size: int) -> dict[str, object]:
    import numpy as np

    for step in range(5):
        loopline.log_metric("loss", 1.0 / (step + 1), step)
        loopline.log_metric("accuracy", 0.5 + step * 0.1, step)
    gradient = np.linspace(0, 255, size * size, dtype=np.float32).reshape(size, size)
    confusion = np.array([[50, 2, 1], [3, 45, 4], [0, 5, 40]], dtype=np.int64)
    return {"image": gradient, "confusion": confusion, "vector": np.arange(10.0)}


@loopline.func
def summarize(table: object, arrays: dict[str, object]) -> Report:
    return Report(accuracy=0.9, label=f"{len(table)} rows")  # type: ignore[arg-type]


@loopline.func
def showcase(n: int = 12) -> Report:
    """A bit of everything the dashboard renders."""
    return summarize(make_table(n), make_arrays(16))


@loopline.func
def inc(x: int) -> int:
    return x + 1


@loopline.func
def total(xs: list[int]) -> int:
    return sum(xs)


@loopline.func
def fan(n: int) -> int:
    """A fan-out of n steps joined by one."""
    return total([inc(i) for i in range(n)])


LOUD_LINE = "line {:07d} " + "x" * 88  # 101 characters with its newline


def loud_output(lines: int) -> str:
    """What `loud(lines)` prints."""
    return "".join(LOUD_LINE.format(i) + "\n" for i in range(lines))


@loopline.func
def loud(lines: int) -> int:
    """Prints `lines` numbered lines (a log of ~100 characters a line)."""
    for i in range(lines):
        print(LOUD_LINE.format(i))
    return lines


@loopline.func
def explode(message: str) -> int:
    raise ValueError(message)


@loopline.func
def failing(message: str = "the data is bad") -> int:
    return explode(message)


@loopline.func(standalone=True)
def tick(seconds: float) -> int:
    count = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        count += 1
        print(f"tick {count}", flush=True)
        time.sleep(0.2)
    return count


@loopline.func
def slow(seconds: float = 120.0) -> int:
    """Prints a line five times a second for `seconds` (to watch live, then cancel)."""
    return tick(seconds)


@loopline.func
def heartbeat() -> int:
    """A pipeline no fixture runs: a test runs it while a page watches."""
    return 1


@loopline.func
def plotly_plot(points: int) -> object:
    import plotly.graph_objects as go

    return go.Figure(go.Scatter(x=list(range(points)), y=[x * x for x in range(points)], name="squares"))


@loopline.func
def plot(points: int) -> object:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4, 3))
    figure.subplots().plot(range(points), [x * x for x in range(points)])
    return figure


@loopline.func
def picky(i: int, label: str) -> int:
    if i % 4 == 3:
        raise ValueError(f"{i} is unlucky\nsecond line")
    return i


@loopline.func
def picky_fan(n: int) -> int:
    """A fan-out some of whose calls fail: they differ by `i` and `label`, and share `n`."""
    return total([picky(i, f"case-{i}") for i in range(n)])


@loopline.func
def ping(x: int) -> int:
    return x + 1


@loopline.func
def pong(x: int) -> int:
    return x + 2


@loopline.func
def rally(n: int) -> int:
    """A chain of two functions taking turns: no chain of one function to fold, so each call is
    a box of its own, one below the other."""
    x = ping(0)
    for i in range(n):
        x = pong(x) if i % 2 else ping(x)
    return x


@loopline.func
def prepare() -> int:
    print("preparing the data")
    return 1


@loopline.func
def say(i: int) -> int:
    print(f"step {i} says hello")
    if i == 1:
        print(f"step {i} warns", file=sys.stderr)
    return i


@loopline.func
def chatty(n: int) -> int:
    """A pipeline whose steps print: `prepare`, then `n` calls of `say` (one warns on stderr)."""
    print("chatty starts")
    return total([prepare(), *(say(i) for i in range(n))])


@loopline.func
def one_liner() -> int:
    print("just this")
    return 1
