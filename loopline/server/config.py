"""`ServerConfig`: what one server process needs to know, decided once at the edge (the CLI)."""

from __future__ import annotations

import dataclasses
import ipaddress
import secrets

from loopline.errors import UsageError
from loopline.settings import Settings

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """- `host`/`port`: where the server listens (used to check the Host and Origin headers).
    - `token`: the per-session secret every state-changing request must carry.
    - `allow_remote`: accept requests for any Host (the server listens beyond this machine).
    - `settings`: the stores a rerun's worker process tracks into (None: reruns are refused).
    - `poll_s`: how often live updates look for changes in the store.
    - `api_keys`: keys machine clients send as `Authorization: Bearer KEY` to the ingestion
      endpoints (`POST /api/v1/inferences`, `/api/v1/feedback`). None configured: those
      endpoints accept only requests from this machine that no web page sent (no Origin).
    - `run_schedules`: run due schedules in a background thread (needs `settings`), checking
      every `schedule_interval_s` seconds.
    """

    host: str = "127.0.0.1"
    port: int = 8707
    token: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(24))
    allow_remote: bool = False
    settings: Settings | None = None
    poll_s: float = 0.2
    api_keys: tuple[str, ...] = ()
    run_schedules: bool = True
    schedule_interval_s: float = 30.0

    def __post_init__(self) -> None:
        if not is_loopback(self.host) and not self.allow_remote:
            raise UsageError(
                f"--host {self.host} would let other machines reach the dashboard, which can start and "
                "cancel pipelines on this machine; pass --allow-remote as well if that is what you want"
            )
        short = [key for key in self.api_keys if len(key) < 16]
        if short:
            raise UsageError("an API key must be at least 16 characters (e.g. `openssl rand -hex 24`)")

    @property
    def allowed_hosts(self) -> set[str]:
        """Host headers accepted when not remote: this port on the loopback names (stops DNS rebinding)."""
        names = {self.host, "127.0.0.1", "localhost", "[::1]"}
        return {f"{name}:{self.port}" for name in names} | ({self.host} if self.port == 80 else set())

    def host_allowed(self, host_header: str | None) -> bool:
        return self.allow_remote or (host_header or "").lower() in self.allowed_hosts

    def origin_allowed(self, origin: str | None, host_header: str | None) -> bool:
        """A browser names the page that sent a request in Origin; it must be this server."""
        if origin is None:
            return True  # not sent by a browser page (curl, scripts): the token still applies
        expected = {f"http://{host}" for host in self.allowed_hosts}
        if self.allow_remote and host_header:
            expected |= {f"http://{host_header}", f"https://{host_header}"}
        return origin.lower() in expected
