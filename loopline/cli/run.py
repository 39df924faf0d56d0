"""`loopline run FILE.py[:FUNC] [--PARAM VALUE ...]`."""

from __future__ import annotations

import dataclasses
import re
import runpy
import sys
from typing import Any

import click

from loopline.cli.progress import TerminalProgress
from loopline.core.serialization import short_repr
from loopline.engine.local import LocalRunner
from loopline.errors import PipelineRunError, UsageError
from loopline.sdk.future import Future
from loopline.sdk.targets import DEFAULT_FUNC, Target, parse_params, split_params

RUN_OPTIONS = """\b
Loopline's own options (before or after TARGET; after it, a func parameter of the same name wins):
  --no-cache              execute every step, ignoring cached results
  --run-name NAME         display name of the pipeline run
  --tag TAG               tag the pipeline run (repeatable)
  --cache-namespace NS    share cached results only within this namespace
  --rerun-from RUN_ID     re-execute this run and everything downstream, reuse the rest
  --max-parallelism N     how many steps may run at once
  --ray [ADDRESS]         run each step as a Ray task: on the cluster at ADDRESS (ray://HOST:10001),
                          else on the Ray of this environment (RAY_ADDRESS), else on a local one
"""


@dataclasses.dataclass
class RunOptions:
    no_cache: bool = False
    run_name: str | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    cache_namespace: str | None = None
    rerun_from: str | None = None
    max_parallelism: int | None = None
    ray: str | None = None  # "": Ray without an address (joined or started)

    def runner(self) -> LocalRunner:
        if self.ray is not None:
            from loopline.engine.ray import RayRunner

            return RayRunner(
                self.ray or None,
                cache_namespace=self.cache_namespace,
                rerun_from=self.rerun_from,
                max_parallelism=self.max_parallelism,
                cache=not self.no_cache,
            )
        return LocalRunner(
            cache_namespace=self.cache_namespace,
            rerun_from=self.rerun_from,
            max_parallelism=self.max_parallelism,
            cache=not self.no_cache,
        )


def take_run_options(args: list[str], reserved: set[str]) -> tuple[RunOptions, list[str]]:
    """Split Loopline's own options out of `args`, leaving the func's parameters."""
    options = RunOptions()
    rest: list[str] = []
    i = 0
    while i < len(args):
        key, eq, inline = args[i].partition("=")
        name = key[2:].replace("-", "_") if key.startswith("--") else ""
        field = "tags" if name == "tag" else name
        if name in reserved or field not in RunOptions.__dataclass_fields__:
            rest.append(args[i])
            i += 1
            continue
        if field == "no_cache":
            options.no_cache = True
            i += 1
            continue
        if field == "ray":
            has_address = _ray_address_follows(args, i)
            options.ray = inline if eq else args[i + 1] if has_address else ""
            i += 2 if has_address else 1
            continue
        if eq:
            value = inline
        elif i + 1 < len(args):
            value = args[i + 1]
            i += 1
        else:
            raise UsageError(f"{key} needs a value")
        i += 1
        if field == "tags":
            options.tags.append(value)
        elif field == "max_parallelism":
            if not value.isdigit() or int(value) < 1:
                raise UsageError(f"--max-parallelism needs a whole number >= 1, got {value!r}")
            options.max_parallelism = int(value)
        else:
            setattr(options, field, value)
    return options, rest


@click.command(
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "allow_interspersed_args": False,
    },
    epilog=RUN_OPTIONS,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run(args: tuple[str, ...]) -> None:
    """Run the func FUNC of FILE.py (default: the func named `pipeline`).

    Its parameters follow as --name value, read by the func's annotations (JSON for lists, dicts
    and dataclasses). A file without such a func is executed as a script.

    \b
        loopline run examples/hello/pipeline.py --name Ada
        loopline run --no-cache examples/digits/pipeline.py --config '{"C": 3.0}'
    """
    leading, target, rest = _split_target(list(args))
    parsed = Target.parse(target)
    if parsed.func_name is None and not parsed.defines(DEFAULT_FUNC):
        if rest or leading:
            raise UsageError(
                f"{parsed.file} has no func named {DEFAULT_FUNC!r}, so it runs as a script, which takes no parameters"
            )
        sys.argv = [str(parsed.file)]
        runpy.run_path(str(parsed.file), run_name="__main__")
        return
    function = parsed.load()
    options, params = take_run_options(leading + rest, set(function.signature.parameters))
    kwargs = parse_params(function, split_params(params))
    future: Future[Any] = function(**kwargs)
    future.set(name=options.run_name, tags=options.tags or None)
    run_pipeline(future, options.runner())


_VALUED = {"--run-name", "--tag", "--cache-namespace", "--rerun-from", "--max-parallelism"}


def _ray_address_follows(args: list[str], i: int) -> bool:
    """Whether `args[i]` is `--ray` followed by its ADDRESS (`auto`, `ray://...`, `HOST:PORT`)
    rather than by TARGET or another option."""
    if args[i] != "--ray" or i + 1 >= len(args):
        return False
    word = args[i + 1]
    return word == "auto" or "://" in word or re.fullmatch(r"[\w.\-]+:\d+", word) is not None


def _split_target(args: list[str]) -> tuple[list[str], str, list[str]]:
    """(Loopline options before the target, the target, everything after it)."""
    i = 0
    while i < len(args) and args[i].startswith("--"):
        i += 2 if args[i] in _VALUED or _ray_address_follows(args, i) else 1
    if i >= len(args):
        raise UsageError("missing TARGET: loopline run FILE.py[:FUNC] [--PARAM VALUE ...]")
    return args[:i], args[i], args[i + 1 :]


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
    finally:
        runner.hooks.remove(progress)
    click.echo(f"{future.props.name} succeeded: {short_repr(value, 300)}")
    click.echo(f"  run id: {future.id}   see: loopline runs show {future.id}")
    return value
