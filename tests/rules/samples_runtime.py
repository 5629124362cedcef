"""Sample arguments of the rules for the runtime itself (``rules/runtime.py``), for ``check_rule``.

Adjoints come as arrays of the shapes generated code gives them (a reduced shape for ``sum_adjoint``'s
cotangent, the shape of ``x[index]`` for ``index_adjoint``'s); indices cover integers, slices, masks and
integer arrays with repeats (where the last write wins).
"""
from __future__ import annotations

from collections import namedtuple
from dataclasses import make_dataclass

import numpy as np

from sourcediff.backends.numpy_adjoints import ObjectAdjoint, TupleAdjoint
from sourcediff.rules.registry import runtime


def N(*shape):
    """Standard normal values of ``shape`` (a Python float for no shape)."""
    return lambda rng: rng.standard_normal(shape) if shape else float(rng.standard_normal())


def C(*shape):
    """Complex standard normal values of ``shape`` (a Python complex for no shape)."""
    def make(rng):
        z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
        return complex(z) if not shape else z
    return make


def U(low, high, *shape):
    return lambda rng: rng.uniform(low, high, shape) if shape else float(rng.uniform(low, high))


def S(*args, **kwargs):
    def draw(x, rng):
        if callable(x) and not isinstance(x, type):
            return x(rng)
        if isinstance(x, list):
            return [draw(v, rng) for v in x]
        if isinstance(x, tuple):
            return tuple(draw(v, rng) for v in x)
        if isinstance(x, dict):
            return {k: draw(v, rng) for k, v in x.items()}
        return x
    return lambda rng: ([draw(a, rng) for a in args], {k: draw(v, rng) for k, v in kwargs.items()})


Point = namedtuple("Point", "a b")


Pair = make_dataclass("Pair", [("a", np.ndarray), ("b", float)])  # this file loads outside sys.modules


def _records(*make):
    """Samples whose arguments ``make(rng)`` gives: records, which ``S`` would turn into plain tuples."""
    return [lambda rng, m=m: (m(rng), {}) for m in make]


def _partition(shape, kth, axis=-1):
    """A cotangent (or tangent), a, ``np.partition(a, kth, axis)`` and the axis."""
    def sample(rng):
        a = rng.standard_normal(shape)
        return [rng.standard_normal(shape), a, np.partition(a, kth, axis), axis], {}
    return sample


def _nan_extremum(shape, axis=None, keepdims=False):
    """As ``_extremum`` for ``np.nanmax``, with a NaN in ``a``."""
    def sample(rng):
        a = rng.standard_normal(shape)
        a.flat[1] = np.nan
        extremum = np.nanmax(a, axis=axis, keepdims=keepdims)
        return [rng.standard_normal(np.shape(extremum)), a, extremum, axis, keepdims], {}
    return sample


def _extremum(shape, axis=None, keepdims=False, pick=np.max):
    """A cotangent of ``pick(x, axis)``, x, and the extremum itself (which the adjoint compares x with)."""
    def sample(rng):
        x = rng.standard_normal(shape)
        extremum = pick(x, axis=axis, keepdims=keepdims)
        return [rng.standard_normal(np.shape(extremum)), x, extremum, axis, keepdims], {}
    return sample


REPEATS = np.array([0, 2, 0, 3])
MASK = np.array([True, False, True, True, False])
INTS = np.arange(5)

