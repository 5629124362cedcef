"""Rules for NumPy shape manipulation, copies and array constructors.

Reshaping rules send ``g`` back through the inverse reshaping. A rule for a
list-taking function (``concatenate``, ``stack``, ``hstack``, ``vstack``)
returns a list of per-array adjoints, which the transformer distributes over
the list literal. ``full``, ``linspace`` and ``arange`` are differentiable in
their value arguments (``fill_value``, ``start``/``stop``, ``start``/``step``);
the other constructors depend only on shapes and are non-differentiable.
"""
import numpy as np

from ..registry import (defattribute, defmethod, defnondiff, defnondiff_attribute,
                        defnondiff_method, defrule, runtime)

defrule(np.transpose, "a, axes=None", a="sd.transpose_adjoint(g, axes)")
defrule(np.reshape, "a, shape=None, order='C', *, copy=None", a="np.reshape(g, np.shape(a), order=order)")
defrule(np.ravel, "a, order='C'", a="np.reshape(g, np.shape(a), order=order)")
defrule(np.squeeze, "a, axis=None", a="np.reshape(g, np.shape(a))")
defrule(np.expand_dims, "a, axis", a="np.reshape(g, np.shape(a))")
defrule(np.concatenate, "arrays, axis=0, out=None, *, dtype=None, casting='same_kind'",
        arrays="sd.concatenate_adjoint(g, arrays, axis)")
defrule(np.stack, "arrays, axis=0, out=None, *, dtype=None, casting='same_kind'",
        arrays="sd.stack_adjoint(g, arrays, axis)")
defrule(np.hstack, "tup, *, dtype=None, casting='same_kind'", tup="sd.hstack_adjoint(g, tup)")
defrule(np.vstack, "tup, *, dtype=None, casting='same_kind'", tup="sd.vstack_adjoint(g, tup)")
defrule(np.append, "arr, values, axis=None", arr="sd.concatenate_adjoint(g, (arr, values), axis)[0]",
        values="sd.concatenate_adjoint(g, (arr, values), axis)[1]")
# np.r_[a, b] and np.c_[a, b] of values: lowered to these runtime calls, one block of g per item.
defrule(runtime("concatenate_rows"), "*items", items="sd.index_concatenate_adjoint(g, items, False)")
defrule(runtime("concatenate_columns"), "*items", items="sd.index_concatenate_adjoint(g, items, True)")
defrule(np.broadcast_to, "array, shape, subok=False", unbroadcast=True, array="g")
defrule(np.copy, "a, order='K', subok=False", a="np.copy(g)")
defrule(np.array, "object, dtype=None, *, copy=True, order='K', subok=False, ndmin=0",
        object="sd.array_adjoint(g, object, dtype)")
defrule(np.asarray, "a, dtype=None, order=None, *, copy=None",
        a="sd.array_adjoint(g, a, dtype)")

# Constructors whose values depend on a differentiable argument.
defrule(np.full, "shape, fill_value, dtype=None, order='C'", unbroadcast=True, fill_value="g")
defrule(np.full_like, "a, fill_value, dtype=None, order='K', subok=True, shape=None",
        unbroadcast=True, fill_value="g")
defrule(np.linspace, "start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0",
        start="sd.linspace_adjoint(g, start, stop, num, endpoint, axis, retstep, 'start')",
        stop="sd.linspace_adjoint(g, start, stop, num, endpoint, axis, retstep, 'stop')")
defrule(np.arange, "start_or_stop, /, stop=None, step=1, *, dtype=None",
        start_or_stop="sd.arange_adjoint(g, ans, stop, 'start')",
        step="sd.arange_adjoint(g, ans, stop, 'step')")

for _f in (np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like, np.eye,
           np.identity):
    defnondiff(_f, f"np.{_f.__name__} depends only on shapes and dtypes, not on values")
for _f in (np.shape, np.size, np.ndim):
    defnondiff(_f, f"np.{_f.__name__} is an integer property of the array")

# ndarray methods and attributes.
defmethod("reshape", "self, *shape, order='C'", self="np.reshape(g, np.shape(self), order=order)")
defmethod("transpose", "self, *axes", self="sd.transpose_adjoint(g, axes)")
defmethod("ravel", "self, order='C'", self="np.reshape(g, np.shape(self), order=order)")
defmethod("flatten", "self, order='C'", self="np.reshape(g, np.shape(self), order=order)")
defmethod("squeeze", "self, axis=None", self="np.reshape(g, np.shape(self))")
defmethod("copy", "self, order='C'", self="np.copy(g)")
defattribute("T", x="np.transpose(g)")
for _a in ("shape", "size", "ndim", "dtype", "itemsize", "nbytes"):
    defnondiff_attribute(_a, f"x.{_a} is a property of the array, not a value")
defnondiff_method("tolist", "x.tolist() leaves the array world; differentiate before it")

# diag builds a matrix from a vector (its adjoint reads the diagonal back) or takes a matrix's diagonal.
defrule(np.diag, "v, k=0", v="sd.diag_adjoint(g, v, k)")
