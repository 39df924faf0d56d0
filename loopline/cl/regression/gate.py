"""The CI gate's logic: gather the RegressionReports a pipeline produced, decide, and tell the
world (JUnit XML, a Markdown summary, a GitHub commit status). `loopline ci` wires it up.

Exit codes: 0 every must-pass scenario passed, 1 a regression, 2 the pipeline failed, produced
no report, or produced reports that could not decide (a must-pass scenario where nothing could be
checked, e.g. no baseline and no absolute criterion): a gate that cannot decide refuses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from loopline.cl.regression.report import RegressionReport, ScenarioResult, describe, fmt
from loopline.cl.store.errors import GitHubStatusError
from loopline.core.hashing import digest_chunks
from loopline.core.records import GitInfo
from loopline.core.serialization import encode, qualified_name
from loopline.engine.local import pipeline_runs
from loopline.errors import ArtifactNotFoundError, UsageError
from loopline.storage.artifacts import load_value
from loopline.storage.base import ArtifactStore, MetadataStore
from loopline.storage.remote.client import post_json

EXIT_PASS, EXIT_REGRESSION, EXIT_ERROR = 0, 1, 2
GITHUB_API_ENV = ("LOOPLINE_GITHUB_API_URL", "GITHUB_API_URL")
GITHUB_TOKEN_ENV = ("LOOPLINE_GITHUB_TOKEN", "GITHUB_TOKEN")
STATUS_CONTEXT = "loopline/regression"
_REPORT_TYPE = qualified_name(RegressionReport)
_CONTAINERS = {qualified_name(t) for t in (list, tuple, dict)}


@dataclasses.dataclass(frozen=True)
class GatheredReport:
    id: str  # its artifact id (or content id, when it was nested in another output)
    run_id: str  # the run that returned it
    report: RegressionReport


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a CI run ended with."""

    root_id: str | None
    commit: str | None
    reports: tuple[GatheredReport, ...] = ()
    error: str | None = None  # the pipeline's failure, if it failed

    @property
    def exit_code(self) -> int:
        if self.error is not None or not self.reports:
            return EXIT_ERROR
        if all(g.report.passed for g in self.reports):
            return EXIT_PASS
        if any(g.report.verdict == "regression" for g in self.reports):
            return EXIT_REGRESSION
        return EXIT_ERROR  # only undecided scenarios: the gate cannot say "pass"

    @property
    def verdict(self) -> str:
        return {EXIT_PASS: "pass", EXIT_REGRESSION: "regression", EXIT_ERROR: "error"}[self.exit_code]

    @property
    def problem(self) -> str:
        """One line on why the gate did not pass."""
        if self.error is not None:
            return self.error  # the PipelineRunError's message: "pipeline P failed: f() failed: ..."
        if not self.reports:
            return "the pipeline produced no RegressionReport (return one from a func)"
        undecided = {id(s) for g in self.reports for s in g.report.undecided}
        failed = [
            f"{g.report.name}: {s.name}"
            for g in self.reports
            for s in g.report.failures
            if id(s) not in undecided
        ]
        if failed:
            return "regression in " + ", ".join(failed)
        cannot = [f"{g.report.name}: {s.name}" for g in self.reports for s in g.report.undecided]
        if cannot:
            return (
                "could not decide " + ", ".join(cannot) + ": nothing was checked (no baseline to compare "
                "with); promote a first model, or give the scenarios absolute criteria (at_least)"
            )
        return ""


# -- gathering ---------------------------------------------------------------------------------


def gather_reports(metadata: MetadataStore, artifacts: ArtifactStore, root_id: str) -> list[GatheredReport]:
    """Every RegressionReport the pipeline's runs returned (directly or in a list, tuple or
    dict), each once, in the order the runs were created."""

    found: dict[str, GatheredReport] = {}
    for run in sorted(pipeline_runs(metadata, root_id), key=lambda r: (r.created_at, r.id)):
        if not run.state.is_success or run.output_id is None:
            continue
        try:
            type_name = metadata.get_artifact(run.output_id).type_name
        except ArtifactNotFoundError:
            continue
        if type_name == _REPORT_TYPE:
            found.setdefault(
                run.output_id, GatheredReport(run.output_id, run.id, load_value(run.output_id, artifacts))
            )
        elif type_name in _CONTAINERS:
            for report in _nested_reports(load_value(run.output_id, artifacts)):
                report_id = _content_id(report)
                found.setdefault(report_id, GatheredReport(report_id, run.id, report))
    return list(found.values())


