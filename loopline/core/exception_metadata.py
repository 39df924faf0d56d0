"""`ExceptionMetadata`: an exception described by names, for matching it where its class cannot
be imported (Sematic's record of a failed run's exception)."""

from __future__ import annotations

import dataclasses
import sys
import traceback

from loopline.errors import FunctionError


def _path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


@dataclasses.dataclass
class ExceptionMetadata:
    """What an exception was: its message (`repr`), class name, module and ancestor classes."""

    repr: str
    name: str
    module: str
    ancestors: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def from_exception(cls, exception: BaseException) -> ExceptionMetadata:
        kind = type(exception)
        return cls(str(exception), kind.__name__, kind.__module__, cls.ancestors_from_exception(exception))

    @classmethod
    def ancestors_from_exception(cls, exception: BaseException | type[BaseException]) -> list[str]:
        """The import paths of every base class of the exception that is an `Exception`."""
        kind = exception if isinstance(exception, type) else type(exception)
        return [_path(base) for base in kind.__mro__[1:] if issubclass(base, Exception)]

    def is_instance_of(self, exception_type: type[BaseException]) -> bool:
        """Whether the described exception was an instance of `exception_type`."""
        wanted = _path(exception_type)
        return wanted == f"{self.module}.{self.name}" or wanted in self.ancestors


def format_exception_for_run(exception: BaseException | None = None) -> ExceptionMetadata | None:
    """Metadata for `exception` (default: the one being handled) with its traceback as `repr`;
    for a FunctionError, the exception the func raised."""
    if exception is None:
        exception = sys.exc_info()[1]
        if exception is None:
            return None
    if isinstance(exception, FunctionError) and exception.__cause__ is not None:
        exception = exception.__cause__
    text = "".join(traceback.format_exception(exception))
    kind = type(exception)
    return ExceptionMetadata(
        text, kind.__name__, kind.__module__, ExceptionMetadata.ancestors_from_exception(exception)
    )
