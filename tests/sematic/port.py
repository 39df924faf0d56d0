"""Writes tests/sematic/ported/: Sematic 0.41.0's own tests of its public behaviour, for Loopline.

    python tests/sematic/port.py PATH/TO/SEMATIC-CHECKOUT   # github.com/sematic-ai/sematic @ v0.41.0

Each selected test file goes through `loopline migrate` (the import rename, nothing else), then
loses the tests of Sematic's internals (listed below with the reason) and the imports only they
used. A test that shows a difference of Loopline's gets an `xfail(strict=True)` marker whose
reason is the difference; docs/sematic.md lists the same ones. Test bodies are never edited.
Sematic is Apache-2.0 licensed; each file says where it comes from.
"""

from __future__ import annotations

import sys
from pathlib import Path

import libcst as cst

from loopline.cli.sematic_migration import migrate_source

HERE = Path(__file__).resolve().parent
OUT = HERE / "ported"

# Reasons shared by several tests.
INTERNAL = "tests an internal of Sematic's"
# file -> (the tests left out, with why) and (the tests expected to fail, with the difference)
SELECTION: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "sematic/tests/test_function.py": (
        {
            "test_not_a_function": "constructs Sematic's internal Function class directly",
            "test_make_list": f"{INTERNAL} (_make_list: lists of futures need no helper)",
            "test_make_tuple": f"{INTERNAL} (_make_tuple)",
            "test_convert_lists": f"{INTERNAL} (_convert_lists)",
            "test_convert_tuples": f"{INTERNAL} (_convert_tuples)",
            "test_standalone_default": f"{INTERNAL} (the private attribute Function._standalone)",
            "test_standalone": f"{INTERNAL} (the private attribute Function._standalone)",
            "test_resource_requirements": f"{INTERNAL} (the private attribute Function._resource_requirements)",
        },
        {
            "test_any": "Loopline refuses `Any` too, with its own message (it names the parameter "
            "and says to write the real type), not Sematic's 'Use object instead'",
            "test_inline_and_resource_reqs": "Loopline lets any func ask for resources; Sematic "
            "allowed them only on standalone funcs",
            "test_call_fail_cast": "Loopline's message names the parameter, the expected type and "
            "the value (`expected float, got 'abc' (str)`), not Sematic's `Cannot cast 'abc' to <class 'float'>`",
            "test_unused_future": "a func whose output does not use a future it created gets a "
            "warning (LooplineWarning) naming the unused calls; the pipeline still runs",
        },
    ),
    "sematic/tests/test_3_10_function.py": (
        {},
        {
            "test_decorator_unparameterized_generic": "Loopline accepts a bare `list` annotation "
            "(any list); Sematic required `list[...]`",
        },
    ),
    "sematic/tests/test_future.py": ({}, {}),
    "sematic/future_operators/tests/test_getitem.py": (
        {},
        {
            "test_getitem": "f()[0] is a Future that reads part of f()'s output; it is not a call "
            "of Sematic's internal getitem func, so it has no `kwargs` or `function`",
        },
    ),
    "sematic/future_operators/tests/test_iter.py": (
        {},
        {
            "test_iter": "the items of an unpacked future are Futures that read part of its output; "
            "they are not calls of Sematic's internal getitem func (no `kwargs`, no `function`)",
        },
    ),
    "sematic/testing/tests/test_mock_funcs.py": ({}, {}),
    "sematic/runners/tests/test_silent_runner.py": (
        {
            "test_custom_resources": f"{INTERNAL} (external resources and their state machine)",
            "test_activate_resource_for_run": f"{INTERNAL} (external resources)",
            "test_activation_failures_for_resource": f"{INTERNAL} (external resources)",
            "test_activation_timeout_for_resource": f"{INTERNAL} (external resources)",
            "test_deactivation_timeout_for_resource": f"{INTERNAL} (external resources)",
            "test_deactivation_failures_for_resource": f"{INTERNAL} (external resources)",
            "test_timeout": f"{INTERNAL} (SilentRunner._get_seconds_to_next_timeout); off by default in Sematic",
            "test_retry": f"{INTERNAL} (the mutable RetrySettings.retry_count and future states: "
            "Loopline records attempts on the run, RunRecord.attempts)",
        },
        {
            "test_silent_runner_context": "loopline.context() has run_id and root_id, not Sematic's "
            "`private` part (the runner class, which funcs should not depend on)",
            "test_nested_run": "runner.run() inside a func runs a pipeline of its own (a run's context "
            "is per thread of execution); Sematic refused it",
        },
    ),
    "sematic/resolvers/tests/test_resource_requirements.py": (
        {"test_is_serializable": f"{INTERNAL} (its type registry's JSON encoding)"},
        {},
    ),
    "sematic/utils/tests/test_exceptions.py": ({}, {}),
    "sematic/ee/tests/test_metrics.py": (
        {"test_log_metric": f"{INTERNAL} (mocks its API client and function-path cache)"},
        {},
    ),
    "sematic/types/types/tests/test_image.py": (
        {"test_summary": f"{INTERNAL} (its summary format and libmagic)"},
        {},
    ),
    "sematic/types/types/tests/test_link.py": ({}, {}),
    "sematic/types/types/aws/tests/test_s3.py": ({}, {}),
    "sematic/types/types/huggingface/tests/test_dataset_reference.py": ({}, {}),
    "sematic/types/types/huggingface/tests/test_model_reference.py": ({}, {}),
    "sematic/types/types/huggingface/tests/test_stored_model.py": ({}, {}),
    "sematic/tests/test_init.py": ({}, {}),
    "sematic/types/tests/test_init.py": ({}, {}),
    "sematic/tests/test_client.py": ({}, {}),
}

