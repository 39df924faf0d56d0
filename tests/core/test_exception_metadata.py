from __future__ import annotations

from loopline.core.exception_metadata import ExceptionMetadata, format_exception_for_run
from loopline.errors import FunctionError


class Parent(Exception):
    pass


class Child(Parent):
    pass


def test_metadata_names_the_class_and_its_ancestors() -> None:
    metadata = ExceptionMetadata.from_exception(Child("boom"))
    assert (metadata.name, metadata.repr) == ("Child", "boom")
    assert metadata.is_instance_of(Parent) and metadata.is_instance_of(Exception)
    assert not metadata.is_instance_of(ValueError)


def test_a_function_error_is_described_by_what_the_func_raised() -> None:
    try:
        try:
            raise ValueError("inside")
        except ValueError as error:
            raise FunctionError("f() raised") from error
    except FunctionError as wrapper:
        metadata = format_exception_for_run(wrapper)
    assert metadata is not None and metadata.name == "ValueError" and "inside" in metadata.repr
