"""`loopline ci`: the regression gate, its exit codes and what it tells CI, GitHub and webhooks."""

from __future__ import annotations

import subprocess
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import loopline
from loopline.cl.store.workspace import Workspace
from loopline.cli.main import cli
from tests.cl.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits_regression" / "pipeline.py"

GATE = """
import numpy as np

import loopline
from loopline import Dataset, RegressionReport, Scenario

@loopline.func(cache=True)
def expensive(x: int) -> int:
    return x + 1

@loopline.func
def evaluate(broken: int, ignored: int) -> RegressionReport:
    labels = np.arange(100) % 2
    golden = Dataset("golden", labels.reshape(-1, 1), labels, ids=[f"g{i}" for i in range(100)])
    candidate = labels.copy()
    candidate[: 2 * broken : 2] = 1  # `broken` zeros become ones
    return loopline.regression_test(candidate, golden, [Scenario("zeros", labels=[0])], labels, name="toy gate")

@loopline.func
def pipeline(broken: int = 0, fail: bool = False, report: bool = True) -> RegressionReport | None:
    if fail:
        raise RuntimeError("the training data is missing")
    return evaluate(broken, expensive(1)) if report else None
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["ci", *args], catch_exceptions=False)
    return result.exit_code, result.output


def git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=CI", "-c", "user.email=ci@example.com"]
    subprocess.run(["git", *identity, *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    """A tiny gate pipeline committed in a git repository of its own."""
    repo = tmp_path / "repo"
    repo.mkdir()
    path = repo / f"gate_{uuid.uuid4().hex[:8]}.py"  # a module name of its own in this process
    path.write_text(GATE)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "gate")
    return path


def test_a_benign_training_change_passes_the_digits_gate(home: Path, tmp_path: Path) -> None:
    junit, summary = tmp_path / "junit.xml", tmp_path / "summary.md"
    code, output = invoke(str(DIGITS), "--C", "0.2", "--junit", str(junit), "--summary", str(summary))
    assert code == 0, output
    assert "loopline ci: PASS" in output
    cases = ET.parse(junit).getroot().findall(".//testcase")
    assert len(cases) == 12 and not ET.parse(junit).getroot().findall(".//failure")
    assert summary.read_text().startswith("## Loopline regression gate: ✅ passed")
    assert loopline.models.aliases("digits") == {"production": 1}


def test_dropping_most_examples_of_a_digit_fails_the_gate_and_names_them(home: Path, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    code, output = invoke(str(DIGITS), "--drop-digit", "3", "--junit", str(junit))
    assert code == 1, output
    assert "REGRESSION: regression in digits gate: digit 3" in output
    report = Workspace.open().store.list_reports()[0]
    stored = loopline.Client().artifact(report.id)
    failed = stored.scenario("digit 3")
    assert not failed.passed and failed.right_to_wrong_count >= 10
    assert all(flip.label == 3 for flip in failed.right_to_wrong)
    assert f"digit 3: flipped right→wrong: {failed.right_to_wrong[0].id}" in output
    assert all(s.passed for s in stored.scenarios if s.name.startswith("digit") and s.name != "digit 3")
    failures = {c.get("name"): c.find("failure") for c in ET.parse(junit).getroot().iter("testcase")}
    assert failures["digit 3"] is not None and failed.right_to_wrong[0].id in (failures["digit 3"].text or "")
    assert failures["digit 5"] is None


def test_the_pipeline_records_the_commit_and_caches_per_commit(home: Path, gate: Path) -> None:
    for _ in range(2):
        assert invoke(str(gate))[0] == 0
    git(gate.parent, "commit", "-q", "--allow-empty", "-m", "a new commit")
    assert invoke(str(gate))[0] == 0
    runs = loopline.Client().runs(name="expensive", limit=10)
    assert [r.state.value for r in reversed(runs)] == ["succeeded", "cached", "succeeded"]
    roots = loopline.Client().runs(root_only=True, tags=["ci"], limit=10)
    assert len({r.git.commit for r in roots if r.git}) == 2


def test_a_failed_pipeline_or_a_missing_report_exits_2(home: Path, gate: Path, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    code, output = invoke(str(gate), "--fail", "true", "--junit", str(junit))
    assert code == 2 and "the training data is missing" in output
    assert ET.parse(junit).getroot().find(".//error") is not None
    code, output = invoke(str(gate), "--report", "false")
    assert code == 2 and "produced no RegressionReport" in output


def test_misuse_exits_2_with_the_reason(home: Path, gate: Path) -> None:
    assert invoke(str(gate), "--nope", "1") == (2, invoke(str(gate), "--nope", "1")[1])
    assert "has no parameter --nope" in invoke(str(gate), "--nope", "1")[1]
    code, output = invoke(str(gate), "--github-status", "octo/repo")
    assert code == 2 and "needs a token in LOOPLINE_GITHUB_TOKEN or GITHUB_TOKEN" in output
    code, output = invoke(str(gate), "--junit", "/no/such/folder/junit.xml")
    assert code == 2 and "the folder /no/such/folder does not exist" in output
    assert "PASS" not in output  # refused before the pipeline ran


@pytest.mark.parametrize("source", ["def pipeline(:\n", "raise RuntimeError('no GPU here')\n"])
def test_a_pipeline_file_that_cannot_load_exits_2_not_1(home: Path, tmp_path: Path, source: str) -> None:
    broken = tmp_path / f"broken_{uuid.uuid4().hex[:8]}.py"
    broken.write_text(source)
    code, output = invoke(str(broken))
    assert code == 2 and "this is not a regression" in output


def test_the_commit_status_is_sent_to_github(
    home: Path, gate: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOPLINE_GITHUB_API_URL", receiver.url)
    monkeypatch.setenv("GITHUB_TOKEN", "s3cret")
    code, output = invoke(
        str(gate), "--broken", "10", "--github-status", "octo/repo", "--target-url", "http://ci/1"
    )
    assert code == 1, output
    (request,) = receiver.requests
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=gate.parent, capture_output=True, text=True
    ).stdout.strip()
    assert request.path == f"/repos/octo/repo/statuses/{commit}"
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.body["state"] == "failure" and request.body["context"] == "loopline/regression"
    assert request.body["description"] == "regression in toy gate: zeros"
    assert request.body["target_url"] == "http://ci/1"


def test_github_refusing_the_status_is_an_error(
    home: Path, gate: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.status = 404
    monkeypatch.setenv("LOOPLINE_GITHUB_API_URL", receiver.url)
    monkeypatch.setenv("GITHUB_TOKEN", "s3cret")
    code, output = invoke(str(gate), "--github-status", "octo/repo")
    assert code == 2 and "GitHub refused the commit status for octo/repo" in output


def test_webhooks_hear_about_regressions_and_failures(home: Path, gate: Path, receiver: Receiver) -> None:
    assert invoke(str(gate), "--webhook", receiver.url)[0] == 0
    assert receiver.requests == []  # a pass is not news
    assert invoke(str(gate), "--broken", "10", "--webhook", f"{receiver.url}/json")[0] == 1
    assert (
        invoke(
            str(gate), "--fail", "true", "--webhook", f"{receiver.url}/slack", "--webhook-format", "slack"
        )[0]
        == 2
    )
    regression, failure = receiver.requests
    assert regression.path == "/json" and regression.body["event"] == "regression.detected"
    assert regression.body["reports"][0]["failed"][0]["scenario"] == "zeros"
    assert len(regression.body["reports"][0]["failed"][0]["right_to_wrong"]) == 10
    assert failure.path == "/slack" and set(failure.body) == {"text"}
    assert "the training data is missing" in failure.body["text"]