RUNTIME_SAMPLES = {
    runtime("fit_tangent"): [S(N(3), N(2, 3)), S(N(2, 3), N(2, 3)), S(N(), N(4)), S(N(), 1.0)],
    runtime("own_tangent"): [S(N(3)), S(N())],
    runtime("tangent_stored_in"): [S(N(3), N(3)), S(np.arange(3), N(3)), S(N(2, 2), N())],
    runtime("own"): [S(N(3)), S(N())],
    runtime("as_mutable"): [S(N(3)), S(N()), S((N(), N(2)))],
    runtime("keep_value"): [S(N(2, 3)), S(N())],
    runtime("snapshot"): [S(N(3)), S(N())],
    runtime("snapshot_contents"): [S(N(3)), S(N())],
    runtime("snapshot_item"): [S(N(3), 1), S(N(2, 3), 0), S([N(), N(2)], 1)],
    runtime("restored_value"): [S(N(3)), S(N())],
    runtime("add"): [S(N(3), N(3)), S(N(), N()), S(N(2, 3), N(3))],
    runtime("as_tuple_adjoint"): [S([N(3), N(), N(2, 2)])],
    runtime("as_list_adjoint"): [S([N(2), N()])],
    runtime("attribute_adjoint"): _records(
        lambda rng: [rng.standard_normal(3), Point(rng.standard_normal(3), 1.5), "a"],
        lambda rng: [float(rng.standard_normal()), Pair(rng.standard_normal(2), 0.5), "b"]),
    runtime("attribute_of_adjoint"): _records(
        lambda rng: [TupleAdjoint([rng.standard_normal(3), 0.25]), Point(rng.standard_normal(3), 1.5), "a"],
        lambda rng: [ObjectAdjoint(b=0.5), Pair(rng.standard_normal(2), 0.5), "b"]),
    runtime("field_of_tangent"): _records(
        lambda rng: [(rng.standard_normal(3), 0.25), Point(rng.standard_normal(3), 1.5), "a"],
        lambda rng: [Point(rng.standard_normal(3), 0.25), Point(rng.standard_normal(3), 1.5), "b"]),
    runtime("field_tangent"): _records(
        lambda rng: [rng.standard_normal(3), 0, Point(rng.standard_normal(3), 1.5)],
        lambda rng: [float(rng.standard_normal()), "b", Pair(rng.standard_normal(2), 0.5)]),
    runtime("field_adjoint"): _records(
        lambda rng: [TupleAdjoint([rng.standard_normal(3), 0.25]), 0, rng.standard_normal(3)],
        lambda rng: [ObjectAdjoint(a=rng.standard_normal(2)), "a", rng.standard_normal(2)]),
    runtime("unbroadcast"): [S(N(2, 3), N(3)), S(N(3), 1.0), S(N(2, 3), N(2, 1)), S(N(), 2.0)],
    runtime("unbroadcast_to"): [S(N(2, 3), (3,)), S(N(2, 3), (2, 1)), S(N(4), (4,))],
    runtime("sum_product"): [S(N(3), N(3)), S(N(2, 3), N(3)), S(N(), N())],
    runtime("sum_adjoint"): [S(N(), N(2, 3)), S(N(3), N(2, 3), 0), S(N(2, 1), N(2, 3), 1, True),
                             S(N(), N(4), None, False)],
    runtime("mean_adjoint"): [S(N(), N(2, 3)), S(N(2), N(2, 3), 1), S(N(1, 3), N(2, 3), 0, True)],
    runtime("index_adjoint"): [S(N(), N(4), 2), S(N(2), N(4), slice(1, 3)), S(N(4), N(5), REPEATS),
                               S(N(3), N(5), MASK), S(N(3), N(2, 3), 1)],
    runtime("copy_adjoint"): [S(N(3), N(3)), S(N(2, 2), N(2, 2))],
    runtime("transpose_adjoint"): [S(N(2, 3)), S(N(2, 3, 4), (2, 0, 1))],
    runtime("matmul_adjoint_a"): [S(N(2, 4), N(2, 3), N(3, 4)), S(N(4), N(3), N(3, 4)), S(N(2), N(2, 3), N(3)),
                                  S(N(), N(3), N(3)), S(N(5, 2, 4), N(5, 2, 3), N(3, 4))],
    runtime("matmul_adjoint_b"): [S(N(2, 4), N(2, 3), N(3, 4)), S(N(4), N(3), N(3, 4)), S(N(2), N(2, 3), N(3)),
                                  S(N(), N(3), N(3)), S(N(5, 2, 4), N(5, 2, 3), N(5, 3, 4))],
    runtime("dot_adjoint_a"): [S(N(2, 4), N(2, 3), N(3, 4)), S(N(2), N(2, 3), N(3)), S(N(), N(3), N(3))],
    runtime("dot_adjoint_b"): [S(N(2, 4), N(2, 3), N(3, 4)), S(N(2), N(2, 3), N(3)), S(N(), N(3), N(3))],
    runtime("power_rule"): [S(U(0.5, 2.0), 3), S(U(0.5, 2.0, 3), 2.5), S(U(0.5, 2.0, 3), U(0.5, 2.0, 3)),
                            S(U(0.5, 2.0), U(1.5, 2.5))],
    runtime("xlogy"): [S(N(3), U(0.5, 2.0, 3)), S(N(), U(0.5, 2.0)), S(N(2, 3), U(0.5, 2.0, 3))],
    runtime("written_part"): [S(N(5), 2), S(N(5), slice(1, 4)), S(N(5), REPEATS), S(N(5), MASK),
                              S(N(2, 3), 1), S(N(5), slice(0, 2), INTS.astype(int))],
    runtime("written_part_adjoint"): [S(N(), N(5), 2), S(N(3), N(5), slice(1, 4)), S(N(4), N(5), REPEATS),
                                      S(N(3), N(5), MASK), S(N(3), N(2, 3), 1)],
    runtime("increment_part"): [S(N(5), 2, N(5)), S(N(5), slice(1, 4), N(5), True), S(N(5), REPEATS, N(5)),
                                S(N(5), MASK, N(5))],
    runtime("added_at"): [S(N(5), 2, N()), S(N(5), slice(1, 4), N(3)), S(N(5), REPEATS, N(4)),
                          S(N(5), MASK, N(3)), S(N(5), slice(0, 3), N())],
    runtime("added_at_adjoint"): [S(N(), N(5), 2, N()), S(N(3), N(5), slice(1, 4), N(3)),
                                  S(N(4), N(5), REPEATS, N(4)), S(N(3), N(5), slice(1, 4), N())],
    runtime("cumsum_adjoint"): [S(N(4), N(4)), S(N(2, 3), N(2, 3), 1), S(N(6), N(2, 3))],
    runtime("roll_adjoint"): [S(N(5), 2), S(N(2, 3), 1, 1), S(N(2, 3), (1, -1), (0, 1))],
    runtime("diff_adjoint"): [S(N(4)), S(N(3), 2), S(N(2, 3), 1, 0), S(N(3, 2), 1, -1)],
    runtime("repeat_adjoint"): [S(N(6), N(3), 2), S(N(2, 6), N(2, 3), 2, 1), S(N(12), N(2, 3), 2)],
    runtime("tile_adjoint"): [S(N(6), N(3), 2), S(N(4, 3), N(2, 3), (2, 1)), S(N(2, 6), N(3), (2, 2))],
    runtime("take_adjoint"): [S(N(4), N(5), np.array([0, 2, 2, 4])), S(N(2, 2), N(2, 3), np.array([0, 2]), 1)],
    runtime("trace_adjoint"): [S(N(), N(3, 3)), S(N(), N(3, 4), 1), S(N(2), N(2, 3, 3), 0, 1, 2)],
    runtime("diagonal_adjoint"): [S(N(3), N(3, 3)), S(N(3), N(3, 4), 1), S(N(2, 3), N(3, 2, 3), 0, 0, 2)],
    runtime("diag_adjoint"): [S(N(3, 3), N(3)), S(N(4, 4), N(3), 1), S(N(3), N(3, 3)), S(N(2), N(3, 3), -1)],
    runtime("concatenate_adjoint"): [S(N(5), [N(2), N(3)]), S(N(2, 5), [N(2, 2), N(2, 3)], 1),
                                     S(N(10), [N(2, 2), N(2, 3)], None)],
    runtime("stack_adjoint"): [S(N(2, 3), [N(3), N(3)]), S(N(3, 2), [N(3), N(3)], 1)],
    runtime("vstack_adjoint"): [S(N(2, 3), [N(3), N(3)]), S(N(3, 2), [N(1, 2), N(2, 2)])],
    runtime("hstack_adjoint"): [S(N(5), [N(2), N(3)]), S(N(2, 5), [N(2, 2), N(2, 3)])],
    runtime("inner_adjoint_a"): [S(N(), N(3), N(3)), S(N(2, 4), N(2, 3), N(4, 3))],
    runtime("inner_adjoint_b"): [S(N(), N(3), N(3)), S(N(2, 4), N(2, 3), N(4, 3))],
    runtime("outer_adjoint_a"): [S(N(2, 3), N(2), N(3))],
    runtime("outer_adjoint_b"): [S(N(2, 3), N(2), N(3))],
    runtime("var_adjoint"): [S(N(), N(4)), S(N(3), N(2, 3), 0), S(N(2, 1), N(2, 3), 1, 1, True)],
    runtime("inv_adjoint"): [S(N(3, 3), N(3, 3)), S(N(2, 2, 2), N(2, 2, 2))],
    runtime("norm_slope"): [S(N(3), U(0.5, 2.0)), S(N(2, 3), U(0.5, 2.0, 2, 1)), S(N(), U(0.5, 2.0))],
    runtime("xdivy"): [S(N(3), U(0.5, 2.0, 3)), S(N(), U(0.5, 2.0))],
    runtime("expit"): [S(N(3)), S(N())],
    runtime("digamma"): [S(U(0.5, 3.0)), S(U(-0.9, -0.1))],
    runtime("polygamma"): [S(1, U(0.5, 3.0, 3)), S(2, U(0.5, 3.0))],
    runtime("bessel_iv"): [S(1.5, U(0.5, 3.0, 3)), S(0, U(0.5, 3.0))],
    runtime("bessel_jv"): [S(1.5, U(0.5, 3.0, 3)), S(0, U(0.5, 3.0))],
    runtime("bessel_yv"): [S(1.5, U(0.5, 3.0, 3)), S(0, U(0.5, 3.0))],
    runtime("bessel_kv"): [S(1.5, U(0.5, 3.0, 3)), S(0, U(0.5, 3.0))],
    runtime("bessel_ive"): [S(1.5, U(0.5, 3.0, 3)), S(0, U(-3.0, -0.5))],
    runtime("bessel_kve"): [S(1.5, U(0.5, 3.0, 3)), S(0, U(0.5, 3.0))],
    runtime("extremum_adjoint"): [_extremum((5,)), _extremum((2, 3), 0), _extremum((2, 3), 1, True),
                                  _extremum((2, 3), 1, False, np.min)],
    runtime("det_adjoint"): [S(N(), N(3, 3) , N()), S(N(2), N(2, 3, 3), N(2))],
    runtime("dict_get_adjoint"): [S(N(3), {"a": np.ones(3), "b": 1.0}, "a"), S(N(), {"a": 1.0}, "z")],
    runtime("dict_get_tangent"): [S({"a": N(3), "b": N()}, {"a": np.ones(3), "b": 1.0}, "a", np.ones(3))],
    runtime("dict_get_default_adjoint"): [S(N(3), {"a": np.ones(3)}, "z", np.ones(3)),
                                          S(N(3), {"a": np.ones(3)}, "a", np.ones(3))],
    runtime("dict_get_default_tangent"): [S(N(3), {"a": np.ones(3)}, "z", np.ones(3))],
    runtime("dict_values_adjoint"): [S([N(3), N()], {"a": np.ones(3), "b": 1.0})],
    runtime("dict_values_tangent"): [S({"a": N(3), "b": N()}, {"a": np.ones(3), "b": 1.0})],
    runtime("dict_items_adjoint"): [S([("a", N(3)), ("b", N())], {"a": np.ones(3), "b": 1.0})],
    runtime("dict_items_tangent"): [S({"a": N(3), "b": N()}, {"a": np.ones(3), "b": 1.0})],
    runtime("view_again_adjoint"): [S(N(2), N(2), N(4), slice(0, 2), "view"),
                                    S(N(2), N(2), N(4), slice(0, 2), "base")],
    runtime("view_again_tangent"): [S(N(2), N(2), N(4), slice(0, 2), "view")],
    runtime("column_stack_adjoint"): [S(N(3, 2), [N(3), N(3)]), S(N(3, 3), [N(3, 2), N(3)])],
    runtime("dstack_adjoint"): [S(N(2, 3, 2), [N(2, 3), N(2, 3)])],
    runtime("unstack_adjoint"): [S([N(3), N(3)], N(2, 3)), S([N(2), N(2), N(2)], N(2, 3), 1)],
    runtime("split_adjoint"): [S([N(2), N(2)], N(4), 2), S([N(2, 1), N(2, 2)], N(2, 3), [1], 1)],
    runtime("rollaxis_adjoint"): [S(N(4, 2, 3), N(2, 3, 4), 2), S(N(3, 2, 4), N(2, 3, 4), 1, 0)],
    runtime("take_along_axis_adjoint"): [S(N(2, 2), N(2, 3), np.array([[0, 2], [1, 1]]), 1)],
    runtime("compress_adjoint"): [S(N(2), np.array([True, False, True, False]), N(4)),
                                  S(N(2, 2), np.array([True, False, True]), N(2, 3), 1)],
    runtime("delete_adjoint"): [S(N(3), N(4), 1), S(N(2, 2), N(2, 3), [0], 1)],
    runtime("extract_adjoint"): [S(N(2), np.array([[True, False], [False, True]]), N(2, 2))],
    runtime("diagflat_adjoint"): [S(N(3, 3), N(3)), S(N(4, 4), N(3), 1)],
    runtime("nan_sum_adjoint"): [S(N(), np.array([1.0, np.nan, 2.0])), S(N(2), N(2, 3), 1)],
    runtime("gradient_adjoint"): [S(N(5), N(5)), S(N(5), N(5), (0.5,)), S(N(5), N(5), (), None, 2)],
    runtime("gradient_tangent"): [S(N(5), N(5)), S(N(5), N(5), (0.5,))],
    runtime("choose_adjoint"): [S(N(3), np.array([0, 1, 0]), [N(3), N(3)])],
    runtime("choose_tangent"): [S([N(3), N(3)], np.array([0, 1, 0]), [N(3), N(3)])],
    runtime("meshgrid_adjoint"): [S([N(3, 2), N(3, 2)], [N(2), N(3)])],
    runtime("meshgrid_tangent"): [S([N(2), N(3)], [N(2), N(3)])],
    runtime("broadcast_arrays_adjoint"): [S([N(2, 3), N(2, 3)], [N(3), N(2, 1)])],
    runtime("broadcast_arrays_tangent"): [S([N(3), N(2, 1)], [N(3), N(2, 1)])],
    runtime("cumulative_sum_adjoint"): [S(N(4), N(4)), S(N(5), N(4), 0, True), S(N(2, 3), N(2, 3), 1)],
    runtime("nan_cumsum_adjoint"): [S(N(3), np.array([1.0, np.nan, 2.0])), S(N(2, 3), N(2, 3), 1)],
    runtime("polyder_adjoint"): [S(N(3), N(4)), S(N(2), N(4), 2)],
    runtime("sort_adjoint"): [S(N(4), N(4)), S(N(2, 3), N(2, 3), 0), S(N(6), N(2, 3), None)],
    runtime("sort_tangent"): [S(N(4), N(4)), S(N(2, 3), N(2, 3), 0)],
    runtime("partition_adjoint"): [_partition((5,), 2), _partition((2, 4), 1, 1)],
    runtime("partition_tangent"): [_partition((5,), 2), _partition((2, 4), 1, 1)],
    runtime("modf_adjoint"): [S((N(3), N(3)), N(3))],
    runtime("modf_tangent"): [S(N(3), N(3))],
    runtime("divmod_adjoint"): [S((N(3), N(3)), U(1.0, 5.0, 3), U(0.5, 0.9, 3)),
                                S((N(3), N(3)), U(1.0, 5.0, 3), U(0.5, 0.9, 3), "x2")],
    runtime("divmod_tangent"): [S(N(3), U(1.0, 5.0, 3), U(0.5, 0.9, 3)), S(N(3), U(1.0, 5.0, 3), U(0.5, 0.9, 3), "x2")],
    runtime("select_adjoint"): [S(N(4), [np.array([True, False, False, True]), np.array([False, True, False, False])],
                                  [N(4), N(4)], N(4)),
                                S(N(4), [np.array([True, False, False, True])], [N(4)], N(4), "default")],
    runtime("select_tangent"): [S([N(4), N(4)], [np.array([True, False, False, True]),
                                                 np.array([False, True, False, False])], [N(4), N(4)], N(4))],
    runtime("nan_mean_adjoint"): [S(N(), np.array([1.0, np.nan, 2.0])), S(N(2), N(2, 3), 1),
                                  S(N(1, 3), N(2, 3), 0, True)],
    runtime("nan_extremum_adjoint"): [_nan_extremum((5,)), _nan_extremum((2, 3), 1)],
    runtime("ptp_adjoint"): [S(N(), N(5)), S(N(2), N(2, 3), 1), S(N(2, 1), N(2, 3), 1, True)],
    # rules/numpy/complex.py and rules/numpy/fft.py: the adjoints of imag, angle and the transforms, whose
    # cotangent has the shape of the primal's result (n and s cut and pad; a is real or complex)
    runtime("imag_adjoint"): [S(N(4), C(4)), S(N(2, 3), C(2, 3)), S(N(), C()), S(N(4), N(4))],
    runtime("angle_adjoint"): [S(N(4), C(4)), S(N(2, 3), C(2, 3), True), S(N(), C()), S(N(4), N(4))],
    # the runtime's adjoint and tangent of |z| (ans is |x|, 0 in one sample) and angle's tangent
    runtime("complex_abs_adjoint"): [S(N(4), C(4), U(0.5, 2.0, 4)), S(N(2, 3), C(2, 3), U(0.5, 2.0, 2, 3)),
                                     S(N(), C(), U(0.5, 2.0)), S(N(4), N(4), U(0.5, 2.0, 4)),
                                     S(N(3), np.array([1.0 + 1j, 0.0, 2.0 - 1j]), np.array([1.5, 0.0, 2.5]))],
    runtime("complex_abs_tangent"): [S(C(4), C(4), U(0.5, 2.0, 4)), S(C(2, 3), C(2, 3), U(0.5, 2.0, 2, 3)),
                                     S(C(), C(), U(0.5, 2.0)), S(N(4), N(4), U(0.5, 2.0, 4)),
                                     S(C(3), np.array([1.0 + 1j, 0.0, 2.0 - 1j]), np.array([1.5, 0.0, 2.5]))],
    runtime("angle_tangent"): [S(C(4), C(4)), S(C(2, 3), C(2, 3), True), S(C(), C()), S(N(4), N(4))],
    # the adjoint and tangent of np.linalg.eigvals: a real matrix (complex eigenvalues), a stack, a complex one
    runtime("eigvals_adjoint"): [S(C(4), N(4, 4)), S(C(2, 3), N(2, 3, 3)), S(C(3), C(3, 3)), S(N(3), N(3, 3))],
    runtime("eigvals_tangent"): [S(N(4, 4), N(4, 4)), S(N(2, 3, 3), N(2, 3, 3)), S(C(3, 3), C(3, 3))],
    runtime("fft_adjoint"): [S(C(6), N(6), -1, None, "fft"), S(C(4), N(6), -1, "ortho", "ifft"),
                             S(C(8, 3), N(5, 3), 0, "forward", "fft"), S(C(3, 5), C(3, 4), 1, None, "ifft")],
    runtime("fftn_adjoint"): [S(C(3, 4), N(3, 4), None, None, None, "fft"),
                              S(C(3, 3, 5), N(2, 3, 4), (3, 5), (0, 2), "ortho", "ifft"),
                              S(C(3, 4), C(3, 4), None, (-2, -1), "forward", "ifft"),
                              S(C(2, 3, 4), N(2, 3, 4), None, None, None, "fft", (-2, -1))],
    runtime("rfft_adjoint"): [S(C(4), N(6), None, -1, None), S(C(5), N(6), 9, -1, "ortho"),
                              S(C(3), N(6), 4, -1, "forward"), S(C(2, 4), N(3, 4), None, 0, None),
                              S(C(3), N(5), None, -1, None)],
    runtime("rfftn_adjoint"): [S(C(3, 3), N(3, 4), None, None, None), S(C(4, 4), N(3, 5), (4, 6), (0, 1), "ortho"),
                               S(C(2, 3, 3), N(2, 3, 4), None, (0, 2), "forward"),
                               S(C(2, 3, 3), N(2, 3, 4), None, (-2, -1), None, (-2, -1))],
    runtime("irfft_adjoint"): [S(N(6), C(4), None, -1, None), S(N(7), C(4), 7, -1, "ortho"),
                               S(N(5), C(4), 5, -1, "forward"), S(N(4), C(5), 4, -1, None),
                               S(N(4, 4), C(3, 4), None, 0, "backward"), S(N(6), N(4), None, -1, None)],
    runtime("irfftn_adjoint"): [S(N(3, 6), C(3, 4), None, None, None), S(N(3, 5), C(3, 4), (3, 5), (0, 1), "ortho"),
                                S(N(2, 3, 6), C(2, 3, 4), None, (0, 2), "forward"),
                                S(N(2, 3, 6), C(2, 3, 4), None, (-2, -1), None, (-2, -1)),
                                S(N(3, 6), N(3, 4), None, None, None)],
    runtime("hfft_adjoint"): [S(N(6), C(4), None, -1, None), S(N(7), C(4), 7, -1, "ortho"),
                              S(N(4, 4), C(3, 4), None, 0, "forward"), S(N(4), C(5), 4, -1, None)],
    runtime("ihfft_adjoint"): [S(C(4), N(6), None, -1, None), S(C(5), N(6), 9, -1, "ortho"),
                               S(C(3), N(6), 4, -1, "forward"), S(C(2, 4), N(3, 4), None, 0, None),
                               S(C(3), N(5), None, -1, None)],
}
