"""Settings, read once at the edge (CLI, runners created without explicit stores, the server)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_HOME = "~/.loopline"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where Loopline keeps its data.

    - `LOOPLINE_HOME` (default `~/.loopline`): the embedded store's folder.
    - `LOOPLINE_DATABASE_URL`: a SQLAlchemy URL (default: SQLite at `$LOOPLINE_HOME/loopline.db`).
    - `LOOPLINE_ARTIFACTS_URL`: a folder or fsspec URL (default `$LOOPLINE_HOME/artifacts`).
    """

    home: Path
    database_url: str
    artifacts_url: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls.for_home(env.get("LOOPLINE_HOME") or DEFAULT_HOME, env)

    @classmethod
    def for_home(cls, home: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
        env = environ or {}
        root = Path(home).expanduser().resolve()
        return cls(
            home=root,
            database_url=env.get("LOOPLINE_DATABASE_URL") or f"sqlite:///{root / 'loopline.db'}",
            artifacts_url=env.get("LOOPLINE_ARTIFACTS_URL") or str(root / "artifacts"),
        )
