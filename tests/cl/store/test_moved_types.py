"""Values stored before the CL layer was split into subpackages name their types' old modules;
they still load."""

from __future__ import annotations

import datetime as dt
import io
import json
import struct

from loopline.cl.store.records import DatasetVersion
from loopline.core.serialization import MAGIC, decode, encode, read_header


def stored_under(old_module: str, value: object) -> bytes:
    """The bytes `value` had when its type lived in `old_module`."""
    header = read_header(io.BytesIO(encode(value).to_bytes()))
    text = json.dumps(header).replace(type(value).__module__ + ":", old_module + ":")
    data = text.encode()
    assert f'"{old_module}:'.encode() in data
    return MAGIC + struct.pack("<I", len(data)) + data


def test_a_record_stored_under_its_old_module_loads() -> None:
    version = DatasetVersion("digits", 1, "a" * 64, 10, 10, 0, 0, None, dt.datetime(2026, 1, 1), "me")
    assert decode(io.BytesIO(stored_under("loopline.cl.records", version))) == version
