"""`Image`: a picture as a typed value, from an array, encoded bytes or a file."""

from __future__ import annotations

import builtins
import mimetypes
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopline.errors import SerializationError

_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
]


@dataclass(frozen=True, eq=True, init=False)
class Image:
    """Encoded image bytes (`data`) with their MIME type; shown as a picture in the dashboard.

    Sematic's `Image(bytes=...)` and `image.bytes` work too. Without `mime`, the type is read
    from the bytes (PNG, JPEG, GIF, BMP, WebP), else it is `application/octet-stream`.
    """

    data: builtins.bytes
    mime: str
    width: int | None
    height: int | None

    def __init__(
        self,
        data: builtins.bytes | None = None,
        mime: str | None = None,
        width: int | None = None,
        height: int | None = None,
        *,
        bytes: builtins.bytes | None = None,
    ) -> None:
        if (data is None) == (bytes is None):
            raise SerializationError("Image takes its encoded bytes once: Image(data) or Image(bytes=...)")
        content = data if data is not None else bytes
        if not isinstance(content, (builtins.bytes, bytearray, memoryview)):
            raise SerializationError(f"Image takes encoded bytes, got {type(content).__qualname__}")
        content = builtins.bytes(content)
        object.__setattr__(self, "data", content)
        object.__setattr__(self, "mime", mime or sniff_mime(content) or "application/octet-stream")
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "height", height)

    @property
    def bytes(self) -> builtins.bytes:
        """The encoded bytes (Sematic's name for `data`)."""
        return self.data

    @classmethod
    def from_bytes(cls, data: builtins.bytes, mime: str | None = None) -> Image:
        """Wrap encoded bytes (PNG, JPEG, GIF, BMP, WebP); the type is sniffed when not given."""
        detected = sniff_mime(data)
        if mime is None and detected is None:
            raise SerializationError(
                "cannot tell the image format of these bytes; pass mime='image/...' explicitly"
            )
        width, height = _png_size(data) if detected == "image/png" else (None, None)
        return cls(builtins.bytes(data), mime or detected or "", width, height)

    @classmethod
    def from_file(cls, path: str | Path) -> Image:
        """The file's bytes, typed by their content, else by the file's extension (as Sematic's
        `Image.from_file`, any file is accepted: `application/octet-stream` when unknown)."""
        data = Path(path).read_bytes()
        if sniff_mime(data) is not None:
            return cls.from_bytes(data)
        return cls(data, mimetypes.guess_type(str(path))[0] or "application/octet-stream")

    @classmethod
    def from_array(cls, array: Any) -> Image:
        """An HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA) array; floats in [0, 1] or any range."""
        pixels = to_uint8_pixels(array)
        return cls(encode_png(pixels), "image/png", pixels.shape[1], pixels.shape[0])

    def _repr_png_(self) -> builtins.bytes | None:  # shown inline by Jupyter
        return self.data if self.mime == "image/png" else None


def sniff_mime(data: bytes) -> str | None:
    for signature, mime in _SIGNATURES:
        if data.startswith(signature):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _png_size(data: bytes) -> tuple[int | None, int | None]:
    if len(data) < 24:
        return None, None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def to_uint8_pixels(array: Any) -> Any:
    import numpy as np

    pixels = np.asarray(array)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (3, 4)):
        raise SerializationError(
            f"an image array must be HxW, HxWx3 or HxWx4, not shape {tuple(pixels.shape)}"
        )
    if pixels.size == 0:
        raise SerializationError(f"an image needs at least one pixel, not shape {tuple(pixels.shape)}")
    if pixels.dtype == np.uint8:
        return np.ascontiguousarray(pixels)
    values = pixels.astype(np.float64)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if pixels.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        low, high = 0.0, 1.0
    scale = 255.0 / (high - low) if high > low else 0.0
    scaled = np.nan_to_num((values - low) * scale, nan=0.0, posinf=255.0, neginf=0.0)
    return np.ascontiguousarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))


def encode_png(pixels: Any) -> bytes:
    """Encode a C-contiguous uint8 HxW / HxWx3 / HxWx4 array as PNG (no filtering)."""
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    color_type = {1: 0, 3: 2, 4: 6}[channels]
    rows = pixels.reshape(height, width * channels)
    import numpy as np

    raw = np.zeros((height, width * channels + 1), dtype=np.uint8)
    raw[:, 1:] = rows
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)),
            _chunk(b"IEND", b""),
        ]
    )


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)
