"""`loopline migrate PATH`: rewrite a Sematic codebase's imports for Loopline.

Shows the change as a diff and changes nothing unless `--write` is given; then lists what could
not be carried over, with what to use instead (docs/sematic.md).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path

import click

from loopline.errors import UsageError

_SKIPPED_DIRS = {".git", ".hg", ".venv", "venv", "__pycache__", "node_modules", "build", "dist", ".tox"}


def python_files(path: Path) -> Iterator[Path]:
    """`path` if it is a file, else the .py files under it (not in virtualenvs or VCS folders)."""
    if path.is_file():
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(root) / name


@click.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--write", is_flag=True, help="Change the files (without it, only show the diff).")
def migrate(path: Path, write: bool) -> None:
    """Rewrite the Sematic imports of the Python files under PATH for Loopline.

    `import sematic` becomes `import loopline as sematic`, and `from sematic.x import Y` imports Y
    from where Loopline has it. Prints the diff, then what could not be carried over.
    """
    # libcst takes a fifth of a second to import: only this command pays for it.
    try:
        from loopline.cli.sematic_migration import migrate_source
    except ImportError as error:
        raise UsageError(
            f"loopline migrate needs libcst ({error}): pip install 'loopline[sematic]'"
        ) from None

    files = list(python_files(path))
    if not files:
        raise UsageError(f"no Python files under {path}")
    changed, unreadable = 0, []
    report: list[str] = []
    for file in files:
        source = file.read_text(encoding="utf-8")
        if "sematic" not in source:
            continue
        try:
            migration = migrate_source(source)
        except Exception as error:  # noqa: BLE001 - libcst's syntax errors; the other files go on
            unreadable.append(f"{file}: not migrated, it does not parse ({type(error).__name__}: {error})")
            continue
        report += [f"{file}:{note.line}: {note.subject}: {note.advice}" for note in migration.notes]
        if not migration.changed:
            continue
        changed += 1
        diff = difflib.unified_diff(
            source.splitlines(keepends=True),
            migration.source.splitlines(keepends=True),
            fromfile=f"{file} (Sematic)",
            tofile=f"{file} (Loopline)",
        )
        click.echo("".join(diff), nl=False)
        if write:
            file.write_text(migration.source, encoding="utf-8")
    if report or unreadable:
        click.echo(f"\nNot carried over ({len(report) + len(unreadable)}; see docs/sematic.md):")
        for line in [*unreadable, *report]:
            click.echo(f"  {line}")
    verb = "changed" if write else "would change"
    hint = "" if write or not changed else " (run again with --write to change them)"
    click.echo(f"\n{changed} of {len(files)} files {verb}{hint}")
    if unreadable:
        raise SystemExit(1)
