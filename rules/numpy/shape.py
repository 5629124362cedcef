"""Rules for NumPy shape manipulation, copies, array constructors, and cumulative and repeating functions.

Reshaping rules send ``g`` back through the inverse reshaping. A rule for a
list-taking function (``concatenate``, ``stack``, ``hstack``, ``vstack``)
returns a list of per-array adjoints, which the transformer distributes over
the list literal. ``full``, ``linspace`` and ``arange`` are differentiable in
their value arguments (``fill_value``, ``start``/``stop``, ``start``/``step``);
the other constructors depend only on shapes and are non-differentiable.
"""
import numpy as np

from ..registry import (attribute, defbilinear, deflinear, defnondiff, defnondiff_attribute, defnondiff_method,
                        defresult, defrule, method, runtime, share_method)

deflinear(np.transpose, "a, axes=None", apply="np.transpose(a, axes)", a="sd.transpose_adjoint(g, axes)", returns='view')
deflinear(np.reshape, "a, shape=None, order='C', *, copy=None", apply="np.reshape(a, shape, order=order)",
          a="np.reshape(g, np.shape(a), order=order)", returns='view')
deflinear(np.ravel, "a, order='C'", apply="np.ravel(a, order=order)", a="np.reshape(g, np.shape(a), order=order)", returns='view')
deflinear(np.squeeze, "a, axis=None", apply="np.squeeze(a, axis=axis)", a="np.reshape(g, np.shape(a))", returns='view')
deflinear(np.expand_dims, "a, axis", apply="np.expand_dims(a, axis)", a="np.reshape(g, np.shape(a))", returns='view')
deflinear(np.concatenate, "arrays, axis=0, out=None, *, dtype=None, casting='same_kind'",
          apply="np.concatenate(arrays, axis=axis)", arrays="sd.concatenate_adjoint(g, arrays, axis)", returns='new')
deflinear(np.stack, "arrays, axis=0, out=None, *, dtype=None, casting='same_kind'",
          apply="np.stack(arrays, axis=axis)", arrays="sd.stack_adjoint(g, arrays, axis)", returns='new')
deflinear(np.hstack, "tup, *, dtype=None, casting='same_kind'", apply="np.hstack(tup)",
          tup="sd.hstack_adjoint(g, tup)", returns='new')
deflinear(np.vstack, "tup, *, dtype=None, casting='same_kind'", apply="np.vstack(tup)",
          tup="sd.vstack_adjoint(g, tup)", returns='new')
deflinear(np.append, "arr, values, axis=None", apply="np.append(arr, values, axis=axis)",
          arr="sd.concatenate_adjoint(g, (arr, values), axis)[0]",
          values="sd.concatenate_adjoint(g, (arr, values), axis)[1]", returns='new')
# np.r_[a, b] and np.c_[a, b] of values: lowered to these runtime calls, one block of g per item.
deflinear(runtime("concatenate_rows"), "*items", apply="sd.concatenate_rows(*items)",
          items="sd.index_concatenate_adjoint(g, items, False)")
deflinear(runtime("concatenate_columns"), "*items", apply="sd.concatenate_columns(*items)",
          items="sd.index_concatenate_adjoint(g, items, True)")
deflinear(np.broadcast_to, "array, shape, subok=False", unbroadcast=True, apply="np.broadcast_to(array, shape)",
          array="g", returns='view')
deflinear(np.copy, "a, order='K', subok=False", apply="np.copy(a, order=order)", a="np.copy(g)", returns='new')
# The tangent of an array built from numbers or arrays is built the same way, as floats.
deflinear(np.array, "object, dtype=None, *, copy=True, order='K', subok=False, ndmin=0",
          apply="sd.array_tangent(object, dtype, ndmin)", object="sd.array_adjoint(g, object, dtype)")
deflinear(np.asarray, "a, dtype=None, order=None, *, copy=None", apply="sd.array_tangent(a, dtype)",
          a="sd.array_adjoint(g, a, dtype)")

# Constructors whose values depend on a differentiable argument.
deflinear(np.full, "shape, fill_value, dtype=None, order='C'", unbroadcast=True,
          apply="np.full(shape, fill_value, dtype=dtype, order=order)", fill_value="g", returns='new')
deflinear(np.full_like, "a, fill_value, dtype=None, order='K', subok=True, shape=None", unbroadcast=True,
          apply="np.full_like(a, fill_value, dtype=dtype, order=order, subok=subok, shape=shape)", fill_value="g", returns='new')
# Linear in (start, stop) for a given num, retstep included (then the tangent is a tuple, like the result).
deflinear(np.linspace, "start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0",
          apply="np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype, axis=axis)",
          start="sd.linspace_adjoint(g, start, stop, num, endpoint, axis, retstep, 'start')",
          stop="sd.linspace_adjoint(g, start, stop, num, endpoint, axis, retstep, 'stop')", returns='new')
