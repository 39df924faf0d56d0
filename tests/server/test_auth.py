"""Every route of an auth-on server, and every store method its RPC route serves, driven through
the rules of `loopline/server/auth/policy.py`.

The routes are read from the app itself (`create_app(...).routes`: `ROUTERS` and whatever the
factory adds), so a new route is tested here the day it is added; a path parameter that
tests/server/routes.py has no value for fails collection, asking for one. For each: no key, a
malformed, unknown, wrong, revoked or expired key, a disabled user's key, and the wrong scheme
are refused (401; a page asked for by a browser redirects to /login); every role below the one
the policy names is refused (403); the role it names gets past the guard.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route

from loopline.server import ServerConfig, create_app
from loopline.server.api.rpc import PROTOCOLS
from loopline.server.app import ROUTERS
from loopline.server.auth import policy
from loopline.server.auth.guard import TOKEN_HEADER
from loopline.storage import rpc
from loopline.storage.artifacts import MemoryArtifactStore
from loopline.storage.memory import MemoryMetadataStore
from loopline.team import admin
from loopline.team.records import ROLES, Role
from loopline.team.secrets import split_key
from tests.server.routes import PLAUSIBLE, concrete, served
from tests.server.team import LOCAL
from tests.team_server import TeamServer


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """One method of one route (for the RPC route: one store method)."""

    method: str
    template: str
    store_method: tuple[str, str] | None = None

    @property
    def params(self) -> dict[str, str]:
        if self.store_method is None:
            return {}
        return {"store": self.store_method[0], "method": self.store_method[1]}

    @property
    def path(self) -> str:
        return concrete(self.template, {**PLAUSIBLE, **self.params})

    @property
    def access(self) -> policy.Access:
        return policy.route_access(self.method, self.template, self.params)

    @property
    def changes(self) -> bool:
        if self.store_method is not None:
            store, name = self.store_method
            return name not in policy.RPC_READS[store]
        return self.method not in policy.SAFE_METHODS

    @property
    def page(self) -> bool:
        return self.method == "GET" and not self.template.startswith("/api/")

    def __str__(self) -> str:
        if self.store_method is not None:
            return f"rpc {'.'.join(self.store_method)}"
        return f"{self.method} {self.template}"


APP = create_app(MemoryMetadataStore(), MemoryArtifactStore(), ServerConfig(auth=True))
ROUTES = [
    (method, route.path)
    for route in served(APP)
    if isinstance(route, Route)
    for method in sorted(route.methods or ())
]
STORE_METHODS = [(store, name) for store, protocol in PROTOCOLS.items() for name in rpc.methods(protocol)]
ENDPOINTS = [Endpoint(m, t) for m, t in ROUTES if t != policy.RPC_PATH] + [
    Endpoint("POST", policy.RPC_PATH, s) for s in STORE_METHODS
]
PUBLIC = [e for e in ENDPOINTS if policy.is_public(e.template)]
GUARDED = [e for e in ENDPOINTS if not policy.is_public(e.template)]
ABOVE_VIEWER = [e for e in GUARDED if e.access.role is not Role.VIEWER]
READS = [e for e in GUARDED if not e.changes]


@dataclasses.dataclass(frozen=True)
class Credentials:
    by_role: Mapping[Role, str]  # a key of a user who has exactly this role
    refused: Mapping[str, dict[str, str]]  # what is wrong -> the headers that carry it


@pytest.fixture(scope="module")
def credentials(team: TeamServer) -> Credentials:
    store = team.state.team
    by_role = {role: team.key(f"{role.value}-user", role) for role in ROLES}
    # The credentials refused below belong to admins: only the credential can be at fault.
    admin_id, _ = split_key(by_role[Role.ADMIN]) or ("", "")
    revoked_record, revoked = admin.create_key(store, "admin-user", by=LOCAL)
    admin.revoke_key(store, revoked_record.id, by=LOCAL)
    _, expired = admin.create_key(store, "admin-user", expires_in=dt.timedelta(milliseconds=1), by=LOCAL)
    disabled = team.key("gone-admin", Role.ADMIN)
    admin.change_user(store, "gone-admin", disabled=True, by=LOCAL)
    time.sleep(0.01)  # past the expiry
    bearer = {
        "a malformed key": "not-a-key",
        "an unknown key": f"ll_{'f' * 16}_{'y' * 43}",
        "a wrong secret": f"ll_{admin_id}_{'x' * 43}",
        "a revoked key": revoked,
        "an expired key": expired,
        "a disabled user's key": disabled,
    }
    refused = {"no key": {}} | {what: {"Authorization": f"Bearer {k}"} for what, k in bearer.items()}
    refused["another scheme"] = {"Authorization": "Basic YWRtaW4tdXNlcjpwYXNzd29yZA=="}
    refused["a scheme alone"] = {"Authorization": "Bearer"}
    return Credentials(by_role, refused)


@pytest.fixture
def client(team: TeamServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=team.url, timeout=30) as fresh:
        yield fresh


def call(client: httpx.Client, endpoint: Endpoint, headers: Mapping[str, str]) -> httpx.Response:
    """The request, its body read only when it is short (event streams never end)."""
    body: Any = {"arguments": []} if endpoint.store_method else {}  # arguments: refused by the route
    sent = dict(headers)
    with client.stream(
        endpoint.method,
        endpoint.path,
        json=None if endpoint.method in policy.SAFE_METHODS else body,
        headers=sent,
    ) as response:
        if response.headers.get("content-type", "").startswith("application/json"):
            response.read()
    return response


def refused_by_the_guard(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    if response.status_code != 403:
        return False
    detail = str(response.json().get("detail", ""))
    return "this needs the" in detail or "cross-origin" in detail or TOKEN_HEADER in detail


# -- the table covers the app ----------------------------------------------------------------


def test_every_route_of_every_router_is_driven_here() -> None:
    driven = {(e.method, e.template) for e in ENDPOINTS}
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, Route)
            for method in route.methods or ():
                assert (method, route.path) in driven, f"{method} {route.path}"


def test_the_app_serves_routes_and_its_static_files_only() -> None:
    others = [r for r in served(APP) if not isinstance(r, Route)]
    assert [(type(r), r.path) for r in others if isinstance(r, Mount)] == [(Mount, "/static")]
    assert all(isinstance(r, Mount) for r in others) and policy.is_public("/static/app.css")


def test_routes_outside_the_routers_share_no_path_with_theirs() -> None:
    # The guard knows ROUTERS' routes; one added to the app alone must not hide behind one of
    # theirs (a method the guard would answer with 405, or judge by the other route's rule).
    routers = {route.path for router in ROUTERS for route in router.routes if isinstance(route, Route)}
    extras = {t for _, t in ROUTES} - routers
    assert extras == {
        "/openapi.json",
        "/vendor/plotly.min.js",
        "/vendor/plotly-sheets.json",
        "/vendor/plotly-sheets/{sheet}.css",
    }


def test_a_method_a_path_does_not_serve_is_405_for_anyone_signed_in(
    client: httpx.Client, credentials: Credentials
) -> None:
    viewer = {"Authorization": f"Bearer {credentials.by_role[Role.VIEWER]}"}
    for method, path in (("DELETE", "/api/v1/runs"), ("TRACE", "/api/v1/health"), ("PUT", "/login")):
        response = client.request(method, path, headers=viewer)
        assert response.status_code == 405, (method, path)
        assert "GET" in response.headers["Allow"]
    assert client.delete("/api/v1/runs").status_code == 401  # but only once signed in


def test_every_rule_of_the_policy_names_a_route_of_the_app() -> None:
    assert set(policy.ROUTES) <= set(ROUTES), set(policy.ROUTES) - set(ROUTES)


def test_every_store_method_is_a_read_or_has_its_rule() -> None:
    for store, protocol in PROTOCOLS.items():
        reads, rules = policy.RPC_READS[store], {m for s, m in policy.RPC if s == store}
        assert reads | rules == set(rpc.methods(protocol)) and not reads & rules, store


def test_an_unknown_change_needs_an_admin_and_an_unknown_read_a_viewer() -> None:
    assert policy.route_access("POST", "/api/v1/new-thing", {}).role is Role.ADMIN
    assert policy.route_access("DELETE", "/api/v1/runs/{run_id}", {}).role is Role.ADMIN
    assert policy.rpc_access("metadata", "new_method").role is Role.ADMIN
    assert policy.route_access("GET", "/api/v1/new-thing", {}).role is Role.VIEWER


# What the roles mean (issue 12): viewers read; labelers also label; editors also run, rerun,
# cancel, edit datasets and schedules; admins also promote, manage users and keys, and delete.
ROLE_OF = {
    "POST /api/v1/labeling/tasks/{task_id}/label": Role.LABELER,
    "POST /api/v1/labeling/tasks/{task_id}/review": Role.LABELER,
    "POST /api/v1/feedback": Role.LABELER,
    "rpc cl.transition_tasks": Role.LABELER,
    "POST /api/v1/runs/{run_id}/rerun": Role.EDITOR,
    "POST /api/v1/runs/{run_id}/cancel": Role.EDITOR,
    "POST /api/v1/schedules/{name}/edit": Role.EDITOR,
    "POST /api/v1/labeling/{queue_name:path}/commit": Role.EDITOR,
    "rpc metadata.write": Role.EDITOR,
    "rpc cl.add_dataset_version": Role.EDITOR,
    "rpc cl.move_alias": Role.EDITOR,  # protected aliases: admins only, decided by the route
    "GET /api/v1/users": Role.ADMIN,
    "POST /api/v1/keys": Role.ADMIN,
    "GET /api/v1/audit": Role.ADMIN,
    "GET /audit": Role.ADMIN,
    "DELETE /api/v1/artifacts/{artifact_id}": Role.ADMIN,
    "rpc metadata.delete_runs": Role.ADMIN,
}


def test_the_roles_mean_what_the_docs_say() -> None:
    assert {str(e): e.access.role for e in ENDPOINTS if str(e) in ROLE_OF} == ROLE_OF


def test_no_change_is_open_to_a_viewer_but_signing_in_and_out() -> None:
    assert {str(e) for e in ENDPOINTS if e.changes and e.access.role is Role.VIEWER} == {
        "POST /login",
        "POST /logout",
    }


def test_users_keys_the_audit_log_and_deleting_need_an_admin() -> None:
    for e in ENDPOINTS:
        if re.match(r"/(api/v1/)?(users|keys|audit|artifacts$)", e.template) or e.method == "DELETE":
            assert e.access.role is Role.ADMIN, e
        if e.store_method is not None and e.store_method[1].startswith("delete"):
            assert e.access.role is Role.ADMIN, e


# -- every route, every credential -----------------------------------------------------------


@pytest.mark.parametrize("endpoint", GUARDED, ids=str)
def test_every_bad_credential_is_refused(
    endpoint: Endpoint, client: httpx.Client, credentials: Credentials
) -> None:
    statuses = {what: call(client, endpoint, h) for what, h in credentials.refused.items()}
    assert {what: r.status_code for what, r in statuses.items()} == dict.fromkeys(statuses, 401)
    assert all(r.headers["WWW-Authenticate"].startswith("Bearer") for r in statuses.values())


@pytest.mark.parametrize("endpoint", ABOVE_VIEWER, ids=str)
def test_every_role_below_the_one_it_needs_is_refused(
    endpoint: Endpoint, client: httpx.Client, credentials: Credentials
) -> None:
    needed = endpoint.access.role
    for role in ROLES[: needed.rank]:
        response = call(client, endpoint, {"Authorization": f"Bearer {credentials.by_role[role]}"})
        assert response.status_code == 403, role
        assert f"is a {role.value}; this needs the {needed.value} role" in response.json()["detail"]


@pytest.mark.parametrize("endpoint", GUARDED, ids=str)
def test_the_role_it_needs_gets_past_the_guard(
    endpoint: Endpoint, client: httpx.Client, credentials: Credentials
) -> None:
    key = credentials.by_role[endpoint.access.role]
    response = call(client, endpoint, {"Authorization": f"Bearer {key}"})
    assert not refused_by_the_guard(response), (response.status_code, response.text)
    if endpoint.store_method is not None:  # the route itself refused the arguments
        assert response.status_code == 422 and "the body must be" in response.json()["detail"]


@pytest.mark.parametrize("endpoint", READS, ids=str)
def test_a_read_without_a_key_is_refused_and_a_page_sends_the_browser_to_sign_in(
    endpoint: Endpoint, client: httpx.Client
) -> None:
    assert call(client, endpoint, {}).status_code == 401
    if endpoint.page:
        response = client.get(endpoint.path, headers={"Accept": "text/html"})
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("endpoint", [e for e in PUBLIC if e.method == "GET"], ids=str)
def test_the_sign_in_page_and_health_answer_anyone(endpoint: Endpoint, client: httpx.Client) -> None:
    response = client.get(endpoint.path)
    assert response.status_code == 200
    assert "who-name" not in response.text  # nobody is shown as signed in


def test_health_says_auth_is_on(client: httpx.Client) -> None:
    assert client.get("/api/v1/health").json()["auth"] is True
