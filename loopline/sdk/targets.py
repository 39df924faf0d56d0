"""Pipeline targets named as `FILE.py[:FUNC]` or `NOTEBOOK.ipynb[:FUNC]`, and their parameters
given as strings.

Used by `loopline run`, `loopline ci`, schedules and reruns: load the func from a file (so that
worker processes can import it again; a notebook's cells run as a module, `sdk.notebook`), and
turn `--param value` pairs into typed arguments.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import enum
import importlib
import json
import sys
import traceback
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from loopline.core.types import TypeMismatch, check_value, type_name
from loopline.errors import LooplineError, UsageError
from loopline.sdk import notebook
from loopline.sdk.function import Function
from loopline.sdk.importing import importing_target

DEFAULT_FUNC = "pipeline"


@dataclasses.dataclass(frozen=True)
class Target:
    file: Path
    func_name: str | None  # None: no FUNC given
    # what loading a notebook left out (its magics, the cells that run pipelines)
    skipped: list[notebook.Skipped] = dataclasses.field(default_factory=list, compare=False)

    @classmethod
    def parse(cls, spec: str) -> Target:
        path, sep, name = spec.rpartition(":")
        if not sep or "/" in name or name.endswith((".py", notebook.SUFFIX)):
            path, name = spec, ""
        file = Path(path).expanduser()
        if file.suffix not in (".py", notebook.SUFFIX):
            raise UsageError(f"{spec!r}: expected FILE.py[:FUNC] or NOTEBOOK.ipynb[:FUNC]")
        if not file.is_file():
            raise UsageError(f"{spec!r}: no such file {str(file)!r}")
        if name and not name.isidentifier():
            raise UsageError(f"{spec!r}: {name!r} is not a function name")
        return cls(file.resolve(), name or None)

    @property
    def is_notebook(self) -> bool:
        return self.file.suffix == notebook.SUFFIX

    def defines(self, name: str) -> bool:
        """Whether the file defines `name` at top level (read without running it)."""
        if self.is_notebook:
            cells = notebook.read_cells(self.file)
            return any(_defines(_parsed(notebook.python_of(text)[0]), name) for _, text in cells)
        try:
            tree = ast.parse(self.file.read_text(encoding="utf-8"), str(self.file))
        except SyntaxError as exc:
            raise syntax_error(self.file, exc) from None
        return _defines(tree, name)

    def module_name(self) -> tuple[str, Path]:
        """The dotted module name of the file and the folder to put on sys.path for it:
        a file inside packages (folders with __init__.py) keeps its package path; a notebook is
        named by its file name alone."""
        if self.is_notebook:
            return notebook.module_name(self.file), self.file.parent
        parts = [self.file.stem]
        folder = self.file.parent
        while (folder / "__init__.py").is_file() and folder.parent != folder:
            parts.insert(0, folder.name)
            folder = folder.parent
        return ".".join(parts), folder

    def import_module(self) -> types.ModuleType:
        name, root = self.module_name()
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))  # a notebook's folder too: its modules, as Jupyter finds them
        if self.is_notebook:
            module, self.skipped[:] = notebook.load_module(self.file, name)
            return module
        try:
            with importing_target(self.file):
                module = importlib.import_module(name)
        except ImportError as exc:
            raise UsageError(f"cannot import {self.file} as module {name!r}: {exc}") from exc
        except SyntaxError as exc:  # in the file, or in a module it imports
            raise syntax_error(self.file, exc) from None
        except LooplineError as exc:  # e.g. a func's options refused at decoration: say where
            line = self._line_of(exc)
            raise UsageError(f"{exc} ({self.file.name}{f', line {line}' if line else ''})") from exc
        found = getattr(module, "__file__", None)
        if found is None or Path(found).resolve() != self.file.resolve():
            raise UsageError(self._shadowed_message(name, found))
        return module

    def _line_of(self, error: BaseException) -> int | None:
        """The line of this file that the error went through last."""
        frames = traceback.extract_tb(error.__traceback__)
        lines = [f.lineno for f in frames if Path(f.filename).resolve() == self.file.resolve()]
        return lines[-1] if lines else None

    def _shadowed_message(self, name: str, found: str | None) -> str:
        # Worker processes import funcs by module name, so the file must be importable as `name`.
        if name.partition(".")[0] in sys.stdlib_module_names:
            return (
                f"{self.file.name} has the name of Python's own module {name!r}, which is imported "
                f"instead of the file; rename the file (e.g. to {self.file.stem}_pipeline.py)"
            )
        return (
            f"importing {self.file} as module {name!r} finds {found or 'another module'} instead; "
            "rename the file"
        )

    def load(self) -> Function[..., Any]:
        module = self.import_module()
        name = self.func_name or DEFAULT_FUNC
        found = getattr(module, name, None)
        if found is None:
            funcs = sorted(k for k, v in vars(module).items() if isinstance(v, Function))
            hint = f"; funcs in it: {', '.join(funcs)}" if funcs else ""
            raise UsageError(f"{self.file} has no func named {name!r}{hint}")
        if not isinstance(found, Function):
            raise UsageError(f"{self.file}:{name} is not a @loopline.func (it is a {type(found).__name__})")
        return found


def syntax_error(file: Path, error: SyntaxError) -> UsageError:
    """`error` shown as Python shows it (file, line, the line itself and a caret under the
    mistake), not as a traceback through the loader."""
    where = "".join(traceback.format_exception_only(error)).rstrip()
    culprit = error.filename or str(file)
    what = f"{file}" if Path(culprit) == file else f"{file} imports {culprit}, which"
    return UsageError(f"{what} has a syntax error; fix it, then run again.\n{where}")


def _defines(tree: ast.Module | None, name: str) -> bool:
    for node in tree.body if tree is not None else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return True
    return False


def _parsed(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except SyntaxError:
        return None  # said when the notebook runs, naming the cell


# -- parameters ------------------------------------------------------------------------------


class _ValueProblem(ValueError):
    """A parameter value that cannot work, said in full (`parse_params` only adds the --flag)."""


def split_params(args: Sequence[str]) -> dict[str, str | None]:
    """`["--lr", "0.1", "--fast", "--name=x"]` -> `{"lr": "0.1", "fast": None, "name": "x"}`."""
    params: dict[str, str | None] = {}
    items = list(args)
    i = 0
    while i < len(items):
        item = items[i]
        if not item.startswith("--") or item == "--":
            raise UsageError(f"unexpected argument {item!r}: parameters are given as --name value")
        key, eq, value = item[2:].partition("=")
        key = key.replace("-", "_")
        if eq:
            params[key] = value
        elif i + 1 < len(items) and not items[i + 1].startswith("--"):
            params[key] = items[i + 1]
            i += 1
        else:
            params[key] = None  # a flag
        i += 1
    return params


def parse_params(function: Function[..., Any], raw: dict[str, str | None]) -> dict[str, Any]:
    """Typed arguments for `function` from strings; errors name the parameter and its type."""
    signature = function.signature
    unknown = sorted(set(raw) - set(signature.parameters))
    if unknown:
        valid = ", ".join(map(flag, signature.parameters)) or "none"
        raise UsageError(
            f"{function.name}() has no parameter {', '.join(map(flag, unknown))}; its parameters: {valid}"
        )
    missing = [
        f"{flag(name)} ({type_name(function.hints[name])})"
        for name, p in signature.parameters.items()
        if p.default is p.empty and name not in raw
    ]
    if missing:
        raise UsageError(f"{function.name}() needs {', '.join(missing)}")
    values = {}
    for name, text in raw.items():
        annotation = function.hints[name]
        try:
            values[name] = check_value(parse_value(text, annotation), annotation)
        except _ValueProblem as exc:
            raise UsageError(f"{flag(name)}: {exc}") from None
        except (ValueError, TypeMismatch, json.JSONDecodeError) as exc:
            raise UsageError(
                f"{flag(name)}: cannot read {text!r} as {type_name(annotation)}: {exc}"
            ) from None
    return values


def flag(name: str) -> str:
    """The command-line flag of a parameter: `learning_rate` -> `--learning-rate`."""
    return "--" + name.replace("_", "-")


_TRUE = {"true", "1", "yes", "y", "on"}
_FALSE = {"false", "0", "no", "n", "off"}


def parse_value(text: str | None, annotation: Any) -> Any:
    """One parameter from its string form, guided by its annotation (JSON for structures)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is bool:
        if text is None or text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError("use true or false")
    if text is None:
        raise ValueError("a value is required")
    if origin in (Union, types.UnionType):
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:  # Optional[X]: X's own error says more than "matches none"
            return parse_value(text, options[0])
        for option in options:  # in the annotated order: "5" is an int for Union[int, str]
            try:
                return check_value(parse_value(text, option), option)
            except (ValueError, TypeMismatch, json.JSONDecodeError):
                continue
        raise ValueError("matches none of the union's types")
    if annotation is str:
        return text
    if annotation is int:
        return int(text)
    if annotation is float:
        return float(text)
    if annotation is Path:
        return Path(text)
    if annotation is dt.datetime:
        return dt.datetime.fromisoformat(text)
    if annotation is dt.date:
        return dt.date.fromisoformat(text)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        if text in annotation.__members__:
            return annotation[text]
        return annotation(json.loads(text) if text[:1] in "0123456789-[{" else text)
    if origin is Literal:
        for option in args:
            if str(option) == text:
                return option
        raise ValueError(f"choose one of {', '.join(map(str, args))}")
    from_command_line = getattr(annotation, "from_command_line", None)
    if isinstance(annotation, type) and callable(from_command_line):  # e.g. Dataset: NAME@VERSION
        try:
            return from_command_line(text)
        except LooplineError as exc:
            raise _ValueProblem(str(exc)) from None
    return from_json(json.loads(text), annotation)


