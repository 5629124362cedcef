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


W0 = np.array([1.2071, 1.2878, 1.4642])


def view_made_before_the_array_varies(b):
    u1 = W0.copy()
    view2 = u1[:-1]
    u1[1] += b
    return np.sum(view2)


def test_a_view_made_before_its_array_varies_sees_the_tangent_written_later():
    """Fuzz seeds 1300300228, 1300300973: the view's tangent was a fresh zero, not a view of the array's tangent:
    the jvp was 0 where it is the tangent of b."""
    check_grads(view_made_before_the_array_varies, (1.4136,))


def polymul_with_a_constant(x):
    return np.sum(np.polymul(a1=0.257373, a2=[0.5, x[1], 0.5, 0.5]) ** 2)


def test_the_tangent_of_polymul_keeps_the_product_s_length():
    """Fuzz seed 1300301057: np.polymul drops leading zero coefficients, and a factor's tangent has them."""
    check_grads(polymul_with_a_constant, (np.array([0.5748, 0.7959]),))


def dict_of_one_value(a):
    a3 = a
    p4 = {'a': a3, 'b': a3}
    return p4['a'] * a3 + p4['b']


def test_the_hessian_through_a_dict_s_sparse_adjoint():
    """Fuzz seeds 1300300050, 1300300780: a copy of the tangent of a dict's adjoint (absent keys are zero) was a
    plain dict (KeyError)."""
    import sourcediff

    assert sourcediff.hessian(dict_of_one_value)(1.3) == pytest.approx(2.0)
