"""Settings, read once at the edge (CLI, runners created without explicit stores, the server)."""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

from loopline.errors import LooplineDeprecationWarning

DEFAULT_HOME = "~/.loopline"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Where Loopline keeps its data.

    - `LOOPLINE_HOME` (default `~/.loopline`): the embedded store's folder.
    - `LOOPLINE_DATABASE_URL`: a SQLAlchemy URL (default: SQLite at `$LOOPLINE_HOME/loopline.db`).
    - `LOOPLINE_ARTIFACTS_URL`: a folder or fsspec URL (default `$LOOPLINE_HOME/artifacts`).
    - `LOOPLINE_SERVER` (team mode): a `loopline server` to read and write through, over HTTP,
      instead of a database; with `LOOPLINE_API_KEY`, the key this client acts with. Artifacts
      then go through the server too, unless `LOOPLINE_ARTIFACTS_URL` names a store this
      machine can reach itself (`s3://...`, credentials from the usual environment).
    - `LOOPLINE_STRICT_TYPES=1`: refuse values that fit a func's annotations only after one of
      Sematic's conversions (as `@func(strict_types=True)` does for one func).
    """

    home: Path
    database_url: str
    artifacts_url: str
    server: str | None = None
    api_key: str | None = dataclasses.field(default=None, repr=False)  # a secret: never shown
    artifacts_direct: bool = True  # False: artifacts through the server (team mode's default)
    strict_types: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls.for_home(env.get("LOOPLINE_HOME") or DEFAULT_HOME, env)

    @classmethod
    def for_home(cls, home: str | Path, environ: Mapping[str, str] | None = None) -> Settings:
        env = environ or {}
        root = Path(home).expanduser().resolve()
        server = env.get("LOOPLINE_SERVER") or _deprecated_server_url(env)
        return cls(
            home=root,
            database_url=env.get("LOOPLINE_DATABASE_URL") or f"sqlite:///{root / 'loopline.db'}",
            artifacts_url=env.get("LOOPLINE_ARTIFACTS_URL") or str(root / "artifacts"),
            server=server.rstrip("/") if server else None,
            api_key=env.get("LOOPLINE_API_KEY") or None,
            artifacts_direct=not server or bool(env.get("LOOPLINE_ARTIFACTS_URL")),
            strict_types=_flag(env.get("LOOPLINE_STRICT_TYPES", "")),
        )


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


def _deprecated_server_url(env: Mapping[str, str]) -> str | None:
    url = env.get("LOOPLINE_SERVER_URL") or None
    if url:
        warnings.warn(
            "LOOPLINE_SERVER_URL is deprecated: set LOOPLINE_SERVER instead (the same URL)",
            LooplineDeprecationWarning,
            stacklevel=3,
        )
    return url
