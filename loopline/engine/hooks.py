"""Lifecycle hooks: how tracking, terminal progress and other observers plug into a runner.

The state machine calls every hook; it never knows what they do. Hooks are called from the
runner's thread, except `on_log` and `on_metric`, which may come from step threads: keep them
quick and thread-safe.
"""

from __future__ import annotations

from collections.abc import Sequence

from loopline.core.records import ArtifactRecord, MetricPoint, RunRecord


class RunHooks:
    """Override the methods you need; every argument is keyword-only."""

    def on_run_update(self, *, run: RunRecord) -> None:
        """A run was created or changed state (or another field)."""

    def on_artifact(self, *, artifact: ArtifactRecord) -> None:
        """A value was stored as an artifact."""

    def on_log(self, *, run_id: str, stream: str, text: str) -> None:
        """A step wrote output (stdout, stderr or a log record)."""

    def on_metric(self, *, point: MetricPoint) -> None:
        """A step called `loopline.log_metric`."""

    def on_pipeline_start(self, *, root: RunRecord) -> None:
        """The root run and the graph known so far are registered."""

    def on_pipeline_end(self, *, root: RunRecord) -> None:
        """The pipeline reached a terminal state; flush anything pending."""


class HookList(RunHooks):
    def __init__(self, hooks: Sequence[RunHooks]) -> None:
        self.hooks = list(hooks)

    def on_run_update(self, *, run: RunRecord) -> None:
        for hook in self.hooks:
            hook.on_run_update(run=run)

    def on_artifact(self, *, artifact: ArtifactRecord) -> None:
        for hook in self.hooks:
            hook.on_artifact(artifact=artifact)

    def on_log(self, *, run_id: str, stream: str, text: str) -> None:
        for hook in self.hooks:
            hook.on_log(run_id=run_id, stream=stream, text=text)

    def on_metric(self, *, point: MetricPoint) -> None:
        for hook in self.hooks:
            hook.on_metric(point=point)

    def on_pipeline_start(self, *, root: RunRecord) -> None:
        for hook in self.hooks:
            hook.on_pipeline_start(root=root)

    def on_pipeline_end(self, *, root: RunRecord) -> None:
        for hook in self.hooks:
            hook.on_pipeline_end(root=root)
