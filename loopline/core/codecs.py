"""Built-in codecs: raw bytes, numpy arrays, pandas, torch, scikit-learn, images, and pickle.

Each codec looks its library up in `sys.modules` before anything else: a value can only be a
numpy array if numpy is already imported, so Loopline never imports an optional library just to
find out that a value is not of its type.
"""

from __future__ import annotations

import io
import pickle
import sys
from typing import Any

from loopline.core import pickling, summaries
from loopline.core.image import Image
from loopline.core.ray_checkpoint import RayCheckpointCodec
from loopline.core.serialization import (
    JSON,
    REGISTRY,
    Blob,
    BlobReader,
    Codec,
    CodecRegistry,
    qualified_name,
    read_exactly,
)
from loopline.errors import SerializationError

_CHUNK = 16 * 1024 * 1024


def _loaded(module: str) -> Any:
    return sys.modules.get(module)


class BytesCodec(Codec):
    name = "bytes"

    def handles(self, value: Any) -> bool:
        return False  # chosen by the encoder for `bytes` directly

    def encode(self, value: Any) -> Blob:
        return Blob(self.name, {}, [value])

    def decode(self, meta: dict[str, JSON], reader: BlobReader, nbytes: int) -> Any:
        return read_exactly(reader, nbytes)


class PickleCodec(Codec):
    """The fallback for values no other codec handles (cloudpickle: classes from scripts too)."""

    name = "pickle"

    def handles(self, value: Any) -> bool:
        return False  # only ever chosen as the fallback

    def encode(self, value: Any) -> Blob:
        try:
            data = pickling.dumps(value)
        except Exception as exc:
            raise SerializationError(
                f"cannot store a {type(value).__qualname__}: it is not picklable ({exc}). "
                "Return plain data instead (numbers, strings, lists, dicts, dataclasses, "
                "arrays), or register the type with loopline.register_type()"
            ) from exc
        return Blob(self.name, {"type": qualified_name(type(value))}, [data])

    def decode(self, meta: dict[str, JSON], reader: BlobReader, nbytes: int) -> Any:
        return pickle.loads(read_exactly(reader, nbytes))


class NumpyCodec(Codec):
    """Arrays as raw memory plus dtype and shape: written and read without extra copies."""

    name = "numpy"

    def handles(self, value: Any) -> bool:
        np = _loaded("numpy")
        return np is not None and isinstance(value, (np.ndarray, np.generic))

    def encode(self, value: Any) -> Blob:
        import numpy as np

        if isinstance(value, np.generic):
            return Blob("pickle", {"type": qualified_name(type(value))}, [pickle.dumps(value, 5)])
        if value.dtype.hasobject or type(value) not in (np.ndarray, np.memmap):
            return PickleCodec().encode(value)  # masked arrays, matrices: keep their class and mask
        array = np.asarray(value, order="C")  # not ascontiguousarray: it turns 0-d into 1-d
        if array.dtype.byteorder == ">":  # stored little-endian, so equal arrays hash equal
            array = array.astype(array.dtype.newbyteorder("<"))
        meta = {"dtype": array.dtype.str, "shape": list(array.shape)}
        if array.dtype.fields is not None or array.dtype.subdtype is not None:
            meta["descr"] = np.lib.format.dtype_to_descr(array.dtype)
        return Blob(self.name, meta, [_raw_bytes(array)] if array.size else [])

    def decode(self, meta: dict[str, JSON], reader: BlobReader, nbytes: int) -> Any:
        import numpy as np

        dtype = np.lib.format.descr_to_dtype(meta["descr"]) if "descr" in meta else np.dtype(meta["dtype"])
        array = np.empty(tuple(meta["shape"]), dtype=dtype)
        view = _raw_bytes(array) if array.size else memoryview(b"")
        if view.nbytes != nbytes:
            raise SerializationError("array artifact size does not match its dtype and shape")
        offset = 0
        while offset < nbytes:
            got = reader.readinto(view[offset : offset + _CHUNK])
            if not got:
                raise SerializationError("array artifact ends early")
            offset += got
        return array

    def summary(self, value: Any) -> dict[str, JSON]:
        return summaries.ndarray(value)


