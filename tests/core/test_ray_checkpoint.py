"""Ray Train checkpoints stored as artifacts: their files, not their path."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from loopline.core.serialization import decode, encode

train = pytest.importorskip("ray.train")


def test_a_checkpoint_comes_back_with_its_files_in_a_new_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "model.pt").write_bytes(b"weights")
    (tmp_path / "sub" / "meta.json").write_text("{}")
    original = train.Checkpoint.from_directory(str(tmp_path))
    loaded = decode(io.BytesIO(encode(original).to_bytes()))
    assert isinstance(loaded, train.Checkpoint) and loaded.path != original.path
    assert (Path(loaded.path) / "model.pt").read_bytes() == b"weights"
    assert (Path(loaded.path) / "sub" / "meta.json").read_text() == "{}"


def test_the_same_files_make_the_same_artifact(tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "model.pt").write_bytes(b"weights")
    first, second = (encode(train.Checkpoint.from_directory(str(tmp_path / f))) for f in ("a", "b"))
    assert first.to_bytes() == second.to_bytes()
