"""Content hashes: artifact ids, code versions and cache keys are all SHA-256 hex digests."""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Iterable, Iterator, Mapping

HASH_NAME = "sha256"


def new_hasher() -> hashlib._Hash:
    return hashlib.sha256()


def digest_chunks(chunks: Iterable[bytes | memoryview]) -> str:
    hasher = new_hasher()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.hexdigest()


PIECE = 8 << 20  # bytes: how large values are cut, so that hashing one piece overlaps writing the next


def pieces(chunks: Iterable[bytes | memoryview]) -> Iterator[memoryview]:
    """The chunks as views of at most PIECE bytes (no copies)."""
    for chunk in chunks:
        view = memoryview(chunk)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
        for start in range(0, view.nbytes, PIECE):
            yield view[start : start + PIECE]


class StreamHasher:
    """The SHA-256 of pieces given in order, large ones hashed by a helper thread, so that what
    the caller does with a piece meanwhile (writing it to a file) runs on another core: hashlib
    and file writes both release the interpreter lock on large buffers. A piece must stay
    unchanged until `hexdigest()` returns (a value's own memory does)."""

    THREAD_FROM = 1 << 20  # bytes: smaller pieces are hashed at once (a thread costs more)

    def __init__(self) -> None:
        self._hasher = new_hasher()
        self._queue: queue.SimpleQueue[memoryview | None] | None = None
        self._thread: threading.Thread | None = None

    def update(self, piece: memoryview) -> None:
        if self._queue is None:
            if piece.nbytes < self.THREAD_FROM:
                self._hasher.update(piece)
                return
            self._queue = queue.SimpleQueue()
            self._thread = threading.Thread(target=self._hash, name="loopline-hash", daemon=True)
            self._thread.start()
        self._queue.put(piece)

    def _hash(self) -> None:
        assert self._queue is not None
        while (piece := self._queue.get()) is not None:
            self._hasher.update(piece)

    def hexdigest(self) -> str:
        self.close()
        return self._hasher.hexdigest()

    def close(self) -> None:
        """Stop the helper thread once it hashed what it was given (a write that failed midway
        calls this, as `hexdigest` does)."""
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._queue = self._thread = None


def digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(code_version: str, input_ids: Mapping[str, str], namespace: str | None) -> str:
    """The key a cached result is stored under: code, inputs (by content) and namespace.

    The parts are hashed as one JSON document, so no choice of names or namespace can make two
    different calls share a key. No namespace and an empty one are the same."""
    parts = [code_version, namespace or "", sorted(input_ids.items())]
    return digest_text(_KEY_JSON.encode(parts))


# One encoder for every key (`json.dumps` with options builds a new one per call): same text.
_KEY_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
