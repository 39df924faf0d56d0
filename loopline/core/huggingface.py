"""References to Hugging Face Hub models and datasets, and models stored by a func.

A reference is a small typed value (owner, repo, subset, commit): it names what to load, and
passing it between funcs moves no data. `load()` imports `transformers` or `datasets` only when
it is called (and says what to install when they are missing); the loading itself, from the
Hub or a local copy, is theirs.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
from typing import Any, TypeVar

from loopline.errors import UsageError

_PART = r"[^/@:]+"
_REFERENCE = re.compile(
    rf"((?P<owner>{_PART})/)?(?P<repo>{_PART})(:(?P<subset>{_PART}))?(@(?P<commit>{_PART}))?"
)

T = TypeVar("T", bound="HuggingFaceReference")


def _library(name: str, purpose: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise UsageError(f"{purpose} needs the `{name}` package: pip install {name}") from error


@dataclasses.dataclass(frozen=True)
class HuggingFaceReference:
    """`[owner/]repo[:subset][@commit_sha]` on Hugging Face Hub (no owner: Hugging Face's own)."""

    owner: str | None
    repo: str
    commit_sha: str | None = None
    local_override_dir: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.repo, str) or not self.repo:
            raise UsageError(f"a Hugging Face reference needs a repo name, got {self.repo!r}")

    @classmethod
    def from_string(cls: type[T], as_string: str) -> T:
        match = _REFERENCE.fullmatch(as_string)
        if match is None:
            raise UsageError(
                f"Improperly formatted reference: {as_string!r} (expected [owner/]repo[:subset][@commit])"
            )
        fields = {"owner": match["owner"], "repo": match["repo"], "commit_sha": match["commit"]}
        if "subset" in {f.name for f in dataclasses.fields(cls)}:
            fields["subset"] = match["subset"]
        elif match["subset"] is not None:
            raise UsageError(f"{cls.__name__} has no subset, but {as_string!r} names one")
        return cls(**fields)

    def to_string(self, full_dataset: bool = False) -> str:
        subset = None if full_dataset else getattr(self, "subset", None)
        return (
            self.repo_reference()
            + (f":{subset}" if subset is not None else "")
            + (f"@{self.commit_sha}" if self.commit_sha is not None else "")
        )

    def repo_reference(self) -> str:
        """`owner/repo`, or `repo`."""
        return f"{self.owner}/{self.repo}" if self.owner is not None else self.repo

    def _source(self) -> str:
        return self.local_override_dir or self.repo_reference()


@dataclasses.dataclass(frozen=True)
class HuggingFaceModelReference(HuggingFaceReference):
    """A model on Hugging Face Hub."""

    def load(self, auto_class: str = "AutoModel", **from_pretrained: Any) -> Any:
        """The model, by `transformers.<auto_class>.from_pretrained` at this reference's commit."""
        transformers = _library("transformers", f"loading the model {self.to_string()}")
        loader = getattr(transformers, auto_class)
        revision = {"revision": self.commit_sha} if self.commit_sha else {}
        return loader.from_pretrained(self._source(), **revision, **from_pretrained)


@dataclasses.dataclass(frozen=True)
class HuggingFaceDatasetReference(HuggingFaceReference):
    """A dataset (or one `subset` of it) on Hugging Face Hub."""

    subset: str | None = None

    def load(self, **load_dataset: Any) -> Any:
        """The dataset, by `datasets.load_dataset` at this reference's commit."""
        datasets = _library("datasets", f"loading the dataset {self.to_string()}")
        revision = {"revision": self.commit_sha} if self.commit_sha else {}
        return datasets.load_dataset(self._source(), self.subset, **revision, **load_dataset)


_FULL, _BASE, _PEFT = "full", "base", "peft"


@dataclasses.dataclass(frozen=True)
class HuggingFaceStoredModel:
    """A transformers model saved to a folder by `store()` (with its class, to load it back). A
    peft fine-tuning is stored as its base model and its adapter; with `base_model_reference`,
    the base model is not stored and `load()` takes it from the Hub."""

    path: str
    model_type: str
    peft_model_type: str | None = None
    base_model_reference: HuggingFaceModelReference | None = None

    @classmethod
    def store(
        cls, model: Any, directory: str, base_model_reference: HuggingFaceModelReference | None = None
    ) -> HuggingFaceStoredModel:
        directory = os.path.abspath(os.path.expanduser(directory))
        if hasattr(model, "get_base_model"):  # a peft model
            base = model.get_base_model()
            if base_model_reference is None:
                base.save_pretrained(os.path.join(directory, _BASE))
            model.save_pretrained(os.path.join(directory, _PEFT))
            return cls(directory, _class_path(type(base)), _class_path(type(model)), base_model_reference)
        model.save_pretrained(os.path.join(directory, _FULL))
        return cls(directory, _class_path(type(model)), None, base_model_reference)

    def load(self, **from_pretrained: Any) -> Any:
        base_type = _load_class(self.model_type)
        if self.base_model_reference is not None:
            reference = self.base_model_reference
            model = base_type.from_pretrained(
                reference.repo_reference(), revision=reference.commit_sha or "main", **from_pretrained
            )
        else:
            folder = _FULL if self.peft_model_type is None else _BASE
            model = base_type.from_pretrained(os.path.join(self.path, folder), **from_pretrained)
        if self.peft_model_type is None:
            return model
        peft_type = _load_class(self.peft_model_type)
        return peft_type.from_pretrained(model, os.path.join(self.path, _PEFT), **from_pretrained)


def _class_path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _load_class(path: str) -> Any:
    module, _, name = path.rpartition(".")
    _library(module.split(".")[0], f"loading a {name}")
    return getattr(importlib.import_module(module), name)
