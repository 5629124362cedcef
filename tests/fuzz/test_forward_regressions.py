"""Forward-mode failures the fuzzer found, minimized: each fails today (``xfail(strict=True)``), so the test
turns red once the bug is fixed; then drop its marker and keep it as a regression test.

Each program is a fuzz reproducer's module part (``python -m tests.fuzz --replay``) with its names
simplified; ``check_grads`` checks reverse mode against finite differences, then forward mode
(``<u, jvp(v)> = <vjp(u), v>``).
"""
from __future__ import annotations

import numpy as np
import pytest

from sourcediff.testing import check_grads


def multiply_lists(b, c):
    return np.sum(np.multiply([c, b], [c, c]))


def subtract_lists(x):
    return np.sum(np.subtract([0.5, x[0]], [0.5, x[1]]))


@pytest.mark.parametrize("f, args", [(multiply_lists, (0.9527, 1.47)),
                                     (subtract_lists, (np.array([0.8556, 0.6218, 0.8378]),))],
                         ids=["np.multiply", "np.subtract"])
def test_jvp_of_a_numpy_binary_function_of_python_lists(f, args):
    """Fuzz seeds 100030, 700015: the tangent of a NumPy binary function of two Python lists applied the
    operator to the lists of tangents (TypeError: can't multiply sequence by non-int)."""
    check_grads(f, args)