HEADER = '''"""Ported from Sematic 0.41.0 (Apache-2.0): {path}.

Written by tests/sematic/port.py: the file went through `loopline migrate` (its imports), then
lost the tests of Sematic's internals:{left_out}
Tests marked xfail show a difference of Loopline's, explained in the marker and docs/sematic.md.
"""

'''


class _Prune(cst.CSTTransformer):
    """Drops the left-out tests, and marks the expected failures."""

    def __init__(self, left_out: dict[str, str], differences: dict[str, str]) -> None:
        self.left_out = left_out
        self.differences = differences
        self.seen: set[str] = set()

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef | cst.RemovalSentinel:
        name = original.name.value
        self.seen.add(name)
        if name in self.left_out:
            return cst.RemoveFromParent()
        if name in self.differences:
            marker = cst.parse_expression(
                f"pytest.mark.xfail(strict=True, reason={self.differences[name]!r})"
            )
            return updated.with_changes(decorators=[cst.Decorator(marker), *updated.decorators])
        return updated


class _DropUnusedHelpers(cst.CSTTransformer):
    """Drops module-level functions and classes that nothing left refers to (the helpers of the
    left-out tests)."""

    def __init__(self, used: set[str]) -> None:
        self.used = used
        self.dropped = 0

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef | cst.RemovalSentinel:
        return self._keep(original, updated)

    def leave_ClassDef(
        self, original: cst.ClassDef, updated: cst.ClassDef
    ) -> cst.ClassDef | cst.RemovalSentinel:
        return self._keep(original, updated)

    def _keep(self, original: cst.FunctionDef | cst.ClassDef, updated: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        name = original.name.value
        if name.startswith(("test_", "Test")) or name in self.used:
            return updated
        self.dropped += 1
        return cst.RemoveFromParent()  # type: ignore[return-value]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # only module-level definitions

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


class _UsedNames(cst.CSTVisitor):
    """Every name the module refers to (not counting the names its definitions bind)."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self._in_import = 0
        self._definitions: set[int] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._definitions.add(id(node.name))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._definitions.add(id(node.name))

    def visit_Import(self, node: cst.Import) -> None:
        self._in_import += 1

    def leave_Import(self, node: cst.Import) -> None:
        self._in_import -= 1

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._in_import += 1

    def leave_ImportFrom(self, node: cst.ImportFrom) -> None:
        self._in_import -= 1

    def visit_Name(self, node: cst.Name) -> None:
        if not self._in_import and id(node) not in self._definitions:
            self.names.add(node.value)


class _DropUnusedImports(cst.CSTTransformer):
    def __init__(self, used: set[str]) -> None:
        self.used = used

    def leave_ImportFrom(
        self, original: cst.ImportFrom, updated: cst.ImportFrom
    ) -> cst.ImportFrom | cst.RemovalSentinel:
        if isinstance(updated.names, cst.ImportStar):
            return updated
        kept = [a for a in updated.names if _bound(a) in self.used or _bound(a) == "annotations"]
        if not kept:
            return cst.RemoveFromParent()
        kept[-1] = kept[-1].with_changes(comma=updated.names[-1].comma)  # keeps `(...,\n)` intact
        return updated.with_changes(names=kept)


def _bound(alias: cst.ImportAlias) -> str:
    if isinstance(alias.asname, cst.AsName) and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    node = alias.name
    while isinstance(node, cst.Attribute):
        node = node.value  # type: ignore[assignment]
    assert isinstance(node, cst.Name)
    return node.value


def port(checkout: Path, relative: str, left_out: dict[str, str], differences: dict[str, str]) -> str:
    source = (checkout / relative).read_text()
    migrated = migrate_source(source).source
    module = cst.parse_module(migrated)
    pruner = _Prune(left_out, differences)
    module = module.visit(pruner)
    missing = (set(left_out) | set(differences)) - pruner.seen
    if missing:
        raise SystemExit(f"{relative} has no tests named {sorted(missing)}")
    while True:
        used = _UsedNames()
        module.visit(used)
        helpers = _DropUnusedHelpers(used.names)
        module = module.visit(helpers)
        if not helpers.dropped:
            break
    module = module.visit(_DropUnusedImports(used.names))
    code = module.code
    if differences and "import pytest" not in code:
        code = "import pytest\n" + code
    listing = "".join(f"\n- {name}: {why}" for name, why in left_out.items()) or " none."
    return HEADER.format(path=relative, left_out=listing) + code


def main(checkout: Path) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / "__init__.py").write_text("")
    for relative, (left_out, differences) in SELECTION.items():
        parts = Path(relative).parts
        name = "test_" + "_".join(p for p in parts[1:-1] if p != "tests").replace("/", "_")
        name = (name + "_" if name != "test_" else "test_") + parts[-1].removeprefix("test_")
        (OUT / name).write_text(port(checkout, relative, left_out, differences))
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
