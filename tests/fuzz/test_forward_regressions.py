"""Forward-mode and second-derivative failures the fuzzer found, minimized, as regression tests. One still fails
(``xfail(strict=True)``, so that the test turns red once it is fixed: then drop its marker).

Each program is a fuzz reproducer's module part (``python -m tests.fuzz --replay``) with its names
simplified; ``check_grads`` checks reverse mode against finite differences, then forward mode
(``<u, jvp(v)> = <vjp(u), v>``).
"""
from __future__ import annotations

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import check_grads


def multiply_lists(b, c):
    return np.sum(np.multiply([c, b], [c, c]))


def subtract_lists(x):
    return np.sum(np.subtract([0.5, x[0]], [0.5, x[1]]))


def add_lists(x, y):
    return np.sum(np.add([0.5, y[1]], [0.5, x[0]]))


@pytest.mark.parametrize("f, args", [(multiply_lists, (0.9527, 1.47)),
                                     (subtract_lists, (np.array([0.8556, 0.6218, 0.8378]),)),
                                     (add_lists, (np.array([0.7416, 1.456]), np.array([1.0537, 1.0662])))],
                         ids=["np.multiply", "np.subtract", "np.add"])
def test_jvp_of_a_numpy_binary_function_of_python_lists(f, args):
    """Fuzz seeds 100030, 700015, 1200100030, 1200100091, 1200100231, 1200100745, 1200100780: the tangent of a
    NumPy binary function of two Python lists applied Python's operator to the lists of tangents (TypeError, or
    + concatenated them: a broadcast ValueError)."""
    check_grads(f, args)


def rescale(u, k):
    k /= 1.5
    return 1.0


def loop_calls_a_helper_that_rebinds_its_float_parameter(x, a):
    for i in range(1):
        t = rescale(x, np.tanh(a))
        t += t
    return t * a + np.sum(x)


def bump(a, u):
    a -= 0.25


def calls_a_helper_on_a_swapped_float(x):
    a1, b2 = (x[1], 0.5)
    a1, b2 = (b2, a1)
    bump(b2, 1.0)
    return a1 * x[0]


@pytest.mark.parametrize("f, args", [(loop_calls_a_helper_that_rebinds_its_float_parameter, (np.array([0.81]), 0.93)),
                                     (calls_a_helper_on_a_swapped_float, (np.array([1.43, 0.84]),))],
                         ids=["k /= 1.5 in a loop", "a -= 0.25 on a swapped name"])
def test_reverse_mode_accepts_what_forward_mode_accepts(f, args):
    """Fuzz seeds 1200100714, 1200100827, 1200100922, 1302500299, 1302500506, 1302501260 (mode mismatches):
    ``grad(f)`` built the code that knows no argument kinds and refused there (a float's ``k /= 1.5`` in a
    helper taken for a write into its argument); the code for the call's arguments, which forward mode builds
    alone, accepts it. That first refusal now waits for the call."""
    tangents = tuple(np.ones(np.shape(x)) if isinstance(x, np.ndarray) else 1.0 for x in args)
    sourcediff.jvp(f, args, tangents)
    check_grads(f, args)  # reverse mode, then jvp checked against it


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


def subtract_in_place_through_an_alias(x):
    u1 = np.array(x)
    y3 = u1
    y3 -= np.tanh(y3)
    return u1[1]


def test_reverse_over_forward_code_that_writes_in_place_is_refused():
    """Fuzz seeds 1300902340, 1300904200, 1300904230, ...: jacrev(jacfwd(f)) of programs with in-place updates gave
    NaN or wrong second derivatives; it is refused, and forward over forward gives the right one."""
    x = np.array([0.7497, 1.108])
    with pytest.raises(sourcediff.SourcediffError, match="forward-mode code that writes"):
        sourcediff.jacrev(sourcediff.jacfwd(subtract_in_place_through_an_alias))(x)
    expected = np.zeros((2, 2))
    expected[1, 1] = 2.0 * np.tanh(x[1]) * (1.0 - np.tanh(x[1]) ** 2)  # d2/dx2 (x - tanh x)
    np.testing.assert_allclose(sourcediff.jacfwd(sourcediff.jacfwd(subtract_in_place_through_an_alias))(x),
                               expected, rtol=1e-12, atol=1e-14)


W0 = [0.8139, 0.7069, 1.0315]


def dict_entry_set_to_the_argument(x):
    d1 = {'a': 0.5, 'w': W0}
    d1['b'] = x
    return np.sum(d1['w'] * d1['b'])


