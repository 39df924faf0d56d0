"""The remote stores have every method of their protocol, with the same parameters, so nothing a
runner or the CL layer calls is missing in team mode (mypy checks the types as well)."""

from __future__ import annotations

import inspect

import pytest

from loopline.cl.store.http import HttpCLStore
from loopline.cl.store.protocol import CLStore
from loopline.storage.base import MetadataStore
from loopline.storage.remote.metadata import HttpMetadataStore
from loopline.storage.rpc import methods


@pytest.mark.parametrize(("protocol", "remote"), [(CLStore, HttpCLStore), (MetadataStore, HttpMetadataStore)])
def test_a_remote_store_has_each_protocol_method_with_its_parameters(protocol: type, remote: type) -> None:
    for name in methods(protocol):
        declared = inspect.signature(getattr(protocol, name)).parameters
        assert list(inspect.signature(getattr(remote, name)).parameters) == list(declared), name
