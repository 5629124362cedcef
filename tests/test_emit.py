"""Emit stage: deterministic source, linecache registration, live globals and closures."""
import inspect
import textwrap
import traceback

import math
import math as math_module
from math import exp as exponential

import numpy
import numpy as np
import numpy.linalg as la
import pytest
from numpy import cos as cosine

import sourcediff
from sourcediff import api
from sourcediff.testing import numerical_grad

WEIGHTS = np.array([1.0, 2.0, 3.0])


def weighted(x):
    return np.sum(WEIGHTS * x ** 2)


def fresh_copy(f):
    return type(f)(f.__code__, f.__globals__, f.__name__, f.__defaults__, f.__closure__)


def test_same_input_gives_the_same_text():
    first = sourcediff.grad(weighted).source
    second = sourcediff.grad(fresh_copy(weighted)).source  # a new function object: no cache hit
    assert first == second


def test_source_is_registered_in_linecache():
    """linecache holds what runs: ``.source`` with each dead local let go at the end of a line (``; del t``)."""
    compiled = sourcediff.grad(weighted).compiled
    registered = textwrap.dedent(inspect.getsource(compiled.function))
    assert registered.splitlines() != compiled.source.splitlines()
    assert [line.split("; del ")[0] for line in registered.splitlines()] == compiled.source.splitlines()
    assert compiled.function.__code__.co_filename == compiled.filename


def mlp_like(W, x):
    h = np.tanh(x @ W)
    return np.sum(h * h)


def test_arrays_are_let_go_when_they_die():
    """Under glibc's default malloc an array held to the end of a call is faulted in again on every call; the
    compiled code lets each local go after the statement that reads it last, and only there."""
    g = sourcediff.grad(mlp_like)
    registered = inspect.getsource(g.compiled.function)
    assert "del " not in g.source and "; del " in registered
    W, x = np.full((3, 4), 0.3), np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    np.testing.assert_allclose(g(W, x), numerical_grad(mlp_like, (W, x), 0), rtol=1e-6)
    assert sourcediff.emit.with_releases("def f(a, b):\n    t = a + b\n    for i in range(3):\n"
                                         "        t = t * i\n    u = t + 1\n    return u\n") == (
        "def f(a, b):\n    t = a + b\n    for i in range(3):\n        t = t * i\n    u = t + 1; del t\n"
        "    return u\n")


def with_del(x):
    y = x * 2.0
    z = np.sin(y)
    del y
    return np.sum(z * x)


def test_a_del_of_a_name_is_differentiated():
    x = np.array([0.2, 0.5, 0.9])
    np.testing.assert_allclose(sourcediff.grad(with_del)(x), numerical_grad(with_del, (x,), 0), rtol=1e-6)
    np.testing.assert_allclose(sourcediff.hessian(with_del)(x), np.diag(4 * np.cos(2 * x) - 4 * x * np.sin(2 * x)),
                               rtol=1e-9)


def test_globals_are_read_live():
    global WEIGHTS
    g = sourcediff.grad(weighted)
    x = np.array([1.0, 1.0, 1.0])
    np.testing.assert_allclose(g(x), 2 * WEIGHTS * x)
    saved = WEIGHTS
    try:
        WEIGHTS = np.array([5.0, 5.0, 5.0])
        np.testing.assert_allclose(g(x), 10.0 * x)
    finally:
        WEIGHTS = saved


def make_scaled(k):
    def scaled(x):
        return k * np.sin(x)
    return scaled


def test_closure_cells_are_read_live():
    f = make_scaled(2.0)
    g = sourcediff.grad(f)
    assert g(0.0) == pytest.approx(2.0)
    f.__closure__[0].cell_contents = 5.0
    assert g(0.0) == pytest.approx(5.0)


def divide(x, y):
    return np.sum(x / y)


def test_tracebacks_show_generated_code():
    g = sourcediff.grad(divide, argnums=(0, 1))
    with pytest.raises(ValueError) as info:
        g(np.ones(3), np.ones(4))
    frames = traceback.extract_tb(info.tb)
    generated = [fr for fr in frames if fr.filename == g.compiled.filename]
    assert generated and generated[0].line  # the line text comes from linecache


def test_runtime_names_do_not_clash_with_user_names():
    g = sourcediff.grad(clash)
    assert g(1.5) == pytest.approx(2 * 1.5 * 3.0)


def clash(x):
    sd = x * x
    math = 3.0
    return sd * math


def spelled_many_ways(x):
    y = cosine(x) + numpy.sin(x) + np.abs(x)
    return la.norm(y) + exponential(0.5) * numpy.sum(y) + math_module.sqrt(2.0)


def spelled_the_usual_way(x):
    y = np.cos(x) + np.sin(x) + np.abs(x)
    return np.linalg.norm(y) + math.exp(0.5) * np.sum(y) + math.sqrt(2.0)


def test_library_calls_print_through_the_generated_codes_names_whatever_the_users_spelling():
    x = np.array([0.3, -1.2, 2.0])
    g = sourcediff.grad(spelled_many_ways)
    np.testing.assert_allclose(g(x), numerical_grad(spelled_many_ways, (x,), 0), rtol=1e-6)
    usual = sourcediff.grad(spelled_the_usual_way)
    usual(x)
    assert g.source.replace("spelled_many_ways", "f") == usual.source.replace("spelled_the_usual_way", "f")
    for spelling in ("cosine", "numpy.", "la.", "exponential", "math_module"):
        assert spelling not in g.source


def np_is_a_local_here(x):
    np = numpy.array([2.0, 3.0])
    return numpy.sum(numpy.sin(x) * np)


def test_library_calls_keep_their_meaning_when_the_user_names_a_value_np():
    x = numpy.array([0.4, 1.1])
    g = sourcediff.grad(np_is_a_local_here)
    numpy.testing.assert_allclose(g(x), numerical_grad(np_is_a_local_here, (x,), 0), rtol=1e-6)
    assert "np_.sin(x)" in g.source and "np_.sum(" in g.source
