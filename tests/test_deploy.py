"""`deploy/`: the container recipe and the systemd unit run exactly what these tests run, so they
cannot drift from the code. No docker daemon is needed: the Dockerfile's COPY sources go to a
temporary /src, its `pip install` runs as a dry run against this environment (no network), and
its loopline commands (each `docker run` line of its usage, ENTRYPOINT with CMD) run in a
temporary LOOPLINE_HOME; the server they start is served here on 127.0.0.1."""

from __future__ import annotations

import configparser
import contextlib
import dataclasses
import json
import shlex
import shutil
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from packaging.specifiers import SpecifierSet

from loopline.cli.main import cli
from loopline.server.background import free_port
from loopline.settings import Settings
from loopline.team.secrets import split_key

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
PASSWORD = "a long admin password"
DOCKER_RUN_OPTIONS_WITH_VALUES = {"--env-file", "-p", "--publish", "--name", "-v", "--volume", "-e", "--env"}


@dataclasses.dataclass
class Dockerfile:
    """What the instructions of a Dockerfile say (only the ones this recipe uses)."""

    base: str = ""
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    copies: list[tuple[list[str], str, str]] = dataclasses.field(default_factory=list)  # srcs, dest, workdir
    runs: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # command, workdir
    entrypoint: list[str] = dataclasses.field(default_factory=list)
    cmd: list[str] = dataclasses.field(default_factory=list)
    usage: list[list[str]] = dataclasses.field(default_factory=list)  # what each `docker run` passes


def parse_dockerfile(path: Path) -> Dockerfile:
    parsed, workdir = Dockerfile(), "/"
    lines = path.read_text().splitlines()
    for line in lines:
        if line.startswith("#") and "docker run " in line:
            parsed.usage.append(_image_arguments(shlex.split(line.lstrip("# "))[2:]))
    for instruction in _instructions(lines):
        keyword, _, rest = instruction.partition(" ")
        rest = rest.strip()
        if keyword == "FROM":
            parsed.base = rest
        elif keyword == "ENV":
            parsed.env.update(dict(pair.split("=", 1) for pair in shlex.split(rest)))
        elif keyword == "WORKDIR":
            workdir = rest
        elif keyword == "COPY":
            *sources, dest = shlex.split(rest)
            parsed.copies.append((sources, dest, workdir))
        elif keyword == "RUN":
            parsed.runs.append((rest, workdir))
        elif keyword == "ENTRYPOINT":
            parsed.entrypoint = json.loads(rest)
        elif keyword == "CMD":
            parsed.cmd = json.loads(rest)
    return parsed


def _instructions(lines: list[str]) -> list[str]:
    """Each instruction on one line (comments dropped, continuations joined)."""
    found: list[str] = []
    continuing = False
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        text = stripped.removesuffix("\\").strip()
        if continuing:
            found[-1] += " " + text
        else:
            found.append(text)
        continuing = stripped.endswith("\\")
    return found


def _image_arguments(tokens: list[str]) -> list[str]:
    """`docker run` options, the image, then what it passes to the ENTRYPOINT: those."""
    rest = iter(tokens)
    for token in rest:
        if token in DOCKER_RUN_OPTIONS_WITH_VALUES:
            next(rest)
        elif not token.startswith("-"):
            return list(rest)
    raise AssertionError(f"no image in docker run {tokens}")


@dataclasses.dataclass
class Captured:
    """The server a `loopline server` command would have served, stopped before it listens."""

    app: Any
    options: dict[str, Any]


