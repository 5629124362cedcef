"""Readable goldens of generated code for a few teaching examples, reviewed by eye.

Regenerate after a deliberate change with ``SOURCEDIFF_UPDATE_SNAPSHOTS=1 pytest tests/test_snapshots.py``
and read the diff before committing it.
"""
import math
import os
import pathlib

import numpy as np
import pytest

import sourcediff

SNAPSHOTS = pathlib.Path(__file__).parent / "snapshots"


def product_sine(x, y):
    z = x * y
    return math.sin(z) + z


def two_layer(w1, w2, x):
    h = np.tanh(x @ w1)
    return np.mean((h @ w2) ** 2)


def rescale(x):
    y = np.exp(x)
    y = y / np.sum(y)
    return np.sum(y * x)


def sine_series(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x * i)
    return s


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-12:
        x = x - (x * x - a) / (2 * x)
    return x


def clipped_sum(xs, limit):
    total = 0.0
    for x in xs:
        if total > limit:
            break
        total = total + x * x
    return total


CASES = {
    "product_sine": (product_sine, (0, 1), (0.5, 2.0)),
    "two_layer": (two_layer, (0, 1), (np.ones((3, 4)), np.ones((4, 2)), np.ones((5, 3)))),
    "rescale_with_tape": (rescale, 0, (np.array([0.1, 0.2, 0.3]),)),
    "sine_series_loop": (sine_series, 0, (0.3, 10)),
    "newton_while": (newton_sqrt, 0, (2.0,)),
    "break_in_for": (clipped_sum, 0, (np.array([0.5, 1.0, 2.0]), 1.0)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_source_matches_golden(name):
    f, argnums, args = CASES[name]
    g = sourcediff.grad(f, argnums=argnums)
    g(*args)  # specialize on the argument kinds, as a notebook user would
    path = SNAPSHOTS / f"{name}.py"
    if os.environ.get("SOURCEDIFF_UPDATE_SNAPSHOTS"):
        path.write_text(g.source)
    assert g.source == path.read_text()
