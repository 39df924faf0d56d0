from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from loopline.core.image import Image
from loopline.errors import SerializationError

np = pytest.importorskip("numpy")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, payload) of every chunk, checking each chunk's CRC on the way."""
    assert data.startswith(PNG_SIGNATURE)
    chunks, offset = [], len(PNG_SIGNATURE)
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind, payload = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + payload), f"bad CRC in {kind!r}"
        chunks.append((kind, payload))
        offset += 12 + length
    return chunks


def decode_png(data: bytes) -> Any:
    """The pixels of a PNG written without filters (what Image.from_array writes), as an array."""
    chunks = png_chunks(data)
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, color, *_ = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 6: 4}[color]
    assert depth == 8
    raw = np.frombuffer(zlib.decompress(chunks[1][1]), dtype=np.uint8).reshape(height, width * channels + 1)
    assert (raw[:, 0] == 0).all()  # filter type "none" on every row
    pixels = raw[:, 1:].reshape(height, width, channels)
    return pixels[:, :, 0] if channels == 1 else pixels


@pytest.mark.parametrize("shape", [(4, 6), (4, 6, 3), (4, 6, 4)], ids=["grey", "rgb", "rgba"])
def test_uint8_arrays_become_pngs_with_the_same_pixels(shape: tuple[int, ...]) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, size=shape, dtype=np.uint8)
    image = Image.from_array(pixels)
    assert (image.mime, image.width, image.height) == ("image/png", 6, 4)
    assert (decode_png(image.data) == pixels).all()


def test_a_single_channel_axis_is_grey() -> None:
    pixels = np.full((3, 3, 1), 7, dtype=np.uint8)
    assert (decode_png(Image.from_array(pixels).data) == 7).all()


def test_floats_in_zero_one_are_scaled_to_255() -> None:
    pixels = np.array([[0.0, 0.5, 1.0]])
    assert decode_png(Image.from_array(pixels).data).tolist() == [[0, 128, 255]]


def test_other_ranges_are_stretched_to_0_255() -> None:
    pixels = np.array([[-10, 0, 10]], dtype=np.int32)
    assert decode_png(Image.from_array(pixels).data).tolist() == [[0, 128, 255]]


def test_nan_pixels_become_black() -> None:
    pixels = np.array([[np.nan, 1.0]])
    assert decode_png(Image.from_array(pixels).data).tolist() == [[0, 255]]


def test_boolean_masks_are_black_and_white() -> None:
    assert decode_png(Image.from_array(np.array([[True, False]])).data).tolist() == [[255, 0]]


def test_non_contiguous_arrays_are_encoded_as_seen() -> None:
    pixels = np.arange(64, dtype=np.uint8).reshape(8, 8)[::2, ::2]
    assert (decode_png(Image.from_array(pixels).data) == pixels).all()


@pytest.mark.parametrize("shape", [(4,), (2, 2, 2), (2, 2, 5), (1, 2, 2, 3)])
def test_arrays_that_are_not_images_are_refused_with_their_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(SerializationError, match=r"HxW.*not shape"):
        Image.from_array(np.zeros(shape))


@pytest.mark.parametrize("shape", [(0, 5), (5, 0, 3)])
def test_empty_arrays_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(SerializationError, match="at least one pixel"):
        Image.from_array(np.zeros(shape))


@pytest.mark.parametrize(
    ("header", "mime"),
    [
        (PNG_SIGNATURE, "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"BM", "image/bmp"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_from_bytes_sniffs_the_format(header: bytes, mime: str) -> None:
    assert Image.from_bytes(header + b"\x00" * 16).mime == mime


def test_from_bytes_reads_a_png_size() -> None:
    png = Image.from_array(np.zeros((3, 5), dtype=np.uint8)).data
    image = Image.from_bytes(png)
    assert (image.width, image.height) == (5, 3)


def test_from_bytes_refuses_unknown_bytes_and_says_what_to_pass() -> None:
    with pytest.raises(SerializationError, match="mime="):
        Image.from_bytes(b"not an image")


def test_an_explicit_mime_type_is_trusted() -> None:
    assert Image.from_bytes(b"<svg/>", mime="image/svg+xml").mime == "image/svg+xml"


def test_from_file_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pixel.png"
    path.write_bytes(Image.from_array(np.ones((2, 2))).data)
    assert Image.from_file(path) == Image.from_bytes(path.read_bytes())


def test_notebooks_show_pngs_only() -> None:
    assert Image.from_array(np.ones((2, 2)))._repr_png_() is not None
    assert Image(b"\xff\xd8\xff", "image/jpeg")._repr_png_() is None


def test_sematic_spelling_bytes_works_for_any_bytes() -> None:
    image = Image(bytes=b"foobar")
    assert image.bytes == b"foobar" and image.data == b"foobar"
    assert image.mime == "application/octet-stream"


def test_from_file_takes_any_file_and_types_it_by_its_extension(tmp_path: Path) -> None:
    path = tmp_path / "picture.svg"
    path.write_text("<svg/>")
    assert Image.from_file(path).mime == "image/svg+xml"
    (tmp_path / "blob").write_bytes(b"\x00\x01")
    assert Image.from_file(tmp_path / "blob").mime == "application/octet-stream"
