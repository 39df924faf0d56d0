"""Column-wise helpers for example data: features as arrays, DataFrames or lists, taken,
joined and fingerprinted the same way whatever their kind.

numpy (and pandas, for DataFrames) are imported only when examples are actually handled.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from loopline.errors import UsageError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


def is_dataframe(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and hasattr(value, "iloc")


def length(values: Any, what: str) -> int:
    """How many examples `values` holds (rows of an array or DataFrame, items of a list)."""
    if is_dataframe(values) or hasattr(values, "shape"):
        if not getattr(values, "shape", ()):
            raise UsageError(f"{what} must hold one entry per example, got a scalar array")
        return int(values.shape[0])
    if isinstance(values, (list, tuple)):
        return len(values)
    raise UsageError(
        f"{what} must be a numpy array, a pandas DataFrame or a list with one entry per example, "
        f"got {type(values).__qualname__}"
    )


def as_column(values: Any, n: int, what: str) -> NDArray[Any]:
    """A 1-d array of `n` entries (a scalar is repeated)."""
    import numpy as np

    if isinstance(values, (str, int, float, bool)) or values is None:
        return np.full(n, values)
    array = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if array.ndim != 1 or len(array) != n:
        raise UsageError(f"{what} must have one value per example ({n}), got shape {array.shape}")
    return array


def take(values: Any, positions: NDArray[np.intp]) -> Any:
    """The entries at `positions`, keeping the container kind."""
    if is_dataframe(values):
        return values.iloc[positions].reset_index(drop=True)
    if hasattr(values, "shape"):
        return values[positions]
    return [values[i] for i in positions.tolist()]


def concat(first: Any, second: Any, what: str) -> Any:
    """`first` followed by `second`, which must be of the same kind (and row shape)."""
    return join([first, second], what)


def join(parts: Sequence[Any], what: str) -> Any:
    """The parts one after another, each of the first one's kind (and row shape); an empty list
    has no kind yet, so it takes the kind of the part after it."""
    import numpy as np

    first, *rest = parts
    if isinstance(first, list) and not first and rest:
        return join([list(rest[0]) if isinstance(rest[0], tuple) else rest[0], *rest[1:]], what)
    for part in rest:
        _check_joinable(first, part, what)
    if is_dataframe(first):
        import pandas as pd

        return pd.concat(parts, ignore_index=True)
    if hasattr(first, "shape"):
        return np.concatenate(parts)
    return [item for part in parts for item in part]


def _check_joinable(first: Any, part: Any, what: str) -> None:
    if is_dataframe(first) and is_dataframe(part):
        if list(first.columns) != list(part.columns):
            raise UsageError(
                f"cannot append {what}: columns {list(part.columns)} differ from {list(first.columns)}"
            )
        return
    arrays = [hasattr(v, "shape") and not is_dataframe(v) for v in (first, part)]
    if all(arrays):
        if first.shape[1:] != part.shape[1:]:
            raise UsageError(
                f"cannot append {what}: each example has shape {part.shape[1:]}, "
                f"the dataset's have {first.shape[1:]}"
            )
        return
    if isinstance(first, list) and isinstance(part, (list, tuple)):
        return
    raise UsageError(
        f"cannot append {what} of type {type(part).__qualname__} to {what} of type "
        f"{type(first).__qualname__}; give the same kind (array, DataFrame or list)"
    )


def stack(inputs: list[Any]) -> Any:
    """The entries as one array when they are numeric arrays (or lists of numbers) of one shape
    and kind, else the list as it is (texts, rows, entries of different shapes)."""
    import numpy as np

    first = inputs[0]
    if isinstance(first, np.ndarray) or (isinstance(first, list) and first and _numbers(first)):
        try:
            arrays = [np.asarray(value) for value in inputs]
        except (TypeError, ValueError):
            return inputs
        shape, kind = arrays[0].shape, arrays[0].dtype.kind
        if kind in "biuf" and all(a.shape == shape and a.dtype.kind == kind for a in arrays):
            return np.stack(arrays)
    return inputs


def _numbers(values: list[Any]) -> bool:
    return all(type(v) in (int, float) or (isinstance(v, list) and _numbers(v)) for v in values)


def conform(values: Any, like: Any) -> Any:
    """`values` in the kind of `like` where nothing is lost: a list of numeric arrays of one
    shape becomes an array when `like` is an array (other values are returned as they are)."""
    if isinstance(values, list) and values and hasattr(like, "shape") and not is_dataframe(like):
        return stack(values)
    return values


def fingerprints(values: Any) -> NDArray[np.str_]:
    """One digest per example, equal for equal content (numbers compare as float64)."""
    import numpy as np

    if is_dataframe(values):
        import pandas as pd

        hashed = pd.util.hash_pandas_object(values, index=False).to_numpy()
        return np.array([f"{h:016x}" for h in hashed.tolist()], dtype=str)
    if hasattr(values, "shape"):
        array = np.asarray(values)
        if array.dtype.kind in "biuf":
            array = array.astype(np.float64) + 0.0  # -0.0 and 0.0 hash alike
        width = math.prod(array.shape[1:])  # not -1: an empty array has no width to infer
        rows = np.ascontiguousarray(array.reshape(len(array), width))
        if rows.dtype.hasobject:
            return np.array([_digest(repr(row.tolist()).encode()) for row in rows], dtype=str)
        return np.array([_digest(row.tobytes()) for row in rows], dtype=str)
    return np.array([_digest(_item_bytes(item)) for item in values], dtype=str)


def _item_bytes(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode()
    try:
        return json.dumps(item, sort_keys=True, default=repr).encode()
    except (TypeError, ValueError):
        return repr(item).encode()


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def combined(*digests: NDArray[np.str_]) -> NDArray[np.str_]:
    """Per-example digests of several columns together."""
    import numpy as np

    joined = digests[0]
    for more in digests[1:]:
        joined = np.char.add(np.char.add(joined, "|"), more)
    return np.array([_digest(text.encode()) for text in joined.tolist()], dtype=str)


def content_ids(digests: NDArray[np.str_]) -> NDArray[np.str_]:
    """Short ids from content digests; repeated content gets `-2`, `-3`, ... suffixes."""
    import numpy as np

    seen: dict[str, int] = {}
    out = []
    for digest in digests.tolist():
        short = digest[:16]
        seen[short] = seen.get(short, 0) + 1
        out.append(short if seen[short] == 1 else f"{short}-{seen[short]}")
    return np.array(out, dtype=str)


def unique_ids(ids: Sequence[str] | Any, n: int, what: str) -> NDArray[np.str_]:
    import numpy as np

    array = np.asarray(ids)
    if array.ndim != 1 or len(array) != n:
        raise UsageError(f"{what} must give one id per example ({n}), got shape {array.shape}")
    array = array.astype(str)
    values, counts = np.unique(array, return_counts=True)
    repeated = values[counts > 1]
    if len(repeated):
        shown = ", ".join(repeated[:5].tolist())
        raise UsageError(f"{what}: example ids must be unique; repeated: {shown}")
    return array
