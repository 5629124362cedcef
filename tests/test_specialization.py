"""Adversarial tests for the reverse-mode specializations (argument kinds, shape keys, snapshots, increments,
np.add.at, rebound names, helpers, in-place adjoint accumulation).

Every case checks the gradient against central finite differences (``check_grads`` or, where one
``Derivative`` object is called with many argument kinds, the same finite differences through one object),
and, where the function does not write into arrays, against ``jax.grad`` of a hand-written jax.numpy version.
A clean ``SourcediffError`` refusal is accepted where noted; a wrong number never is.
"""
import numpy as np
import pytest

import sourcediff
from sourcediff.testing import check_grads, numerical_grad


# -- helpers ---------------------------------------------------------------------------------------

def _copies(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def _fd(f, args, i):
    """Finite differences of f with respect to args[i]; every call gets fresh copies (f may write into them)."""
    return numerical_grad(lambda *a: f(*_copies(a)), _copies(args), i)


def _jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def _check_sequence(f, calls, argnums, jf=None, rtol=1e-6, atol=1e-8):
    """Call ONE Derivative object with every argument tuple in ``calls`` (kinds change from call to call)."""
    derivative = sourcediff.grad(f, argnums=argnums)
    nums = argnums if isinstance(argnums, tuple) else (argnums,)
    for k, args in enumerate(calls):
        got = derivative(*_copies(args))
        got = got if isinstance(argnums, tuple) else (got,)
        for g, i in zip(got, nums):
            assert np.shape(g) == np.shape(args[i]), (f.__name__, [np.shape(a) for a in args])
            np.testing.assert_allclose(g, _fd(f, args, i), rtol=rtol, atol=atol,
                                       err_msg=f"{f.__name__} {[np.shape(a) for a in args]} argument {i}")
        if jf is not None and (k < 2 or k == len(calls) - 1):  # jax retraces per shape: a few calls suffice
            jax = _jax()
            theirs = jax.grad(jf, argnums=argnums)(*args)
            theirs = theirs if isinstance(argnums, tuple) else (theirs,)
            for g, t in zip(got, theirs):
                np.testing.assert_allclose(g, np.asarray(t), rtol=1e-9, atol=1e-12)


def _against_jax(f, jf, args, argnums):
    jax = _jax()
    ours = sourcediff.grad(f, argnums=argnums)(*_copies(args))
    theirs = jax.grad(jf, argnums=argnums)(*args)
    if not isinstance(argnums, tuple):
        ours, theirs = (ours,), (theirs,)
    for g, t in zip(ours, theirs):
        np.testing.assert_allclose(g, np.asarray(t), rtol=1e-9, atol=1e-12)


def R(rng, *shape):
    return rng.standard_normal(shape)


# == 1. argument kinds: one Derivative object, many kinds =============================================

def bcast_mul(x, y):
    z = x * y
    return np.sum(z * z)


def j_bcast_mul(x, y):
    import jax.numpy as jnp
    z = x * y
    return jnp.sum(z * z)


def test_kinds_broadcasting_sequence_on_one_derivative(rng):
    # equal ndim / different shapes, (3,) vs (1,), (2,3) vs (3,), numbers, 0-d arrays, int and back to twins
    calls = [(R(rng, 3), R(rng, 3)), (R(rng, 3), R(rng, 1)), (R(rng, 1), R(rng, 3)), (R(rng, 2, 3), R(rng, 3)),
             (R(rng, 2, 3), R(rng, 2, 1)), (R(rng, 2, 1), R(rng, 1, 3)), (2.0, R(rng, 3)), (R(rng, 3), 3),
             (np.array(1.5), R(rng, 3)), (R(rng, 3), np.float64(0.7)), (R(rng, 3), R(rng, 3))]
    _check_sequence(bcast_mul, calls, (0, 1))
    _against_jax(bcast_mul, j_bcast_mul, (R(rng, 2, 3), R(rng, 2, 1)), (0, 1))


def shifted_products(x, y):
    a = x[1:] * y[:-1]
    b = x[:-1] + y[1:]
    return np.sum(a * b) + np.sum(x * y)


def j_shifted_products(x, y):
    import jax.numpy as jnp
    a = x[1:] * y[:-1]
    b = x[:-1] + y[1:]
    return jnp.sum(a * b) + jnp.sum(x * y)


def test_kinds_twins_then_not_twins(rng):
    # twins (equal shapes) on one call, broadcast partners on the next, with the same Derivative
    calls = [(R(rng, 4), R(rng, 4)), (R(rng, 5), R(rng, 5)), (R(rng, 2, 4), R(rng, 2, 4)), (R(rng, 2, 1), R(rng, 1, 3)),
             (R(rng, 3, 1), R(rng, 3, 3)), (R(rng, 4), R(rng, 4))]
    _check_sequence(shifted_products, calls, (0, 1), jf=j_shifted_products)


def scaled_sum(x, y, c):
    z = x * c + y
    w = z[0] * z
    return np.sum(w * x)


def test_kinds_scalar_parameter_as_float_int_numpy_scalar_and_arrays(rng):
    # c as float, int, np.float64, 0-d array, (3,), (2,1); x, y twins or broadcast
    calls = [(R(rng, 3), R(rng, 3), 2.0), (R(rng, 3), R(rng, 3), 2), (R(rng, 3), R(rng, 3), np.float64(2.0)),
             (R(rng, 3), R(rng, 3), np.array(2.0)), (R(rng, 3), R(rng, 3), R(rng, 3)), (R(rng, 3), R(rng, 1), R(rng, 2, 1)),
             (R(rng, 2, 3), R(rng, 3), R(rng, 2, 1)), (R(rng, 3), 1.5, 2.0), (2.0, 1.5, R(rng, 3))]
    _check_sequence(scaled_sum, calls, (0, 1, 2))


def carried(x, y):
    s = x + y
    for i in range(2):
        s = s * y + x
    return np.sum(s * s)


def test_kinds_lists_and_tuples_not_differentiated(rng):
    # a list / nested list / tuple partner (kind "other") between array calls of the same object
    calls = [(R(rng, 3), R(rng, 3)), (R(rng, 3), [1.0, 2.0, 3.0]), (R(rng, 3), [[1.0, 2.0, 3.0]]),
             (R(rng, 3), (0.5, 1.0, 2.0)), (R(rng, 3), [0.5]), (R(rng, 3), R(rng, 1))]
    _check_sequence(carried, calls, 0)


def test_kinds_differentiating_a_list_gives_list_gradient_or_refuses(rng):
    # a list in argnums: either a correct gradient or a clean refusal, never a wrong number
    x = R(rng, 3)
    lst = [1.0, 2.0, 3.0]
    try:
        g = sourcediff.grad(bcast_mul, argnums=1)(x, lst)
    except sourcediff.SourcediffError:
        return
    np.testing.assert_allclose(np.asarray(g, dtype=float), _fd(bcast_mul, (x, np.array(lst)), 1), rtol=1e-6, atol=1e-8)


def test_kinds_float32_and_int_arrays(rng):
    # float32 (precision only) and int arrays between float64 calls of the same object
    d = sourcediff.grad(shifted_products, argnums=(0, 1))
    x, y = R(rng, 4), R(rng, 4)
    gx, gy = d(x.astype(np.float32), y)
    assert gx.dtype == np.float32
    np.testing.assert_allclose(gx, _fd(shifted_products, (x.astype(np.float32), y), 0), rtol=1e-4, atol=1e-4)
    xi = np.arange(4)
    gx, gy = d(xi, y)
    assert gx.dtype == np.float64
    np.testing.assert_allclose(gx, _fd(shifted_products, (xi, y), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, _fd(shifted_products, (xi, y), 1), rtol=1e-6, atol=1e-8)
    gx, gy = d(x, y)
    np.testing.assert_allclose(gx, _fd(shifted_products, (x, y), 0), rtol=1e-6, atol=1e-8)


def maximum_mix(x, y):
    z = np.maximum(x, y) * x
    return np.sum(z * y)


def j_maximum_mix(x, y):
    import jax.numpy as jnp
    z = jnp.maximum(x, y) * x
    return jnp.sum(z * y)


def test_kinds_ufunc_of_twins_and_broadcasts(rng):
    # a two-argument ufunc: result key of twins vs broadcast partners vs a number
    calls = [(R(rng, 3), R(rng, 3)), (R(rng, 3), R(rng, 1)), (R(rng, 2, 3), R(rng, 3)), (R(rng, 3), 0.2)]
    _check_sequence(maximum_mix, calls, (0, 1), jf=j_maximum_mix)


# == 2. shape keys of slices ==========================================================================

def even_odd(u):
    a = u[::2]
    b = u[1::2]
    return np.sum((a * b) ** 2)


def j_even_odd(u):
    import jax.numpy as jnp
    a = u[::2]
    b = u[1::2]
    return jnp.sum((a * b) ** 2)


def ends(u):
    a = u[-3:]
    b = u[:3]
    return np.sum(a * b * b)


def j_ends(u):
    import jax.numpy as jnp
    a = u[-3:]
    b = u[:3]
    return jnp.sum(a * b * b)


def first_and_rest(u):
    a = u[0:1]
    b = u[1:]
    return np.sum(a * b * a)


def j_first_and_rest(u):
    import jax.numpy as jnp
    a = u[0:1]
    b = u[1:]
    return jnp.sum(a * b * a)


def heads_tails(u):
    a = u[:2]
    b = u[-2:]
    return np.sum(a * b * a)


def j_heads_tails(u):
    import jax.numpy as jnp
    a = u[:2]
    b = u[-2:]
    return jnp.sum(a * b * a)


def thirds(u):
    a = u[::3]
    b = u[1::3]
    return np.sum(a * b * a)


def j_thirds(u):
    import jax.numpy as jnp
    a = u[::3]
    b = u[1::3]
    return jnp.sum(a * b * a)


def stencil(u):
    a = u[2:]
    b = u[:-2]
    c = u[1:-1]
    return np.sum(a * b + c * c * a)


def j_stencil(u):
    import jax.numpy as jnp
    a = u[2:]
    b = u[:-2]
    c = u[1:-1]
    return jnp.sum(a * b + c * c * a)


@pytest.mark.parametrize("f, jf", [(even_odd, j_even_odd), (ends, j_ends), (first_and_rest, j_first_and_rest),
                                   (heads_tails, j_heads_tails), (thirds, j_thirds), (stencil, j_stencil)],
                         ids=lambda f: f.__name__)
def test_slices_that_look_alike_over_lengths(f, jf, rng):
    # slices equal in length for some array lengths only: every length that runs, 1-D and 2-D, one object
    calls = []
    for shape in [(3,), (4,), (5,), (8,), (2,), (1,), (3, 2), (4, 1), (1, 4)]:
        u = R(rng, *shape)
        try:
            f(u)
        except ValueError:
            continue  # the primal itself cannot broadcast these
        calls.append((u,))
    _check_sequence(f, calls, 0, jf=jf)


def rows_vs_rest(u):
    a = u[1:, :]
    b = u[:-1]
    c = u[0]
    return np.sum(a * b * a) + np.sum(c * b)


def j_rows_vs_rest(u):
    import jax.numpy as jnp
    a = u[1:, :]
    b = u[:-1]
    c = u[0]
    return jnp.sum(a * b * a) + jnp.sum(c * b)


def test_slices_tuple_index_and_dropped_axis(rng):
    # u[1:, :] vs u[:-1] vs u[0] on 2-D arrays of several shapes
    calls = [(R(rng, 3, 2),), (R(rng, 2, 3),), (R(rng, 4, 1),), (R(rng, 2, 2),)]
    _check_sequence(rows_vs_rest, calls, 0, jf=j_rows_vs_rest)


def column_vs_row(u):
    a = u[:, 0]
    b = u[0, :]
    return np.sum(a * b * a)


def j_column_vs_row(u):
    import jax.numpy as jnp
    a = u[:, 0]
    b = u[0, :]
    return jnp.sum(a * b * a)


def test_slices_column_vs_row(rng):
    # u[:, 0] and u[0, :] have equal shapes only for square u
    calls = [(R(rng, 3, 3),), (R(rng, 1, 3),), (R(rng, 3, 1),), (R(rng, 2, 2),)]
    _check_sequence(column_vs_row, calls, 0, jf=j_column_vs_row)


def ellipsis_and_newaxis(u):
    a = u[..., 1:]
    b = u[..., :-1]
    c = u[None, 1:]
    return np.sum(a * b * a) + np.sum(c * a)


def j_ellipsis_and_newaxis(u):
    import jax.numpy as jnp
    a = u[..., 1:]
    b = u[..., :-1]
    c = u[None, 1:]
    return jnp.sum(a * b * a) + jnp.sum(c * a)


def test_slices_ellipsis_and_newaxis(rng):
    # indices the shape keys do not model (..., None) next to plain slices
    _check_sequence(ellipsis_and_newaxis, [(R(rng, 4),), (R(rng, 2),), (R(rng, 3),)], 0, jf=j_ellipsis_and_newaxis)


def grow_from_slice(u):
    s = u[0:1]
    for i in range(3):
        s = s + u
    return np.sum(s * s)


def j_grow_from_slice(u):
    import jax.numpy as jnp
    s = u[0:1]
    for i in range(3):
        s = s + u
    return jnp.sum(s * s)


def test_slices_name_rebound_to_a_bigger_shape(rng):
    # s = u[0:1]; s = s + u: the name's bindings disagree on the shape
    _check_sequence(grow_from_slice, [(R(rng, 3),), (R(rng, 1),), (R(rng, 2, 3),)], 0, jf=j_grow_from_slice)


def twin_slices(u, v):
    a = u[1:]
    b = v[1:]
    return np.sum(a * b * a)


def j_twin_slices(u, v):
    import jax.numpy as jnp
    a = u[1:]
    b = v[1:]
    return jnp.sum(a * b * a)


def test_slices_of_twins_and_of_broadcast_partners(rng):
    # u[1:] and v[1:] share a key only when u and v are twins
    calls = [(R(rng, 3), R(rng, 3)), (R(rng, 3), R(rng, 2)), (R(rng, 3, 2), R(rng, 2)), (R(rng, 3, 2), R(rng, 3, 2)),
             (R(rng, 2, 2), R(rng, 2)), (R(rng, 3), R(rng, 3))]
    _check_sequence(twin_slices, calls, (0, 1), jf=j_twin_slices)


def int_name_index(u):
    i = 0
    a = u[i]
    b = u[1]
    return np.sum(a * b * a)


def test_slices_integer_index_by_name_and_constant(rng):
    # u[i] (a name) vs u[1] (a constant): numbers on 1-D, rows on 2-D
    _check_sequence(int_name_index, [(R(rng, 3),), (R(rng, 2, 3),), (R(rng, 2),)], 0)


# == 3. snapshots of arrays written in place ==========================================================

def fill_then_aux(x):
    y = x.copy()
    for i in range(1, 3):
        y[i] = y[i - 1] * x[i]
    return np.sum(y * y), y


def test_snapshot_has_aux_returns_written_array(rng):
    # has_aux / value_and_grad return the array the loop wrote (the backward pass must not change it)
    x = R(rng, 3)
    g, aux = sourcediff.grad(fill_then_aux, has_aux=True)(x.copy())
    (v, aux2), g2 = sourcediff.value_and_grad(fill_then_aux, has_aux=True)(x.copy())
    value, expected_aux = fill_then_aux(x.copy())
    expected = _fd(lambda z: fill_then_aux(z)[0], (x,), 0)
    np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(g2, expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(aux, expected_aux)
    np.testing.assert_allclose(aux2, expected_aux)
    assert v == pytest.approx(value)


def write_after_sum_aux(x):
    y = x.copy()
    s = np.sum(y * y)
    y[1:] += x[:-1]
    return s + np.sum(y), {"y": y, "l": [y]}


def test_snapshot_aux_pytree_holding_written_array(rng):
    # the aux output holds the written array twice (dict and list)
    x = R(rng, 3)
    g, aux = sourcediff.grad(write_after_sum_aux, has_aux=True)(x.copy())
    _, expected_aux = write_after_sum_aux(x.copy())
    np.testing.assert_allclose(g, _fd(lambda z: write_after_sum_aux(z)[0], (x,), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(aux["y"], expected_aux["y"])
    np.testing.assert_allclose(aux["l"][0], expected_aux["y"])


def list_read_before_write(x):
    y = x.copy()
    lst = [y]
    q = lst[0] * x
    y[0] = 5.0
    return np.sum(q * q) + np.sum(y * y)


def tuple_read_before_write(x):
    y = x.copy()
    t = (y, 1.0)
    q = x * t[0]
    y[1] = 0.0
    return np.sum(q * q)


def appended_read_before_write(x):
    y = x.copy()
    lst = []
    lst.append(y)
    q = x * lst[0]
    y[0] = 0.0
    return np.sum(q * q) + np.sum(y)


def view_read_before_write(x):
    y = np.ones(3)
    d = y[0:3]
    q = d * x
    y[0] = x[0]
    return np.sum(q * q) + np.sum(y * y)


def alias_read_before_write(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] * x[i]
    w = y
    q = w * x
    y[0] = 1.0
    return np.sum(q * q) + np.sum(y)


def row_view_after_fill(x):
    y = np.zeros((3, 3))
    for i in range(3):
        y[i] = x * i
    row = y[1]
    q = row * x
    y[1, 1] = 0.0
    return np.sum(q * q)


def sum_of(a, b):
    return np.sum(a * b)


def helper_reads_then_write(x):
    y = x.copy()
    s = sum_of(y, x)
    y[0] = 2.0
    return s * np.sum(y * y)


@pytest.mark.parametrize("f", [list_read_before_write, tuple_read_before_write, appended_read_before_write,
                               view_read_before_write, alias_read_before_write, row_view_after_fill,
                               helper_reads_then_write], ids=lambda f: f.__name__)
def test_snapshot_container_view_alias_helper_read_before_a_write(f, rng):
    # the written array (a new one) is read through a list / tuple / view / alias / helper before the write
    # (a container read after a write into what it holds is refused: test_inplace.py)
    check_grads(f, (R(rng, 3),), argnums=0, rtol=1e-6, atol=1e-8)


def branch_writes(x, c):
    y = x.copy()
    q = y * x
    if c > 0:
        y[0] = c
    else:
        y[1] = -c
    return np.sum(q * q) + np.sum(y * y)


def test_snapshot_writes_in_if_branches(rng):
    # a write in each branch of an if, with a read of the array before both
    _check_sequence(branch_writes, [(R(rng, 3), 0.5), (R(rng, 3), -0.5)], (0, 1))


def row_read_then_later_row_written(x):
    y = x.copy()
    s = 0.0
    for i in range(2):
        r = y[i]
        y[i + 1] = y[i + 1] * 2.0
        s = s + np.sum(r * r)
    return s


def element_read_then_written(x):
    y = x.copy()
    s = 0.0
    for i in range(2):
        e = y[i, 0]
        y[i + 1, 0] = e * 2.0
        s = s + e * e
    return s + np.sum(y * y)


def slice_read_write_then_increment(x, d):
    y = x.copy()
    a = y[1:3]
    y[1] = 5.0
    y[1:3] = a + d
    return np.sum(y * y)


def test_snapshot_views_read_after_a_write_are_refused(rng):
    # a view (row, slice) read after its array was written: refused, not differentiated wrongly
    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(row_read_then_later_row_written, argnums=0)(R(rng, 3, 2))


def test_a_slice_read_after_a_write_is_read_again(rng):
    # a = y[1:3] shows y[1] = 5.0: the read of a after the write reads y[1:3] again
    check_grads(slice_read_write_then_increment, (R(rng, 4), 0.5), argnums=(0, 1))


def test_elements_read_before_a_write_are_numbers(rng):
    # y[i, 0] of a matrix is a number, not a view: checked when it runs, and differentiated
    check_grads(element_read_then_written, (R(rng, 3, 2),), argnums=0)


# == 4. increments x[idx] = x[idx] + d ================================================================

IDX = np.array([0, 2, 0, 1])
IDX2 = np.array([2, 0, 1, 1])


def inc_repeated(x, d):
    y = x.copy()
    y[IDX] = y[IDX] + d
    return np.sum(y * y)


def j_inc_repeated(x, d):
    import jax.numpy as jnp
    # NumPy keeps the last write of each repeated index: element k gets d at its last position
    last = {int(k): j for j, k in enumerate(IDX)}
    y = x
    for k, j in last.items():
        y = y.at[k].set(x[k] + jnp.broadcast_to(d, IDX.shape)[j])
    return jnp.sum(y * y)


def test_increment_repeated_integer_indices(rng):
    # repeated indices: only the last write of each element survives (and gets d's adjoint)
    calls = [(R(rng, 3), R(rng, 4)), (R(rng, 3), 1.5), (R(rng, 4), R(rng, 1))]
    _check_sequence(inc_repeated, calls, (0, 1))
    _against_jax(inc_repeated, j_inc_repeated, (R(rng, 3), R(rng, 4)), (0, 1))


def inc_mask(x, d):
    y = x.copy()
    m = y > 0
    y[m] = y[m] + d
    return np.sum(y * y)


def j_inc_mask(x, d):
    import jax.numpy as jnp
    y = jnp.where(x > 0, x + d, x)
    return jnp.sum(y * y)


def test_increment_boolean_mask(rng):
    # a mask index: every element at most once
    x = np.array([0.3, -1.2, 0.8, 1.1])
    check_grads(inc_mask, (x, 0.7), argnums=(0, 1), rtol=1e-6, atol=1e-8)
    _against_jax(inc_mask, j_inc_mask, (x, 0.7), (0, 1))


def inc_tail(x, d):
    y = x.copy()
    y[1:] = y[1:] + d
    return np.sum(y * y * y)


def j_inc_tail(x, d):
    import jax.numpy as jnp
    y = x.at[1:].add(d)
    return jnp.sum(y * y * y)


def test_increment_broadcast_d(rng):
    # d a number, (1,), (n-1,), (k,) against 2-D, (n-1, 1)
    calls = [(R(rng, 4), R(rng, 3)), (R(rng, 4), 0.5), (R(rng, 4), R(rng, 1)), (R(rng, 4, 2), R(rng, 2)),
             (R(rng, 4, 2), R(rng, 3, 1)), (R(rng, 4, 2), R(rng, 3, 2))]
    _check_sequence(inc_tail, calls, (0, 1), jf=None)
    _against_jax(inc_tail, j_inc_tail, (R(rng, 4, 2), R(rng, 3, 1)), (0, 1))


def inc_index_changes(x, d):
    y = x.copy()
    i = 0
    a = y[i]
    i = 1
    y[i] = a + d
    return np.sum(y * y)


def inc_doubled(x):
    y = x.copy()
    y[1] = y[1] + y[1]
    return np.sum(y * y)


def inc_reversed_operands(x, d):
    y = x.copy()
    y[IDX] = d + y[IDX]
    return np.sum(y * y)


def inc_overlapping_minus(x):
    y = x.copy()
    y[IDX] = y[IDX] - y[IDX2]
    return np.sum(y * y)


def inc_column_minus(x, d):
    y = x.copy()
    y[:, 1] -= d
    return np.sum(y * y)


def inc_into_int_array(x, d):
    y = np.zeros(4, dtype=int)
    y[1] = y[1] + d
    return np.sum(y * x)


def inc_loop_chain(x, d):
    y = x.copy()
    for i in range(3):
        y[i] = y[i] + d * y[i + 1]
    return np.sum(y * y)


def inc_loop_shift(x, d):
    y = x.copy()
    for i in range(3):
        y[i + 1] = y[i] + d
    return np.sum(y * y)


def inc_shift_up(x, d):
    y = x.copy()
    y[1:] = y[1:] + y[:-1] * d
    return np.sum(y * y)


def inc_shift_down(x, d):
    y = x.copy()
    y[:-1] = y[:-1] + y[1:] * d
    return np.sum(y * y)


def inc_index_array_written_between(x, d):
    y = x.copy()
    k = np.array([1, 1])
    a = y[k]
    k[0] = 0
    y[k] = a + d
    return np.sum(y * y)


@pytest.mark.parametrize("f, args", [
    (inc_index_changes, lambda r: (R(r, 3), 0.5)),
    (inc_doubled, lambda r: (R(r, 3),)),
    (inc_reversed_operands, lambda r: (R(r, 3), R(r, 4))),
    (inc_reversed_operands, lambda r: (R(r, 3), 0.5)),
    (inc_overlapping_minus, lambda r: (R(r, 3),)),
    (inc_column_minus, lambda r: (R(r, 2, 3), R(r, 2))),
    (inc_column_minus, lambda r: (R(r, 2, 3), 0.5)),
    (inc_into_int_array, lambda r: (R(r, 4), 1.5)),
    (inc_loop_chain, lambda r: (R(r, 4), 0.5)),
    (inc_loop_shift, lambda r: (R(r, 4), 0.5)),
    (inc_shift_up, lambda r: (R(r, 4), R(r, 3))),
    (inc_shift_up, lambda r: (R(r, 4, 2), R(r, 2))),
    (inc_shift_down, lambda r: (R(r, 4), 0.5)),
    (inc_index_array_written_between, lambda r: (R(r, 4), R(r, 2))),
], ids=lambda v: getattr(v, "__name__", "args"))
def test_increment_variants(f, args, rng):
    # index changed between read and write, x[i] + x[i], d + x[idx], overlapping idx/idx2, -=, int arrays,
    # loops, shifted slices, an index array written between the read and the write
    a = args(rng)
    check_grads(f, a, argnums=tuple(range(len(a))), rtol=1e-6, atol=1e-8)


def j_inc_overlapping_minus(x):
    import jax.numpy as jnp
    last = {int(k): j for j, k in enumerate(IDX)}
    y = x
    for k, j in last.items():
        y = y.at[k].set(x[k] - x[IDX2[j]])
    return jnp.sum(y * y)


def test_increment_overlapping_minus_against_jax(rng):
    # x[idx] = x[idx] - x[idx2] with overlapping, repeated indices
    _against_jax(inc_overlapping_minus, j_inc_overlapping_minus, (R(rng, 3),), 0)


# == 5. np.add.at / np.subtract.at ===================================================================

def add_at_repeated(x, d):
    y = x.copy()
    np.add.at(y, IDX, d)
    return np.sum(y * y * y)


def j_add_at_repeated(x, d):
    import jax.numpy as jnp
    y = x.at[IDX].add(jnp.broadcast_to(d, IDX.shape + x.shape[1:]))
    return jnp.sum(y * y * y)


def test_add_at_repeated_and_broadcast_values(rng):
    # repeated indices accumulate; d of the index shape, a number, (1,), 2-D rows, (4, 1)
    calls = [(R(rng, 3), R(rng, 4)), (R(rng, 3), 0.5), (R(rng, 3), R(rng, 1)), (R(rng, 3, 2), R(rng, 4, 2)),
             (R(rng, 3, 2), R(rng, 2)), (R(rng, 3, 2), R(rng, 4, 1))]
    _check_sequence(add_at_repeated, calls, (0, 1))
    for x, d in [(R(rng, 3), R(rng, 4)), (R(rng, 3, 2), R(rng, 4, 1))]:
        _against_jax(add_at_repeated, j_add_at_repeated, (x, d), (0, 1))


def subtract_at_squared(x, d):
    y = x.copy()
    np.subtract.at(y, IDX, d * d)
    return np.sum(np.sin(y) * y)


def j_subtract_at_squared(x, d):
    import jax.numpy as jnp
    y = x.at[IDX].add(-jnp.broadcast_to(d * d, IDX.shape))
    return jnp.sum(jnp.sin(y) * y)


def test_subtract_at(rng):
    # np.subtract.at with repeated indices and a computed value
    for d in [R(rng, 4), 0.5]:
        check_grads(subtract_at_squared, (R(rng, 3), d), argnums=(0, 1), rtol=1e-6, atol=1e-8)
        _against_jax(subtract_at_squared, j_subtract_at_squared, (R(rng, 3), d), (0, 1))


def add_at_tuple_index(x, d):
    y = x.copy()
    np.add.at(y, (np.array([0, 0, 1]), np.array([1, 1, 2])), d)
    return np.sum(y * y)


def j_add_at_tuple_index(x, d):
    import jax.numpy as jnp
    y = x.at[(np.array([0, 0, 1]), np.array([1, 1, 2]))].add(d)
    return jnp.sum(y * y)


def add_at_slice_and_array(x, d):
    y = x.copy()
    np.add.at(y, (slice(None), np.array([0, 0, 2])), d)
    return np.sum(y * y * y)


def j_add_at_slice_and_array(x, d):
    import jax.numpy as jnp
    y = x.at[:, np.array([0, 0, 2])].add(d)
    return jnp.sum(y * y * y)


def add_at_array_and_slice(x, d):
    y = x.copy()
    np.add.at(y, (np.array([1, 1]), slice(0, 2)), d)
    return np.sum(np.sin(y) * y)


def j_add_at_array_and_slice(x, d):
    import jax.numpy as jnp
    y = x.at[np.array([1, 1]), 0:2].add(d)
    return jnp.sum(jnp.sin(y) * y)


def add_at_negative(x, d):
    y = x.copy()
    np.add.at(y, np.array([-1, 2, -3]), d)
    return np.sum(y * y * y)


def j_add_at_negative(x, d):
    import jax.numpy as jnp
    y = x.at[np.array([-1, 2, -3])].add(d)
    return jnp.sum(y * y * y)


def add_at_scalar_index_twice(x, d):
    y = x.copy()
    np.add.at(y, 1, d)
    np.add.at(y, 1, d)
    return np.sum(y * y * y)


def j_add_at_scalar_index_twice(x, d):
    import jax.numpy as jnp
    y = x.at[1].add(d).at[1].add(d)
    return jnp.sum(y * y * y)


@pytest.mark.parametrize("f, jf, args", [
    (add_at_tuple_index, j_add_at_tuple_index, lambda r: (R(r, 2, 3), R(r, 3))),
    (add_at_tuple_index, j_add_at_tuple_index, lambda r: (R(r, 2, 3), 0.5)),
    (add_at_slice_and_array, j_add_at_slice_and_array, lambda r: (R(r, 2, 3), R(r, 2, 3))),
    (add_at_slice_and_array, j_add_at_slice_and_array, lambda r: (R(r, 2, 3), R(r, 2, 1))),
    (add_at_array_and_slice, j_add_at_array_and_slice, lambda r: (R(r, 2, 3), R(r, 2, 2))),
    (add_at_negative, j_add_at_negative, lambda r: (R(r, 3), R(r, 3))),
    (add_at_scalar_index_twice, j_add_at_scalar_index_twice, lambda r: (R(r, 3, 2), R(r, 2))),
], ids=lambda v: getattr(v, "__name__", "args"))
def test_add_at_index_kinds(f, jf, args, rng):
    # tuple indices with repeats, slices mixed with index arrays, negative indices, a scalar index twice
    a = args(rng)
    check_grads(f, a, argnums=(0, 1), rtol=1e-6, atol=1e-8)
    _against_jax(f, jf, a, (0, 1))


def add_at_mask(x, d):
    y = x.copy()
    m = x > 0
    np.add.at(y, m, d)
    return np.sum(y * y)


def add_at_in_loop(x, d):
    y = np.zeros(3)
    for i in range(3):
        np.add.at(y, np.array([i, 0]), d * x[i])
    return np.sum(y * y)


def add_at_index_array_mutated(x, d):
    y = x.copy()
    idx = np.array([0, 0, 1])
    np.add.at(y, idx, d)
    idx[0] = 2
    np.subtract.at(y, idx, d)
    return np.sum(y * y * y)


def add_at_into_int_array(x, d):
    y = np.zeros(3, dtype=int)
    np.add.at(y, IDX, d)
    return np.sum(y * x)


def add_at_argument(x, d):
    np.add.at(x, IDX, d)
    return np.sum(x * x)


def add_at_read_before(x, d):
    y = x.copy()
    s = np.sum(y * y)
    np.add.at(y, IDX, d)
    return s * np.sum(y * y)


@pytest.mark.parametrize("f, args", [
    (add_at_mask, lambda r: (np.array([0.5, -1.0, 2.0, 0.3]), 0.5)),
    (add_at_in_loop, lambda r: (R(r, 3), 0.5)),
    (add_at_index_array_mutated, lambda r: (R(r, 3), R(r, 3))),
    (add_at_into_int_array, lambda r: (R(r, 3), 1.7)),
    (add_at_argument, lambda r: (R(r, 3), R(r, 4))),
    (add_at_read_before, lambda r: (R(r, 3), R(r, 4))),
], ids=lambda v: getattr(v, "__name__", "args"))
def test_add_at_masks_loops_mutation(f, args, rng):
    # a mask, a loop of add.at, an index array changed between two calls, an int target, the argument itself
    a = args(rng)
    got = sourcediff.grad(f, argnums=(0, 1))(*_copies(a))
    for g, i in zip(got, (0, 1)):
        np.testing.assert_allclose(g, _fd(f, a, i), rtol=1e-6, atol=1e-8)


# == 6. names bound several times ====================================================================

def euler(x0, v, dt):
    x = x0.copy()
    for i in range(3):
        x = x + dt * v
    return np.sum(x * x)


def j_euler(x0, v, dt):
    import jax.numpy as jnp
    x = x0
    for i in range(3):
        x = x + dt * v
    return jnp.sum(x * x)


def test_rebound_state_twins_and_broadcasts(rng):
    # x = x0.copy(); x = x + dt * v: v twin of x0, broadcast to it, bigger than it, a number, dt an array
    calls = [(R(rng, 3), R(rng, 3), 0.1), (R(rng, 3), R(rng, 1), 0.1), (R(rng, 1), R(rng, 3), 0.1),
             (R(rng, 3), 0.5, 0.1), (R(rng, 2, 3), R(rng, 3), 0.1), (R(rng, 3), R(rng, 2, 3), 0.1),
             (R(rng, 3), R(rng, 3), R(rng, 3))]
    _check_sequence(euler, calls, (0, 1, 2), jf=j_euler)


def becomes_number(x0, v):
    x = x0.copy()
    for i in range(3):
        x = x * v
        x = np.sum(x)
        x = x + v
    return np.sum(x * x)


def j_becomes_number(x0, v):
    import jax.numpy as jnp
    x = x0
    for i in range(3):
        x = x * v
        x = jnp.sum(x)
        x = x + v
    return jnp.sum(x * x)


def test_rebound_to_a_number_and_back(rng):
    # a name bound to an array, then a number, then an array again, in one loop body
    calls = [(R(rng, 3), R(rng, 3)), (R(rng, 3), R(rng, 1)), (R(rng, 1), R(rng, 3)), (R(rng, 3), 0.5)]
    _check_sequence(becomes_number, calls, (0, 1), jf=j_becomes_number)


def shrinking(x0, v):
    x = x0.copy()
    for i in range(2):
        x = x[1:] + v[:-1]
        v = v[1:] * 1.0
    return np.sum(x * x)


def j_shrinking(x0, v):
    import jax.numpy as jnp
    x = x0
    for i in range(2):
        x = x[1:] + v[:-1]
        v = v[1:] * 1.0
    return jnp.sum(x * x)


def test_rebound_shrinking_each_step(rng):
    # both names lose an element every iteration
    _check_sequence(shrinking, [(R(rng, 4), R(rng, 4)), (R(rng, 5), R(rng, 5))], (0, 1), jf=j_shrinking)


def number_or_array_branch(x0, v, c):
    x = 0.0
    for i in range(3):
        if c > 0:
            x = x + x0
        else:
            x = x + c
        x = x * v
    return np.sum(x * x)


def test_rebound_number_in_one_branch(rng):
    # x starts as a number and becomes an array only in one branch
    calls = [(R(rng, 3), R(rng, 3), 1.0), (R(rng, 3), R(rng, 3), -1.0), (R(rng, 1), R(rng, 3), 1.0),
             (R(rng, 3), R(rng, 1), 1.0), (R(rng, 3), 2.0, -1.0)]
    _check_sequence(number_or_array_branch, calls, (0, 1))


def swap_roles(a, b):
    x = a
    y = b
    for i in range(3):
        t = x
        x = y * 1.0
        y = t + y
    return np.sum(x * y * x)


def j_swap_roles(a, b):
    import jax.numpy as jnp
    x = a
    y = b
    for i in range(3):
        t = x
        x = y * 1.0
        y = t + y
    return jnp.sum(x * y * x)


def test_rebound_names_swapping_shapes(rng):
    # two names exchange values each step: their shapes swap when the arguments differ in shape
    calls = [(R(rng, 3), R(rng, 3)), (R(rng, 3), R(rng, 1)), (R(rng, 1), R(rng, 3)), (2.0, R(rng, 3)),
             (R(rng, 3), 2.0), (R(rng, 2, 3), R(rng, 3))]
    _check_sequence(swap_roles, calls, (0, 1), jf=j_swap_roles)


# == 7. helpers ======================================================================================

def number_or_array(a, b):
    if b > 0:
        return a * b
    return np.ones(3) * b


def calls_number_or_array(x, b):
    s = number_or_array(x[0], b)
    t = s * x
    return np.sum(t * t)


def total(a):
    return np.sum(a)


def calls_total(x, y):
    s = total(x)
    t = s * y
    return np.sum(t * t)


def pair(a, b):
    return a * b, a + b


def calls_pair(x, c):
    p, q = pair(c, x)
    return np.sum(p * q * x)


def identity(a):
    return a


def calls_identity(x, c):
    s = identity(c)
    t = identity(x)
    u = s * t
    return np.sum(u * u)


def early(a, x):
    for i in range(3):
        if i == 1:
            return x
    return a


def calls_early(x, c):
    s = early(c, x)
    t = s * x
    return np.sum(t * t)


def zero_d(a):
    return np.array(a * 2.0)


def calls_zero_d(x, c):
    s = zero_d(c)
    t = s * x
    return np.sum(t * t)


def product(a, b):
    return a * b


def calls_product_twice(x, y):
    s = product(x, y)
    t = product(x, x)
    return np.sum(s * t)


@pytest.mark.parametrize("f, calls", [
    (calls_number_or_array, lambda r: [(R(r, 3), 2.0), (R(r, 3), -2.0)]),
    (calls_total, lambda r: [(R(r, 3), R(r, 3)), (R(r, 3), R(r, 2)), (R(r, 2, 3), R(r, 3))]),
    (calls_pair, lambda r: [(R(r, 3), 2.0), (R(r, 1), 2.0)]),
    (calls_identity, lambda r: [(R(r, 3), 2.0), (R(r, 3), R(r, 3)), (R(r, 3), R(r, 1)), (R(r, 3), np.float64(1.5)),
                                (R(r, 3), np.array(1.5))]),
    (calls_early, lambda r: [(R(r, 3), 2.0), (R(r, 2), 0.5)]),
    (calls_zero_d, lambda r: [(R(r, 3), 2.0)]),
    (calls_product_twice, lambda r: [(R(r, 3), R(r, 3)), (R(r, 3), R(r, 1)), (R(r, 2, 3), R(r, 3)),
                                     (R(r, 3), R(r, 2, 3))]),
], ids=lambda v: getattr(v, "__name__", "calls"))
def test_helpers_numbers_sometimes(f, calls, rng):
    # helpers that return numbers for some arguments and arrays for others, 0-d arrays, tuples, early returns
    _check_sequence(f, calls(rng), (0, 1))


def diffuse(u, k):
    u[1:-1] += k * (u[2:] - 2 * u[1:-1] + u[:-2])


def heat(u0, k):
    u = u0.copy()
    for i in range(3):
        diffuse(u, k)
    return np.sum(u * u)


def diffuse_and_report(u, k):
    u[1:-1] = u[1:-1] + k * (u[2:] - 2 * u[1:-1] + u[:-2])
    return u[0] * k


def heat_with_report(u0, k):
    u = u0.copy()
    s = 0.0
    for i in range(3):
        s = s + diffuse_and_report(u, k)
    return np.sum(u * u) + s


def j_heat(u0, k):
    import jax.numpy as jnp
    u = u0
    for i in range(3):
        u = u.at[1:-1].add(k * (u[2:] - 2 * u[1:-1] + u[:-2]))
    return jnp.sum(u * u)


def test_helpers_writing_into_their_argument(rng):
    # a helper writes into its array argument (u[1:-1] += ...), with and without a number returned
    _check_sequence(heat, [(R(rng, 6), 0.1), (R(rng, 5), 0.2), (R(rng, 3), 0.3)], (0, 1))
    _check_sequence(heat_with_report, [(R(rng, 6), 0.1), (R(rng, 5), 0.2)], (0, 1))
    _against_jax(heat, j_heat, (R(rng, 6), 0.1), (0, 1))


def power_tower(x, n):
    if n == 0:
        return x
    return power_tower(x * x, n - 1) + x


def calls_power_tower(x):
    s = power_tower(x, 2)
    return np.sum(s)


def test_helpers_recursion(rng):
    # a recursive helper, called with an array and then a number
    _check_sequence(calls_power_tower, [(R(rng, 3),), (0.7,), (R(rng, 2, 2),)], 0)


# == 8. in-place accumulation into adjoints of reads ==================================================

def shared_slice(x):
    a = x[1:]
    b = a
    c = x[0]
    d = b[0]
    return np.sum(a * b) * c + d * d


def j_shared_slice(x):
    import jax.numpy as jnp
    a = x[1:]
    b = a
    c = x[0]
    d = b[0]
    return jnp.sum(a * b) * c + d * d


def same_element(x):
    a = x[0]
    b = x[0]
    c = x[-1]
    return a * b * c + np.sin(x[0])


def j_same_element(x):
    import jax.numpy as jnp
    a = x[0]
    b = x[0]
    c = x[-1]
    return a * b * c + jnp.sin(x[0])


def overlapping_windows(x):
    a = x[0:2]
    b = x[1:3]
    c = x[1]
    return np.sum(a * b) * c


def j_overlapping_windows(x):
    import jax.numpy as jnp
    a = x[0:2]
    b = x[1:3]
    c = x[1]
    return jnp.sum(a * b) * c


def loop_reads(x):
    s = 0.0
    for i in range(3):
        s = s + x[i] * x[i + 1] + x[-1]
    return s


def j_loop_reads(x):
    s = 0.0
    for i in range(3):
        s = s + x[i] * x[i + 1] + x[-1]
    return s


@pytest.mark.parametrize("f, jf, shapes", [
    (shared_slice, j_shared_slice, [(3,), (2,)]),
    (same_element, j_same_element, [(3,), (1,)]),
    (overlapping_windows, j_overlapping_windows, [(3,), (4,)]),
    (loop_reads, j_loop_reads, [(4,), (5,)]),
], ids=lambda v: getattr(v, "__name__", "shapes"))
def test_inplace_accumulation_of_reads(f, jf, shapes, rng):
    # a slice aliased by another name, one element read twice (also x[-1] of a 1-element array),
    # overlapping windows, element reads in a loop
    _check_sequence(f, [(R(rng, *s),) for s in shapes], 0, jf=jf)


def rows_and_elements(x):
    r = x[1]
    e = x[1, 2]
    f = x[:, 0]
    return np.sum(r * r) * e + np.sum(f * e)


def aliased_argument(x):
    y = x
    a = y[0]
    b = x[0]
    c = y[1:]
    return a * b * np.sum(c * c)


def tuple_of_same(x):
    t = (x, x)
    a = t[0][0]
    b = t[1][1]
    return a * b


def alias_of_product(x):
    y = x * 2.0
    a = y[0]
    z = y
    b = z[0]
    return a * b + np.sum(y)


def branch_reads(x):
    s = 0.0
    for i in range(3):
        if x[i] > 0:
            a = x[i]
        else:
            a = x[0]
        s = s + a * x[i]
    return s


def list_of_same(x):
    lst = [x, x * 2.0]
    a = lst[0][1]
    b = lst[1][1]
    c = x[1]
    return a * b * c


def two_arguments_same_element(x, y):
    a = x[0]
    b = y[0]
    c = x[0]
    return a * b * c


@pytest.mark.parametrize("f, args", [
    (rows_and_elements, lambda r: (R(r, 2, 3),)),
    (rows_and_elements, lambda r: (R(r, 3, 3),)),
    (aliased_argument, lambda r: (R(r, 3),)),
    (tuple_of_same, lambda r: (R(r, 3),)),
    (alias_of_product, lambda r: (R(r, 1),)),
    (branch_reads, lambda r: (np.array([0.5, -1.0, 2.0, 0.3]),)),
    (list_of_same, lambda r: (R(r, 3),)),
    (two_arguments_same_element, lambda r: (R(r, 1), R(r, 1))),
    (two_arguments_same_element, lambda r: (R(r, 2), R(r, 3))),
], ids=lambda v: getattr(v, "__name__", "args"))
def test_inplace_accumulation_shared_adjoints(f, args, rng):
    # rows vs elements of 2-D arrays, aliases of arguments, tuples/lists holding one array twice, branches
    a = args(rng)
    check_grads(f, a, argnums=tuple(range(len(a))), rtol=1e-6, atol=1e-8)


def test_inplace_accumulation_int_and_float32(rng):
    # reads of an int array (gradient float64) and of a float32 array (precision only)
    d = sourcediff.grad(same_element)
    xi = np.array([2, -1, 3])
    np.testing.assert_allclose(d(xi), _fd(same_element, (xi,), 0), rtol=1e-6, atol=1e-8)
    x32 = R(rng, 3).astype(np.float32)
    g = d(x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, _fd(same_element, (x32,), 0), rtol=1e-4, atol=1e-4)


# == more: stores whose value fits the slot, writes through views, helpers and loops ===================

def store_tail_from_twin(x, v):
    y = x.copy()
    y[1:] = v[1:] * 2.0
    return np.sum(y * y * x)


def store_stencil_from_twin(x, v):
    y = x.copy()
    y[1:-1] = v[2:] - v[:-2]
    return np.sum(y * y)


def store_whole(x, v):
    y = np.zeros_like(x)
    y[:] = v
    return np.sum(y * y * x)


def store_first(x, v):
    y = x.copy()
    y[0] = v
    return np.sum(y * y)


def test_store_value_key_vs_slot_key(rng):
    # y[s] = v: v's key equals the slot's key only for twins; broadcast, numbers, 0-d arrays, rows
    _check_sequence(store_tail_from_twin, [(R(rng, 3), R(rng, 3)), (R(rng, 3), R(rng, 2)), (R(rng, 2, 3), R(rng, 2, 3)),
                                           (R(rng, 2, 3), R(rng, 2, 1)), (R(rng, 4), R(rng, 4))], (0, 1))
    _check_sequence(store_stencil_from_twin, [(R(rng, 4), R(rng, 4)), (R(rng, 4), R(rng, 3)), (R(rng, 4, 2), R(rng, 4, 2)),
                                              (R(rng, 4, 2), R(rng, 4, 1))], (0, 1))
    _check_sequence(store_whole, [(R(rng, 3), R(rng, 3)), (R(rng, 3), R(rng, 1)), (R(rng, 3), 2.0),
                                  (R(rng, 2, 3), R(rng, 3)), (R(rng, 2, 3), R(rng, 2, 1)), (R(rng, 3), np.array(2.0))], (0, 1))
    _check_sequence(store_first, [(R(rng, 3), 2.0), (R(rng, 3), np.array(2.0)), (R(rng, 2, 3), R(rng, 3)),
                                  (R(rng, 2, 3), R(rng, 1)), (R(rng, 2, 3), 2.0), (R(rng, 3), np.float64(2.0))], (0, 1))


IDX3 = np.array([0, 1, 0])


def add_at_through_view(x, d):
    y = x.copy()
    v = y[1:]
    np.add.at(v, IDX3, d)
    return np.sum(y * y * y)


def increment_through_view(x, d):
    y = x.copy()
    v = y[1:]
    v[0] = v[0] + d
    return np.sum(y * y * y)


def write_reshaped_view(x, d):
    y = x.copy()
    v = y.reshape(2, 2)
    v[0, 1] = d
    return np.sum(y * y * y)


def write_transposed_view(x, d):
    y = x.copy()
    v = y.T
    v[0, 1] = d
    return np.sum(y * y * y)


def test_writes_through_views_are_refused(rng):
    # writes (add.at, increments, stores) through a slice / reshape / .T view of a new array: refused
    for f, args in [(add_at_through_view, (R(rng, 4), R(rng, 3))), (increment_through_view, (R(rng, 4), 0.5)),
                    (write_reshaped_view, (R(rng, 4), 0.5)), (write_transposed_view, (R(rng, 2, 2), 0.5))]:
        with pytest.raises(sourcediff.SourcediffError):
            sourcediff.grad(f, argnums=(0, 1))(*args)


def write_one_from_other(u, v):
    u[0] = v[1] * 2.0


def same_array_twice(x):
    y = x.copy()
    write_one_from_other(y, y)
    return np.sum(y * y)


def test_helper_writing_into_an_argument_passed_twice_is_refused(rng):
    # h(y, y) where h writes into its first parameter and reads its second
    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(same_array_twice)(R(rng, 3))


def view_read_before_helper_write(x, k):
    y = x.copy()
    v = y[1:]
    q = v * x[1:]
    diffuse(y, k)
    return np.sum(q * q) + np.sum(y * y)


def write_if_positive(u, c):
    if c > 0:
        u[0] = c * u[1]
    return c


def calls_write_if_positive(x, c):
    y = x.copy()
    s = write_if_positive(y, c)
    return np.sum(y * y) * s


def fill_with_helper_numbers(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = sum_of(x[i:], x[i:])
    return np.sum(y * y)


def helper_on_slice_pairs(x):
    s = product(x[1:], x[:-1])
    t = product(x[::2], x[1::2])
    return np.sum(s * s) + np.sum(t * t)


@pytest.mark.parametrize("f, calls", [
    (view_read_before_helper_write, lambda r: [(R(r, 4), 0.1), (R(r, 5), 0.2)]),
    (calls_write_if_positive, lambda r: [(R(r, 3), 0.5), (R(r, 3), -0.5)]),
    (fill_with_helper_numbers, lambda r: [(R(r, 3),)]),
    (helper_on_slice_pairs, lambda r: [(R(r, 4),), (R(r, 3),), (R(r, 2),)]),
], ids=lambda v: getattr(v, "__name__", "calls"))
def test_helpers_writes_numbers_and_slice_twins(f, calls, rng):
    # a view read before a helper writes; a conditional write in a helper; helper numbers stored into
    # elements; a helper specialized on slices that are twins (x[1:], x[:-1]) and not (x[::2], x[1::2])
    c = calls(rng)
    _check_sequence(f, c, tuple(range(len(c[0]))))


def read_then_rescale(x):
    s = 0.0
    for i in range(3):
        s = s + x[0] * x[1]
        x = x * 1.5
    return s


def read_alias_then_rebind(x):
    s = 0.0
    y = x
    for i in range(3):
        s = s + y[i] * x[0]
        y = x
        x = y * 1.1
    return s


def alias_shrinks(x):
    s = 0.0
    t = x
    for i in range(2):
        u = t
        s = s + u[0] * t[1]
        t = u[1:] * 1.0
    return s


def sum_of_twins_read(x, y):
    s = 0.0
    for i in range(2):
        z = x + y
        s = s + z[0] * x[i] * y[i + 1]
        x = z * 0.5
    return s


@pytest.mark.parametrize("f, args", [
    (read_then_rescale, lambda r: (R(r, 3),)),
    (read_alias_then_rebind, lambda r: (R(r, 3),)),
    (alias_shrinks, lambda r: (R(r, 4),)),
    (sum_of_twins_read, lambda r: (R(r, 3), R(r, 3))),
], ids=lambda v: getattr(v, "__name__", "args"))
def test_inplace_accumulation_in_loops_with_rebinding(f, args, rng):
    # element reads accumulated in place while the array name (or an alias) is rebound every iteration
    a = args(rng)
    check_grads(f, a, argnums=tuple(range(len(a))), rtol=1e-6, atol=1e-8)
