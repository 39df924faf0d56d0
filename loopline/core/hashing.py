"""Content hashes: artifact ids, code versions and cache keys are all SHA-256 hex digests."""

from __future__ import annotations

import hashlib
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
    """The key a cached result is stored under: code, inputs (by content) and namespace."""
    parts = [f"code={code_version}", f"namespace={namespace or ''}"]
    parts += [f"{name}={input_ids[name]}" for name in sorted(input_ids)]
    return digest_text("\n".join(parts))
