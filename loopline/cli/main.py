"""The `loopline` command. Each command group lives in its own module and is added here."""

from __future__ import annotations

import sys
from typing import Any

import click

from loopline._version import __version__
from loopline.cli import runs
from loopline.cli.ci import ci
from loopline.cli.datasets import datasets
from loopline.cli.doctor import doctor
from loopline.cli.label import label
from loopline.cli.loop import loop
from loopline.cli.migrate import migrate
from loopline.cli.models import models
from loopline.cli.run import run
from loopline.cli.schedule import schedule
from loopline.cli.serve import serve
from loopline.cli.server import server
from loopline.cli.team import audit, keys, users
from loopline.errors import LooplineError
from loopline.settings import Settings
from loopline.storage.sql.failures import explain_any


class LooplineGroup(click.Group):
    """Turns Loopline's errors into one readable line (plus hint) and a non-zero exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LooplineError as error:
            raise click.ClickException(str(error)) from None
        except (FileNotFoundError, PermissionError) as error:
            raise click.ClickException(str(error)) from None
        except Exception as error:  # a corrupt, full or read-only store met after opening it
            explained = store_failure(error)
            if explained is None:
                raise
            raise click.ClickException(str(explained)) from None


def store_failure(error: BaseException) -> LooplineError | None:
    """What a database error of the configured store means, said for its user; None when it is
    not one."""
    try:
        url = Settings.from_env().database_url
    except Exception:  # noqa: BLE001 - the original error is the one to show
        return None
    return explain_any(error, url)


@click.group(cls=LooplineGroup, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Loopline: typed ML pipelines, tracked, cached and resumable.

    Data lives in LOOPLINE_HOME (default ~/.loopline) unless LOOPLINE_DATABASE_URL and
    LOOPLINE_ARTIFACTS_URL say otherwise.
    """


@cli.command()
def version() -> None:
    """Print Loopline's version."""
    click.echo(f"loopline {__version__} (Python {sys.version.split()[0]})")


for command in (
    run,
    *runs.COMMANDS,
    server,
    serve,
    ci,
    datasets,
    label,
    loop,
    models,
    schedule,
    users,
    keys,
    audit,
    migrate,
    doctor,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="loopline")


if __name__ == "__main__":
    main()
