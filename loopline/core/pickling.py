"""Pickles whose bytes do not depend on the process that wrote them.

cloudpickle pickles a class that other processes cannot import (one defined in a script or a
notebook cell) by value, tagged with a random id so that the same class unpickles as one class
in a process. The random id makes the bytes of a value of that class differ in every process, so
its artifact id (their hash) would too, and a notebook's cached step would miss after every
kernel restart. Here the id is a digest of the class's own pickle instead: the same definition
gives the same id, and the same bytes, in every process; a changed definition gives another.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import threading
import weakref
from typing import Any

import cloudpickle

# cloudpickle's registry of the classes it pickles by value (not public API: without it, pickles
# keep cloudpickle's random ids, which still round-trip).
_internals: Any = getattr(cloudpickle, "cloudpickle", None)
_BY_CLASS: Any = getattr(_internals, "_DYNAMIC_CLASS_TRACKER_BY_CLASS", None)
_BY_ID: Any = getattr(_internals, "_DYNAMIC_CLASS_TRACKER_BY_ID", None)
_TRACKER_LOCK: Any = getattr(_internals, "_DYNAMIC_CLASS_TRACKER_LOCK", None)

PREFIX = "loopline-"  # marks an id derived from the definition (kept by copies unpickled elsewhere)
_PENDING = "loopline-pending"  # the class being digested, inside its own pickle
_STABLE: weakref.WeakKeyDictionary[type, str] = weakref.WeakKeyDictionary()
_lock = threading.RLock()


class _StablePickler(cloudpickle.Pickler):  # type: ignore[misc]
    def __init__(self, file: io.BytesIO, pending: frozenset[int] = frozenset()) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending = pending

    def reducer_override(self, obj: Any) -> Any:
        reduced = super().reducer_override(obj)
        if isinstance(obj, type) and isinstance(reduced, tuple) and _BY_CLASS is not None:
            random_id = _BY_CLASS.get(obj)
            stable = _PENDING if id(obj) in self._pending else stable_class_id(obj, self._pending)
            args = tuple(stable if arg == random_id else arg for arg in reduced[1])
            reduced = (reduced[0], args, *reduced[2:])
        return reduced


def stable_class_id(cls: type, pending: frozenset[int] = frozenset()) -> str:
    """The id of a class pickled by value: a digest of its definition, the same in every process."""
    known = _STABLE.get(cls)
    if known is not None:
        return known
    with _lock:
        tracked = _BY_CLASS.get(cls) if _BY_CLASS is not None else None
        if isinstance(tracked, str) and tracked.startswith(PREFIX) and tracked != _PENDING:
            digest = tracked  # a copy unpickled from another process keeps the id it came with
        else:
            buffer = io.BytesIO()
            _StablePickler(buffer, pending | {id(cls)}).dump(cls)
            digest = PREFIX + hashlib.sha256(buffer.getvalue()).hexdigest()[:32]
        if _BY_CLASS is not None and _BY_ID is not None and _TRACKER_LOCK is not None:
            with _TRACKER_LOCK:
                _BY_CLASS[cls] = digest
                _BY_ID[digest] = cls  # the newest of equal definitions (a re-run cell) wins
        _STABLE[cls] = digest
        return digest


def dumps(value: Any) -> bytes:
    """`cloudpickle.dumps(value)`, with the ids of by-value classes derived from their definition."""
    buffer = io.BytesIO()
    _StablePickler(buffer).dump(value)
    return buffer.getvalue()