def _raw_bytes(array: Any) -> memoryview:
    """The memory of a C-contiguous array as bytes, without a copy. Viewing it as uint8 first
    works for every dtype (the buffer protocol refuses datetime64 and timedelta64)."""
    import numpy as np

    return memoryview(array.reshape(-1).view(np.uint8))


class _PickledLibraryCodec(Codec):
    """Values of a library type stored with pickle, with a summary of their own."""

    module = ""

    def handles(self, value: Any) -> bool:
        return _loaded(self.module) is not None and self._is_instance(value)

    def _is_instance(self, value: Any) -> bool:
        raise NotImplementedError

    def encode(self, value: Any) -> Blob:
        data = pickle.dumps(value, protocol=5)
        return Blob(self.name, {"type": qualified_name(type(value))}, [data])

    def decode(self, meta: dict[str, JSON], reader: BlobReader, nbytes: int) -> Any:
        return pickle.loads(read_exactly(reader, nbytes))


class PandasCodec(_PickledLibraryCodec):
    name = "pandas"
    module = "pandas"

    def _is_instance(self, value: Any) -> bool:
        import pandas as pd

        return isinstance(value, (pd.DataFrame, pd.Series))

    def summary(self, value: Any) -> dict[str, JSON]:
        return summaries.pandas(value)


class SklearnCodec(_PickledLibraryCodec):
    name = "sklearn"
    module = "sklearn"

    def _is_instance(self, value: Any) -> bool:
        from sklearn.base import BaseEstimator

        return isinstance(value, BaseEstimator)

    def summary(self, value: Any) -> dict[str, JSON]:
        return summaries.estimator(value)


class TorchCodec(Codec):
    """Tensors and modules with `torch.save`; tensors are moved to the CPU first."""

    name = "torch"

    def handles(self, value: Any) -> bool:
        torch = _loaded("torch")
        return torch is not None and isinstance(value, (torch.Tensor, torch.nn.Module))

    def encode(self, value: Any) -> Blob:
        import torch

        kind = "tensor" if isinstance(value, torch.Tensor) else "module"
        if kind == "tensor":
            tensor = value.detach().cpu()
            if isinstance(value, torch.nn.Parameter):  # detach() would make it a plain tensor
                tensor = torch.nn.Parameter(tensor, requires_grad=value.requires_grad)
            value = tensor
        buffer = io.BytesIO()
        torch.save(value, buffer)
        return Blob(self.name, {"kind": kind, "type": qualified_name(type(value))}, [buffer.getbuffer()])

    def decode(self, meta: dict[str, JSON], reader: BlobReader, nbytes: int) -> Any:
        import torch

        data = io.BytesIO(read_exactly(reader, nbytes))
        return torch.load(data, weights_only=meta.get("kind") == "tensor")

    def summary(self, value: Any) -> dict[str, JSON]:
        return summaries.torch_value(value)


class ImageCodec(Codec):
    name = "image"

    def handles(self, value: Any) -> bool:
        return isinstance(value, Image)

    def encode(self, value: Any) -> Blob:
        meta = {"mime": value.mime, "width": value.width, "height": value.height}
        return Blob(self.name, meta, [value.data])

    def decode(self, meta: dict[str, JSON], reader: BlobReader, nbytes: int) -> Any:
        return Image(read_exactly(reader, nbytes), meta["mime"], meta.get("width"), meta.get("height"))

    def summary(self, value: Any) -> dict[str, JSON]:
        return summaries.image(value)


def install_builtin_codecs(registry: CodecRegistry = REGISTRY) -> None:
    for codec in (
        BytesCodec(),
        PickleCodec(),
        SklearnCodec(),
        PandasCodec(),
        TorchCodec(),
        ImageCodec(),
        NumpyCodec(),
        RayCheckpointCodec(),
    ):
        registry.add(codec)


install_builtin_codecs()
