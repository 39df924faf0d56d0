"""A user's script, timed from before `import loopline` (the fresh-process cells of `fresh.py`).

    python benchmarks/chain_script.py STEPS

Runs a chain of STEPS trivial steps on `LocalRunner()` twice in this process and prints one JSON
line: the seconds `import loopline` took, the seconds from before that import to the end of the
first run (what `python pipeline.py` costs beyond the interpreter's own start), and the seconds
of the second run (the same pipeline in a warm process).
"""

import time

T0 = time.perf_counter()

import loopline  # noqa: E402 - what is timed

IMPORT_S = time.perf_counter() - T0

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402


@loopline.func
def add_one(x: int) -> int:
    return x + 1


@loopline.func
def chain(n: int) -> int:
    x = add_one(0)
    for _ in range(n - 1):
        x = add_one(x)
    return x


def main() -> None:
    n = int(sys.argv[1])
    if loopline.LocalRunner(echo=False).run(chain(n)) != n:
        raise SystemExit("wrong result")
    first_s = time.perf_counter() - T0
    start = time.perf_counter()
    loopline.LocalRunner(echo=False).run(chain(n))
    second_s = time.perf_counter() - start
    record = {"import_s": IMPORT_S, "first_s": first_s, "second_s": second_s, "load": os.getloadavg()[0]}
    print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