def from_json(data: Any, annotation: Any) -> Any:
    """Rebuild tuples, sets and dataclasses from parsed JSON, following the annotation."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation) and isinstance(data, dict):
        return _dataclass_from_json(data, annotation)
    if origin is tuple and isinstance(data, list):
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(v, args[0]) for v in data)
        return tuple(from_json(v, a) for v, a in zip(data, args or [Any] * len(data)))
    if origin in (set, frozenset) and isinstance(data, list):
        return origin(from_json(v, args[0] if args else Any) for v in data)
    if origin is list and isinstance(data, list):
        return [from_json(v, args[0] if args else Any) for v in data]
    if origin is dict and isinstance(data, dict):
        key_type, value_type = args or (Any, Any)
        return {
            parse_value(k, key_type) if key_type is not Any else k: from_json(v, value_type)
            for k, v in data.items()
        }
    if origin in (Union, types.UnionType):
        for option in args:
            try:
                return check_value(from_json(data, option), option)
            except (TypeMismatch, TypeError, ValueError):
                continue
    if annotation is float and isinstance(data, int):
        return float(data)
    return data


def _dataclass_from_json(data: dict[str, Any], cls: type) -> Any:
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = [f.name for f in fields]
    unknown = [key for key in data if key not in names]
    if unknown:
        raise _ValueProblem(f"unknown {_fields(unknown)} for {cls.__name__} (its fields: {', '.join(names)})")
    missing = [
        f.name
        for f in fields
        if f.name not in data
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise _ValueProblem(f"missing {_fields(missing)} for {cls.__name__}")
    hints = typing.get_type_hints(cls)
    return cls(**{k: from_json(v, hints.get(k, Any)) for k, v in data.items()})


def _fields(names: list[str]) -> str:
    return ("field " if len(names) == 1 else "fields ") + ", ".join(map(repr, names))