def _nested_reports(value: Any) -> Iterator[RegressionReport]:
    if isinstance(value, RegressionReport):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _nested_reports(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _nested_reports(item)


def _content_id(report: RegressionReport) -> str:
    return digest_chunks(encode(report).chunks())


# -- git and the cache namespace ---------------------------------------------------------------


def cache_namespace(git: GitInfo | None, directory: Path) -> str | None:
    """`ci:<commit>`, plus a digest of the uncommitted changes when the tree is dirty, so a new
    commit (or new uncommitted code) never reuses results computed from other code."""
    if git is None or git.commit is None:
        return None
    namespace = f"ci:{git.commit}"
    if git.dirty:
        try:
            diff = subprocess.run(
                ["git", "diff", "HEAD"], cwd=directory, capture_output=True, timeout=30, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError):
            diff = os.urandom(16)  # cannot tell what changed: share nothing
        namespace += f"+{hashlib.sha256(diff).hexdigest()[:16]}"
    return namespace


# -- JUnit XML ---------------------------------------------------------------------------------


def junit_xml(outcome: Outcome) -> str:
    """One test suite per report, one test case per scenario (failing must-pass scenarios are
    failures; informational ones pass with a note); a failed pipeline is one error."""
    suites = ET.Element("testsuites", name="loopline ci")
    total = failures = errors = 0
    if outcome.exit_code == EXIT_ERROR:
        suite = ET.SubElement(suites, "testsuite", name="loopline ci", tests="1", failures="0", errors="1")
        case = ET.SubElement(suite, "testcase", classname="loopline", name="pipeline")
        ET.SubElement(case, "error", message=outcome.problem, type="pipeline").text = outcome.problem
        total, errors = 1, 1
    for gathered in outcome.reports:
        report = gathered.report
        failed = len(report.failures)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=report.name,
            tests=str(len(report.scenarios)),
            failures=str(failed),
            errors="0",
            timestamp=report.created_at.isoformat(),
        )
        properties = ET.SubElement(suite, "properties")
        for key, value in (
            ("golden", report.golden),
            ("candidate", report.candidate.label),
            ("baseline", describe(report.baseline)),
            ("report_id", gathered.id),
            ("commit", outcome.commit or ""),
        ):
            ET.SubElement(properties, "property", name=key, value=value)
        for result in report.scenarios:
            case = ET.SubElement(suite, "testcase", classname=report.name, name=result.name, time="0")
            if result.must_pass and not result.passed:
                failure = ET.SubElement(case, "failure", message=result.reason, type="regression")
                failure.text = _failure_details(result)
            ET.SubElement(case, "system-out").text = _case_output(result)
        total += len(report.scenarios)
        failures += failed
    suites.set("tests", str(total))
    suites.set("failures", str(failures))
    suites.set("errors", str(errors))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _failure_details(result: ScenarioResult) -> str:
    lines = [f"{c.kind} {c.metric}: {c.reason}" for c in result.checks if c.passed is False]
    if result.right_to_wrong:
        lines.append(f"flipped right->wrong ({result.right_to_wrong_count}):")
        lines += [
            f"  {f.id}: label {f.label}, candidate {f.candidate}, baseline {f.baseline}"
            for f in result.right_to_wrong[:50]
        ]
    if result.wrong:
        lines.append(f"must-pass examples wrong: {', '.join(result.wrong[:50])}")
    return "\n".join(lines)


def _case_output(result: ScenarioResult) -> str:
    status = (
        "passed"
        if result.passed
        else ("FAILED" if result.must_pass else "failed (informational, does not block)")
    )
    metrics = ", ".join(f"{k}={fmt(v)}" for k, v in result.candidate.items())
    return f"{status}; n={result.size}; {result.description}; {metrics}"


# -- Markdown ----------------------------------------------------------------------------------

_MARK = {True: "✅", False: "❌"}


def markdown_summary(outcome: Outcome, *, run_url: str | None = None) -> str:
    """A summary for a pull-request comment or `$GITHUB_STEP_SUMMARY`."""
    title = {"pass": "✅ passed", "regression": "❌ regression", "error": "⚠️ error"}[outcome.verdict]
    lines = [f"## Loopline regression gate: {title}", ""]
    where = []
    if outcome.commit:
        where.append(f"commit `{outcome.commit[:12]}`")
    if outcome.root_id:
        run = f"[`{outcome.root_id[:12]}`]({run_url})" if run_url else f"`{outcome.root_id[:12]}`"
        where.append(f"pipeline run {run}")
    if where:
        lines += [" · ".join(where), ""]
    if outcome.exit_code == EXIT_ERROR:
        lines += [f"**{outcome.problem}**", ""]
    for gathered in outcome.reports:
        lines += _report_markdown(gathered.report)
    return "\n".join(lines).rstrip() + "\n"


