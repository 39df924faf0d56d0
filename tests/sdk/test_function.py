from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

import loopline
from loopline.errors import ArgumentTypeError, FunctionDefinitionError, FunctionError, OutputTypeError
from loopline.sdk.future import Future


@loopline.func
def add(a: float, b: float) -> float:
    """Adds two numbers."""
    return a + b


@dataclasses.dataclass
class Config:
    lr: float
    layers: list[int]


@loopline.func(cache=True, version="v1", timeout_mins=5)
def train(config: Config, seed: int = 0) -> dict[str, float]:
    return {"lr": config.lr}


def test_calling_a_func_returns_a_future_with_checked_arguments() -> None:
    future = add(1, 2)
    assert isinstance(future, Future)
    assert future.kwargs == {"a": 1.0, "b": 2.0}
    assert isinstance(future.kwargs["a"], float)


def test_defaults_are_bound() -> None:
    future = train(Config(0.1, [2]))
    assert future.kwargs["seed"] == 0


def test_decorator_options_become_the_future_defaults() -> None:
    props = train(Config(0.1, [2])).props
    assert (props.cache, props.timeout_mins, props.name) == (True, 5.0, "train")


def test_a_wrong_argument_names_function_parameter_and_types() -> None:
    with pytest.raises(
        ArgumentTypeError,
        match=r"add\(\) got a wrong value for parameter 'b': expected float, got 'x' \(str\)",
    ):
        add(1, "x")


def test_a_wrong_nested_value_names_where_it_is() -> None:
    with pytest.raises(ArgumentTypeError, match=r"parameter 'config' \(at .layers\[1\]\)"):
        train(Config(0.1, [1, "two"]))  # type: ignore[list-item]


def test_missing_and_extra_arguments_are_type_errors() -> None:
    with pytest.raises(TypeError, match="missing a required argument: 'b'"):
        add(1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'c'"):
        add(1, 2, c=3)  # type: ignore[call-arg]


def test_a_future_of_an_incompatible_type_is_refused() -> None:
    @loopline.func
    def name() -> str:
        return "x"

    with pytest.raises(ArgumentTypeError, match="got a Future of str"):
        add(name(), 1)


def test_a_future_of_a_compatible_type_is_accepted() -> None:
    future = add(add(1, 2), 3)
    assert isinstance(future.kwargs["a"], Future)


def test_output_is_checked() -> None:
    with pytest.raises(
        OutputTypeError, match=r"add\(\) returned 'x' \(str\), but its return annotation says float"
    ):
        add.check_output("x")


def test_function_keeps_name_docstring_and_source() -> None:
    assert add.__name__ == "add" and add.__doc__ == "Adds two numbers."
    assert "return a + b" in add.source
    assert add.path == "tests.sdk.test_function.add"


def test_code_version_follows_the_source_unless_pinned() -> None:
    @loopline.func
    def one() -> int:
        return 1

    @loopline.func
    def two() -> int:
        return 2

    assert one.code_version != two.code_version
    assert train.code_version == loopline.func(version="v1")(train.fn).code_version


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("def f(x) -> int: return 1", "The following arguments are not annotated: 'x'"),
        ("def f(x: int): return 1", "the return type is not annotated"),
        ("def f(*args: int) -> int: return 1", "Variadic arguments are not supported (`*args`)"),
        ("def f(**kw: int) -> int: return 1", "Variadic arguments are not supported (`**kw`)"),
        ("async def f() -> int: return 1", "it is `async`"),
        ("def f() -> int:\n    yield 1", "it is a generator"),
        ("def f(x: Any) -> int: return 1", "parameter `x` is annotated `Any`"),
        ("def f() -> Any: return 1", "the return value is annotated `Any`"),
    ],
)
def test_definition_problems_are_explained(source: str, problem: str) -> None:
    namespace: dict[str, Any] = {"Any": Any}
    exec(source, namespace)
    with pytest.raises(FunctionDefinitionError, match=re.escape(problem)):
        loopline.func(namespace["f"])


def test_a_function_that_returns_nothing_needs_no_return_annotation() -> None:
    @loopline.func
    def announce(message: str):  # type: ignore[no-untyped-def]  # as Sematic allows: -> None
        print(message)
        if not message:
            return

    assert announce.output_type is type(None)
    assert loopline.SilentRunner().run(announce("hello")) is None

    def answer(x: int):  # type: ignore[no-untyped-def]
        def inner() -> int:
            return 1

        return x + inner()

    with pytest.raises(FunctionDefinitionError, match="the return type is not annotated"):
        loopline.func(answer)


def test_every_problem_is_listed_at_once() -> None:
    def f(x, *rest):  # type: ignore[no-untyped-def]
        return x

    with pytest.raises(FunctionDefinitionError) as caught:
        loopline.func(f)
    message = str(caught.value)
    assert "not annotated: 'x'" in message and "`*rest`" in message and "return type" in message


def test_methods_are_refused_with_a_suggestion() -> None:
    with pytest.raises(
        FunctionDefinitionError, match="functions, not methods. Instead, consider defining it at module level"
    ):

        class Model:
            @loopline.func
            def fit(self, x: int) -> int:
                return x


def test_unknown_annotations_are_explained() -> None:
    def f(x: Missing) -> int:  # type: ignore[name-defined]  # noqa: F821
        return 1

    with pytest.raises(FunctionDefinitionError, match="cannot be evaluated"):
        loopline.func(f)


def test_bad_option_values_are_refused() -> None:
    with pytest.raises(TypeError, match="Invalid `cache`: it must be True or False"):
        loopline.func(cache="yes")  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="timeout_mins"):
        loopline.func(timeout_mins=-1)


def test_sematic_conversions_at_the_call_are_recorded_on_the_future() -> None:
    @loopline.func
    def count(n: int, xs: list[float]) -> float:
        return n + sum(xs)

    future = count(2.0, (1, 2))  # type: ignore[arg-type]
    assert future.kwargs == {"n": 2, "xs": [1.0, 2.0]} and type(future.kwargs["n"]) is int  # type: ignore[attr-defined]
    assert future.props.conversions == (
        "a value: float to int (at n)",
        "a value: tuple to List[float] (at xs)",
    )  # type: ignore[attr-defined]


def test_strict_types_refuse_what_would_convert() -> None:
    @loopline.func(strict_types=True)
    def count(n: int) -> int:
        return n

    with pytest.raises(ArgumentTypeError, match=r"expected int, got 2.0 \(float\)"):
        count(2.0)  # type: ignore[arg-type]


def test_input_types_are_the_parameter_annotations() -> None:
    @loopline.func
    def f(a: float, b: None) -> int:
        return 1

    assert f.input_types == {"a": float, "b": type(None)}


def test_execute_runs_the_body_and_wraps_its_errors() -> None:
    @loopline.func
    def fails(x: int) -> int:
        raise KeyError(x)

    with pytest.raises(FunctionError, match=r"fails\(\) raised KeyError: 3") as caught:
        fails.execute(x=3)
    assert isinstance(caught.value.__cause__, KeyError)
