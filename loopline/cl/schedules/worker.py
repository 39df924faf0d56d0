"""The worker process of one schedule firing: `python -m loopline.cl.schedules.worker NAME KEY`.

It runs the schedule's pipeline on the stores of its environment, with a LocalRunner or the
runner its run options ask for (`--ray`, `--no-cache`, ... among the parameters), records
the run and the outcome on the slot, indexes the RegressionReports the pipeline produced, and
notifies the schedule's webhooks of a failure or a regression.
"""

from __future__ import annotations

import sys
from typing import Any

from loopline.cl.regression.gate import Outcome, gather_reports
from loopline.cl.regression.notify import notify, pipeline_failed, regression_detected
from loopline.cl.regression.report import record_report
from loopline.cl.store.workspace import Workspace
from loopline.engine.launch import git_info
from loopline.engine.run_options import take_run_options
from loopline.errors import LooplineError, PipelineRunError
from loopline.sdk.future import Future
from loopline.sdk.targets import Target, parse_params, split_params
from loopline.settings import Settings


def run_slot(name: str, key: str, settings: Settings) -> int:
    """Run the firing `key` of schedule `name`; returns the process exit code."""
    ws = Workspace.open(settings)
    schedule = ws.store.get_schedule(name)
    try:
        target = Target.parse(schedule.target)
        function = target.load()
        options, params = take_run_options(list(schedule.params), set(function.signature.parameters))
        future: Future[Any] = function(**parse_params(function, split_params(params)))
    except LooplineError as error:
        ws.store.update_slot(name, key, state="failed", detail=f"cannot start: {error}")
        notify(schedule.webhooks, pipeline_failed(schedule.target, "", str(error), schedule=name))
        return 2
    future.set(name=options.run_name or f"{function.name} ({name})", tags=[*options.tags, f"schedule:{name}"])
    ws.store.update_slot(name, key, state="running", run_id=future.id)
    runner = options.runner(metadata=ws.metadata, artifacts=ws.artifacts)
    try:
        runner.run(future)
    except PipelineRunError as error:
        ws.store.update_slot(name, key, state="failed", detail=str(error))
        notify(schedule.webhooks, pipeline_failed(function.path, future.id, str(error), schedule=name))
        return 1
    git = git_info(target.file.parent)
    commit = None if git is None else git.commit
    outcome = Outcome(future.id, commit, tuple(gather_reports(ws.metadata, ws.artifacts, future.id)))
    for gathered in outcome.reports:
        record_report(gathered.report, run_id=gathered.run_id, commit=commit, workspace=ws)
    regression = bool(outcome.reports) and outcome.verdict == "regression"
    ws.store.update_slot(name, key, state="succeeded", detail=outcome.problem if regression else None)
    if regression:
        event = regression_detected(
            [g.report for g in outcome.reports], run_id=future.id, commit=commit, schedule=name
        )
        notify(schedule.webhooks, event)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m loopline.cl.schedules.worker SCHEDULE SLOT_KEY", file=sys.stderr)
        return 2
    return run_slot(args[0], args[1], Settings.from_env())


if __name__ == "__main__":
    sys.exit(main())
