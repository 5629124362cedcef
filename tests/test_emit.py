"""Emit stage: deterministic source, linecache registration, live globals and closures."""
import inspect
import textwrap
import traceback

import numpy as np
import pytest

import sourcediff
from sourcediff import api

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
    compiled = sourcediff.grad(weighted).compiled
    assert textwrap.dedent(inspect.getsource(compiled.function)) == compiled.source
    assert compiled.function.__code__.co_filename == compiled.filename


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
