"""Rules for NumPy shape manipulation, copies, array constructors, and cumulative and repeating functions.

Reshaping rules send ``g`` back through the inverse reshaping. A rule for a
list-taking function (``concatenate``, ``stack``, ``hstack``, ``vstack``)
returns a list of per-array adjoints, which the transformer distributes over
the list literal. ``full``, ``linspace`` and ``arange`` are differentiable in
their value arguments (``fill_value``, ``start``/``stop``, ``start``/``step``);
the other constructors depend only on shapes and are non-differentiable.
The next section rearranges (roll, flip, rot90, pad, split), takes products
along axes (cross, tensordot) and slides windows (convolve, correlate, interp,
polyval). Then come moving, stacking, inserting, deleting and resizing
(rollaxis, dsplit, column_stack, dstack, block, broadcast_arrays, delete,
insert, diagflat, ediff1d, resize, unstack, cumulative_sum/prod, extract,
trim_zeros, bincount), and finite differences, integration, polynomials and
spaced samples (gradient, trapezoid, vander, polyadd/sub/mul/der/int, polyfit,
logspace, geomspace, partition, select). Each section's conventions are
written above it.
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

# -- moving, stacking, inserting, deleting, resizing, cumulating (helpers: numpy_shape_ops.py) --
# Conventions:
# * The functions that only copy elements (delete, insert, resize, block, extract, column_stack, dstack, unstack,
#   broadcast_arrays, trim_zeros) send each output element's adjoint back to the element it copies; an element
#   copied several times (insert's broadcast values, resize's repeats) gets the sum.
# * np.trim_zeros keeps a slice of its argument: the kept part has slope 1, the trimmed zeros 0 (a zero moved off 0
#   would not be trimmed: the result's shape jumps there, as it does for a zero anywhere).
# * np.insert is differentiable in arr and values, np.ediff1d in ary, to_end and to_begin.
# * cumulative_sum/cumulative_prod with include_initial=True prepend a constant (0 or 1): zero tangent.
deflinear(np.rollaxis, "a, axis, start=0", apply="np.rollaxis(a, axis, start)",
          a="sd.rollaxis_adjoint(g, a, axis, start)", returns="view")
deflinear(np.dsplit, "ary, indices_or_sections", apply="np.dsplit(ary, indices_or_sections)",
          ary="sd.split_adjoint(g, ary, indices_or_sections, 2)", returns="view")
deflinear(np.column_stack, "tup", apply="np.column_stack(tup)", tup="sd.column_stack_adjoint(g, tup)", returns="new")
deflinear(np.dstack, "tup", apply="np.dstack(tup)", tup="sd.dstack_adjoint(g, tup)", returns="new")
deflinear(np.block, "arrays", apply="np.block(arrays)", arrays="sd.block_adjoint(g, arrays)", returns="new")
# Its results are views of every argument, not only of the first (what returns="view" says): no ``returns``, so a
# write into any argument is seen to reach them.
defrule(np.broadcast_arrays, "*args, subok=False", args="sd.broadcast_arrays_adjoint(g, args)",
        jvp={"args": "sd.broadcast_arrays_tangent(t, args)"})
deflinear(np.delete, "arr, obj, axis=None", apply="np.delete(arr, obj, axis)",
          arr="sd.delete_adjoint(g, arr, obj, axis)", returns="new")
deflinear(np.insert, "arr, obj, values, axis=None", apply="np.insert(arr, obj, values, axis)",
          arr="sd.insert_adjoint(g, arr, obj, values, axis, 'arr')",
          values="sd.insert_adjoint(g, arr, obj, values, axis, 'values')", returns="new")
deflinear(np.diagflat, "v, k=0", apply="np.diagflat(v, k)", v="sd.diagflat_adjoint(g, v, k)", returns="new")
deflinear(np.ediff1d, "ary, to_end=None, to_begin=None", apply="np.ediff1d(ary, to_end, to_begin)",
          ary="sd.ediff1d_adjoint(g, ary, to_end, to_begin, 'ary')",
          to_end="sd.ediff1d_adjoint(g, ary, to_end, to_begin, 'to_end')",
          to_begin="sd.ediff1d_adjoint(g, ary, to_end, to_begin, 'to_begin')", returns="new")
deflinear(np.resize, "a, new_shape", apply="np.resize(a, new_shape)", a="sd.resize_adjoint(g, a, new_shape)",
          returns="new")
deflinear(np.unstack, "x, /, *, axis=0", apply="np.unstack(x, axis=axis)", x="sd.unstack_adjoint(g, x, axis)",
          returns="view")
deflinear(np.matrix_transpose, "x, /", apply="np.matrix_transpose(x)", x="np.matrix_transpose(g)", returns="view")
deflinear(np.cumulative_sum, "x, /, *, axis=None, dtype=None, include_initial=False",
          apply="np.cumulative_sum(x, axis=axis, dtype=dtype, include_initial=include_initial)",
          x="sd.cumulative_sum_adjoint(g, x, axis, include_initial)", returns="new")
defrule(np.cumulative_prod, "x, /, *, axis=None, dtype=None, include_initial=False",
        x="sd.cumulative_prod_adjoint(g, x, axis, include_initial)",
        jvp={"x": "sd.cumulative_prod_tangent(t, x, axis, include_initial)"}, returns="new")
deflinear(np.extract, "condition, arr", apply="np.extract(condition, arr)",
          arr="sd.extract_adjoint(g, condition, arr)", returns="new")
defrule(np.trim_zeros, "filt, trim='fb', axis=None", filt="sd.trim_zeros_adjoint(g, filt, trim, axis)",
        jvp={"filt": "sd.trim_zeros_tangent(t, filt, trim, axis)"}, returns="view")
# bincount is linear in its weights (without them it counts: an integer result).
deflinear(np.bincount, "x, /, weights=None, minlength=0", apply="np.bincount(x, weights, minlength)",
          weights="sd.bincount_adjoint(g, x, weights)", returns="new")

# -- finite differences, integration, polynomials, spaced samples, partition, select (numpy_rearrange_ops.py) --
# Conventions:
# * np.gradient is linear in f; its spacings (numbers or coordinate arrays, one per axis) are constants: a spacing
#   that depends on the inputs is refused. The adjoint goes through the transpose of NumPy's own difference
#   matrix, edges included (edge_order 1 or 2). With several axes the result is a tuple, one array per axis.
# * np.trapezoid(y, x, dx, axis) is differentiable in y, in x (through its differences) and in dx; dx has slope 0
#   when x is given (NumPy ignores it then).
# * np.partition's values are a permutation of its input: g goes back through the permutation that puts the
#   j-th smallest element of a where the j-th smallest of the result is (ties: in stable order, as for np.sort).
#   x.partition() sorts in place, and has no rule.
# * np.select is differentiable in the choices and the default (each gets g where it is taken), not in the
#   conditions.
# * The polynomial functions take coefficient arrays, highest power first (poly1d objects are not supported).
#   polyint is linear in p and in the constants k; polyfit is differentiable in y (the least-squares solution
#   is linear in it) and in x where the fit has full rank (a rank-deficient fit is refused), not in w (refused);
#   full=True and cov=True are refused.
# * np.logspace and np.geomspace are differentiable in start and stop (not in logspace's base: refused).
# * np.vander's column of power k has slope k x**(k - 1), 0 for k = 0 (also at x = 0).
defrule(np.gradient, "f, *varargs, axis=None, edge_order=1", f="sd.gradient_adjoint(g, f, varargs, axis, edge_order)",
        jvp={"f": "sd.gradient_tangent(t, f, varargs, axis, edge_order)"}, returns="new")
defrule(np.trapezoid, "y, x=None, dx=1.0, axis=-1",
        y="sd.trapezoid_adjoint(g, y, x, dx, axis, 'y')", x="sd.trapezoid_adjoint(g, y, x, dx, axis, 'x')",
        dx="sd.trapezoid_adjoint(g, y, x, dx, axis, 'dx')",
        jvp={"y": "sd.trapezoid_tangent(t, y, x, dx, axis, 'y')", "x": "sd.trapezoid_tangent(t, y, x, dx, axis, 'x')",
             "dx": "sd.trapezoid_tangent(t, y, x, dx, axis, 'dx')"}, returns="new")
defrule(np.vander, "x, N=None, increasing=False", x="np.sum(g * sd.vander_slope(x, N, increasing), axis=-1)",
        jvp={"x": "np.asarray(t)[:, None] * sd.vander_slope(x, N, increasing)"}, returns="new")
deflinear(np.polyadd, "a1, a2", apply="np.polyadd(a1, a2)", a1="sd.polyadd_adjoint(g, a1)",
          a2="sd.polyadd_adjoint(g, a2)", returns="new")
deflinear(np.polysub, "a1, a2", apply="np.polysub(a1, a2)", a1="sd.polyadd_adjoint(g, a1)",
          a2="sd.polyadd_adjoint(g, a2, -1.0)", returns="new")
defrule(np.polymul, "a1, a2", a1="sd.polymul_adjoint(g, a1, a2, 'a1')", a2="sd.polymul_adjoint(g, a1, a2, 'a2')",
        jvp={"a1": "sd.polymul_tangent(t, a2, ans)", "a2": "sd.polymul_tangent(t, a1, ans)"}, returns="new")
# polyder(p, 0) and polyint(p, 0) give back p itself: no ``returns``.
deflinear(np.polyder, "p, m=1", apply="np.polyder(p, m)", p="sd.polyder_adjoint(g, p, m)")
deflinear(np.polyint, "p, m=1, k=None", apply="np.polyint(p, m, k)", p="sd.polyint_adjoint(g, p, m, k, 'p')",
          k="sd.polyint_adjoint(g, p, m, k, 'k')")
_POLYFIT = "x, y, deg, rcond, full, w, cov, ans"
defrule(np.polyfit, "x, y, deg, rcond=None, full=False, w=None, cov=False",
        x=f"sd.polyfit_adjoint(g, {_POLYFIT}, 'x')", y=f"sd.polyfit_adjoint(g, {_POLYFIT}, 'y')",
        jvp={"x": f"sd.polyfit_tangent(t, {_POLYFIT}, 'x')", "y": f"sd.polyfit_tangent(t, {_POLYFIT}, 'y')"},
        returns="new")
defrule(np.logspace, "start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0",
        start="sd.logspace_adjoint(g, start, stop, num, endpoint, base, axis, ans, 'start')",
        stop="sd.logspace_adjoint(g, start, stop, num, endpoint, base, axis, ans, 'stop')",
        jvp={"start": "sd.logspace_tangent(t, start, stop, num, endpoint, base, axis, ans, 'start')",
             "stop": "sd.logspace_tangent(t, start, stop, num, endpoint, base, axis, ans, 'stop')"}, returns="new")
defrule(np.geomspace, "start, stop, num=50, endpoint=True, dtype=None, axis=0",
        start="sd.geomspace_adjoint(g, start, stop, num, endpoint, axis, ans, 'start')",
        stop="sd.geomspace_adjoint(g, start, stop, num, endpoint, axis, ans, 'stop')",
        jvp={"start": "sd.geomspace_tangent(t, start, stop, num, endpoint, axis, ans, 'start')",
             "stop": "sd.geomspace_tangent(t, start, stop, num, endpoint, axis, ans, 'stop')"}, returns="new")
defrule(np.partition, "a, kth, axis=-1, kind='introselect', order=None", a="sd.partition_adjoint(g, a, ans, axis)",
        jvp={"a": "sd.partition_tangent(t, a, ans, axis)"}, returns="new")
defrule(np.select, "condlist, choicelist, default=0",
        choicelist="sd.select_adjoint(g, condlist, choicelist, default, 'choicelist')",
        default="sd.select_adjoint(g, condlist, choicelist, default, 'default')",
        jvp={"choicelist": "sd.select_tangent(t, condlist, choicelist, default, 'choicelist')",
             "default": "sd.select_tangent(t, condlist, choicelist, default, 'default')"}, returns="new")

# Constant arrays, and questions about dtypes, shapes, types and memory: no values to differentiate.
defnondiff(np.tri, "np.tri depends only on shapes and dtypes, not on values", returns="new")
for _f in (np.can_cast, np.result_type, np.promote_types, np.min_scalar_type, np.common_type, np.mintypecode,
           np.isdtype, np.issubdtype, np.broadcast_shapes, np.shares_memory, np.may_share_memory, np.iterable,
           np.isfortran, np.isscalar, np.isrealobj, np.iscomplexobj, np.typename):
    defnondiff(_f, f"np.{_f.__name__} answers a question about types, shapes or memory, not about values")
for _f in (np.array2string, np.array_repr, np.array_str, np.base_repr, np.binary_repr, np.format_float_positional,
           np.format_float_scientific, np.datetime_as_string):
    defnondiff(_f, f"np.{_f.__name__} returns a string")
for _f in (np.busday_count, np.busday_offset, np.is_busday, np.datetime_data):
    defnondiff(_f, f"np.{_f.__name__} works on dates")

# Conversions, like np.asarray (they may give back their argument itself); an integer or boolean dtype truncates
# (zero gradient).
for _f, _spec in ((np.asanyarray, "a, dtype=None, order=None"), (np.asarray_chkfinite, "a, dtype=None, order=None"),
                  (np.ascontiguousarray, "a, dtype=None"), (np.asfortranarray, "a, dtype=None"),
                  (np.require, "a, dtype=None, requirements=None")):
    deflinear(_f, _spec, apply="sd.array_tangent(a, dtype)", a="sd.array_adjoint(g, a, dtype)")
deflinear(np.astype, "x, dtype, /, *, copy=True, device=None", apply="sd.array_tangent(x, dtype)",
          x="sd.array_adjoint(g, x, dtype)")
deflinear(method("astype"), "self, dtype, order='K', casting='unsafe', subok=True, copy=True",
          apply="sd.array_tangent(self, dtype)", self="sd.array_adjoint(g, self, dtype)")