def _report_markdown(report: RegressionReport) -> list[str]:
    lines = [
        f"### {_MARK[report.passed]} {report.name}",
        "",
        f"Candidate **{report.candidate.label}** vs baseline **{describe(report.baseline)}** on `{report.golden}` "
        f"({report.golden_size} examples).",
        "",
        "| | scenario | n | candidate accuracy | baseline accuracy | right→wrong | wrong→right | decided by |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in report.scenarios:
        mark = (
            _MARK[s.passed] if s.must_pass or s.passed else "\N{INFORMATION SOURCE}\N{VARIATION SELECTOR-16}"
        )
        lines.append(
            f"| {mark} | {_cell(s.name)} | {s.size} | {_accuracy(s.candidate, s.candidate_interval)} "
            f"| {_accuracy(s.baseline, s.baseline_interval)} | {s.right_to_wrong_count} | {s.wrong_to_right_count} "
            f"| {_cell(_decided_by(s))} |"
        )
    lines.append("")
    for s in report.failures:
        lines += [f"<details><summary>❌ <b>{_cell(s.name)}</b>: {_cell(s.reason)}</summary>", ""]
        if s.right_to_wrong:
            lines += ["| example | label | candidate | baseline |", "|---|---|---|---|"]
            lines += [
                f"| `{f.id}` | {f.label} | {f.candidate} | {f.baseline} |" for f in s.right_to_wrong[:25]
            ]
            if s.right_to_wrong_count > 25:
                lines.append(f"| … {s.right_to_wrong_count - 25} more | | | |")
            lines.append("")
        if s.wrong:
            lines += [f"Must-pass examples wrong: {', '.join(f'`{i}`' for i in s.wrong[:25])}", ""]
        lines += ["</details>", ""]
    lines += [f"> {note}" for note in report.notes]
    return [*lines, ""]


def _accuracy(values: Mapping[str, float] | None, interval: Any) -> str:
    if values is None or "accuracy" not in values:
        return "—"
    return f"{fmt(values['accuracy'])}" + (f" {interval}" if interval is not None else "")


def _decided_by(result: ScenarioResult) -> str:
    rules = []
    for check in result.checks:
        if check.rule == "mcnemar":
            rules.append(f"McNemar p={check.p_value:.2g}")
        elif check.rule == "bootstrap":
            rules.append(f"bootstrap ({check.metric}) p={check.p_value:.2g}")
        elif check.rule == "tolerance":
            rules.append(f"raw tolerance ({check.metric})")
        elif check.rule == "threshold":
            rules.append(f"{check.metric} {'≥' if check.kind == 'at_least' else '≤'} {check.threshold:g}")
        elif check.rule == "all_correct":
            rules.append("all must-pass right")
        else:
            rules.append(f"{check.metric}: skipped")
    return ", ".join(rules)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- GitHub commit status ----------------------------------------------------------------------


def github_token(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    for name in GITHUB_TOKEN_ENV:
        if env.get(name):
            return env[name]
    raise UsageError(
        f"--github-status needs a token in {' or '.join(GITHUB_TOKEN_ENV)} (in GitHub Actions: "
        "env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}, with permissions: statuses: write)"
    )


def check_repository(repo: str) -> str:
    owner, sep, name = repo.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise UsageError(f"--github-status {repo!r}: give the repository as OWNER/REPO")
    return repo


def post_github_status(
    repo: str,
    sha: str,
    outcome: Outcome,
    *,
    token: str,
    target_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Set the commit status `loopline/regression` of `sha` (GitHubStatusError if GitHub refuses)."""
    env = os.environ if environ is None else environ
    api = next((env[name] for name in GITHUB_API_ENV if env.get(name)), "https://api.github.com").rstrip("/")
    state = {"pass": "success", "regression": "failure", "error": "error"}[outcome.verdict]
    if outcome.verdict == "pass":
        scenarios = sum(len(g.report.scenarios) for g in outcome.reports)
        description = f"all must-pass scenarios passed ({scenarios} scenarios)"
    else:
        description = outcome.problem
    body: dict[str, Any] = {"state": state, "description": description[:140], "context": STATUS_CONTEXT}
    if target_url:
        body["target_url"] = target_url
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    try:
        post_json(f"{api}/repos/{repo}/statuses/{sha}", body, headers=headers, timeout_s=30)
    except httpx.HTTPStatusError as error:
        detail = error.response.text[:300]
        raise GitHubStatusError(
            f"GitHub refused the commit status for {repo}@{sha[:12]}: HTTP {error.response.status_code} {detail}"
        ) from None
    except httpx.HTTPError as error:
        raise GitHubStatusError(f"cannot reach GitHub at {api}: {error}") from None
