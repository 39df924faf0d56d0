"""`loopline doctor`: check the configured store, its artifacts and its schema, one line each.

Every check says `ok` or `FAILED` and, when it fails, what to do. Nothing is migrated or
repaired, nor created where it does not exist yet; whether a folder is writable is tried with
a temporary file that is gone at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import random
import sqlite3
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import click

from loopline.errors import ArtifactCorruptedError, ArtifactNotFoundError, LooplineError, StoreError
from loopline.settings import Settings
from loopline.storage.base import ArtifactStore
from loopline.storage.embedded import check_home, open_artifact_store, open_stores
from loopline.storage.sql.failures import corrupt, explain, explain_any
from loopline.storage.sql.head import HEAD_REVISION
from loopline.storage.sql.sqlite import sqlite_file

SAMPLE = 20  # artifacts whose hash is checked (of at most SAMPLE_FROM)
SAMPLE_FROM = 100_000
PROBLEMS_SHOWN = 3  # of what integrity_check finds: enough to see the damage, on one line


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{self.name:<11} {'ok' if self.ok else 'FAILED':<7} {self.detail}"


@click.command()
@click.option("--sample", default=SAMPLE, show_default=True, help="Artifacts whose hash is verified.")
def doctor(sample: int) -> None:
    """Check the store (reachable, not corrupt, its schema migrations) and the artifacts
    (their location exists and is writable, a sample of them matches its hashes).

    Prints one line per check, with how to fix what failed; exits 1 when any check fails.
    """
    settings = Settings.from_env()
    checks = list(server_checks(settings, sample) if settings.server else local_checks(settings, sample))
    for check in checks:
        click.echo(check.line())
    if not all(check.ok for check in checks):
        raise SystemExit(1)


def local_checks(settings: Settings, sample: int) -> Iterator[Check]:
    """The database (reached without migrating it), its integrity and revision, then the
    artifact location and a sample of its artifacts."""
    database_ok = yield from database_checks(settings)
    location_ok = yield from artifact_location_check(settings.artifacts_url)
    if location_ok and database_ok:
        yield from artifact_sample_check(settings, sample)
        yield from reference_check(settings, sample)


def server_checks(settings: Settings, sample: int) -> Iterator[Check]:
    try:
        metadata, artifacts = open_stores(settings)
    except LooplineError as error:
        yield Check("server", False, str(error))
        return
    metadata.close()
    yield Check("server", True, f"{settings.server} answers")
    yield _sample(artifacts, sample)


def database_checks(settings: Settings) -> Generator[Check, None, bool]:
    """The checks of the database; returns whether its artifacts can be sampled."""
    url = settings.database_url
    path = sqlite_file(url)
    if path is not None:
        try:
            check_home(settings.home)
        except StoreError as error:
            yield Check("store", False, str(error))
            return False
        if not Path(path).exists():
            problem = _cannot_create(Path(path))
            if problem is not None:
                yield Check(
                    "store",
                    False,
                    f"no database at {path}, and it cannot be made: {problem}. Point LOOPLINE_HOME "
                    "at a folder you can write to",
                )
                return False
            yield Check("store", True, f"no database at {path} yet: the first run makes it")
            return True
    from loopline.storage.sql.database import create_sql_engine, hide_password

    shown = path or hide_password(url)
    try:
        engine = create_sql_engine(url)
        try:
            revision = _revision(engine, url)
        finally:
            engine.dispose()
    except StoreError as error:
        yield Check("store", False, str(error))
        return False
    yield Check("store", True, f"{shown} answers")
    integrity = _integrity(path) if path is not None else None
    if integrity is not None:
        yield integrity
    yield _migrations(revision)
    return integrity is None or integrity.ok


def _revision(engine: Any, url: str) -> str | None:
    import sqlalchemy as sa

    from loopline.storage.sql.database import current_revision, unreachable

    try:
        return current_revision(engine)
    except sa.exc.DBAPIError as error:
        raise explain_any(error, url) or unreachable(url, error) from error


def _integrity(path: str) -> Check:
    """SQLite's `PRAGMA integrity_check`, on a read-only connection."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            rows = [str(row[0]) for row in connection.execute(f"PRAGMA integrity_check({PROBLEMS_SHOWN})")]
    except sqlite3.Error as error:
        return Check("integrity", False, str(explain(error, path) or error))
    if rows == ["ok"]:
        return Check("integrity", True, "SQLite's integrity_check finds no damage")
    problems = [line.strip() for row in rows for line in row.splitlines() if not line.startswith("***")]
    return Check("integrity", False, str(corrupt(path, "; ".join(problems[:PROBLEMS_SHOWN]))))


def _migrations(revision: str | None) -> Check:
    if revision == HEAD_REVISION:
        return Check("migrations", True, f"at the head revision {HEAD_REVISION}")
    if revision is None:
        return Check("migrations", True, "no schema yet: Loopline makes it when it first opens the store")
    if _known(revision):
        return Check(
            "migrations",
            True,
            f"at revision {revision}, behind {HEAD_REVISION}: Loopline migrates it when it next opens it",
        )
    return Check(
        "migrations",
        False,
        f"the database is at revision {revision}, which this Loopline does not know (its newest is "
        f"{HEAD_REVISION}): a newer Loopline made it. Upgrade Loopline (pip install -U loopline) "
        "to use this store",
    )


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory

    from loopline.storage.sql.database import MIGRATIONS_DIR

    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    return any(script.revision == revision for script in scripts.walk_revisions())