# arange(stop) depends on stop only through its length (piecewise constant); arange(start, stop, step)
# is start + step * k.
defrule(np.arange, "start_or_stop, /, stop=None, step=1, *, dtype=None",
        start_or_stop="sd.arange_adjoint(g, ans, stop, 'start')",
        step="sd.arange_adjoint(g, ans, stop, 'step')",
        jvp={"start_or_stop": "(0.0 if stop == None else t) * np.ones(np.shape(ans))",
             "step": "t * np.arange(np.shape(ans)[0])"}, returns='new')

for _f in (np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like, np.eye,
           np.identity):
    defnondiff(_f, f"np.{_f.__name__} depends only on shapes and dtypes, not on values", returns="new")
for _f in (np.shape, np.size, np.ndim):
    defnondiff(_f, f"np.{_f.__name__} is an integer property of the array")

# ndarray methods and attributes: the same primitives where the signatures agree.
share_method("ravel", np.ravel)
share_method("squeeze", np.squeeze)
share_method("copy", np.copy, "self, order='C'")
deflinear(method("reshape"), "self, *shape, order='C'", apply="self.reshape(*shape, order=order)",
          self="np.reshape(g, np.shape(self), order=order)", returns='view')
deflinear(method("transpose"), "self, *axes", apply="self.transpose(*axes)", self="sd.transpose_adjoint(g, axes)", returns='view')
deflinear(method("flatten"), "self, order='C'", apply="self.flatten(order=order)",
          self="np.reshape(g, np.shape(self), order=order)")
deflinear(attribute("T"), "x", apply="np.transpose(x)", x="np.transpose(g)", returns='view')
for _a in ("shape", "size", "ndim", "dtype", "itemsize", "nbytes"):
    defnondiff_attribute(_a, f"x.{_a} is a property of the array, not a value")
defnondiff_method("tolist", "x.tolist() leaves the array world; differentiate before it")

# diag builds a matrix from a vector (its adjoint reads the diagonal back) or takes a matrix's diagonal.
deflinear(np.diag, "v, k=0", apply="np.diag(v, k)", v="sd.diag_adjoint(g, v, k)", returns='view')

# Axes moved or swapped, and views that add axes: g goes back the same way.
deflinear(np.swapaxes, "a, axis1, axis2", apply="np.swapaxes(a, axis1, axis2)", a="np.swapaxes(g, axis1, axis2)",
          returns="view")
deflinear(np.moveaxis, "a, source, destination", apply="np.moveaxis(a, source, destination)",
          a="np.moveaxis(g, destination, source)", returns="view")
for _f in (np.atleast_1d, np.atleast_2d, np.atleast_3d):  # one array (several give a list: refused)
    deflinear(_f, "a", apply=f"np.{_f.__name__}(a)", a="np.reshape(g, np.shape(a))", returns="view")
deflinear(np.diagonal, "a, offset=0, axis1=0, axis2=1", apply="np.diagonal(a, offset, axis1, axis2)",
          a="sd.diagonal_adjoint(g, a, offset, axis1, axis2)", returns="view")

# Cumulative sums and products, differences, repetition: new arrays. cumprod is exact at zeros.
deflinear(np.cumsum, "a, axis=None, dtype=None, out=None", apply="np.cumsum(a, axis=axis, dtype=dtype)",
          a="sd.cumsum_adjoint(g, a, axis)", returns="new")
defrule(np.cumprod, "a, axis=None, dtype=None, out=None", a="sd.cumprod_adjoint(g, a, axis)",
        jvp={"a": "sd.cumprod_tangent(t, a, axis)"}, returns="new")
deflinear(np.diff, "a, n=1, axis=-1", apply="np.diff(a, n, axis)", a="sd.diff_adjoint(g, n, axis)", returns="new")
deflinear(np.repeat, "a, repeats, axis=None", apply="np.repeat(a, repeats, axis)",
          a="sd.repeat_adjoint(g, a, repeats, axis)", returns="new")
deflinear(np.tile, "A, reps", apply="np.tile(A, reps)", A="sd.tile_adjoint(g, A, reps)", returns="new")
defbilinear(np.kron, "a, b", apply="np.kron(a, b)", a="sd.kron_adjoint(g, a, b, 'a')",
            b="sd.kron_adjoint(g, a, b, 'b')", returns="new")

for _name, _f in (("swapaxes", np.swapaxes), ("diagonal", np.diagonal), ("cumsum", np.cumsum),
                  ("cumprod", np.cumprod), ("repeat", np.repeat)):
    share_method(_name, _f)
defresult(method("view"), "view")  # x.view(dtype): the same memory, no rule (refused when differentiated)
defresult(attribute("real"), "view")
defresult(attribute("flat"), "view")
