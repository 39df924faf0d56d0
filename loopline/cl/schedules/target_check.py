"""`python -m loopline.cl.schedules.target_check TARGET [--PARAM VALUE ...]`: check a schedule's target in
a fresh interpreter, so that a server adding a schedule never imports user code itself.

Prints the target as an absolute FILE.py:FUNC and exits 0, or prints what is wrong and exits 1.
"""

from __future__ import annotations

import sys

from loopline.cl.schedules.scheduler import check_target
from loopline.errors import LooplineError


def main(argv: list[str]) -> int:
    if not argv:
        print(
            "usage: python -m loopline.cl.schedules.target_check TARGET [--PARAM VALUE ...]", file=sys.stderr
        )
        return 2
    try:
        print(check_target(argv[0], argv[1:]))
    except LooplineError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
