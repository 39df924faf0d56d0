"""Sematic's `sematic.utils` names that its users import: `loopline.utils.exceptions`."""

from __future__ import annotations

from loopline.utils import exceptions

__all__ = ["exceptions"]