def test_reverse_over_reverse_of_a_dict_entry_set_to_the_argument():
    """Fuzz seed 1300914000 (a crash): reverse over reverse of a dict entry set to the argument indexed a list
    made of the dict adjoint's keys with the key 'b' (sd.written_part_adjoint); a dict's adjoint is a dict now."""
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(sourcediff.jacrev(sourcediff.grad(dict_entry_set_to_the_argument))(x),
                               np.zeros((3, 3)), atol=1e-14)


def _hessian_by_differences(f, x, *rest, h=1e-5):
    """Central differences of ``grad(f)`` (checked against finite differences itself by the reverse-mode tests)."""
    g = sourcediff.grad(f)
    columns = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        columns.append((g(x + e, *rest) - g(x - e, *rest)) / (2 * h))
    return np.stack(columns, axis=1)


def scale_in_place(u, c):
    u *= 1.0 + c * np.tanh(u)


def loop_calls_a_helper_that_scales_its_argument_in_place(x, a):
    u = x + 0.0
    for i in range(2):
        scale_in_place(u, 0.1 * np.tanh(a))
    return np.sum(u ** 2)


def test_forward_over_forward_through_a_helper_that_writes_a_varied_tangent_into_its_argument():
    """Fuzz seed 1302400700 (jacfwd(jacfwd), silently wrong): the helper's tangent code writes
    ``t_dot = sd.assign_into(u_dot, ...)``, a write into ``u_dot`` under another name; read again, ``u_dot`` was
    not seen to change, and the tangent of its new contents was lost. Such a write is now bound back to
    ``u_dot`` as well, as the user's ``u_dot op= v`` is."""
    f = loop_calls_a_helper_that_scales_its_argument_in_place
    x, a = np.array([0.3, -0.5, 0.8]), 0.7
    expected = _hessian_by_differences(f, x, a)
    for outer, inner in ((sourcediff.jacfwd, sourcediff.jacfwd), (sourcediff.jacfwd, sourcediff.jacrev)):
        np.testing.assert_allclose(outer(inner(f))(x.copy(), a), expected, rtol=1e-6, atol=1e-8)


def views_of_a_scaled_copy_updated_in_a_loop(x):
    s = np.array([x[1], x[2], x[3]])
    s = s * x[0]
    for i in range(1):
        s[1:] *= s[:-1]
    return np.sum(s ** 2)


def test_reverse_over_reverse_of_a_loop_that_writes_into_a_rebound_array():
    """Fuzz seed 1302300810 (jacrev(grad), silently wrong): the gradient's tape held views of ``s`` (bound twice
    before the loop), which its backward pass read after putting ``s`` back; differentiated again, those reads
    were values fixed when pushed. The views are now taken again from ``s`` (only a binding inside the loop
    stops that), and a list holding a view read again is known to hold its array."""
    x = np.array([0.8063, 1.0848, 1.4145, 1.1056, 0.5733])
    expected = _hessian_by_differences(views_of_a_scaled_copy_updated_in_a_loop, x)
    got = sourcediff.jacrev(sourcediff.grad(views_of_a_scaled_copy_updated_in_a_loop))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    gradient = sourcediff.grad(views_of_a_scaled_copy_updated_in_a_loop)
    gradient(x)
    assert "t8 = s[1:]" in gradient.source.split("# backward pass")[1]  # taken again, not popped


def stencil_in_a_loop_that_rescales_first(x):
    s = x * 1.0
    total = 0.0
    for j in range(2):
        s = s * 1.1
        for i in range(2):
            v = s[1:]
            w = s[:-1]
            s[1:] = v * np.tanh(w)
        total = total + np.sum(s ** 2)
    return total


def test_reverse_over_reverse_of_a_stencil_on_an_array_rebound_in_an_outer_loop():
    """Found checking the fix of fuzz seed 1302300810 (jacrev(grad) was off by 0.79 in 10.6): the inner loop's
    views of ``s``, bound again in the outer loop, are taken again from ``s`` in the backward pass too."""
    x = np.array([0.7, 1.2, -0.4, 0.9])
    expected = _hessian_by_differences(stencil_in_a_loop_that_rescales_first, x)
    got = sourcediff.jacrev(sourcediff.grad(stencil_in_a_loop_that_rescales_first))(x)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def real_part_of_a_spectrum_squared(x):
    a = np.fft.rfft(x)
    return np.sum(np.real(a) * np.real(a))


def real_part_of_a_full_spectrum_squared(x):
    a = np.fft.fft(x)
    return np.sum(np.real(a) ** 2) + np.sum(np.imag(a) * np.real(a))


def real_part_of_a_2d_spectrum(x):
    a = np.fft.rfft2(np.reshape(x, (2, 3)))
    return np.sum(np.real(a) ** 2)


@pytest.mark.parametrize("f", [real_part_of_a_spectrum_squared, real_part_of_a_full_spectrum_squared,
                               real_part_of_a_2d_spectrum], ids=["rfft", "fft", "rfft2"])
