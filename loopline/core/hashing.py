"""Content hashes: artifact ids, code versions and cache keys are all SHA-256 hex digests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping

HASH_NAME = "sha256"


def new_hasher() -> hashlib._Hash:
    return hashlib.sha256()


def digest_chunks(chunks: Iterable[bytes | memoryview]) -> str:
    hasher = new_hasher()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.hexdigest()


def digest_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_key(code_version: str, input_ids: Mapping[str, str], namespace: str | None) -> str:
    """The key a cached result is stored under: code, inputs (by content) and namespace.

    The parts are hashed as one JSON document, so no choice of names or namespace can make two
    different calls share a key. No namespace and an empty one are the same."""
    parts = [code_version, namespace or "", sorted(input_ids.items())]
    return digest_text(json.dumps(parts, ensure_ascii=False, separators=(",", ":")))
