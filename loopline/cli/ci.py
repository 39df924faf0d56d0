"""`loopline ci FILE.py[:FUNC] [--PARAM VALUE ...]` (or NOTEBOOK.ipynb[:FUNC]): the regression gate for CI."""

from __future__ import annotations

import dataclasses
import sys
import traceback
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from loopline.cl.regression import gate
from loopline.cl.regression.notify import check_webhook, notify, pipeline_failed, regression_detected
from loopline.cl.regression.report import describe, fmt, record_report
from loopline.cl.store.records import Webhook
from loopline.cl.store.workspace import Workspace
from loopline.cli.progress import TerminalProgress
from loopline.cli.run import PASS_THROUGH, RUN_OPTIONS, load_target, resolve_rerun_from
from loopline.engine.launch import git_info
from loopline.engine.run_options import take_run_options, takes_value
from loopline.errors import LooplineError, PipelineRunError, UsageError
from loopline.sdk.future import Future
from loopline.sdk.targets import Target, parse_params, split_params

CI_OPTIONS = """\b
Options of the gate (before or after TARGET):
  --junit FILE                 write JUnit XML: one test case per scenario
  --summary FILE               write a Markdown summary (e.g. "$GITHUB_STEP_SUMMARY")
  --github-status OWNER/REPO   set the commit status "loopline/regression" (token: GITHUB_TOKEN)
  --target-url URL             link the commit status to this page (e.g. the CI job)
  --webhook URL                notify on a failed pipeline or a regression (repeatable)
  --webhook-format json|slack  the webhooks' payload (default json)

"""


@dataclasses.dataclass
class CiOptions:
    junit: Path | None = None
    summary: Path | None = None
    github_status: str | None = None
    target_url: str | None = None
    webhooks: list[str] = dataclasses.field(default_factory=list)
    webhook_format: str = "json"

    def webhook_list(self) -> list[Webhook]:
        return [check_webhook(url, self.webhook_format) for url in self.webhooks]


_CI_VALUED = {"--junit", "--summary", "--github-status", "--target-url", "--webhook", "--webhook-format"}


def take_ci_options(args: list[str], reserved: set[str]) -> tuple[CiOptions, list[str]]:
    """Split the gate's own options out of `args` (a func parameter of the same name wins)."""
    options = CiOptions()
    rest: list[str] = []
    i = 0
    while i < len(args):
        key, eq, inline = args[i].partition("=")
        name = key[2:].replace("-", "_") if key.startswith("--") else ""
        if key not in _CI_VALUED or name in reserved:
            rest.append(args[i])
            i += 1
            continue
        if eq:
            value = inline
        elif i + 1 < len(args):
            value, i = args[i + 1], i + 1
        else:
            raise UsageError(f"{key} needs a value")
        i += 1
        if name == "webhook":
            options.webhooks.append(value)
        elif name in ("junit", "summary"):
            setattr(options, name, Path(value))
        else:
            setattr(options, name, value)
    return options, rest


def _split_target(args: list[str]) -> tuple[list[str], str, list[str]]:
    """(options before the target, the target, everything after it), as `loopline run` splits
    them, knowing the gate's own options too."""
    i = 0
    while i < len(args) and args[i].startswith("--"):
        i += 2 if args[i] in _CI_VALUED or takes_value(args, i) else 1
    if i >= len(args):
        raise UsageError("missing TARGET: loopline ci FILE.py[:FUNC] [--PARAM VALUE ...]")
    return args[:i], args[i], args[i + 1 :]


