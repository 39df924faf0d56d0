"""Ray Train checkpoints as artifacts (`loopline.ee.ray.checkpoint`, Sematic's module name).

A `ray.train.Checkpoint` names a folder, on one machine or in cloud storage. Pickling it would
keep only that name, which another machine, or a later day, cannot use; this codec stores the
folder's files themselves (as an uncompressed tar archive, with fixed metadata so the same
files give the same artifact), and loading gives a Checkpoint of a fresh local copy.
"""

from __future__ import annotations

import io
import os
import sys
import tarfile
import tempfile
from typing import Any

from loopline.core.serialization import JSON, Blob, BlobReader, Codec, read_exactly


def _is_checkpoint(value: Any) -> bool:
    train = sys.modules.get("ray.train")
    return train is not None and isinstance(value, train.Checkpoint)


def pack(folder: str) -> bytes:
    """The files under `folder` as a tar archive that depends on nothing but their contents."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                info = archive.gettarinfo(path, arcname=os.path.relpath(path, folder))
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                with open(path, "rb") as file:
                    archive.addfile(info, file)
    return buffer.getvalue()


def unpack(data: bytes) -> str:
    """A new local folder holding the files of a `pack`ed archive."""
    folder = tempfile.mkdtemp(prefix="loopline-checkpoint-")
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as archive:
        archive.extractall(folder, filter="data")
    return folder


class RayCheckpointCodec(Codec):
    name = "ray-checkpoint"

    def handles(self, value: Any) -> bool:
        return _is_checkpoint(value)

    def encode(self, value: Any) -> Blob:
        with value.as_directory() as folder:
            return Blob(self.name, {}, [pack(folder)])

    def decode(self, meta: dict[str, JSON], reader: BlobReader, nbytes: int) -> Any:
        from ray.train import Checkpoint

        return Checkpoint.from_directory(unpack(read_exactly(reader, nbytes)))

    def summary(self, value: Any) -> dict[str, JSON]:
        with value.as_directory() as folder:
            files = sorted(
                os.path.relpath(os.path.join(root, name), folder)
                for root, _, names in os.walk(folder)
                for name in names
            )
        return {
            "kind": "object",
            "type": "ray.train.Checkpoint",
            "repr": f"Checkpoint with {len(files)} files",
            "files": files[:50],
        }