def artifact_location_check(url: str) -> Generator[Check, None, bool]:
    """The check of a local artifact folder; returns whether it holds artifacts to sample."""
    if "://" in url:
        return True  # an object store: the sample reaches it
    folder = Path(url).expanduser()
    if not folder.exists():
        problem = _cannot_create(folder)
        if problem is None:
            yield Check("artifacts", True, f"no folder {folder} yet: the first run makes it")
        else:
            yield Check(
                "artifacts",
                False,
                f"no folder {folder}, and it cannot be made: {problem}. Point "
                "LOOPLINE_ARTIFACTS_URL (or LOOPLINE_HOME) at a folder you can write to",
            )
        return False
    if not folder.is_dir():
        yield Check(
            "artifacts",
            False,
            f"{folder} is a file, not a folder: move it away, or point LOOPLINE_ARTIFACTS_URL elsewhere",
        )
        return False
    problem = _cannot_write_in(folder)
    if problem is not None:
        yield Check(
            "artifacts",
            False,
            f"cannot write in {folder} ({problem}): make it writable by this user (chmod u+w), "
            "or point LOOPLINE_ARTIFACTS_URL (or LOOPLINE_HOME) at a folder you can write to",
        )
        return False
    yield Check("artifacts", True, f"{folder} exists and is writable")
    return True


def artifact_sample_check(settings: Settings, sample: int) -> Iterator[Check]:
    url = settings.artifacts_url
    location = url if "://" not in url else f"{url}#values={settings.database_url}"
    try:
        artifacts = open_artifact_store(location)
    except (LooplineError, OSError, sqlite3.Error) as error:
        yield Check("hashes", False, f"cannot open the artifact store {url}: {error}")
        return
    yield _sample(artifacts, sample)


def reference_check(settings: Settings, sample: int) -> Iterator[Check]:
    """A sample of the artifacts the records refer to are in the artifact store: what a restore
    breaks when its artifact copy is older than its database dump."""
    import sqlalchemy as sa

    from loopline.storage.sql.store import SqlMetadataStore

    url = settings.artifacts_url
    location = url if "://" not in url else f"{url}#values={settings.database_url}"
    try:
        metadata = SqlMetadataStore(settings.database_url, migrate=False)
        try:
            referenced = sorted(metadata.referenced_artifact_ids())
        finally:
            metadata.close()
        artifacts = open_artifact_store(location)
        chosen = random.sample(referenced, min(sample * 10, len(referenced)))
        missing = [artifact_id for artifact_id in chosen if not artifacts.exists(artifact_id)]
    except (LooplineError, OSError, sqlite3.Error, sa.exc.SQLAlchemyError) as error:
        yield Check("references", False, f"cannot compare the records with the artifacts in {url}: {error}")
        return
    if missing:
        yield Check(
            "references",
            False,
            f"{len(missing)} of {len(chosen)} sampled artifacts the records refer to are not in {url} "
            f"(e.g. {missing[0]}): the artifacts are older than the database. After a restore, restore "
            "the artifact copy taken after the database dump (docs/team.md, Backup and restore); "
            "otherwise rerun the steps that made them (`loopline run --no-cache ...`)",
        )
        return
    yield Check("references", True, f"{len(chosen)} sampled artifact(s) the records refer to are there")


def _sample(artifacts: ArtifactStore, sample: int) -> Check:
    try:
        ids = list(itertools.islice(artifacts.ids(), SAMPLE_FROM))
        chosen = random.sample(ids, min(sample, len(ids)))
        for artifact_id in chosen:
            _verify(artifacts, artifact_id)
    except ArtifactCorruptedError as error:
        return Check("hashes", False, str(error))
    except (LooplineError, OSError, sqlite3.Error) as error:
        return Check("hashes", False, f"cannot read the artifacts in {artifacts.url}: {error}")
    if not ids:
        return Check("hashes", True, "no artifacts yet")
    return Check("hashes", True, f"{len(chosen)} sampled artifact(s) match their hash")


def _verify(artifacts: ArtifactStore, artifact_id: str) -> None:
    try:
        reader = artifacts.open(artifact_id)
    except ArtifactNotFoundError:  # deleted meanwhile (by gc): no damage
        return
    try:
        reader.verify()
    finally:
        reader.close()


def _cannot_write_in(folder: Path) -> str | None:
    """Why this process cannot make a file in `folder` (as the system says it), or None. Tries
    for real, with a file that is gone at once: `os.access` says yes to root where it may not."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError as error:
        return error.strerror or str(error)


def _cannot_create(path: Path) -> str | None:
    """Why `path`, which does not exist, could not be made (its nearest existing folder is a
    file, or not writable), or None."""
    existing = path.parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    problem = _cannot_write_in(existing)
    return None if problem is None else f"cannot write in {existing} ({problem})"
