"""`HttpArtifactStore`: artifacts through a Loopline server, for workers without object-store
credentials of their own.

Values up to `DEFER_BYTES` wait in the connection and go with the next batch (`flush()`, and
before every write of records: `ServerConnection.defer_value`), unless the store is opened with
`defer_small=False` (worker processes, which hand their results to their runner at once).

Bytes stream both ways, never held whole: a put sends the value's buffers as they are (a large
array is not copied) after asking whether the server holds that id already; a read hashes what
arrives and `verify()` compares it with the id. The server checks the hash of what it receives
before storing it, so no client can put bytes under another value's id.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

from loopline.core.hashing import digest_chunks
from loopline.core.serialization import Encoded
from loopline.errors import ArtifactCorruptedError, ArtifactNotFoundError, ServerUnavailableError
from loopline.storage.artifacts import SERVER_SCHEME, VerifyingReader, check_artifact_id, is_artifact_id
from loopline.storage.base import ArtifactReader
from loopline.storage.remote.client import ServerConnection

WRITTEN_AT_HEADER = "X-Loopline-Written-At"
ASK_FIRST_BYTES = 256 * 1024  # below this, sending the bytes costs less than asking first
DEFER_BYTES = 64 * 1024  # values up to this size are sent in batches


class HttpArtifactStore:
    def __init__(self, connection: ServerConnection, *, defer_small: bool = True) -> None:
        self.connection = connection
        self.url = f"{SERVER_SCHEME}{connection.url}"
        self.defer_small = defer_small

    def __repr__(self) -> str:
        return f"HttpArtifactStore({self.url!r})"

    def _path(self, artifact_id: str) -> str:
        return f"/api/v1/artifacts/{check_artifact_id(artifact_id)}"

    def put(self, encoded: Encoded) -> str:
        artifact_id = digest_chunks(encoded.chunks())
        if self.defer_small and encoded.size <= DEFER_BYTES:
            self.connection.defer_value(artifact_id, b"".join(encoded.chunks()))
            return artifact_id
        if encoded.size > ASK_FIRST_BYTES and self.exists(artifact_id):
            return artifact_id  # a large value the server holds already is not sent again
        deadline = time.monotonic() + self.connection.retry_for_s
        delay = 0.05
        while True:  # a streamed body cannot be replayed by the connection: send it again here
            try:
                self.connection.request(
                    "PUT",
                    self._path(artifact_id),
                    content=_chunks(encoded),
                    headers={"Content-Type": "application/octet-stream", "Content-Length": str(encoded.size)},
                )
                return artifact_id
            except ServerUnavailableError:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def open(self, artifact_id: str) -> ArtifactReader:
        check_artifact_id(artifact_id)
        deferred = self.connection.deferred_value(artifact_id)
        if deferred is not None:
            return VerifyingReader(io.BytesIO(deferred), artifact_id, self.url)
        if not self.exists(artifact_id):
            raise ArtifactNotFoundError(
                f"artifact {artifact_id} is not on the server at {self.connection.url}"
            )
        chunks = _cut_short_is_corrupt(
            self.connection.stream(f"{self._path(artifact_id)}/bytes"), artifact_id
        )
        return VerifyingReader(_ChunkStream(chunks), artifact_id, self.url)  # type: ignore[arg-type]

    def exists(self, artifact_id: str) -> bool:
        if not is_artifact_id(artifact_id):
            return False
        if self.connection.deferred_value(artifact_id) is not None:
            return True
        response = self.connection.request("HEAD", self._path(artifact_id), ok=(404,))
        return response.status_code == 200

    def delete(self, artifact_id: str) -> None:
        self.flush()  # a deferred value too is gone once this returns
        self.connection.request("DELETE", self._path(artifact_id), ok=(404,))

    def ids(self) -> Iterator[str]:
        self.flush()
        after = ""
        while True:
            page = self.connection.request("GET", "/api/v1/artifacts", params={"after": after}).json()
            yield from page["ids"]
            if not page["ids"] or page.get("next") is None:
                return
            after = page["next"]

    def written_at(self, artifact_id: str) -> float | None:
        self.flush()
        response = self.connection.request("HEAD", self._path(artifact_id), ok=(404,))
        stamp = response.headers.get(WRITTEN_AT_HEADER)
        return float(stamp) if response.status_code == 200 and stamp else None

    def flush(self) -> None:
        self.connection.send_deferred_values()

    def discard_partial_writes(self, older_than_s: float) -> int:
        answer = self.connection.request(
            "POST", "/api/v1/artifacts/discard-partial-writes", params={"older_than_s": older_than_s}
        ).json()
        return int(answer["discarded"])


def open_server_artifacts(url: str, api_key: str | None) -> HttpArtifactStore:
    """The artifact store of the server at `url` for a worker process: its runner's store, every
    value sent before the step's result goes back to the runner."""
    return HttpArtifactStore(ServerConnection(url, api_key), defer_small=False)


def _chunks(encoded: Encoded) -> Iterator[bytes]:
    yield from encoded.chunks()  # type: ignore[misc]  # memoryviews go to the socket as they are


def _cut_short_is_corrupt(chunks: Iterator[bytes], artifact_id: str) -> Iterator[bytes]:
    """The server cuts an artifact's bytes short when its copy no longer matches the hash."""
    try:
        yield from chunks
    except ServerUnavailableError as error:
        raise ArtifactCorruptedError(
            f"artifact {artifact_id} could not be read whole: {error}. The server does this when its "
            "copy no longer matches the hash (its log names the file; rerun the step that produced it "
            "with `loopline run --no-cache ...`), or when it went away mid-transfer (then try again)"
        ) from None


class _ChunkStream:
    """A file-like reader over an iterator of byte chunks (each byte copied once, into the
    caller's buffer)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._chunk = memoryview(b"")

    def _next(self) -> bool:
        while not self._chunk:
            chunk = next(self._chunks, None)
            if chunk is None:
                return False
            self._chunk = memoryview(chunk)
        return True

    def readinto(self, buffer: memoryview) -> int:
        target = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(target) and self._next():
            n = min(len(target) - filled, len(self._chunk))
            target[filled : filled + n] = self._chunk[:n]
            self._chunk = self._chunk[n:]
            filled += n
        return filled

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            parts = []
            while self._next():
                parts.append(bytes(self._chunk))
                self._chunk = memoryview(b"")
            return b"".join(parts)
        data = bytearray(size)
        return bytes(data[: self.readinto(memoryview(data))])

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