def test_reverse_over_reverse_of_the_real_part_of_a_spectrum(f):
    """Fuzz seed 1302300660 (jacrev(grad), silently wrong): the adjoint of ``sd.rfft_adjoint`` with respect to a
    real cotangent (``np.real(a)`` gives ``a`` a real adjoint) was the complex ``np.fft.rfft(g)``; the adjoint of a
    real value is now its real part."""
    x = np.array([1.2933, 0.7491, 0.7292, 0.9365, 1.3588, 0.61])
    expected = _hessian_by_differences(f, x)
    np.testing.assert_allclose(sourcediff.jacrev(sourcediff.grad(f))(x), expected, rtol=1e-6, atol=1e-8)


def above(v, w):
    return bool(v > w)


def scaled_by_a_flag_from_a_helper(x):
    a = x[0] * x[1]
    s = 1.0 + above(a, 0.1)
    return s * a * a


def test_a_bool_from_a_helper_adds_no_tangent():
    """Found checking the class of the hessian off by 2x (a helper's bool taken for a varied value): the bool's
    tangent was the bool itself, so ``1.0 + flag`` had tangent 1.0. A bool's tangent is 0.0 now."""
    x = np.array([0.9, 1.3, 0.4])
    a = x[0] * x[1]
    expected_gradient = np.array([4 * a * x[1], 4 * a * x[0], 0.0])
    np.testing.assert_allclose(sourcediff.jacfwd(scaled_by_a_flag_from_a_helper)(x), expected_gradient, rtol=1e-12)
    f = scaled_by_a_flag_from_a_helper
    gradient = sourcediff.grad(f)
    gradient(x)
    assert "above(a, 0.1)" in gradient.source and "above_fwd" not in gradient.source  # called as it is
    expected = _hessian_by_differences(f, x)
    for second in (sourcediff.hessian(f), sourcediff.jacfwd(sourcediff.jacfwd(f)),
                   sourcediff.jacrev(sourcediff.jacfwd(f)), sourcediff.jacfwd(sourcediff.grad(f))):
        np.testing.assert_allclose(second(x), expected, rtol=1e-6, atol=1e-8)


def doubles_a_second_name_of_a_median(b):
    r = np.nanmedian(b)
    twice = r
    twice += twice  # a number: rebinds twice, r keeps its value
    return r + 0.5 * twice


def test_the_tangent_of_a_median_of_a_number_is_a_number():
    """Fuzz seed 1302602108 (jvp wrong by 2x on r): np.nanmedian's tangent was a 0-d array where its value is a
    number, and ``twice += twice`` wrote into that array, which r's tangent also was."""
    out, tangent = sourcediff.jvp(doubles_a_second_name_of_a_median, (1.0822,), (0.8787,))
    assert out == pytest.approx(2.0 * 1.0822)
    assert tangent == pytest.approx(2.0 * 0.8787) and not isinstance(tangent, np.ndarray)
    assert sourcediff.grad(doubles_a_second_name_of_a_median)(1.0822) == pytest.approx(2.0)


W_CONSTANT = np.array([0.6917, 1.3153, 0.7961])


def view_made_before_an_alias_of_its_array_varies(x):
    u1 = W_CONSTANT + 0.0
    view2 = u1[:1]
    y5 = u1
    y5 += x
    return np.sum(view2)


def test_a_write_through_another_name_reaches_the_tangent_a_view_shows():
    """Fuzz seed 1302700325 (jvp 0 where the derivative is 1; there before this session): ``y5 += x`` through
    another name of ``u1``, which did not vary yet, wrote its tangent into a fresh zero instead of the tangent
    object ``u1``'s view shows."""
    x = np.array([0.7097, 1.3044, 1.0094])
    check_grads(view_made_before_an_alias_of_its_array_varies, (x,))
    assert sourcediff.jvp(view_made_before_an_alias_of_its_array_varies, (x,), (np.ones(3),))[1] == 1.0


def joins_a_list_nothing_reads(p):
    lst = [1.0, 1.0, 1.0]
    lst = lst + [p[0]]
    return 1.0 + 0.0 * p[0]


@pytest.mark.xfail(strict=True, raises=sourcediff.SourcediffError,
                   reason="fuzz seeds 1302700889, 1302800571 (mode mismatches): forward mode refuses joining lists "
                          "with + (sd.fit_tangent) even where nothing reads the joined list, which reverse mode "
                          "leaves out; the optimizer keeps dead sd.fit_tangent calls, as it keeps every runtime call")
def test_forward_mode_accepts_a_joined_list_nothing_reads():
    check_grads(joins_a_list_nothing_reads, ((0.7396, np.array([1.0427])),))
