"""`Service`: one served model alias, its logged predictions, and who may call it.

    service = Service.open(ServeConfig("digits@production"))
    service.start()            # follows the alias, logs from a thread
    app = create_app(service)  # loopline.serving.app: the HTTP endpoints
    ...
    service.close()            # writes what is logged but not yet written

On the embedded store (`LOOPLINE_HOME`, ...) the model is read from the registry there and the
predictions are written there. In team mode (`LOOPLINE_SERVER` and `LOOPLINE_API_KEY`) both go
through the team server, with that key, which must be an editor's or an admin's (logging
predictions is a change); `require_key` then makes every request to `/predict` and `/feedback`
carry a key of the team, checked with the team server (`loopline.serving.keys`).
"""

from __future__ import annotations

import dataclasses
import logging

from loopline.cl.store.workspace import Workspace
from loopline.errors import LooplineError, UsageError
from loopline.serving.keys import KeyChecker
from loopline.serving.predictor import Predictor, load_predictor
from loopline.serving.recorder import Recorder
from loopline.serving.served import Follower, ServedVersion
from loopline.serving.writer import ChildWriter, LocalWriter, LogOptions
from loopline.settings import Settings
from loopline.storage.remote.client import ServerConnection

_log = logging.getLogger(__name__)
_LOGGING_ROLES = frozenset({"editor", "admin"})


@dataclasses.dataclass(frozen=True)
class ServeConfig:
    """What `loopline serve` serves, and how.

    - `model`: "digits@production" (an alias, followed as it moves), "digits@3" or "digits"
      (the latest version, followed as new ones are registered);
    - `predictor`: a `@loopline.predictor` by reference ("FILE.py:NAME", "package.module:NAME"),
      or the object; default: the model's own methods;
    - `settings`: the store (default: from the environment);
    - `poll_s`: how often the alias is looked at (a move is served within it plus the load);
    - `require_key`, `key_ttl_s`: team mode only: every request carries a key of the team, each
      key checked with the team server at most once per `key_ttl_s`;
    - `flush_interval_s`, `batch_size`: the inference log's (predictions are written within
      about `flush_interval_s`, in batches of up to `batch_size`);
    - `max_batch`: the most inputs one request may send;
    - `writer_process`: log from a writer process of its own (`loopline serve` does), so checking
      and writing records never takes the serving process's time; else from a thread of this one.
    """

    model: str
    predictor: str | Predictor | None = None
    settings: Settings | None = None
    poll_s: float = 1.0
    require_key: bool = False
    key_ttl_s: float = 10.0
    flush_interval_s: float = 1.0
    batch_size: int = 1000
    max_batch: int = 10_000
    writer_process: bool = False

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise UsageError(f"max_batch must be at least 1, got {self.max_batch}")
        if self.key_ttl_s < 0:
            raise UsageError(f"key_ttl_s must be 0 or more, got {self.key_ttl_s}")


class Service:
    def __init__(
        self,
        config: ServeConfig,
        follower: Follower,
        recorder: Recorder,
        keys: KeyChecker | None,
        store: str = "",
    ) -> None:
        self.config = config
        self.store = store  # where predictions are logged, in words
        self.follower = follower
        self.recorder = recorder
        self.keys = keys

    @classmethod
    def open(cls, config: ServeConfig) -> Service:
        """Load the version `config.model` names (errors say why it cannot be served)."""
        settings = config.settings or Settings.from_env()
        if config.require_key and settings.server is None:
            raise UsageError(
                "--require-key checks callers' keys with the team server: set LOOPLINE_SERVER (and "
                "LOOPLINE_API_KEY) to serve in team mode"
            )
        if settings.server is not None:
            _check_serving_key(settings)
        workspace = Workspace.open(settings)
        predictor = (
            load_predictor(config.predictor) if isinstance(config.predictor, str) else config.predictor
        )
        follower = Follower(config.model, workspace, predictor=predictor, poll_s=config.poll_s)
        options = LogOptions(settings, config.batch_size, config.flush_interval_s)
        channel = ChildWriter(options) if config.writer_process else LocalWriter(options)
        keys = (
            KeyChecker(settings.server, ttl_s=config.key_ttl_s)
            if config.require_key and settings.server
            else None
        )
        return cls(config, follower, Recorder(channel), keys, _where(settings))

    @property
    def current(self) -> ServedVersion:
        return self.follower.current

    def start(self) -> None:
        self.follower.start()
        self.recorder.start()

    def close(self) -> None:
        self.follower.stop()
        try:
            self.recorder.close()
        except LooplineError as error:  # e.g. the team server is down: say what is lost
            _log.error("could not write the logged predictions at shutdown: %s", error)
        if self.keys is not None:
            self.keys.close()


def _where(settings: Settings) -> str:
    if settings.server is not None:
        return f"the team server at {settings.server}"
    if settings.database_url == f"sqlite:///{settings.home / 'loopline.db'}":
        return f"the store in {settings.home}"
    return "the database of LOOPLINE_DATABASE_URL"


def _check_serving_key(settings: Settings) -> None:
    """Serving logs every prediction: the key must be allowed to (an editor's or an admin's)."""
    if not settings.api_key:
        raise UsageError(
            f"LOOPLINE_SERVER is set ({settings.server}) but LOOPLINE_API_KEY is not: serving logs "
            "every prediction there, which needs an editor's key (loopline keys create NAME)"
        )
    assert settings.server is not None
    connection = ServerConnection(settings.server, settings.api_key, retry_for_s=0.0, timeout_s=10.0)
    try:
        who = connection.request("GET", "/api/v1/whoami", retry=False).json()
    finally:
        connection.close()
    if who.get("role") not in _LOGGING_ROLES:
        raise UsageError(
            f"LOOPLINE_API_KEY is a key of {who.get('name')}, a {who.get('role')}: serving logs every "
            "prediction on the team server, which needs an editor's or an admin's key"
        )
