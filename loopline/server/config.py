"""`ServerConfig`: what one server process needs to know, decided once at the edge (the CLI)."""

from __future__ import annotations

import dataclasses
import ipaddress
import secrets
import sys
from pathlib import Path

from loopline.engine.relaunch import RelaunchPolicy
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
    - `auth`: require a user for every request (an API key, a dashboard session, or a trusted
      proxy's header). None: on whenever `host` is not a loopback address. A server beyond this
      machine with auth off refuses to start unless `insecure_no_auth`.
    - `token`: with auth off, the per-process secret the dashboard's pages send with every change.
    - `secret`: the key that binds a session's CSRF token to it (random per process).
    - `allowed_hosts`: Host headers accepted besides this server's own address ("*": any).
    - `trusted_user_header` / `trusted_proxies`: behind an authenticating proxy (oauth2-proxy),
      the header naming the user, believed only from these addresses.
    - `protected_aliases`: aliases only an admin may move (promotion to production).
    - `rerun_pythons` / `project_roots`: what a rerun may start besides this server's own
      interpreter: other interpreters, and the folders pipelines may come from (none named: any
      folder, but only for a single user's store — an embedded SQLite one with auth off).
    - `settings`: the stores a rerun's worker process tracks into (None: reruns are refused).
    - `poll_s`: how often live updates look for changes in the store.
    - `run_schedules`: run due schedules in a background thread (needs `settings`), checking
      every `schedule_interval_s` seconds.
    """

    host: str = "127.0.0.1"
    port: int = 8707
    auth: bool | None = None
    insecure_no_auth: bool = False
    token: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    secret: str = dataclasses.field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    allowed_hosts: tuple[str, ...] = ()
    trusted_user_header: str | None = None
    trusted_proxies: tuple[str, ...] = ()
    protected_aliases: frozenset[str] = frozenset({"production"})
    session_hours: float = 12.0
    rerun_pythons: tuple[str, ...] = ()
    project_roots: tuple[str, ...] = ()
    settings: Settings | None = None
    poll_s: float = 0.2
    run_schedules: bool = True
    schedule_interval_s: float = 30.0

    def __post_init__(self) -> None:
        if not is_loopback(self.host) and self.auth is False and not self.insecure_no_auth:
            raise UsageError(
                f"--host {self.host} lets other machines reach this server, which runs pipelines and "
                "holds the team's data: it needs auth (the default off this machine). To run it open "
                "anyway (a private network you trust), pass --insecure-no-auth"
            )
        if self.trusted_user_header and not self.trusted_proxies:
            raise UsageError("--trusted-user-header needs --trusted-proxy ADDRESS (the proxy that sets it)")

    def relaunch_policy(self) -> RelaunchPolicy:
        single_user = not self.auth_on and (
            self.settings is None or self.settings.database_url.startswith("sqlite")
        )
        roots = tuple(Path(r) for r in self.project_roots) or (None if single_user else ())
        return RelaunchPolicy(frozenset({sys.executable, *self.rerun_pythons}), roots)

    @property
    def auth_on(self) -> bool:
        if self.auth is not None:
            return self.auth
        return not (self.insecure_no_auth or is_loopback(self.host))

    @property
    def own_hosts(self) -> set[str]:
        """Host headers naming this server on this machine."""
        names = {self.host, "127.0.0.1", "localhost", "[::1]"}
        return {f"{name}:{self.port}" for name in names} | ({self.host} if self.port == 80 else set())

    def host_allowed(self, host_header: str | None) -> bool:
        """Host must name this server (a DNS-rebinding page cannot); with auth on and no list of
        hosts, any name is fine: a page of another site has no session here."""
        host = (host_header or "").lower()
        if "*" in self.allowed_hosts or host in self.own_hosts:
            return True
        if host.split(":")[0] in {h.lower() for h in self.allowed_hosts} or host in self.allowed_hosts:
            return True
        return self.auth_on and not self.allowed_hosts

    def origin_allowed(self, origin: str | None, host_header: str | None) -> bool:
        """A browser names the page that sent a request in Origin; it must be this server."""
        if origin is None:
            return True  # not sent by a browser page (curl, scripts)
        expected = {f"http://{host}" for host in self.own_hosts}
        if host_header and self.host_allowed(host_header):
            expected |= {f"http://{host_header}", f"https://{host_header}"}
        return origin.lower() in {e.lower() for e in expected}