def loopline(args: list[str], env: dict[str, str | None], stdin: str | None = None) -> str:
    result = CliRunner().invoke(cli, args, env=env, input=stdin, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def start(args: list[str], env: dict[str, str | None], monkeypatch: pytest.MonkeyPatch) -> Captured:
    """Run `loopline server ...` up to the point where uvicorn would start listening."""
    got: list[Captured] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: got.append(Captured(app, options)))
    printed = loopline(args, env)
    assert "auth is on" in printed, printed
    (captured,) = got
    return captured


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` served on 127.0.0.1 (the tests never listen beyond this machine)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def in_container(root: Path, path: str) -> Path:
    """Where a container's absolute path lies in this test's temporary root."""
    return root / path.lstrip("/")


@pytest.fixture
def dockerfile() -> Dockerfile:
    return parse_dockerfile(DEPLOY / "Dockerfile")


@pytest.fixture
def container_env(dockerfile: Dockerfile, tmp_path: Path) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        k: str(in_container(tmp_path, v)) if v.startswith("/") else v for k, v in dockerfile.env.items()
    }
    for name in ("LOOPLINE_SERVER", "LOOPLINE_SERVER_URL", "LOOPLINE_API_KEY", "LOOPLINE_DATABASE_URL"):
        env[name] = None
    return env


# -- the Dockerfile ----------------------------------------------------------------------------


def test_the_image_has_a_python_the_package_supports(dockerfile: Dockerfile) -> None:
    assert dockerfile.base == "python:3.11-slim"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert "3.11" in SpecifierSet(project["requires-python"])


def test_its_pip_install_resolves_from_what_it_copies(dockerfile: Dockerfile, tmp_path: Path) -> None:
    for sources, dest, _ in dockerfile.copies:
        target = in_container(tmp_path, dest)
        for source in sources:
            origin = REPO / source
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy(origin, target / origin.name)
    installs = [
        (part.strip(), workdir)
        for command, workdir in dockerfile.runs
        for part in command.split("&&")
        if part.strip().startswith("pip install")
    ]
    assert [command for command, _ in installs] == ['pip install ".[postgres]"']
    for command, workdir in installs:
        report = tmp_path / "report.json"
        offline = ["--dry-run", "--no-index", "--no-build-isolation", "--quiet", "--report", str(report)]
        subprocess.run(
            [sys.executable, "-m", *shlex.split(command), *offline],
            cwd=in_container(tmp_path, workdir),
            check=True,
            timeout=300,
        )
        (installed,) = [
            i for i in json.loads(report.read_text())["install"] if i["metadata"]["name"] == "loopline"
        ]
        assert installed["requested_extras"] == ["postgres"]


def test_its_commands_make_the_first_admin_a_key_and_a_server_that_wants_them(
    dockerfile: Dockerfile, container_env: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert dockerfile.entrypoint == ["loopline"]
    *setup, serve = dockerfile.usage
    assert serve == [] and [args[:2] for args in setup] == [["users", "add"], ["keys", "create"]]
    loopline(setup[0], container_env, stdin=PASSWORD + "\n")
    key = loopline(setup[1], container_env).strip().splitlines()[-1]
    assert split_key(key) is not None
    captured = start(dockerfile.cmd, container_env, monkeypatch)
    assert (captured.options["host"], captured.options["port"]) == ("0.0.0.0", 8707)
    admin = setup[0][2]
    with serving(captured.app) as url:
        assert httpx.get(f"{url}/api/v1/health").json()["auth"] is True
        assert httpx.get(f"{url}/api/v1/whoami").status_code == 401
        whoami = httpx.get(f"{url}/api/v1/whoami", headers={"Authorization": f"Bearer {key}"}).json()
        assert whoami == {"name": admin, "role": "admin", "via": "key"}
        signed = httpx.post(f"{url}/login", data={"name": admin, "password": PASSWORD})
        assert signed.status_code == 303 and "loopline_session" in signed.headers["set-cookie"]


# -- the systemd unit and its environment file -------------------------------------------------


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DEPLOY / "loopline.service")
    return parser


def test_the_unit_runs_the_same_server_as_its_own_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = unit()["Service"]
    program, *args = shlex.split(service["ExecStart"])
    assert Path(program).name == "loopline" and args[:1] == ["server"]
    home = service["Environment"].removeprefix("LOOPLINE_HOME=")
    assert service["User"] == "loopline" and home in service["ReadWritePaths"].split()
    assert service["EnvironmentFile"] == "/etc/loopline/loopline.env"
    env: dict[str, str | None] = {"LOOPLINE_HOME": str(in_container(tmp_path, home)), "LOOPLINE_SERVER": None}
    loopline(["users", "add", "ada", "--role", "admin"], env)
    captured = start(args, env, monkeypatch)
    assert captured.options["host"] == "0.0.0.0"


def test_the_environment_file_names_the_stores_and_nothing_of_a_client() -> None:
    lines = (DEPLOY / "loopline.env.example").read_text().splitlines()
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert set(env) == {"LOOPLINE_DATABASE_URL", "LOOPLINE_ARTIFACTS_URL"}
    settings = Settings.for_home("/var/lib/loopline", env)
    assert settings.server is None and settings.database_url.startswith("postgresql://")
    assert settings.artifacts_url.startswith("s3://")
