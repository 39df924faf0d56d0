"""Rewriting a Sematic codebase's imports for Loopline, on a concrete syntax tree (libcst).

`migrate_source(source)` returns the rewritten source and what could not be carried over.
Comments and formatting survive: only import statements change, and only as much as needed.

- `import sematic` becomes `import loopline as sematic`, so `sematic.func` and every other
  use of the module stays as written.
- `from sematic.x import Y` imports `Y` from where Loopline has it (Sematic's deep module paths,
  such as `sematic.resolvers.resource_requirements`, map to Loopline's public ones).
- What Loopline has not (Sematic's server, database models, plugins, type registry) stays
  imported from `sematic` and is reported, with what to use instead; so do names that exist
  but cannot do here what they did there (`CloudRunner` runs on Kubernetes: Loopline runs on
  Ray).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

DOCS = "docs/sematic.md"

# Sematic's public modules, and the Loopline module with the same names.
MODULES = {
    "sematic": "loopline",
    "sematic.types": "loopline.types",
    "sematic.ee": "loopline.ee",
    "sematic.ee.metrics": "loopline.ee.metrics",
    "sematic.ee.ray": "loopline.ee.ray",
    "sematic.utils": "loopline.utils",
    "sematic.utils.exceptions": "loopline.utils.exceptions",
    "sematic.api_client": "loopline.api_client",
    "sematic.client": "loopline.client",
    "sematic.testing": "loopline.testing",
}

# The names each of those Loopline modules has (tests/cli/test_migrate.py checks them against
# the modules themselves, so that the migration never writes an import that fails).
PUBLIC_NAMES = {
    "loopline": {
        "func", "Function", "Future", "SematicContext", "context", "TimedMessage",
        "StandardKuberayWrapper", "Resolver", "CloudResolver", "LocalResolver", "SilentResolver",
        "KubernetesCapabilities", "KubernetesHostPathMount", "KubernetesResourceRequirements",
        "KubernetesSecretMount", "KubernetesSecurityContext", "KubernetesToleration",
        "KubernetesTolerationEffect", "KubernetesTolerationOperator", "ResourceRequirements",
        "RetrySettings", "Runner", "CloudRunner", "LocalRunner", "RerunMode", "SilentRunner",
        "KubernetesError", "PipelineRunError", "FunctionError", "has_container_image",
        "__version__", "types", "api_client", "client", "ee", "utils", "testing", "Image",
    },
    "loopline.types": {
        "Image", "Link", "PromptResponse", "S3Bucket", "S3Location", "HuggingFaceDatasetReference",
        "HuggingFaceModelReference", "HuggingFaceStoredModel", "SnowflakeTable", "datetime",
    },
    "loopline.ee": {"metrics", "ray"},
    "loopline.ee.metrics": {"log_metric", "MetricType", "MetricScope"},
    "loopline.ee.ray": {
        "RayCluster", "RayClusterConfig", "RayNodeConfig", "ScalingGroup", "SimpleRayCluster",
        "AutoscalerConfig", "checkpoint",
    },
    "loopline.utils": {"exceptions"},
    "loopline.utils.exceptions": {
        "ExceptionMetadata", "format_exception_for_run", "InfrastructureError", "KubernetesError",
        "ExternalResourceError", "NotInSematicFuncError", "TimeoutError", "PipelineRunError",
        "ResolutionError", "CancellationError", "FunctionError", "IllegalUseOfFutureError",
        "UnsupportedUsageError",
    },
    "loopline.api_client": {
        "get_run", "get_runs", "get_artifact_value", "get_artifact_value_by_id", "get_run_output",
        "block_on_run", "cancel_pipeline_run",
    },
    "loopline.client": {"get_artifact_value", "get_run_output", "block_on_run", "Client"},
    "loopline.testing": {"mock_sematic_funcs", "mock_funcs"},
}  # fmt: skip

# Sematic's deeper modules: each name, and where Loopline has it ("module:Name").
_TOP = "loopline"
_K8S = [
    "KubernetesCapabilities",
    "KubernetesHostPathMount",
    "KubernetesResourceRequirements",
    "KubernetesSecretMount",
    "KubernetesSecurityContext",
    "KubernetesToleration",
    "KubernetesTolerationEffect",
    "KubernetesTolerationOperator",
    "ResourceRequirements",
]
_RAY = [
    "RayCluster",
    "RayClusterConfig",
    "RayNodeConfig",
    "ScalingGroup",
    "SimpleRayCluster",
    "AutoscalerConfig",
]
NAMES: dict[str, dict[str, str]] = {
    "sematic.function": {"func": f"{_TOP}:func", "Function": f"{_TOP}:Function"},
    "sematic.abstract_function": {
        "FunctionError": f"{_TOP}:FunctionError",
        "AbstractFunction": f"{_TOP}:Function",
    },
    "sematic.future": {"Future": f"{_TOP}:Future"},
    "sematic.abstract_future": {"AbstractFuture": f"{_TOP}:Future"},
    "sematic.future_context": {
        "context": f"{_TOP}:context",
        "SematicContext": f"{_TOP}:SematicContext",
        "NotInSematicFuncError": "loopline.utils.exceptions:NotInSematicFuncError",
    },
    "sematic.retry_settings": {"RetrySettings": f"{_TOP}:RetrySettings"},
    "sematic.resolvers.resource_requirements": {name: f"{_TOP}:{name}" for name in _K8S},
    "sematic.runner": {"Runner": f"{_TOP}:Runner"},
    "sematic.resolver": {"Resolver": f"{_TOP}:Resolver"},
    "sematic.runners.silent_runner": {"SilentRunner": f"{_TOP}:SilentRunner"},
    "sematic.runners.local_runner": {"LocalRunner": f"{_TOP}:LocalRunner", "RerunMode": f"{_TOP}:RerunMode"},
    "sematic.runners.cloud_runner": {"CloudRunner": f"{_TOP}:CloudRunner"},
    "sematic.runners.state_machine_runner": {"StateMachineRunner": f"{_TOP}:Runner"},
    "sematic.resolvers.silent_resolver": {"SilentResolver": f"{_TOP}:SilentResolver"},
    "sematic.resolvers.local_resolver": {"LocalResolver": f"{_TOP}:LocalResolver"},
    "sematic.resolvers.cloud_resolver": {"CloudResolver": f"{_TOP}:CloudResolver"},
    "sematic.graph": {"RerunMode": f"{_TOP}:RerunMode"},
    "sematic.container_images": {"has_container_image": f"{_TOP}:has_container_image"},
    "sematic.testing.mock_funcs": {"mock_sematic_funcs": "loopline.testing:mock_sematic_funcs"},
    "sematic.metrics.metric_point": {"MetricType": "loopline.ee.metrics:MetricType"},
    "sematic.plugins.external_resource.timed_message": {"TimedMessage": f"{_TOP}:TimedMessage"},
    "sematic.plugins.kuberay_wrapper.standard": {"StandardKuberayWrapper": f"{_TOP}:StandardKuberayWrapper"},
    "sematic.plugins.abstract_kuberay_wrapper": {name: f"loopline.ee.ray:{name}" for name in _RAY},
    "sematic.ee.plugins.external_resource.ray.cluster": {"RayCluster": "loopline.ee.ray:RayCluster"},
    "sematic.types.types.image": {"Image": "loopline.types:Image"},
    "sematic.types.types.link": {"Link": "loopline.types:Link"},
    "sematic.types.types.prompt_response": {"PromptResponse": "loopline.types:PromptResponse"},
    "sematic.types.types.datetime": {"datetime": "loopline.types:datetime"},
    "sematic.types.types.aws": {
        "S3Bucket": "loopline.types:S3Bucket",
        "S3Location": "loopline.types:S3Location",
    },
    "sematic.types.types.aws.s3": {
        "S3Bucket": "loopline.types:S3Bucket",
        "S3Location": "loopline.types:S3Location",
    },
    "sematic.types.types.snowflake.snowflake_table": {"SnowflakeTable": "loopline.types:SnowflakeTable"},
    "sematic.types.types.huggingface": {
        name: f"loopline.types:{name}"
        for name in ("HuggingFaceDatasetReference", "HuggingFaceModelReference", "HuggingFaceStoredModel")
    },
    "sematic.types.types.huggingface.dataset_reference": {
        "HuggingFaceDatasetReference": "loopline.types:HuggingFaceDatasetReference"
    },
    "sematic.types.types.huggingface.model_reference": {
        "HuggingFaceModelReference": "loopline.types:HuggingFaceModelReference"
    },
    "sematic.types.types.huggingface.stored_model": {
        "HuggingFaceStoredModel": "loopline.types:HuggingFaceStoredModel"
    },
}
for _module, _names in MODULES.items():
    NAMES.setdefault(_module, {}).update({name: f"{_names}:{name}" for name in PUBLIC_NAMES[_names]})

# Modules imported only for their side effects in Sematic, which Loopline does not need.
NOT_NEEDED = {
    "sematic.future_operators": "Loopline indexes and unpacks futures without it",
    "sematic.future_operators.getitem": "Loopline indexes futures without it",
    "sematic.future_operators.iter": "Loopline unpacks futures without it",
    "sematic.types.types": "Loopline needs no type registration for Sematic's types",
}

# What has no counterpart, by module prefix (the longest prefix wins).
ABSENT = {
    "sematic": "not part of Sematic's public API",
    "sematic.db": "Sematic's database models: read runs with loopline.Client() or loopline.api_client",
    "sematic.api": "Sematic's API server: `loopline server` serves the API and the dashboard",
    "sematic.cli": "Sematic's command line: the `loopline` command has run, runs, logs, cancel, server, ...",
    "sematic.config": "Sematic's settings: Loopline reads LOOPLINE_HOME, LOOPLINE_DATABASE_URL and LOOPLINE_ARTIFACTS_URL",
    "sematic.caching": "Sematic's cache keys: use @func(cache=True) and LocalRunner(cache_namespace=...)",
    "sematic.types.casting": "Sematic's type registry: funcs check and convert by their annotations",
    "sematic.types.serialization": "Sematic's type registry: any value is stored; loopline.register_type for your own types",
    "sematic.types.registry": "Sematic's type registry: loopline.register_type stores a type of your own",
    "sematic.plugins": "Sematic's plugins: storage is LOOPLINE_ARTIFACTS_URL (any fsspec URL); no builders or publishers",
    "sematic.scheduling": "Sematic's Kubernetes job scheduling: Loopline runs on Ray (RayRunner)",
    "sematic.resolvers.worker": "Sematic's Kubernetes worker: Loopline runs on Ray (RayRunner)",
    "sematic.examples": "Sematic's examples package: copy the example into your own code",
    "sematic.function": "an internal of Sematic's func (lists and tuples of futures need no helper in Loopline)",
    "sematic.abstract_future": "Sematic's future states: a run's state is RunRecord.state (loopline.RunState)",
    "sematic.future_context": "Sematic's private context: loopline.context() gives run_id and root_id",
    "sematic.utils": "an internal helper of Sematic's",
    "sematic.versions": "loopline.__version__ is Loopline's version",
}

# Names that exist in Loopline but cannot do there what they did in Sematic.
CAVEATS = {
    "CloudRunner": "CloudRunner ran on Kubernetes: run on a Ray cluster (KubeRay on Kubernetes) with "
    "loopline.RayRunner(address='ray://...'), or on this machine with LocalRunner (docs/ray.md)",
    "CloudResolver": "CloudResolver ran on Kubernetes: use loopline.RayRunner on KubeRay (docs/ray.md)",
    "StandardKuberayWrapper": "Loopline creates no Ray clusters: create it with KubeRay and connect to it (docs/ray.md)",
    "has_container_image": "Loopline builds no container images: it is always False",
    "REENTER": "RerunMode.REENTER resumed a run in place; use RerunMode.CONTINUE (a new run reusing every result)",
}


@dataclasses.dataclass(frozen=True)
class Note:
    """Something the migration could not carry over, and what to do instead."""

    line: int
    subject: str
    advice: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.subject}: {self.advice}"


@dataclasses.dataclass(frozen=True)
class Migration:
    """The migrated source, whether it differs from the original, and what did not carry over."""

    source: str
    changed: bool
    notes: tuple[Note, ...]


def dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{dotted(node.value)}.{node.attr.value}"
    raise ValueError(f"not a dotted name: {node!r}")


def _expression(path: str) -> cst.Attribute | cst.Name:
    node: cst.Attribute | cst.Name = cst.Name(path.split(".")[0])
    for part in path.split(".")[1:]:
        node = cst.Attribute(node, cst.Name(part))
    return node


def _absent_reason(module: str) -> str:
    parts = module.split(".")
    for size in range(len(parts), 0, -1):
        reason = ABSENT.get(".".join(parts[:size]))
        if reason is not None:
            return reason
    return ABSENT["sematic"]


def _is_sematic(module: str) -> bool:
    return module == "sematic" or module.startswith("sematic.")


class _ImportRewriter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        self.notes: list[Note] = []
        self.module_aliases: set[str] = set()  # local names bound to `sematic` (or loopline as sematic)

    def _line(self, node: cst.CSTNode) -> int:
        return int(self.get_metadata(PositionProvider, node).start.line)

    def _note(self, node: cst.CSTNode, subject: str, advice: str) -> None:
        self.notes.append(Note(self._line(node), subject, advice))

    # -- `import sematic...` ---------------------------------------------------------------------

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.Import | cst.RemovalSentinel:
        aliases: list[cst.ImportAlias] = []
        for alias in updated.names:
            module = dotted(alias.name)
            if not _is_sematic(module):
                aliases.append(alias)
                continue
            local = _asname(alias)
            if module in NOT_NEEDED:
                self._note(original, f"import {module}", f"removed: {NOT_NEEDED[module]}")
                continue
            target = MODULES.get(module)
            if target is None:
                self._note(original, f"import {module}", f"kept: {_absent_reason(module)} ({DOCS})")
                aliases.append(alias)
                continue
            if local is not None:  # `import sematic as sm`, `import sematic.types as st`
                if target == "loopline":
                    self.module_aliases.add(local)
                aliases.append(alias.with_changes(name=_expression(target)))
                continue
            # `import sematic` / `import sematic.types`: the name `sematic` stays bound to the package
            self.module_aliases.add("sematic")
            aliases.append(
                cst.ImportAlias(name=cst.Name("loopline"), asname=cst.AsName(name=cst.Name("sematic")))
            )
            if target != "loopline":
                aliases.append(cst.ImportAlias(name=_expression(target)))
        if not aliases:
            return cst.RemoveFromParent()
        return updated.with_changes(names=_dedupe(aliases))

    # -- `from sematic... import ...` ------------------------------------------------------------

    def leave_SimpleStatementLine(
        self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
    ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine] | cst.RemovalSentinel:
        if not any(isinstance(s, cst.ImportFrom) for s in updated.body):
            return updated
        body: list[cst.BaseSmallStatement] = []
        for original_statement, statement in zip(original.body, updated.body):
            if isinstance(statement, cst.ImportFrom):
                body.extend(self._rewrite_from(original_statement, statement))
            else:
                body.append(statement)
        if not body:
            return cst.RemoveFromParent()
        if len(body) == 1:
            return updated.with_changes(body=[_last(body[0])])
        lines = [updated.with_changes(body=[_last(body[0])])]
        lines += [cst.SimpleStatementLine(body=[_last(s)]) for s in body[1:]]
        return cst.FlattenSentinel(lines)

    def _rewrite_from(self, original: cst.BaseSmallStatement, node: cst.ImportFrom) -> list[cst.ImportFrom]:
        if node.relative or node.module is None:
            return [node]
        module = dotted(node.module)
        if not _is_sematic(module):
            return [node]
        if module in NOT_NEEDED:
            self._note(original, f"from {module} import ...", f"removed: {NOT_NEEDED[module]}")
            return []
        names = NAMES.get(module, {})
        if isinstance(node.names, cst.ImportStar):
            target = MODULES.get(module)
            if target is None:
                self._note(original, f"from {module} import *", f"kept: {_absent_reason(module)} ({DOCS})")
                return [node]
            return [node.with_changes(module=_expression(target))]
        groups: dict[str, list[cst.ImportAlias]] = {}
        kept: list[cst.ImportAlias] = []
        for alias in node.names:
            name = dotted(alias.name)
            where = names.get(name)
            if where is None:
                self._note(original, f"{module}.{name}", f"kept: {_absent_reason(module)} ({DOCS})")
                kept.append(alias)
                continue
            target, new_name = where.split(":")
            if new_name != name and alias.asname is None:
                alias = alias.with_changes(name=cst.Name(new_name), asname=cst.AsName(name=cst.Name(name)))
            elif new_name != name:
                alias = alias.with_changes(name=cst.Name(new_name))
            caveat = CAVEATS.get(new_name)
            if caveat is not None:
                self._note(original, new_name, caveat)
            groups.setdefault(target, []).append(alias)
        statements = [
            node.with_changes(module=_expression(target), names=_fix_commas(aliases, node))
            for target, aliases in groups.items()
        ]
        if kept:
            statements.append(node.with_changes(names=_fix_commas(kept, node)))
        return statements

    # -- uses of names that do not carry over ----------------------------------------------------

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.Attribute:
        attr = original.attr.value
        if attr in CAVEATS:
            try:
                owner = dotted(original.value)
            except ValueError:
                return updated
            if owner in self.module_aliases or owner.split(".")[-1] == "RerunMode":
                self._note(original, f"{owner}.{attr}", CAVEATS[attr])
        return updated


def _asname(alias: cst.ImportAlias) -> str | None:
    if isinstance(alias.asname, cst.AsName) and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return None


def _dedupe(aliases: Sequence[cst.ImportAlias]) -> list[cst.ImportAlias]:
    """The aliases once each, separated by commas (none after the last)."""
    unique: dict[tuple[str, str | None], cst.ImportAlias] = {}
    for alias in aliases:
        unique.setdefault((dotted(alias.name), _asname(alias)), alias)
    kept = [
        a.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) for a in unique.values()
    ]
    kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return kept


def _fix_commas(aliases: list[cst.ImportAlias], node: cst.ImportFrom) -> list[cst.ImportAlias]:
    """The aliases of a split import, with commas between them, and after the last one the
    comma (or none) that ended the original list, so a parenthesized import keeps its shape."""
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    fixed = [a if a.comma != cst.MaybeSentinel.DEFAULT else a.with_changes(comma=comma) for a in aliases]
    original = node.names
    end = original[-1].comma if isinstance(original, Sequence) and original else cst.MaybeSentinel.DEFAULT
    fixed[-1] = fixed[-1].with_changes(comma=end)
    return fixed


def _last(statement: cst.BaseSmallStatement) -> cst.BaseSmallStatement:
    return statement.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)


def migrate_source(source: str) -> Migration:
    """`source` with its Sematic imports rewritten for Loopline, and the notes on what did not
    carry over."""
    module = cst.parse_module(source)
    rewriter = _ImportRewriter()
    new = MetadataWrapper(module).visit(rewriter).code
    notes = tuple(sorted(set(rewriter.notes), key=lambda n: (n.line, n.subject)))
    return Migration(new, new != source, notes)
