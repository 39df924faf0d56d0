"""Loopline's own run options, as `loopline run`, `loopline ci` and schedules take them among a
pipeline's parameters (`--no-cache`, `--run-name`, `--tag`, `--cache-namespace`, `--rerun-from`,
`--max-parallelism`, `--processes`, `--ray [ADDRESS]`), and the runner they describe."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from loopline.engine.local import LocalRunner
from loopline.errors import UsageError


@dataclasses.dataclass
class RunOptions:
    no_cache: bool = False
    run_name: str | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    cache_namespace: str | None = None
    rerun_from: str | None = None
    max_parallelism: int | None = None
    processes: bool = False  # every step in worker processes
    ray: str | None = None  # "": Ray without an address (joined or started)

    def runner(self, **stores: Any) -> LocalRunner:
        """The runner these options ask for; `stores` (metadata=, artifacts=) go to it as given."""
        if self.ray is not None and self.processes:
            raise UsageError("--processes and --ray do not go together: with --ray, every step is a Ray task")
        if self.ray is not None:
            from loopline.engine.ray import RayRunner  # imports Ray, an optional heavy integration

            return RayRunner(
                self.ray or None,
                cache_namespace=self.cache_namespace,
                rerun_from=self.rerun_from,
                max_parallelism=self.max_parallelism,
                cache=not self.no_cache,
                **stores,
            )
        return LocalRunner(
            cache_namespace=self.cache_namespace,
            rerun_from=self.rerun_from,
            max_parallelism=self.max_parallelism,
            executor="process" if self.processes else "thread",
            cache=not self.no_cache,
            **stores,
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
        if field in ("no_cache", "processes"):
            setattr(options, field, True)
            i += 1
            continue
        if field == "ray":
            has_address = ray_address_follows(args, i)
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


VALUED = {"--run-name", "--tag", "--cache-namespace", "--rerun-from", "--max-parallelism"}


def takes_value(args: list[str], i: int) -> bool:
    """Whether the option `args[i]` is followed by its value (so TARGET comes later)."""
    return args[i] in VALUED or ray_address_follows(args, i)


def ray_address_follows(args: list[str], i: int) -> bool:
    """Whether `args[i]` is `--ray` followed by its ADDRESS (`auto`, `ray://...`, `HOST:PORT`)
    rather than by TARGET or another option."""
    if args[i] != "--ray" or i + 1 >= len(args):
        return False
    word = args[i + 1]
    return word == "auto" or "://" in word or re.fullmatch(r"[\w.\-]+:\d+", word) is not None
