"""`ServerConnection`: the one HTTP client of a Loopline server (httpx), shared by the remote
stores, the inference log's server sink and the CLI; and `post_json` for other endpoints
(webhooks, GitHub's API).

Every request carries the API key (`Authorization: Bearer ...`) and a request id. A request that
cannot reach the server, or that the server answers with 502/503/504 (restarting, behind a proxy),
is sent again with exponential backoff until `retry_for_s` has passed, with the same request id:
the server applies a write once however often it arrives. Refusals are errors of their own:
`AuthenticationError` (401), `PermissionDeniedError` (403), and the server's own Loopline errors.

Small values a runner puts wait in the connection (`defer_value`) and travel together in one
request (`send_deferred_values`), which the metadata store sends before each batch of records:
a step's output costs no request of its own, and the server never holds a record of a value it
has not got. Until they are sent, this process reads them from memory.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import httpx

from loopline._version import __version__
from loopline.core.wire import JSON
from loopline.errors import (
    AuthenticationError,
    LooplineError,
    PermissionDeniedError,
    ServerUnavailableError,
    StoreError,
)
from loopline.storage import rpc

logger = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({502, 503, 504})
REQUEST_ID_HEADER = "X-Loopline-Request-Id"
VALUES_PATH = "/api/v1/artifacts/batch"
DEFERRED_MAX_BYTES = 4 << 20  # deferred values are sent once they add up to this
ID_BYTES = 64  # an artifact id: SHA-256 in hex
LENGTH_BYTES = 8  # each value's length, big-endian, after its id


def frame_values(values: Mapping[str, bytes]) -> bytes:
    """The body of `POST /api/v1/artifacts/batch`: each value as its id, its length and its bytes."""
    return b"".join(
        artifact_id.encode() + len(data).to_bytes(LENGTH_BYTES, "big") + data
        for artifact_id, data in values.items()
    )


def unframe_values(body: bytes) -> Iterator[tuple[str, memoryview]]:
    """The (id, bytes) pairs of a body `frame_values` made; ValueError for a malformed one."""
    view, at = memoryview(body), 0
    while at < len(view):
        head = at + ID_BYTES + LENGTH_BYTES
        if head > len(view):
            raise ValueError(f"the body ends inside a value's header at byte {at}")
        artifact_id = bytes(view[at : at + ID_BYTES]).decode("ascii", "replace")
        size = int.from_bytes(view[at + ID_BYTES : head], "big")
        if head + size > len(view):
            raise ValueError(f"value {artifact_id} says {size} bytes, but the body ends first")
        yield artifact_id, view[head : head + size]
        at = head + size


class ServerConnection:
    """A connection to one Loopline server: `url` (e.g. `http://host:8707`) and an API key."""

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        retry_for_s: float = 300.0,
        timeout_s: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise StoreError(
                f"LOOPLINE_SERVER must be an http(s):// URL such as http://host:8707, got {url!r}"
            )
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.retry_for_s = retry_for_s
        self._sleep = sleep
        headers = {"User-Agent": f"loopline/{__version__}"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s, connect=min(10.0, timeout_s)),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )
        self._closed = threading.Event()
        self._deferred: dict[str, bytes] = {}  # small values not sent yet, by id
        self._deferred_bytes = 0
        self._deferred_lock = threading.Lock()
        self._sending = threading.Lock()  # one batch of values in flight at a time

    def __repr__(self) -> str:
        return f"ServerConnection({self.url!r})"  # never the key

    # -- calls -------------------------------------------------------------------------------

    def check(self) -> dict[str, Any]:
        """Fail at once, naming the URL, when the server cannot be reached or refuses the key;
        returns what the server says of itself (`GET /api/v1/health`)."""
        answer: dict[str, Any] = self.request("GET", "/api/v1/health", retry=False).json()
        if self.api_key:
            self.request("GET", "/api/v1/whoami", retry=False)
        return answer

    def call(self, protocol: type, store: str, name: str, /, **arguments: Any) -> Any:
        """Call `store`'s method `name` (a method of `protocol`) on the server."""
        body = {"arguments": rpc.encode_arguments(protocol, name, arguments)}
        response = self.request("POST", f"/api/v1/rpc/{store}/{name}", json=body)
        return rpc.decode_result(protocol, name, response.json()["result"])

    def request(
        self,
        method: str,
        path: str,
        *,
        json: JSON = None,
        content: bytes | Iterable[bytes] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: bool = True,
        ok: Iterable[int] = (),
    ) -> httpx.Response:
        """Send one request (again, with backoff, while the server is unreachable); raise the
        server's refusal as an error. Statuses in `ok` are returned instead of raised."""
        all_headers = {REQUEST_ID_HEADER: uuid.uuid4().hex, **(headers or {})}
        deadline = time.monotonic() + (self.retry_for_s if retry else 0.0)
        delay = 0.05
        while True:
            try:
                response = self._http.request(
                    method, path, json=json, content=content, params=params, headers=all_headers
                )
            except httpx.TransportError as error:
                problem = f"cannot reach the Loopline server at {self.url} ({_reason(error)})"
            else:
                if response.status_code not in RETRYABLE_STATUS:
                    if response.is_success or response.status_code in ok:
                        return response
                    raise self._refusal(response, method, path)
                problem = f"the Loopline server at {self.url} answered {response.status_code}"
            if not _replayable(content) or time.monotonic() + delay > deadline or self._closed.is_set():
                raise ServerUnavailableError(
                    f"{problem}; is `loopline server` running there, and is LOOPLINE_SERVER right?"
                )
            logger.warning("%s; trying again in %.1f s", problem, delay)
            self._sleep(delay)
            delay = min(delay * 2, 5.0)

    # -- small values, sent in batches -------------------------------------------------------

    def defer_value(self, artifact_id: str, data: bytes) -> None:
        """Keep a small value (its id checked by the caller) to send with the next batch."""
        with self._deferred_lock:
            if artifact_id not in self._deferred:
                self._deferred[artifact_id] = data
                self._deferred_bytes += len(data)
            full = self._deferred_bytes >= DEFERRED_MAX_BYTES
        if full:
            self.send_deferred_values()

    def deferred_value(self, artifact_id: str) -> bytes | None:
        """A value this process put that has not been sent yet."""
        with self._deferred_lock:
            return self._deferred.get(artifact_id)

    def send_deferred_values(self) -> None:
        """Send every deferred value in one request (again, with backoff, while the server is
        unreachable; putting a value twice is harmless). They stay readable here until sent."""
        with self._sending:
            with self._deferred_lock:
                taken = dict(self._deferred)
            if not taken:
                return
            self.request(
                "POST",
                VALUES_PATH,
                content=frame_values(taken),
                headers={"Content-Type": "application/octet-stream"},
            )
            with self._deferred_lock:
                for artifact_id, data in taken.items():
                    del self._deferred[artifact_id]
                    self._deferred_bytes -= len(data)

    def stream(self, path: str) -> Iterator[bytes]:
        """The body of `GET path`, chunk by chunk (for artifacts: nothing buffered whole)."""
        request = self._http.build_request("GET", path, headers={REQUEST_ID_HEADER: uuid.uuid4().hex})
        try:
            response = self._http.send(request, stream=True)
        except httpx.TransportError as error:
            raise ServerUnavailableError(
                f"cannot reach the Loopline server at {self.url} ({_reason(error)})"
            ) from None
        try:
            if not response.is_success:
                response.read()
                raise self._refusal(response, "GET", path)
            try:
                yield from response.iter_bytes(1 << 20)
            except httpx.TransportError as error:
                raise ServerUnavailableError(
                    f"the Loopline server at {self.url} stopped sending {path} before its end ({_reason(error)})"
                ) from None
        finally:
            response.close()

    def close(self) -> None:
        """Send what is deferred, then close (a server that cannot be reached then leaves those
        values unsent, as a crash would: no record of them was sent either)."""
        try:
            if not self._closed.is_set():
                self.send_deferred_values()
        except LooplineError as error:
            logger.warning("%s: %d small values were not sent", error, len(self._deferred))
        finally:
            self._closed.set()
            self._http.close()

    # -- errors ------------------------------------------------------------------------------

    def _refusal(self, response: httpx.Response, method: str, path: str) -> LooplineError:
        detail = _detail(response)
        where = f"{method} {self.url}{path}"
        if response.status_code == 401:
            hint = "set LOOPLINE_API_KEY to a key made with `loopline keys create USER`"
            if self.api_key:
                hint = (
                    "the key is wrong, revoked or expired: ask an admin for a new one (loopline keys create)"
                )
            return AuthenticationError(f"{where}: {detail} ({hint})")
        if response.status_code == 403:
            return PermissionDeniedError(f"{where}: {detail}")
        try:
            error = response.json().get("error")
        except ValueError:
            error = None
        if isinstance(error, dict):
            return rpc.error_from_wire(error, where)
        return StoreError(f"{where} answered {response.status_code}: {detail}")


def post_json(
    url: str, payload: JSON, *, headers: Mapping[str, str] | None = None, timeout_s: float = 10.0
) -> httpx.Response:
    """POST `payload` as JSON to any URL (webhooks, GitHub); raises httpx's errors."""
    response = httpx.post(
        url,
        json=payload,
        headers={"User-Agent": f"loopline/{__version__}", **(headers or {})},
        timeout=timeout_s,
    )
    response.raise_for_status()
    return response


def _replayable(content: bytes | Iterable[bytes] | None) -> bool:
    """A request whose body was a one-shot stream cannot be sent again."""
    return content is None or isinstance(content, bytes)


def _reason(error: httpx.TransportError) -> str:
    return str(error) or type(error).__name__


def _detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
        if "detail" in data:
            return str(data["detail"])
    return str(data)[:200]
