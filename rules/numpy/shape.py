"""Rules for NumPy shape manipulation, copies, array constructors, and cumulative and repeating functions.

Reshaping rules send ``g`` back through the inverse reshaping. A rule for a
list-taking function (``concatenate``, ``stack``, ``hstack``, ``vstack``)
returns a list of per-array adjoints, which the transformer distributes over
the list literal. ``full``, ``linspace`` and ``arange`` are differentiable in
their value arguments (``fill_value``, ``start``/``stop``, ``start``/``step``);
the other constructors depend only on shapes and are non-differentiable.
The last section rearranges (roll, flip, rot90, pad, split), takes products
along axes (cross, tensordot) and slides windows (convolve, correlate, interp,
polyval); its conventions are written above it.
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
# x.copy(): np.copy's templates for an array; the shallow copy of a dict or list (d.copy()) passes g through.
defrule(method("copy"), "self, order='C'", self="sd.copy_adjoint(g, self)", jvp={"self": "sd.copy_adjoint(t, self)"},
        returns="new")
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

# -- rearranging, padding, splitting, products along axes, sliding windows (helpers: numpy_rearrange_ops.py) --
# Conventions:
# * np.pad copies elements into the border; the adjoint of an element is the sum over all its copies. Which
#   element each padded one copies is NumPy's own rule, read off np.pad of the indices: 'reflect' mirrors about
#   the edge element (not repeated), 'symmetric' repeats it, 'edge' repeats it as often as the border is wide,
#   'wrap' copies from the other end. 'constant' borders are constants (zero tangent, no adjoint to
#   constant_values). The other modes (linear_ramp, maximum, mean, median, minimum, empty) and
#   reflect_type='odd' are refused by the helper.
# * np.split and its kin give lists of views; a part whose adjoint is None (unused) gets zeros.
# * Functions whose ``out=`` would write into another array leave it out of the signature: refused.
deflinear(np.roll, "a, shift, axis=None", apply="np.roll(a, shift, axis)", a="sd.roll_adjoint(g, shift, axis)",
          returns="new")
deflinear(np.flip, "m, axis=None", apply="np.flip(m, axis)", m="np.flip(g, axis)", returns="view")
deflinear(np.fliplr, "m", apply="np.fliplr(m)", m="np.fliplr(g)", returns="view")
deflinear(np.flipud, "m", apply="np.flipud(m)", m="np.flipud(g)", returns="view")
deflinear(np.rot90, "m, k=1, axes=(0, 1)", apply="np.rot90(m, k, axes)", m="np.rot90(g, -k, axes)", returns="view")
defrule(np.pad, "array, pad_width, mode='constant', *, constant_values=0, reflect_type='even'",
        array="sd.pad_adjoint(g, array, pad_width, mode, reflect_type)",
        jvp={"array": "sd.pad_tangent(t, array, pad_width, mode, reflect_type)"}, returns="new")
deflinear(np.split, "ary, indices_or_sections, axis=0", apply="np.split(ary, indices_or_sections, axis)",
          ary="sd.split_adjoint(g, ary, indices_or_sections, axis)", returns="view")
deflinear(np.array_split, "ary, indices_or_sections, axis=0", apply="np.array_split(ary, indices_or_sections, axis)",
          ary="sd.split_adjoint(g, ary, indices_or_sections, axis)", returns="view")
deflinear(np.hsplit, "ary, indices_or_sections", apply="np.hsplit(ary, indices_or_sections)",
          ary="sd.split_adjoint(g, ary, indices_or_sections, 1 if np.ndim(ary) > 1 else 0)", returns="view")
deflinear(np.vsplit, "ary, indices_or_sections", apply="np.vsplit(ary, indices_or_sections)",
          ary="sd.split_adjoint(g, ary, indices_or_sections, 0)", returns="view")
# triu/tril of a vector is that of the square matrix whose rows are the vector: the adjoint sums the rows
# (sd.unbroadcast; not unbroadcast=True, which the transformer leaves out when the other arguments are numbers).
deflinear(np.triu, "m, k=0", apply="np.triu(m, k)", m="sd.unbroadcast(np.triu(g, k), m)", returns="new")
deflinear(np.tril, "m, k=0", apply="np.tril(m, k)", m="sd.unbroadcast(np.tril(g, k), m)", returns="new")
defbilinear(np.cross, "a, b, axisa=-1, axisb=-1, axisc=-1, axis=None",
            apply="np.cross(a, b, axisa, axisb, axisc, axis)",
            a="sd.cross_adjoint(g, a, b, axisa, axisb, axisc, axis, 'a')",
            b="sd.cross_adjoint(g, a, b, axisa, axisb, axisc, axis, 'b')", returns="new")
defbilinear(np.tensordot, "a, b, axes=2", apply="np.tensordot(a, b, axes)",
            a="sd.tensordot_adjoint(g, a, b, axes, 'a')", b="sd.tensordot_adjoint(g, a, b, axes, 'b')",
            returns="new")
# Output k of meshgrid repeats input k along the other axes; copy=False (broadcast views) is refused.
defrule(np.meshgrid, "*xi, sparse=False, indexing='xy'", xi="sd.meshgrid_adjoint(g, xi, sparse, indexing)",
        jvp={"xi": "sd.meshgrid_tangent(t, xi, sparse, indexing)"}, returns="new")
# polyval is linear in the coefficients p (highest first) and a polynomial in x.
defrule(np.polyval, "p, x", p="sd.polyval_adjoint(g, p, x)", x="sd.unbroadcast(g * sd.polyval_slope(p, x), x)",
        jvp={"p": "np.polyval(t, x)", "x": "t * sd.polyval_slope(p, x)"}, returns="new")
# interp: linear in fp; in x piecewise linear, with the slope of the segment x lies in: at an interior knot the
# segment to its right, at the first and last knots the first and last segments (one-sided from inside), and 0
# outside the knots. xp is not differentiable (refused when it depends on the inputs), nor is period (refused).
defrule(np.interp, "x, xp, fp, left=None, right=None",
        x="g * sd.interp_slope(x, xp, fp, left, right)", fp="sd.interp_adjoint(g, x, xp, fp, left, right)",
        jvp={"x": "t * sd.interp_slope(x, xp, fp, left, right)", "fp": "sd.interp_tangent(t, x, xp, left, right)"},
        returns="new")
# Convolution and correlation of real vectors: 'same' and 'valid' are slices of 'full', placed as NumPy does.
defbilinear(np.convolve, "a, v, mode='full'", apply="np.convolve(a, v, mode)",
            a="sd.convolve_adjoint(g, a, v, mode, 'a')", v="sd.convolve_adjoint(g, a, v, mode, 'v')", returns="new")
defbilinear(np.correlate, "a, v, mode='valid'", apply="np.correlate(a, v, mode)",
            a="sd.correlate_adjoint(g, a, v, mode, 'a')", v="sd.correlate_adjoint(g, a, v, mode, 'v')", returns="new")
