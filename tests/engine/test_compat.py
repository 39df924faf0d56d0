"""Sematic's runner names: the resolver aliases, and what points to Ray instead of Kubernetes."""

from __future__ import annotations

import pytest

import loopline
from loopline.errors import UsageError


@loopline.func
def one() -> int:
    return 1


def test_resolvers_are_the_runners() -> None:
    assert loopline.SilentResolver is loopline.SilentRunner and loopline.LocalResolver is loopline.LocalRunner
    assert isinstance(loopline.SilentRunner(), loopline.Resolver)
    assert loopline.SilentResolver().resolve(one()) == 1


@pytest.mark.parametrize("name", ["CloudRunner", "CloudResolver"])
def test_the_kubernetes_runner_points_to_ray(name: str) -> None:
    with pytest.raises(UsageError, match=r"loopline.RayRunner\(address='ray://...'\)"):
        getattr(loopline, name)(detach=True)


def test_the_kuberay_wrapper_says_how_to_get_a_cluster() -> None:
    with pytest.raises(UsageError, match="KubeRay"):
        loopline.StandardKuberayWrapper()
    assert loopline.has_container_image() is False


def test_sematic_context_is_the_context() -> None:
    @loopline.func
    def where() -> loopline.SematicContext:
        return loopline.context()

    future = where()
    assert loopline.SilentRunner().run(future) == loopline.SematicContext(future.id, future.id)  # type: ignore[attr-defined]
