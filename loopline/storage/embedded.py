"""Opening stores: by the Settings a runner, the CLI or the server reads (the embedded default, a
team's database and object store, or a Loopline server in team mode), and an artifact store by its
URL (what worker processes get). A backend is imported when a store of its kind is opened, so a
process loads SQLAlchemy only for a database and httpx only for a server.

- A local folder (or `file://` URL): small values in its own `values.sqlite`, larger ones as
  files (`loopline.storage.values`).
- Any other fsspec URL (`s3://bucket/prefix`): one object per value; with `#values=<database
  URL>` after it (what `open_stores` hands workers), small values live in that database's
  `artifact_values` table instead.
- `loopline+http://host:port` (with an API key): a Loopline server's artifact store.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from loopline.errors import StoreError
from loopline.settings import Settings
from loopline.storage.artifacts import SERVER_SCHEME, FsspecArtifactStore, LocalArtifactStore
from loopline.storage.base import ArtifactStore, MetadataStore
from loopline.storage.sql.failures import explain

if TYPE_CHECKING:
    from loopline.storage.values import ValueTable

_VALUES_IN = "#values="


def open_stores(settings: Settings) -> tuple[MetadataStore, ArtifactStore]:
    """The metadata and artifact stores, migrated and ready (creates the embedded folder). With
    a server, fails at once, naming its URL, when it cannot be reached or refuses the key."""
    if settings.server is not None:
        from loopline.storage.remote.opening import open_server_stores

        return open_server_stores(settings)
    metadata = open_metadata_store(settings)
    url = settings.artifacts_url
    try:
        if _is_local(url):
            return metadata, open_artifact_store(url)
        return metadata, open_artifact_store(f"{url}{_VALUES_IN}{settings.database_url}")
    except OSError as exc:  # a local folder that cannot be made or written
        metadata.close()
        raise StoreError(
            f"cannot use the artifact folder {url}: {exc.strerror or exc}"
            f"{f' ({exc.filename})' if exc.filename and str(exc.filename) != url else ''}. Make it "
            "a folder you can write to, or point LOOPLINE_ARTIFACTS_URL (or LOOPLINE_HOME) elsewhere"
        ) from exc
    except BaseException:
        metadata.close()
        raise


def open_metadata_store(settings: Settings) -> MetadataStore:
    """A SQLite file opens on the standard library's sqlite3 (SQLAlchemy loads when a query
    needs it); any other database on SQLAlchemy. A store that cannot be opened (a home that is a
    file, a read-only folder, a corrupt file, a database server that does not answer) raises a
    `StoreError` that names it (never its password) and says what to do."""
    from loopline.storage.sql.sqlite import SqliteMetadataStore, sqlite_file

    url = settings.database_url
    if url.startswith("sqlite"):
        _make_home(settings.home)
    path = sqlite_file(url)
    if path is not None:
        try:
            return SqliteMetadataStore(url)
        except sqlite3.Error as exc:
            raise explain(exc, path) or StoreError(
                f"cannot open the Loopline database {path}: {exc}"
            ) from exc
    from loopline.storage.sql.store import open_sql_store

    return open_sql_store(url)


def check_home(home: Path) -> None:
    """Refuse a LOOPLINE_HOME that is a file, saying so."""
    if home.exists() and not home.is_dir():
        raise StoreError(
            f"LOOPLINE_HOME is {home}, which is a file, not a folder. Point LOOPLINE_HOME at a "
            "folder (Loopline creates it when it does not exist), or move that file away"
        )


def _make_home(home: Path) -> None:
    check_home(home)
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create LOOPLINE_HOME {home}: {exc.strerror or exc}"
            f"{' (a part of that path is a file)' if isinstance(exc, NotADirectoryError) else ''}. "
            "Point LOOPLINE_HOME at a folder you can write to (it is created when it does not exist)"
        ) from exc


def open_artifact_store(url: str | Path, *, api_key: str | None = None) -> ArtifactStore:
    """The store for a local path, a `file://` URL, any other fsspec URL or a Loopline server's
    (see above). A worker process opens its runner's store this way, from what
    `store_address(store)` gives."""
    # The tiers load with the first store (sqlite3 with them), not with `import loopline`.
    from loopline.storage.values import VALUES_FILE, SqliteValueTable, TieredArtifactStore

    text = str(url)
    if text.startswith(SERVER_SCHEME):
        from loopline.storage.remote.artifacts import open_server_artifacts

        return open_server_artifacts(text[len(SERVER_SCHEME) :], api_key)
    if text.startswith("file://"):
        text = text[len("file://") :]
    if _is_local(text):
        files = LocalArtifactStore(text)
        values = SqliteValueTable(os.path.join(files.root, VALUES_FILE), create=True)
        return TieredArtifactStore(values, files, url=files.url)
    location, _, database_url = text.partition(_VALUES_IN)
    try:
        objects = FsspecArtifactStore(location)
    except (ImportError, ValueError) as exc:
        raise StoreError(f"cannot open artifact store {location!r}: {exc}") from exc
    if not database_url:
        return objects
    return TieredArtifactStore(_value_table(database_url), objects, url=text)


def _is_local(url: str) -> bool:
    return "://" not in url


def _value_table(database_url: str) -> ValueTable:
    """The `artifact_values` table of the metadata database (its migrations made it)."""
    from loopline.storage.sql.sqlite import sqlite_file
    from loopline.storage.values import SqliteValueTable

    path = sqlite_file(database_url)
    if path is not None:
        return SqliteValueTable(path, create=False)
    from loopline.storage.sql.database import create_sql_engine
    from loopline.storage.sql.values import SqlValueTable

    return SqlValueTable(create_sql_engine(database_url), database_url)
