"""`loopline run FILE.py[:FUNC] [--PARAM VALUE ...]`."""

from __future__ import annotations

import runpy
import sys
from typing import Any

import click

from loopline.cli.progress import TerminalProgress
from loopline.core.serialization import short_repr
from loopline.core.types import type_name
from loopline.engine.local import LocalRunner
from loopline.engine.run_options import RunOptions, take_run_options, takes_value
from loopline.errors import LooplineError, PipelineRunError, UsageError
from loopline.sdk.function import Function
from loopline.sdk.future import Future
from loopline.sdk.targets import DEFAULT_FUNC, Target, flag, parse_params, split_params
from loopline.storage.client import Client
from loopline.storage.lookup import find_run

RUN_OPTIONS = """\b
Loopline's own options (before or after TARGET; after it, a func parameter of the same name wins):
  --no-cache              execute every step, ignoring cached results
  --run-name NAME         display name of the pipeline run
  --tag TAG               tag the pipeline run (repeatable)
  --cache-namespace NS    share cached results only within this namespace
  --rerun-from RUN_ID     re-execute this run and everything downstream, reuse the rest
  --max-parallelism N     how many steps may run at once
  --processes             run every step in worker processes (one per core): CPU-bound Python
                          steps use every core (default: threads, and processes for standalone)
  --ray [ADDRESS]         run each step as a Ray task: on the cluster at ADDRESS (ray://HOST:10001),
                          else on the Ray of this environment (RAY_ADDRESS), else on a local one
"""

# A command that reads its own arguments: a target, then the func's --PARAM VALUE pairs.
PASS_THROUGH = {"ignore_unknown_options": True, "allow_extra_args": True, "allow_interspersed_args": False}


@click.command(
    context_settings=PASS_THROUGH,
    epilog=RUN_OPTIONS,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(args: tuple[str, ...]) -> None:
    """Run the func FUNC of FILE.py or NOTEBOOK.ipynb (default: the func named `pipeline`).

    Its parameters follow as --name value, read by the func's annotations (JSON for lists, dicts
    and dataclasses). A file without such a func is executed as a script. A notebook's code cells
    run in order first, as a module (IPython's magics and shell lines skipped).

    \b
        loopline run examples/hello/pipeline.py --name Ada
        loopline run analysis.ipynb:train --epochs 3
        loopline run --no-cache examples/digits/pipeline.py --config '{"C": 3.0}'
    """
    leading, target, rest = _split_target(list(args))
    parsed = Target.parse(target)
    if parsed.is_notebook and parsed.func_name is None and not parsed.defines(DEFAULT_FUNC):
        raise UsageError(
            f"{parsed.file.name} has no func named {DEFAULT_FUNC!r}; name the func to run: "
            f"loopline run {target}:FUNC [--PARAM VALUE ...]"
        )
    if parsed.func_name is None and not parsed.defines(DEFAULT_FUNC):
        if rest or leading:
            raise UsageError(
                f"{parsed.file} has no func named {DEFAULT_FUNC!r}, so it runs as a script, which takes no "
                f"parameters; to run another func, name it: loopline run {parsed.file}:FUNC --PARAM VALUE"
            )
        sys.argv = [str(parsed.file)]
        runpy.run_path(str(parsed.file), run_name="__main__")
        return
    function = load_target(parsed)
    if "-h" in rest or ("--help" in rest and "help" not in function.signature.parameters):
        click.echo(func_help(target, function))
        return
    options, params = take_run_options(leading + rest, set(function.signature.parameters))
    kwargs = parse_params(function, split_params(params))
    resolve_rerun_from(options)
    future: Future[Any] = function(**kwargs)
    future.set(name=options.run_name, tags=options.tags or None)
    run_pipeline(future, options.runner())


def load_target(target: Target) -> Function[..., Any]:
    """The target's func; for a notebook, say what loading it left out (on stderr)."""
    function = target.load()
    for skipped in target.skipped:
        click.echo(f"{target.file.name}, {skipped.cell}: skipped {skipped.what}", err=True)
    return function


def _split_target(args: list[str]) -> tuple[list[str], str, list[str]]:
    """(Loopline options before the target, the target, everything after it)."""
    i = 0
    while i < len(args) and args[i].startswith("--"):
        i += 2 if takes_value(args, i) else 1
    if i >= len(args):
        raise UsageError(
            "missing TARGET: loopline run FILE.py[:FUNC] (or NOTEBOOK.ipynb:FUNC) [--PARAM VALUE ...]"
        )
    return args[:i], args[i], args[i + 1 :]


def resolve_rerun_from(options: RunOptions) -> None:
    """`--rerun-from` takes a run id or a unique prefix of one, as `loopline runs show` does."""
    if options.rerun_from is not None:
        try:
            options.rerun_from = find_run(Client().metadata, options.rerun_from).id
        except LooplineError as error:
            raise UsageError(f"--rerun-from: {error}") from None


def func_help(target: str, function: Function[..., Any]) -> str:
    """`loopline run FILE.py --help`: what the func does, its parameters and the run options."""
    summary = (function.docstring or "").split("\n\n")[0]
    params = {
        f"{flag(name)} {type_name(function.hints[name])}": (
            "required" if p.default is p.empty else f"default: {short_repr(p.default, 60)}"
        )
        for name, p in function.signature.parameters.items()
    }
    width = max(map(len, params), default=0)
    run_options = [
        line.strip().split("  ")[0] for line in RUN_OPTIONS.splitlines() if line.startswith("  --")
    ]
    return "\n".join(
        [
            f"Usage: loopline run {target} [--PARAM VALUE ...]",
            "",
            f"Runs {function.name}():" if summary else f"Runs {function.name}().",
            *(f"  {line}" for line in summary.splitlines()),
            "",
            "Parameters:" if params else "Parameters: none",
            *(f"  {spec:<{width}}  {about}" for spec, about in params.items()),
            "",
            f"Run options: {', '.join(run_options)} (see: loopline run --help)",
        ]
    )


def run_pipeline(future: Future[Any], runner: LocalRunner) -> Any:
    """Run with live progress; print the result, or the failing step's traceback and exit 1."""
    progress = TerminalProgress()
    runner.hooks.append(progress)
    try:
        with progress:
            value = runner.run(future)
    except PipelineRunError as error:
        failed = error.run_id
        metadata, _ = runner.stores()
        record = metadata.get_run(failed) if failed else None
        if record is not None and record.error is not None and record.error.traceback:
            click.echo(record.error.traceback.rstrip(), err=True)
        click.echo(f"error: {error}", err=True)
        click.echo(f"  see: loopline logs {failed}   loopline runs show {future.id}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:  # the runner stopped its steps and recorded them before this
        click.echo(f"interrupted: pipeline {future.id} was cancelled", err=True)
        click.echo(f"  see: loopline runs show {future.id}", err=True)
        sys.exit(130)
    finally:
        runner.hooks.remove(progress)
    click.echo(f"{future.props.name} succeeded: {short_repr(value, 300)}")
    click.echo(f"  run id: {future.id}   see: loopline runs show {future.id}")
    return value
