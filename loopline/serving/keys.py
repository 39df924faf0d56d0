"""API keys of the team server, checked for `loopline serve --require-key`.

A request's key (`Authorization: Bearer KEY`) is sent to the team server's `GET /api/v1/whoami`;
the answer (who it is, or that it was refused) is kept for `ttl_s` seconds (`failure_ttl_s` for a
refusal), so a busy endpoint asks the server once per key and interval, and a key revoked there
stops working here within `ttl_s`. Only a hash of each key is kept.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable

from loopline.errors import AuthenticationError
from loopline.storage.remote.client import ServerConnection

_MAX_KEYS = 10_000  # cached at once; the cache starts afresh past this


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who a key belongs to, as the team server says."""

    name: str
    role: str


class KeyChecker:
    def __init__(
        self,
        server: str,
        *,
        ttl_s: float = 10.0,
        failure_ttl_s: float = 2.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.connection = ServerConnection(server, None, retry_for_s=0.0, timeout_s=5.0)
        self.ttl_s = ttl_s
        self.failure_ttl_s = failure_ttl_s
        self.now = now
        self._cache: dict[bytes, tuple[float, Caller | str]] = {}  # a str: why it was refused
        self._lock = threading.Lock()

    def cached(self, key: str) -> Caller | None:
        """Who `key` is when that is known and fresh (AuthenticationError when it was refused)."""
        hit = self._cache.get(_digest(key))
        if hit is None or hit[0] < self.now():
            return None
        if isinstance(hit[1], str):
            raise AuthenticationError(hit[1])
        return hit[1]

    def check(self, key: str) -> Caller:
        """Who `key` is: from the cache, else from the team server (AuthenticationError when it
        refuses the key, ServerUnavailableError when it cannot be reached)."""
        found = self.cached(key)
        if found is not None:
            return found
        try:
            answer = self.connection.request(
                "GET", "/api/v1/whoami", headers={"Authorization": f"Bearer {key}"}, retry=False
            ).json()
        except AuthenticationError as error:
            self._keep(key, f"the team server refused the API key: {error}")
            raise
        caller = Caller(str(answer["name"]), str(answer["role"]))
        self._keep(key, caller)
        return caller

    def _keep(self, key: str, answer: Caller | str) -> None:
        ttl = self.ttl_s if isinstance(answer, Caller) else self.failure_ttl_s
        with self._lock:
            if len(self._cache) >= _MAX_KEYS:
                self._cache.clear()
            self._cache[_digest(key)] = (self.now() + ttl, answer)

    def close(self) -> None:
        self.connection.close()


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()
