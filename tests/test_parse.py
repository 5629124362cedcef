"""Parse stage: source, namespace and name resolution."""
import math

import numpy as np
import pytest

import sourcediff
from sourcediff import parse
from sourcediff.parse import is_resolved

SCALE = 3.0


def uses_module_and_global(x):
    return np.sin(x) * SCALE + math.cos(x)


def make_closure(k):
    def inner(x):
        return k * np.exp(x)
    return inner


def test_resolves_module_functions_globals_and_builtins():
    parsed = parse.parse_function(uses_module_and_global)
    ret = parsed.node.body[0].value
    call = ret.left.left
    assert parsed.resolve(call.func) is np.sin
    assert parsed.resolve(ret.right.func) is math.cos
    assert parsed.lookup_name("SCALE") == 3.0
    assert parsed.lookup_name("abs") is abs
    assert not is_resolved(parsed.lookup_name("x"))  # a local is never resolved statically


def test_resolves_closure_cells():
    inner = make_closure(2.5)
    parsed = parse.parse_function(inner)
    assert parsed.lookup_name("k") == 2.5


def test_lambda_is_parsed_as_a_function():
    square = lambda x: x * x  # noqa: E731
    parsed = parse.parse_function(square)
    assert [a.id for a in parsed.node.args.args] == ["x"]
    assert sourcediff.grad(square)(3.0) == pytest.approx(6.0)


def test_line_numbers_point_into_the_users_file():
    parsed = parse.parse_function(uses_module_and_global)
    assert parsed.filename == __file__
    assert parsed.lineno(parsed.node.body[0]) == uses_module_and_global.__code__.co_firstlineno + 1


def test_function_without_source_is_refused():
    namespace = {}
    exec("def f(x):\n    return x * 2\n", namespace)
    with pytest.raises(sourcediff.SourceNotFoundError) as info:
        parse.parse_function(namespace["f"])
    assert info.value.filename == "<string>"
    assert "define the function in a file" in str(info.value)


def test_builtin_without_source_is_refused():
    with pytest.raises(sourcediff.SourceNotFoundError, match="not a Python function"):
        sourcediff.grad(np.sin)
