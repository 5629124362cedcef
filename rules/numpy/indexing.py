"""Indexing rules.

Reading ``x[i]`` (integers, slices, steps, negative indices, tuples, boolean
masks and integer arrays, repeated indices included) is handled by the
transformer through ``operator.getitem``, whose adjoint scatters ``g`` with
``sd.index_adjoint`` (``np.add.at``, so repeated indices accumulate);
``tests/rules/numpy/test_indexing.py`` checks those reads. The gathering
functions ``np.take``, ``np.take_along_axis``, ``np.choose`` and ``np.compress``
(and the methods ``x.take``, ``x.choose``, ``x.compress``) scatter their adjoints
back the same way.
"""

import numpy as np

from ..registry import deflinear, defnondiff, defrule, method, runtime, share_method

# ``y op= v`` on an array that another name shares is written back in place by
# ``sd.assign_into(y, result)``: the result receives the whole adjoint of y.
# The transform saves y before the write and restores it in the backward pass.
# Forward: the value's tangent written into zeros shaped like y (y's own tangent is overwritten).
deflinear(runtime("assign_into"), "target, value", cut=("target",), apply="sd.assign_into(target, value)",
          value="sd.unbroadcast(g, value)")
# The backward pass's ``y = sd.restore(y, saved)``: what a helper overwrote in an array, list or dict, put back
# into the same object, read again as such a write; ``saved`` receives the whole adjoint of y.
deflinear(runtime("restore"), "target, saved", cut=("target",), apply="sd.restore(target, saved)", saved="g")
# An element read before its array changed, checked to be a copy rather than a view: the identity
# (its tangent is not checked, it is no view of the user's array).
# ``changed``: the arrays written since, compared by identity only (cut: no gradient flows through it).
defrule(runtime("not_a_view"), "value, message, filename=None, lineno=None, changed=()", cut=("changed",),
        value="g", jvp={"value": "t"})
# The adjoint of a list that append and pop change, turned into a list: linear, it passes g through.
deflinear(runtime("list_adjoint"), "adjoint, items", apply="sd.list_adjoint(adjoint, items)", adjoint="g")
# A view read after its array changed is read again from the array (lowered to sd.view_again(v, u, index)):
# the result is the base's index (then the view's tangent does not reach it) or the view itself.
defrule(runtime("view_again"), "view, base, index",
        view="sd.view_again_adjoint(g, view, base, index, 'view')",
        base="sd.view_again_adjoint(g, view, base, index, 'base')",
        jvp={"view": "sd.view_again_tangent(t, view, base, index, 'view')",
             "base": "sd.view_again_tangent(t, view, base, index, 'base')"})
# y += v where y may share its object: checked to be a number (then rebound), else refused when it runs.
defrule(runtime("immutable_value"), "value, message, hint, filename=None, lineno=None", value="g",
        jvp={"value": "t"})
# for v in x over an argument: its elements, or a dict's keys (which carry no gradient).
deflinear(runtime("iterable"), "x", apply="sd.iterable(x)", x="sd.sequence_adjoint(g, x)")
# np.add.at(y, i, v) is lowered to ``t = sd.accumulate_at(y, i, v); y[i] = t`` (np.subtract.at: negate).
# t is y[i] plus every value aimed at each element: y[i] passes g through like a read, and each value
# receives g of the element it lands on (summed over repeats, then back to the value's shape).
deflinear(runtime("accumulate_at"), "array, index, value, negate=False",
          apply="sd.accumulate_at(array, index, value, negate)",
          array="sd.index_adjoint(g, array, index)",
          value="sd.accumulate_at_adjoint(g, array, index, value, negate=negate)")

# np.sort is a gather by the sorting permutation: g goes back through it (ties: the stable order), and
# the tangent is gathered by the same permutation.
defrule(np.sort, "a, axis=-1, kind=None, order=None, *, stable=None", a="sd.sort_adjoint(g, a, axis)",
        jvp={"a": "sd.sort_tangent(t, a, axis)"}, returns='new')

# Gathers by index arrays: the adjoint scatters g back with np.add.at, so an element taken several times
# receives the sum of its copies' adjoints (repeated indices accumulate, as for x[i]). mode='wrap' and 'clip'
# map the indices as NumPy does before scattering. ``out=`` would write into another array: not in the
# signatures, so refused (mode is then keyword-only).
deflinear(np.take, "a, indices, axis=None, *, mode='raise'", apply="np.take(a, indices, axis=axis, mode=mode)",
          a="sd.take_adjoint(g, a, indices, axis, mode)", returns="new")
deflinear(np.take_along_axis, "arr, indices, axis=-1", apply="np.take_along_axis(arr, indices, axis)",
          arr="sd.take_along_axis_adjoint(g, arr, indices, axis)", returns="new")
# choose is differentiable in the choices (a list, a tuple or an array stacking them), not in the index array a:
# each choice gets g where a picks it, summed back to its shape.
defrule(np.choose, "a, choices, *, mode='raise'", choices="sd.choose_adjoint(g, a, choices, mode)",
        jvp={"choices": "sd.choose_tangent(t, a, choices, mode)"}, returns="new")
deflinear(np.compress, "condition, a, axis=None", apply="np.compress(condition, a, axis=axis)",
          a="sd.compress_adjoint(g, condition, a, axis)", returns="new")
share_method("take", np.take)
share_method("choose", np.choose)  # x.choose(choices): the receiver is the index array
deflinear(method("compress"), "self, condition, axis=None", apply="self.compress(condition, axis=axis)",
          self="sd.compress_adjoint(g, condition, self, axis)", returns="new")

# Index arrays built from shapes or from other indices carry no gradient (np.ix_ is meant for integer and
# boolean index sequences: it reshapes them into an open mesh of indices).
for _f in (np.ravel_multi_index, np.unravel_index, np.tril_indices, np.tril_indices_from, np.triu_indices,
           np.triu_indices_from, np.diag_indices, np.diag_indices_from, np.indices, np.ix_, np.mask_indices):
    defnondiff(_f, f"np.{_f.__name__} builds integer indices")
