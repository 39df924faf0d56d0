"""A label's type must be the type of the labels of the dataset it joins, at every entry point.

A labeling page that sends the text "7" for a dataset of integers, a CLI that passes "7.5", a
Label Studio choice "seven": each would join the training data as something else (or be cut to
7 by `int()`), so each is refused here with an error naming both types. `LabelType.of(dataset)`
reads the type from the dataset's labels; `check(value)` takes a JSON value (the API, the
dashboard) and `parse(text)` a text (the command line, Label Studio's choices, which are always
texts).

| dataset labels | `check` accepts | `parse` accepts |
|---|---|---|
| int | int (not bool) | "7", "-3" |
| float | int or float (not bool), finite | "0.5", "7" |
| bool | bool | "true", "false" (any case) |
| str | str | any text |
| any (mixed) | any JSON value but None | the text |
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import TYPE_CHECKING, Any, Literal

from loopline.cl.store.errors import LabelTypeError

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from loopline.cl.datasets.dataset import Dataset

Kind = Literal["int", "float", "bool", "str", "any"]
KINDS: tuple[Kind, ...] = ("int", "float", "bool", "str", "any")
MAX_CHOICES = 100
_INTEGER = re.compile(r"^[+-]?\d+$")
_PYTHON_KIND: dict[type, Kind] = {bool: "bool", int: "int", float: "float", str: "str"}


@dataclasses.dataclass(frozen=True)
class LabelType:
    """The type of a dataset's labels, and the dataset it comes from (named in errors)."""

    kind: Kind
    dataset: str

    @classmethod
    def of(cls, dataset: Dataset) -> LabelType:
        """The type of `dataset`'s labels (LabelTypeError if it has none)."""
        if dataset.labels is None:
            raise LabelTypeError(f"{dataset.ref} has no labels, so labels cannot join it")
        return cls.of_labels(dataset.labels, dataset.ref)

    @classmethod
    def of_labels(cls, labels: NDArray[Any], dataset: str) -> LabelType:
        """The type of these labels (of the dataset named `dataset`)."""
        kind = {"i": "int", "u": "int", "f": "float", "b": "bool", "U": "str", "S": "str"}.get(
            labels.dtype.kind
        )
        if kind is None:  # an object array: the type its values share, if they share one
            kinds = {_PYTHON_KIND.get(type(v)) for v in labels.tolist()}
            kind = kinds.pop() if len(kinds) == 1 and None not in kinds else "any"
        return cls(kind, dataset)  # type: ignore[arg-type]

    def check(self, value: Any, *, what: str = "the label") -> Any:
        """`value` as a plain JSON value of this type (LabelTypeError naming both types)."""
        if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
            value = value.item()  # a numpy scalar
        if value is None:
            raise LabelTypeError(
                f"{what} is missing (None): give a label of type {self.kind} for {self.dataset}"
            )
        ok = {
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value),
            "bool": isinstance(value, bool),
            "str": isinstance(value, str),
            "any": not isinstance(value, float) or math.isfinite(value),
        }[self.kind]
        if not ok:
            raise LabelTypeError(
                f"{what} {value!r} is a {type(value).__name__}, but the labels of {self.dataset} are "
                f"{self.kind}: {self._example(value)}"
            )
        return float(value) if self.kind == "float" else value

    def parse(self, text: str, *, what: str = "the label") -> Any:
        """A label typed as text, as this type (LabelTypeError if the text is not one)."""
        if not isinstance(text, str):
            return self.check(text, what=what)
        cleaned = text.strip()
        if self.kind == "int" and _INTEGER.match(cleaned):
            return int(cleaned)
        if self.kind == "float":
            try:
                number = float(cleaned)
            except ValueError:
                number = math.nan
            if math.isfinite(number):
                return number
        if self.kind == "bool" and cleaned.lower() in ("true", "false"):
            return cleaned.lower() == "true"
        if self.kind in ("str", "any"):
            return text
        raise LabelTypeError(
            f"{what} {text!r} is not a{'n' if self.kind == 'int' else ''} {self.kind}, but the labels "
            f"of {self.dataset} are {self.kind}: {self._example(text)}"
        )

    def _example(self, value: Any) -> str:
        return {
            "int": "give a whole number such as 7",
            "float": "give a number such as 0.5",
            "bool": "give true or false",
            "str": f"give a text, e.g. {str(value)!r}",
            "any": "give a value",
        }[self.kind]


def label_choices(dataset: Dataset, limit: int = MAX_CHOICES) -> tuple[Any, ...]:
    """The dataset's distinct label values as plain values of their own type (ints stay ints),
    sorted, at most `limit` (the most frequent): what a labeling page offers."""
    import numpy as np

    if dataset.labels is None or not len(dataset.labels):
        return ()
    try:
        values, counts = np.unique(dataset.labels, return_counts=True)
    except TypeError:  # values that do not sort together
        seen: dict[Any, int] = {}
        for value in dataset.labels.tolist():
            seen[value] = seen.get(value, 0) + 1
        ordered = sorted(seen.items(), key=lambda item: -item[1])
        return tuple(v for v, _ in ordered[:limit])
    chosen = np.sort(np.argsort(-counts, kind="stable")[:limit])  # the most frequent, in order
    return tuple(v.item() if hasattr(v, "item") else v for v in values[chosen].tolist())
