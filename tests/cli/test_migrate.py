"""`loopline migrate`: Sematic imports rewritten on a concrete syntax tree, shown before written."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest
from click.testing import CliRunner

from loopline.cli.main import cli
from loopline.cli.sematic_migration import MODULES, PUBLIC_NAMES, migrate_source

SEMATIC_CODE = """\
import sematic  # the pipeline's framework
from sematic.resolvers.resource_requirements import (
    KubernetesResourceRequirements,
    ResourceRequirements,
)
from sematic.abstract_future import AbstractFuture
from sematic.db.models.run import Run


@sematic.func
def f(x: int) -> int:
    return x
"""


def test_imports_are_rewritten_and_everything_else_kept() -> None:
    migrated = migrate_source(SEMATIC_CODE).source
    assert migrated == SEMATIC_CODE.replace("import sematic  #", "import loopline as sematic  #").replace(
        "from sematic.resolvers.resource_requirements import", "from loopline import"
    ).replace(
        "from sematic.abstract_future import AbstractFuture", "from loopline import Future as AbstractFuture"
    )


def test_what_loopline_has_not_is_kept_and_reported() -> None:
    (note,) = migrate_source(SEMATIC_CODE).notes
    assert (note.line, note.subject) == (7, "sematic.db.models.run.Run")
    assert "loopline.Client()" in note.advice


def test_names_that_cannot_work_here_are_reported_with_what_to_use() -> None:
    notes = migrate_source("import sematic\nrunner = sematic.CloudRunner(detach=True)\n").notes
    assert [(n.line, n.subject) for n in notes] == [(2, "sematic.CloudRunner")]
    assert "RayRunner" in notes[0].advice and "docs/ray.md" in notes[0].advice


def test_side_effect_imports_that_are_not_needed_go() -> None:
    migration = migrate_source("import sematic.future_operators.getitem\nimport os\n")
    assert migration.source == "import os\n" and "removed" in migration.notes[0].advice


def test_code_without_sematic_is_left_alone() -> None:
    assert not migrate_source("import os\nfrom typing import List\n").changed


@pytest.mark.parametrize("target", sorted(set(MODULES.values())))
def test_every_name_the_migration_imports_exists(target: str) -> None:
    module = importlib.import_module(target)
    missing = [
        name
        for name in PUBLIC_NAMES[target]
        if not hasattr(module, name) and importlib.util.find_spec(f"{target}.{name}") is None
    ]
    assert sorted(missing) == []


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pipeline.py").write_text(SEMATIC_CODE)
    (tmp_path / "other.py").write_text("import json\n")
    return tmp_path


def test_without_write_it_shows_the_diff_and_changes_nothing(project: Path) -> None:
    result = CliRunner().invoke(cli, ["migrate", str(project)])
    assert result.exit_code == 0, result.output
    assert "\n-import sematic  # the pipeline's framework\n" in result.output
    assert "\n+import loopline as sematic  # the pipeline's framework\n" in result.output
    assert "pipeline.py:7: sematic.db.models.run.Run: kept" in result.output
    assert "1 of 2 files would change (run again with --write" in result.output
    assert (project / "pipeline.py").read_text() == SEMATIC_CODE


def test_with_write_it_changes_the_files_once(project: Path) -> None:
    assert CliRunner().invoke(cli, ["migrate", "--write", str(project)]).exit_code == 0
    assert (project / "pipeline.py").read_text().startswith("import loopline as sematic")
    again = CliRunner().invoke(cli, ["migrate", "--write", str(project)])
    assert "0 of 2 files changed" in again.output


def test_a_file_that_does_not_parse_is_named_and_the_others_migrate(project: Path) -> None:
    (project / "broken.py").write_text("import sematic\ndef (:\n")
    result = CliRunner().invoke(cli, ["migrate", str(project)])
    assert result.exit_code == 1
    assert "broken.py: not migrated, it does not parse" in result.output
    assert "1 of 3 files would change" in result.output


def test_an_aliased_import_keeps_its_alias_and_its_uses_are_reported() -> None:
    migration = migrate_source("import sematic as sm\nimport sematic.types as st\nsm.CloudRunner()\n")
    assert migration.source.startswith("import loopline as sm\nimport loopline.types as st\n")
    assert [n.subject for n in migration.notes] == ["sm.CloudRunner"]
