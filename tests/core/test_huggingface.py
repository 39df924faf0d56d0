from __future__ import annotations

import dataclasses
import importlib.util

import pytest

from loopline.core.huggingface import (
    HuggingFaceDatasetReference,
    HuggingFaceModelReference,
    HuggingFaceStoredModel,
)
from loopline.errors import UsageError

SHA = "1" * 40


def test_a_dataset_reference_round_trips_through_its_string() -> None:
    reference = HuggingFaceDatasetReference(owner="me", repo="data", subset="train", commit_sha=SHA)
    assert reference.to_string() == f"me/data:train@{SHA}"
    assert HuggingFaceDatasetReference.from_string(reference.to_string()) == reference
    assert reference.to_string(full_dataset=True) == f"me/data@{SHA}"


def test_a_model_reference_has_no_subset() -> None:
    assert HuggingFaceModelReference.from_string("gpt2").repo_reference() == "gpt2"
    with pytest.raises(UsageError, match="has no subset"):
        HuggingFaceModelReference.from_string("me/model:train")


@pytest.mark.skipif(importlib.util.find_spec("transformers") is not None, reason="transformers is installed")
def test_loading_without_transformers_says_what_to_install() -> None:
    with pytest.raises(UsageError, match="pip install transformers"):
        HuggingFaceModelReference(owner=None, repo="gpt2").load()


@pytest.mark.skipif(importlib.util.find_spec("datasets") is not None, reason="datasets is installed")
def test_loading_without_datasets_says_what_to_install() -> None:
    with pytest.raises(UsageError, match="pip install datasets"):
        HuggingFaceDatasetReference(owner=None, repo="imdb").load()


_SAVED: dict[str, str] = {}


@dataclasses.dataclass
class TinyModel:  # what HuggingFaceStoredModel needs of a transformers model
    weights: str

    def save_pretrained(self, path: str) -> None:
        _SAVED[path] = self.weights

    @classmethod
    def from_pretrained(cls, path: str) -> TinyModel:
        return cls(_SAVED[path])


def test_a_stored_model_loads_back_as_its_class(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stored = HuggingFaceStoredModel.store(TinyModel("w"), str(tmp_path))
    assert stored.model_type.endswith("test_huggingface.TinyModel")
    assert stored.load() == TinyModel("w")
