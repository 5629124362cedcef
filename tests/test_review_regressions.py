"""Wrong gradients and crashes found by an adversarial review, each now right or refused cleanly."""
import math

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import check_grads

RNG = np.random.default_rng(0)


def trace_of_a_stack(A, w):
    t = np.trace(A)  # shape (3,) for A of shape (2, 2, 3): not a number
    return np.sum(t * w)


def product_of_arrays(c, w):
    m = math.prod([w, w])  # an array
    z = m * c
    return np.sum(z * z)


def einsum_view_read_after_write(x):
    y = np.ones(3)
    d = np.einsum('i->i', y)  # a view of y
    q = d * x
    y[0] = x[0]  # changes d[0] too: q was computed before, so y's old values must be kept
    return np.sum(q * q) + np.sum(y * y)


def astype_without_copy(x):
    y = np.ones(3)
    d = y.astype(np.float64, copy=False)  # y itself
    q = d * x
    y[0] = x[0]
    return np.sum(q * q) + np.sum(y * y)


def store_with_leading_axis(x, d):
    y = x.copy()
    y[1:] = d  # d of shape (1, 2) into a slot of shape (2,)
    return np.sum(y * y)


def increment_with_leading_axis(x, d):
    y = x.copy()
    y[0, :] = y[0, :] + d  # d of shape (1, 3)
    return np.sum(y * y)


def index_with_not(x, c, k):
    b = not k
    a = x[b]  # x[True] has shape (1, 3): not a number
    z = a * c
    return np.sum(z * z)


@pytest.mark.parametrize("f, args, argnums", [
    (trace_of_a_stack, (RNG.standard_normal((2, 2, 3)), RNG.standard_normal(3)), (0, 1)),
    (product_of_arrays, (2.0, RNG.standard_normal(3)), 0),  # math.prod has no rule: w stays constant
    (einsum_view_read_after_write, (RNG.standard_normal(3),), 0),
    (astype_without_copy, (RNG.standard_normal(3),), 0),
    (store_with_leading_axis, (RNG.standard_normal(3), RNG.standard_normal((1, 2))), (0, 1)),
    (store_with_leading_axis, (RNG.standard_normal(3), RNG.standard_normal((1, 1))), (0, 1)),
    (increment_with_leading_axis, (RNG.standard_normal((2, 3)), RNG.standard_normal((1, 3))), (0, 1)),
    (index_with_not, (RNG.standard_normal(3), 2.0, 0), (0, 1)),
], ids=lambda p: getattr(p, "__name__", None))
def test_gradient_is_right(f, args, argnums):
    check_grads(f, args, argnums=argnums)


def einsum_view_of_the_argument(x):
    y = np.einsum('i->i', x)  # a view of the argument: writing into it is refused
    q = np.sum(x * x)
    y[0] = 0.0
    return q + np.sum(y)


C = np.arange(9.0).reshape(3, 3)


def matmul_into_out(b):
    y = np.ones(3)
    q = y * b
    z = np.matmul(C, C[0], out=y)  # overwrites y
    return np.sum(q * q) + np.sum(z * b)


def scale_first(u, k):
    u[0] = u[0] * k


def view_read_after_a_helper_writes(x, k):
    y = x.copy()
    v = y[0:2]
    scale_first(y, k)
    return np.sum(v * v)


def fill_recursively(u, n):
    if n == 0:
        return 0.0
    u[n] = u[n - 1] * 2.0
    return fill_recursively(u, n - 1) + u[n]


def calls_fill_recursively(x):
    y = x.copy()
    s = fill_recursively(y, 2)
    return s * np.sum(y * y)


@pytest.mark.parametrize("f, args, phrase", [
    (einsum_view_of_the_argument, (RNG.standard_normal(3),), "may be an array that another name also holds"),
    (matmul_into_out, (RNG.standard_normal(3),), "out=..."),
    (view_read_after_a_helper_writes, (RNG.standard_normal(3), 1.5), "is read after the call"),
    (calls_fill_recursively, (RNG.standard_normal(3),), "calls itself and writes into its argument"),
], ids=lambda p: getattr(p, "__name__", None))
def test_refused_with_a_located_error(f, args, phrase):
    with pytest.raises(sourcediff.SourcediffError) as info:
        sourcediff.grad(f)(*args)
    assert phrase in str(info.value) and "test_review_regressions.py" in str(info.value), str(info.value)


def weighted(x, y):
    return np.sum(x * y * x)


def test_numpy_scalars_are_arguments_and_ndarray_subclasses_are_refused():
    g = sourcediff.grad(weighted)(np.int64(2), np.ones(3))
    assert g == pytest.approx(12.0) and isinstance(g, np.float64)

    class Sub(np.ndarray):
        pass

    with pytest.raises(sourcediff.SourcediffError, match="subclass of ndarray"):
        sourcediff.grad(weighted)(np.ones(3).view(Sub), np.ones(3))


def twin_sum(x, y):
    z = x + y
    return np.sum(z * z)


def test_gradients_are_separate_arrays():
    gx, gy = sourcediff.grad(twin_sum, argnums=(0, 1))(np.ones(3), np.ones(3))
    assert gx is not gy
    gx *= 0.5
    np.testing.assert_array_equal(gy, [4.0, 4.0, 4.0])
    cotangent = np.ones(3)
    _, pullback = sourcediff.vjp(lambda_free_identity, np.arange(3.0))
    (g,) = pullback(cotangent)
    assert g is not cotangent


def lambda_free_identity(x):
    return x * 1.0


def carried_with_a_list(x, y):
    s = x + y  # y is a list: NumPy makes it an array operand
    for _ in range(2):
        s = s * y + x
    return np.sum(s * s)


def matrix_from_a_list(x, rows):
    return np.sum(np.tanh(x * rows))


@pytest.mark.parametrize("f, y", [(carried_with_a_list, [1.0, 2.0, 0.5]),
                                  (matrix_from_a_list, [[1.0, -2.0, 0.5], [0.3, 0.2, -0.1]])],
                         ids=lambda p: getattr(p, "__name__", None))
def test_a_list_used_as_an_array_gets_a_list_gradient(f, y):
    from sourcediff.testing import numerical_grad

    x = np.array([0.3, -0.5, 0.8])
    g = sourcediff.grad(f, argnums=1)(x, y)
    assert type(g) is list and len(g) == len(y)
    np.testing.assert_allclose(np.array(g, dtype=float), numerical_grad(f, (x, np.array(y)), 1), rtol=1e-6)


def joins_lists(x):
    a = [x, 2.0 * x]
    b = a + a  # list concatenation, not addition
    return b[0] * b[3]


def test_joining_lists_with_plus_is_refused_not_crashed():
    with pytest.raises(sourcediff.SourcediffError, match="joining lists or tuples"):
        sourcediff.grad(joins_lists)(1.5)


t1 = np.cos  # a module global named like the lowering's first temporary


def calls_a_function_from_a_tuple(x):
    fs = (np.sin,)
    return fs[0](x)


def test_temporaries_never_resolve_to_module_globals():
    """The temporary t1 = fs[0] resolved to the global t1 (np.cos): the gradient of sin was -sin."""
    try:
        got = sourcediff.grad(calls_a_function_from_a_tuple)(0.3)
    except sourcediff.SourcediffError:
        return  # a refusal is fine; the wrong derivative was not
    assert got == pytest.approx(np.cos(0.3))
    _, tangent = sourcediff.jvp(calls_a_function_from_a_tuple, (0.3,), (1.0,))
    assert tangent == pytest.approx(np.cos(0.3))