@click.command(
    context_settings=PASS_THROUGH,
    epilog=CI_OPTIONS + RUN_OPTIONS,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def ci(args: tuple[str, ...]) -> None:
    """Run the regression pipeline FUNC of FILE.py (or NOTEBOOK.ipynb) and gate on its RegressionReports.

    Exit status: 0 when every must-pass scenario passed, 1 on a regression, 2 when the pipeline
    failed or returned no RegressionReport (or the command was misused). Cached results are only
    reused within the same git commit (cache namespace ci:<commit>).

    \b
        loopline ci examples/digits_regression/pipeline.py --junit report.xml --summary summary.md
    """
    try:
        code = run_gate(list(args))
    except (LooplineError, OSError) as error:  # misuse, a file that cannot load or be written
        click.echo(f"error: {error}", err=True)
        click.echo("the gate could not decide (exit 2); this is not a regression", err=True)
        code = gate.EXIT_ERROR
    except Exception:  # noqa: BLE001 - the pipeline's own code failed to load (a syntax error, an import that raises)
        traceback.print_exc()
        click.echo(
            "error: the pipeline's file could not be loaded (see above); this is not a regression", err=True
        )
        code = gate.EXIT_ERROR
    sys.exit(code)


def run_gate(args: list[str]) -> int:
    leading, target, rest = _split_target(args)
    parsed = Target.parse(target)
    function = load_target(parsed)
    reserved = set(function.signature.parameters)
    ci_options, remaining = take_ci_options(leading + rest, reserved)
    run_options, params = take_run_options(remaining, reserved)
    kwargs = parse_params(function, split_params(params))
    resolve_rerun_from(run_options)
    for option, path in (("--junit", ci_options.junit), ("--summary", ci_options.summary)):
        if path is not None and not path.absolute().parent.is_dir():
            raise UsageError(
                f"{option} {path}: the folder {path.absolute().parent} does not exist; create it first"
            )
    webhooks = ci_options.webhook_list()
    token = None
    if ci_options.github_status is not None:
        gate.check_repository(ci_options.github_status)
        token = gate.github_token()
    git = git_info(parsed.file.parent)
    commit = git.commit if git is not None else None
    if run_options.cache_namespace is None:
        run_options.cache_namespace = gate.cache_namespace(git, parsed.file.parent)
    future: Future[Any] = function(**kwargs)
    future.set(name=run_options.run_name, tags=[*run_options.tags, "ci"])
    runner = run_options.runner()
    outcome = _run(future, runner, commit)
    _record(outcome, runner)
    _print(outcome)
    if ci_options.junit is not None:
        ci_options.junit.write_text(gate.junit_xml(outcome), encoding="utf-8")
    if ci_options.summary is not None:
        with open(ci_options.summary, "a", encoding="utf-8") as out:  # appends, as $GITHUB_STEP_SUMMARY wants
            out.write(gate.markdown_summary(outcome, run_url=ci_options.target_url))
    if ci_options.github_status is not None and token is not None:
        if commit is None:
            raise UsageError(
                f"--github-status needs a git commit, but {parsed.file.parent} is not in a git checkout"
            )
        gate.post_github_status(
            ci_options.github_status, commit, outcome, token=token, target_url=ci_options.target_url
        )
        click.echo(f"commit status {gate.STATUS_CONTEXT} of {commit[:12]} set to {outcome.verdict}")
    if webhooks and outcome.exit_code != gate.EXIT_PASS:
        _notify(webhooks, outcome, function.path)
    return outcome.exit_code


def _run(future: Future[Any], runner: Any, commit: str | None) -> gate.Outcome:
    progress = TerminalProgress()
    runner.hooks.append(progress)
    metadata, artifacts = runner.stores()
    error = None
    try:
        with progress:
            runner.run(future)
    except PipelineRunError as failure:
        record = metadata.get_run(failure.run_id) if failure.run_id else None
        if record is not None and record.error is not None and record.error.traceback:
            click.echo(record.error.traceback.rstrip(), err=True)
        error = str(failure)
    finally:
        runner.hooks.remove(progress)
    reports = tuple(gate.gather_reports(metadata, artifacts, future.id)) if error is None else ()
    return gate.Outcome(future.id, commit, reports, error)


def _record(outcome: gate.Outcome, runner: Any) -> None:
    """Index the reports (the dashboard's reports page, evidence for promotions)."""

    workspace = Workspace.from_stores(*runner.stores())
    for gathered in outcome.reports:
        record_report(gathered.report, run_id=gathered.run_id, commit=outcome.commit, workspace=workspace)


def _print(outcome: gate.Outcome) -> None:
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    for gathered in outcome.reports:
        report = gathered.report
        table = Table(
            title=f"{report.name}: {report.candidate.label} vs {describe(report.baseline)} on {report.golden}"
        )
        for column in ("", "SCENARIO", "N", "CANDIDATE", "BASELINE", "R→W", "W→R", "WHY"):
            table.add_column(column, overflow="fold")
        for s in report.scenarios:
            mark = "[green]pass[/]" if s.passed else ("[red]FAIL[/]" if s.must_pass else "[yellow]info[/]")
            table.add_row(
                mark,
                s.name,
                str(s.size),
                fmt(s.candidate.get("accuracy")),
                fmt(None if s.baseline is None else s.baseline.get("accuracy")),
                str(s.right_to_wrong_count),
                str(s.wrong_to_right_count),
                s.reason,
            )
        console.print(table)
        for s in report.failures:
            flipped = ", ".join(f.id for f in s.right_to_wrong[:20])
            more = f" and {s.right_to_wrong_count - 20} more" if s.right_to_wrong_count > 20 else ""
            if flipped:
                console.print(f"[red]{s.name}[/]: flipped right→wrong: {flipped}{more}", markup=True)
            if s.wrong:
                console.print(f"[red]{s.name}[/]: must-pass examples wrong: {', '.join(s.wrong[:20])}")
        for note in report.notes:
            console.print(f"[dim]note: {note}[/]")
    verdict = {"pass": "[green]PASS[/]", "regression": "[red]REGRESSION[/]", "error": "[red]ERROR[/]"}[
        outcome.verdict
    ]
    detail = f": {outcome.problem}" if outcome.problem else ""
    console.print(f"loopline ci: {verdict}{detail} (exit {outcome.exit_code})")
    if outcome.root_id:
        console.print(f"  see: loopline runs show {outcome.root_id}")


def _notify(webhooks: list[Webhook], outcome: gate.Outcome, pipeline: str) -> None:
    if outcome.error is not None or not outcome.reports:
        event = pipeline_failed(pipeline, outcome.root_id or "", outcome.problem)
    else:
        event = regression_detected(
            [g.report for g in outcome.reports], run_id=outcome.root_id, commit=outcome.commit
        )
    for delivery in notify(webhooks, event):
        if not delivery.ok:
            click.echo(f"warning: webhook {delivery.url} failed: {delivery.detail}", err=True)
