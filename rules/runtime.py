"""Rules for the runtime itself (``sd.<name>``), so that generated code can be differentiated again.

A derivative's code calls the runtime (``backends/contract.py``). For ``grad(grad(f))`` each of those calls
needs what any call needs: a rule in both modes, or a declaration that its result carries no derivative.
Most helpers are linear in the adjoint or tangent they receive (``g`` or ``t``): their forward template is
the helper applied to the tangent, their reverse template its transpose, often the primal operation itself
(the transpose of ``sum_adjoint``, a broadcast, is a sum).

The helpers that update an adjoint in place (``store_adjoint``, ``clear_at``, ``add_at``, ``unpop`` ...)
have no rule: a rule cannot say that a call changes its argument. When generated code is parsed again, each
of their calls is spelled out as a pure call and a visible write (:data:`SPELLED_OUT`,
``sourcediff.parse.spell_out_writes``), which the in-place analysis follows like the user's own writes.

Parameters are renamed where the runtime's own names (``g``, ``t``) would hide the template's.
"""

from .registry import (TANGENT, defbilinear, deflinear, defnondiff, defpartials, defrule, rename, runtime, scaled,
                       valid_for_complex)


def _bilinear(key, spec: str, *, apply: str, shape_only: tuple[str, ...] = (), **transposes: str) -> None:
    """A helper linear in each parameter of ``transposes`` separately (a product), whose ``shape_only`` parameters
    give only a shape (``matmul_adjoint_a``'s ``a``): the forward template is the product rule."""
    defrule(key, spec, jvp={p: rename(apply, {p: TANGENT}) for p in transposes}, cut=shape_only, returns="new",
            **transposes)


def _linear(key, spec: str, *, apply: str, shape_only: tuple[str, ...] = (), returns: str | None = None,
            **transposes: str) -> None:
    """A helper linear in the parameters of ``transposes``, whose ``shape_only`` parameters give only a shape,
    a dtype or a kind (``sum_adjoint``'s ``x``): no derivative flows through them (they are ``cut``), and the
    forward template keeps them as they are (zeros in their place could change the dtype)."""
    jvps = {p: rename(apply, {p: TANGENT, **{q: f"sd.zeros_like({q})" for q in set(transposes) - {p}}})
            for p in transposes}
    defrule(key, spec, jvp=jvps, cut=shape_only, returns=returns, **transposes)


# -- seeds, zeros and checks: their results carry no derivative -------------------------------------------

defnondiff(runtime("scalar_seed"), "the seed of a scalar output is the constant 1.0, whatever the output's value",
           returns="new")
defnondiff(runtime("zeros_like"), "zeros shaped like its argument: they do not depend on its values", returns="new")
defnondiff(runtime("cleared"), "the zeros that clear part of an adjoint: they do not depend on its values",
           returns="new")
defnondiff(runtime("unpop_position"), "an integer position in a list")
defnondiff(runtime("uninsert_position"), "an integer position in a list")
defnondiff(runtime("check_index"), "a check that refuses float indices; it returns nothing")
defnondiff(runtime("check_array_attribute"), "a check that refuses a record field read as an array attribute; "
                                             "it returns nothing")
defnondiff(runtime("refuse_shared_arguments"), "a check that refuses arguments sharing memory; it returns nothing")

# -- adjoints: copies, sums and broadcasts --------------------------------------------------------------------

# A private copy of an adjoint, and the value a derivative returns, copied before the backward pass: identities.
deflinear(runtime("own"), "adjoint", apply="sd.own(adjoint)", adjoint="g", returns="new")
deflinear(runtime("keep_value"), "value", apply="sd.keep_value(value)", value="g", returns="new")
deflinear(runtime("snapshot"), "value", apply="sd.snapshot(value)", value="g", returns="new")
# A snapshot of container[key] (a dict may not have the key yet: then a marker, which carries nothing).
_linear(runtime("snapshot_item"), "container, key", apply="sd.snapshot_item(container, key)",
        container="sd.index_adjoint(g, container, key)", returns="new")
deflinear(runtime("restored_value"), "saved", apply="sd.restored_value(saved)", saved="g", returns="new")
deflinear(runtime("snapshot_contents"), "value", apply="sd.snapshot_contents(value)", value="g", returns="new")
# The sum of two adjoints (containers element by element); each receives g, summed back to its shape. It is
# always a new object (``None``, a zero, added to an array gives a copy of the array).
deflinear(runtime("add"), "a, b", apply="sd.add(a, b)", a="sd.unbroadcast(g, a)", b="sd.unbroadcast(g, b)",
          returns="new")
# A tuple or list adjoint built from the adjoints of its items (helpers that return one per output of a
# primal): linear; its transpose hands each item its part, in the structure of ``values``.
deflinear(runtime("as_tuple_adjoint"), "values", apply="sd.as_tuple_adjoint(values)",
          values="sd.sequence_adjoint(g, values)", returns="new")
deflinear(runtime("as_list_adjoint"), "values", apply="sd.as_list_adjoint(values)",
          values="sd.sequence_adjoint(g, values)", returns="new")
# Records (namedtuples, dataclasses): a field's adjoint set into a zero record adjoint, and read back out of one,
# are transposes of each other; the record and the value that give only the structure carry no derivative.
_linear(runtime("attribute_adjoint"), "adjoint, obj, name", apply="sd.attribute_adjoint(adjoint, obj, name)",
        shape_only=("obj",), adjoint="sd.attribute_of_adjoint(g, obj, name)", returns="new")
_linear(runtime("attribute_of_adjoint"), "adjoint, obj, name", apply="sd.attribute_of_adjoint(adjoint, obj, name)",
        shape_only=("obj",), adjoint="sd.attribute_adjoint(g, obj, name)")
_linear(runtime("field_of_tangent"), "tangent, primal, field", apply="sd.field_of_tangent(tangent, primal, field)",
        shape_only=("primal",), tangent="sd.attribute_adjoint(g, primal, field)")
_linear(runtime("field_tangent"), "tangent, field, record", apply="sd.field_tangent(tangent, field, record)",
        shape_only=("record",), tangent="sd.field_adjoint(g, field, tangent)", returns="new")
_linear(runtime("field_adjoint"), "adjoint, field, like", apply="sd.field_adjoint(adjoint, field, like)",
        shape_only=("like",), adjoint="sd.field_tangent(g, field, adjoint)")
# unbroadcast sums down to the shape of ``like``: its transpose broadcasts back (g + zeros shaped like value).
_linear(runtime("unbroadcast"), "value, like", apply="sd.unbroadcast(value, like)", shape_only=("like",),
          value="g + sd.zeros_like(value)")
_linear(runtime("unbroadcast_to"), "value, shape", apply="sd.unbroadcast_to(value, shape)", shape_only=("shape",),
          value="g + sd.zeros_like(value)")
# sum(a * b) for a Python number's adjoint: a product, summed.
defbilinear(runtime("sum_product"), "a, b", apply="sd.sum_product(a, b)", a="sd.unbroadcast(g * b, a)",
            b="sd.unbroadcast(g * a, b)")
# The adjoints of np.sum and np.mean broadcast the cotangent back over the reduced axes; transposed, a sum
# (and a mean: the broadcast divided by the count) over the same axes.
_linear(runtime("sum_adjoint"), "cotangent, x, axis=None, keepdims=False", shape_only=("x",),
          apply="sd.sum_adjoint(cotangent, x, axis, keepdims)",
          cotangent="sd.unbroadcast(np.sum(g, axis=axis, keepdims=keepdims), cotangent)")
_linear(runtime("mean_adjoint"), "cotangent, x, axis=None, keepdims=False", shape_only=("x",),
          apply="sd.mean_adjoint(cotangent, x, axis, keepdims)",
          cotangent="sd.unbroadcast(np.mean(g, axis=axis, keepdims=keepdims), cotangent)")
# x[index]'s adjoint scatters into zeros shaped like x (repeats accumulate); transposed, a gather.
_linear(runtime("index_adjoint"), "cotangent, x, index", shape_only=("x",),
        apply="sd.index_adjoint(cotangent, x, index)",
          cotangent="sd.unbroadcast(g[index], cotangent)", returns="new")
_linear(runtime("copy_adjoint"), "cotangent, x", shape_only=("x",), apply="sd.copy_adjoint(cotangent, x)",
          cotangent="sd.copy_adjoint(g, x)")
deflinear(runtime("transpose_adjoint"), "cotangent, axes=None", apply="sd.transpose_adjoint(cotangent, axes)",
          cotangent="np.transpose(g, axes)", returns="new")

# -- products: the adjoints of matmul and dot are products again ---------------------------------------------

# matmul_adjoint_a(c, a, b) = c @ b^T (in a's shape): bilinear in c and b; the transpose in c is the product
# with b, the one in b is matmul_adjoint_b with the cotangent in a's place.
_bilinear(runtime("matmul_adjoint_a"), "cotangent, a, b", shape_only=("a",),
          apply="sd.matmul_adjoint_a(cotangent, a, b)",
            cotangent="sd.unbroadcast(np.matmul(g, b), cotangent)", b="sd.matmul_adjoint_b(cotangent, g, b)")
_bilinear(runtime("matmul_adjoint_b"), "cotangent, a, b", shape_only=("b",),
          apply="sd.matmul_adjoint_b(cotangent, a, b)",
            cotangent="sd.unbroadcast(np.matmul(a, g), cotangent)", a="sd.matmul_adjoint_a(cotangent, a, g)")
_bilinear(runtime("dot_adjoint_a"), "cotangent, a, b", shape_only=("a",), apply="sd.dot_adjoint_a(cotangent, a, b)",
            cotangent="sd.unbroadcast(np.dot(g, b), cotangent)", b="sd.dot_adjoint_b(cotangent, g, b)")
_bilinear(runtime("dot_adjoint_b"), "cotangent, a, b", shape_only=("b",), apply="sd.dot_adjoint_b(cotangent, a, b)",
            cotangent="sd.unbroadcast(np.dot(a, g), cotangent)", a="sd.dot_adjoint_a(cotangent, a, g)")

# -- adjoints of linear primitives: their transpose is the primitive again -----------------------------------

def _transposed(name: str, spec: str, primal: str, shape_only: tuple[str, ...] = ()) -> None:
    """``sd.<name>(cotangent, ...)``, the adjoint of a linear primitive: linear in the cotangent, and its
    transpose is the primitive itself, ``primal`` (a template in ``g``), summed back to the cotangent's shape."""
    _linear(runtime(name), spec, apply=f"sd.{name}({', '.join(p.split('=')[0].strip() for p in spec.split(','))})",
            shape_only=shape_only, returns="new", cotangent=f"sd.unbroadcast({primal}, cotangent)")


_transposed("cumsum_adjoint", "cotangent, a, axis=None", "np.cumsum(g, axis)", ("a",))
_transposed("roll_adjoint", "cotangent, shift, axis=None", "np.roll(g, shift, axis)")
_transposed("diff_adjoint", "cotangent, n=1, axis=-1", "np.diff(g, n, axis)")
_transposed("repeat_adjoint", "cotangent, a, repeats, axis=None", "np.repeat(g, repeats, axis)", ("a",))
_transposed("tile_adjoint", "cotangent, a, reps", "np.tile(g, reps)", ("a",))
_transposed("take_adjoint", "cotangent, a, indices, axis=None, mode='raise'", "np.take(g, indices, axis, mode=mode)",
            ("a",))
_transposed("trace_adjoint", "cotangent, a, offset=0, axis1=0, axis2=1", "np.trace(g, offset, axis1, axis2)", ("a",))
_transposed("diagonal_adjoint", "cotangent, a, offset=0, axis1=0, axis2=1", "np.diagonal(g, offset, axis1, axis2)",
            ("a",))
_transposed("diag_adjoint", "cotangent, v, k=0", "np.diag(g, k)", ("v",))
# the adjoints of joining arrays give one block per array; transposed, the blocks joined again
_transposed("concatenate_adjoint", "cotangent, arrays, axis=0", "np.concatenate(g, axis)", ("arrays",))
_transposed("stack_adjoint", "cotangent, arrays, axis=0", "np.stack(g, axis)", ("arrays",))
_transposed("vstack_adjoint", "cotangent, arrays", "np.vstack(g)", ("arrays",))
_transposed("hstack_adjoint", "cotangent, arrays", "np.hstack(g)", ("arrays",))
_transposed("column_stack_adjoint", "cotangent, tup", "np.column_stack(g)", ("tup",))
_transposed("dstack_adjoint", "cotangent, tup", "np.dstack(g)", ("tup",))
_transposed("unstack_adjoint", "cotangent, x, axis=0", "np.stack(g, axis)", ("x",))
_linear(runtime("split_adjoint"), "cotangent, ary, indices_or_sections, axis=0", shape_only=("ary",),
        apply="sd.split_adjoint(cotangent, ary, indices_or_sections, axis)",
        cotangent="np.array_split(g, indices_or_sections, axis)", returns="new")
_transposed("rollaxis_adjoint", "cotangent, a, axis, start=0", "np.rollaxis(g, axis, start)", ("a",))
_transposed("take_along_axis_adjoint", "cotangent, arr, indices, axis", "np.take_along_axis(g, indices, axis)",
            ("arr",))
_transposed("compress_adjoint", "cotangent, condition, a, axis=None", "np.compress(condition, g, axis)", ("a",))
_transposed("delete_adjoint", "cotangent, arr, obj, axis=None", "np.delete(g, obj, axis)", ("arr",))
_transposed("extract_adjoint", "cotangent, condition, arr", "np.extract(condition, g)", ("arr",))
_transposed("diagflat_adjoint", "cotangent, v, k=0", "np.diagflat(g, k)", ("v",))
_transposed("cumulative_sum_adjoint", "cotangent, x, axis=None, include_initial=False",
            "np.cumulative_sum(g, axis=axis, include_initial=include_initial)", ("x",))
_transposed("nan_cumsum_adjoint", "cotangent, a, axis=None", "np.cumsum(np.where(np.isnan(a), 0.0, g), axis)", ("a",))
_transposed("polyder_adjoint", "cotangent, p, m=1", "np.polyder(g, m)", ("p",))
_transposed("nan_sum_adjoint", "cotangent, a, axis=None, keepdims=False",
            "np.sum(np.where(np.isnan(a), 0.0, g), axis=axis, keepdims=keepdims)", ("a",))

# inner and outer products: as for dot
_bilinear(runtime("inner_adjoint_a"), "cotangent, a, b", shape_only=("a",), apply="sd.inner_adjoint_a(cotangent, a, b)",
            cotangent="sd.unbroadcast(np.inner(g, b), cotangent)", b="sd.inner_adjoint_b(cotangent, g, b)")
_bilinear(runtime("inner_adjoint_b"), "cotangent, a, b", shape_only=("b",), apply="sd.inner_adjoint_b(cotangent, a, b)",
            cotangent="sd.unbroadcast(np.inner(a, g), cotangent)", a="sd.inner_adjoint_a(cotangent, a, g)")
_bilinear(runtime("outer_adjoint_a"), "cotangent, a, b", shape_only=("a",), apply="sd.outer_adjoint_a(cotangent, a, b)",
            cotangent="sd.unbroadcast(np.outer(g, b), cotangent)", b="sd.outer_adjoint_b(cotangent, g, b)")
_bilinear(runtime("outer_adjoint_b"), "cotangent, a, b", shape_only=("b",), apply="sd.outer_adjoint_b(cotangent, a, b)",
            cotangent="sd.unbroadcast(np.outer(a, g), cotangent)", a="sd.outer_adjoint_a(cotangent, a, g)")

# var_adjoint(c, x) = 2 (x - mean x) c / (N - ddof): linear in c and in x (centering is linear); each transpose
# is a var_adjoint again (centering is symmetric), with the other factor spread over x's shape.
defbilinear(runtime("var_adjoint"), "cotangent, x, axis=None, ddof=0, keepdims=False",
            apply="sd.var_adjoint(cotangent, x, axis, ddof, keepdims)",
            cotangent="sd.unbroadcast(np.sum(g * sd.var_adjoint(1.0, x, axis, ddof, True), axis=axis, "
                      "keepdims=keepdims), cotangent)",
            x="sd.var_adjoint(1.0, g * sd.sum_adjoint(cotangent, x, axis, keepdims), axis, ddof, True)")
# inv_adjoint(c, B) = -(B^T c B^T), B = inv(a): linear in c, quadratic in B.
defrule(runtime("inv_adjoint"), "cotangent, inverse",
        cotangent="sd.inv_adjoint(g, np.swapaxes(inverse, -1, -2))",
        inverse="-(cotangent @ np.swapaxes(inverse, -1, -2) @ np.swapaxes(g, -1, -2) "
                "+ np.swapaxes(g, -1, -2) @ np.swapaxes(inverse, -1, -2) @ cotangent)",
        jvp={"cotangent": "sd.inv_adjoint(t, inverse)",
             "inverse": "-(np.swapaxes(t, -1, -2) @ cotangent @ np.swapaxes(inverse, -1, -2) "
                        "+ np.swapaxes(inverse, -1, -2) @ cotangent @ np.swapaxes(t, -1, -2))"}, returns="new")
# norm_slope(x, n) = x / n, 0 where n == 0.
defpartials(runtime("norm_slope"), "x, norm", unbroadcast=True, x="sd.norm_slope(1.0, norm)",
            norm="-sd.norm_slope(x, norm) / norm")

# -- slopes of elementwise rules --------------------------------------------------------------------------------

# power_rule(a, b) = b * a ** (b - 1), 0 where b == 0: its slope in a is b * power_rule(a, b - 1) (0 where b is
# 0 or 1); in b, a ** (b - 1) * (1 + b log a).
defpartials(runtime("power_rule"), "a, b", unbroadcast=True, a="b * sd.power_rule(a, b - 1)",
            b="a ** (b - 1) * (1 + sd.xlogy(b, a))")
# xlogy(x, y) = x log y (0 where x == 0): linear in x.
defpartials(runtime("xlogy"), "x, y", unbroadcast=True, x="sd.xlogy(1.0, y)", y="x / y")

def _slopes(name: str, spec: str, **partials: str) -> None:
    """An elementwise helper by its partial derivatives (as ``defpartials``). A parameter without one (a Bessel
    function's order) is refused where it is differentiated, as in the first derivative's rule."""
    defpartials(runtime(name), spec, unbroadcast=True, **partials)


_slopes("xdivy", "x, y", x="sd.xdivy(1.0, y)", y="-sd.xdivy(x, y) / y")
_slopes("expit", "x", x="sd.expit(x) * (1 - sd.expit(x))")
_slopes("digamma", "x", x="sd.polygamma(1, x)")
_slopes("polygamma", "n, x", x="sd.polygamma(n + 1, x)")
# Bessel functions: the slope in x by the recurrences; the order v carries none
_slopes("bessel_iv", "v, x", x="0.5 * (sd.bessel_iv(v - 1, x) + sd.bessel_iv(v + 1, x))")
_slopes("bessel_jv", "v, x", x="0.5 * (sd.bessel_jv(v - 1, x) - sd.bessel_jv(v + 1, x))")
_slopes("bessel_yv", "v, x", x="0.5 * (sd.bessel_yv(v - 1, x) - sd.bessel_yv(v + 1, x))")
_slopes("bessel_kv", "v, x", x="-0.5 * (sd.bessel_kv(v - 1, x) + sd.bessel_kv(v + 1, x))")
_slopes("bessel_ive", "v, x",
        x="0.5 * (sd.bessel_ive(v - 1, x) + sd.bessel_ive(v + 1, x)) - np.sign(x) * sd.bessel_ive(v, x)")
_slopes("bessel_kve", "v, x", x="sd.bessel_kve(v, x) - 0.5 * (sd.bessel_kve(v - 1, x) + sd.bessel_kve(v + 1, x))")

# -- reductions and linear algebra ------------------------------------------------------------------------------

# The adjoint of np.max/np.min sends the cotangent to the extremal entries (ties share it): linear in the
# cotangent; which entries are extremal is piecewise constant in x, so x and the result carry no derivative.
_linear(runtime("extremum_adjoint"), "cotangent, x, extremum, axis=None, keepdims=False", shape_only=("x", "extremum"),
        apply="sd.extremum_adjoint(cotangent, x, extremum, axis, keepdims)",
        cotangent="sd.unbroadcast(np.sum(g * sd.extremum_adjoint(np.ones_like(extremum), x, extremum, axis, keepdims), "
                  "axis=axis, keepdims=keepdims), cotangent)", returns="new")
# det_adjoint(c, a, d) = c d inv(a)^T: linear in c and in d; in a, the slope of inv(a)^T.
defrule(runtime("det_adjoint"), "cotangent, a, determinant",
        cotangent="sd.unbroadcast(np.sum(g * sd.det_adjoint(1.0, a, determinant), axis=(-2, -1)), cotangent)",
        determinant="sd.unbroadcast(np.sum(g * sd.det_adjoint(cotangent, a, 1.0), axis=(-2, -1)), determinant)",
        a="-(np.swapaxes(np.linalg.inv(a), -1, -2) @ (np.asarray(cotangent * determinant)[..., None, None] "
          "* np.swapaxes(g, -1, -2)) @ np.swapaxes(np.linalg.inv(a), -1, -2))",
        jvp={"cotangent": "sd.det_adjoint(t, a, determinant)", "determinant": "sd.det_adjoint(cotangent, a, t)",
             "a": "-(np.asarray(cotangent * determinant)[..., None, None] "
                  "* np.swapaxes(np.linalg.inv(a) @ t @ np.linalg.inv(a), -1, -2))"}, returns="new")

# -- pairs of helpers that are each other's transposes: a dict's entries, a view read again ----------------------

_linear(runtime("dict_get_adjoint"), "cotangent, d, key", shape_only=("d",),
        apply="sd.dict_get_adjoint(cotangent, d, key)",
        cotangent="sd.dict_get_tangent(g, d, key, cotangent)")
_linear(runtime("dict_get_tangent"), "tangent, d, key, value", shape_only=("d", "value"),
        apply="sd.dict_get_tangent(tangent, d, key, value)", tangent="sd.dict_get_adjoint(g, d, key)")
_linear(runtime("dict_get_default_adjoint"), "cotangent, d, key, default", shape_only=("d", "default"),
        apply="sd.dict_get_default_adjoint(cotangent, d, key, default)",
        cotangent="sd.dict_get_default_tangent(g, d, key, cotangent)")
_linear(runtime("dict_get_default_tangent"), "tangent, d, key, value", shape_only=("d", "value"),
        apply="sd.dict_get_default_tangent(tangent, d, key, value)",
        tangent="sd.dict_get_default_adjoint(g, d, key, tangent)")
_linear(runtime("dict_values_adjoint"), "cotangent, d", shape_only=("d",), apply="sd.dict_values_adjoint(cotangent, d)",
        cotangent="sd.dict_values_tangent(g, d)")
_linear(runtime("dict_values_tangent"), "tangent, d", shape_only=("d",), apply="sd.dict_values_tangent(tangent, d)",
        tangent="sd.dict_values_adjoint(g, d)")
_linear(runtime("dict_items_adjoint"), "cotangent, d", shape_only=("d",), apply="sd.dict_items_adjoint(cotangent, d)",
        cotangent="sd.dict_items_tangent(g, d)")
_linear(runtime("dict_items_tangent"), "tangent, d", shape_only=("d",), apply="sd.dict_items_tangent(tangent, d)",
        tangent="sd.dict_items_adjoint(g, d)")
_linear(runtime("view_again_adjoint"), "cotangent, view, base, index, part", shape_only=("view", "base"),
        apply="sd.view_again_adjoint(cotangent, view, base, index, part)",
        cotangent="sd.view_again_tangent(g, view, base, index, part)")
_linear(runtime("view_again_tangent"), "tangent, view, base, index, part", shape_only=("view", "base"),
        apply="sd.view_again_tangent(tangent, view, base, index, part)",
        tangent="sd.view_again_adjoint(g, view, base, index, part)")

# the adjoints and tangents of these primitives are linear maps that transpose each other
_linear(runtime("gradient_adjoint"), "cotangent, f, varargs=(), axis=None, edge_order=1", shape_only=("f",),
        apply="sd.gradient_adjoint(cotangent, f, varargs, axis, edge_order)",
        cotangent="sd.gradient_tangent(g, f, varargs, axis, edge_order)", returns="new")
_linear(runtime("gradient_tangent"), "tangent, f, varargs=(), axis=None, edge_order=1", shape_only=("f",),
        apply="sd.gradient_tangent(tangent, f, varargs, axis, edge_order)",
        tangent="sd.gradient_adjoint(g, f, varargs, axis, edge_order)", returns="new")
_linear(runtime("choose_adjoint"), "cotangent, a, choices, mode='raise'", shape_only=("choices",),
        apply="sd.choose_adjoint(cotangent, a, choices, mode)", cotangent="sd.choose_tangent(g, a, choices, mode)")
_linear(runtime("choose_tangent"), "tangent, a, choices, mode='raise'", shape_only=("choices",),
        apply="sd.choose_tangent(tangent, a, choices, mode)", tangent="sd.choose_adjoint(g, a, choices, mode)")
_linear(runtime("meshgrid_adjoint"), "cotangent, xi, sparse=False, indexing='xy'", shape_only=("xi",),
        apply="sd.meshgrid_adjoint(cotangent, xi, sparse, indexing)",
        cotangent="sd.meshgrid_tangent(g, xi, sparse, indexing)")
_linear(runtime("meshgrid_tangent"), "tangent, xi, sparse=False, indexing='xy'", shape_only=("xi",),
        apply="sd.meshgrid_tangent(tangent, xi, sparse, indexing)",
        tangent="sd.meshgrid_adjoint(g, xi, sparse, indexing)")
_linear(runtime("broadcast_arrays_adjoint"), "cotangent, args", shape_only=("args",),
        apply="sd.broadcast_arrays_adjoint(cotangent, args)", cotangent="sd.broadcast_arrays_tangent(g, args)")
_linear(runtime("broadcast_arrays_tangent"), "tangent, args", shape_only=("args",),
        apply="sd.broadcast_arrays_tangent(tangent, args)", tangent="sd.broadcast_arrays_adjoint(g, args)")

# Which entry goes where is piecewise constant in the values (a sort's permutation, where the extremes or the
# NaNs are, the floor of a quotient): the values carry no derivative, and each adjoint and tangent transpose.
_linear(runtime("sort_adjoint"), "cotangent, x, axis=-1", shape_only=("x",),
        apply="sd.sort_adjoint(cotangent, x, axis)",
        cotangent="sd.sort_tangent(g, x, axis)", returns="new")
_linear(runtime("sort_tangent"), "tangent, x, axis=-1", shape_only=("x",), apply="sd.sort_tangent(tangent, x, axis)",
        tangent="sd.sort_adjoint(g, x, axis)", returns="new")
_linear(runtime("partition_adjoint"), "cotangent, a, partitioned, axis=-1", shape_only=("a", "partitioned"),
        apply="sd.partition_adjoint(cotangent, a, partitioned, axis)",
        cotangent="sd.partition_tangent(g, a, partitioned, axis)", returns="new")
_linear(runtime("partition_tangent"), "tangent, a, partitioned, axis=-1", shape_only=("a", "partitioned"),
        apply="sd.partition_tangent(tangent, a, partitioned, axis)",
        tangent="sd.partition_adjoint(g, a, partitioned, axis)", returns="new")
_linear(runtime("modf_adjoint"), "cotangent, x", shape_only=("x",), apply="sd.modf_adjoint(cotangent, x)",
        cotangent="sd.modf_tangent(g, x)")
_linear(runtime("modf_tangent"), "tangent, x", shape_only=("x",), apply="sd.modf_tangent(tangent, x)",
        tangent="sd.modf_adjoint(g, x)")
_linear(runtime("divmod_adjoint"), "cotangent, x1, x2, which='x1'", shape_only=("x1", "x2"),
        apply="sd.divmod_adjoint(cotangent, x1, x2, which)", cotangent="sd.divmod_tangent(g, x1, x2, which)")
_linear(runtime("divmod_tangent"), "tangent, x1, x2, which='x1'", shape_only=("x1", "x2"),
        apply="sd.divmod_tangent(tangent, x1, x2, which)", tangent="sd.divmod_adjoint(g, x1, x2, which)")
_linear(runtime("select_adjoint"), "cotangent, condlist, choicelist, default=0, which='choicelist'",
        shape_only=("choicelist", "default"),
        apply="sd.select_adjoint(cotangent, condlist, choicelist, default, which)",
        cotangent="sd.select_tangent(g, condlist, choicelist, default, which)")
_linear(runtime("select_tangent"), "tangent, condlist, choicelist, default=0, which='choicelist'",
        shape_only=("choicelist", "default"), apply="sd.select_tangent(tangent, condlist, choicelist, default, which)",
        tangent="sd.select_adjoint(g, condlist, choicelist, default, which)")
_linear(runtime("nan_mean_adjoint"), "cotangent, a, axis=None, keepdims=False", shape_only=("a",),
        apply="sd.nan_mean_adjoint(cotangent, a, axis, keepdims)",
        cotangent="sd.unbroadcast(np.sum(g * sd.nan_mean_adjoint(np.ones_like(cotangent), a, axis, keepdims), "
                  "axis=axis, keepdims=keepdims), cotangent)", returns="new")
_linear(runtime("nan_extremum_adjoint"), "cotangent, a, extremum, axis=None, keepdims=False",
        shape_only=("a", "extremum"), apply="sd.nan_extremum_adjoint(cotangent, a, extremum, axis, keepdims)",
        cotangent="sd.unbroadcast(np.sum(g * sd.nan_extremum_adjoint(np.ones_like(extremum), a, extremum, axis, "
                  "keepdims), axis=axis, keepdims=keepdims), cotangent)", returns="new")
_linear(runtime("ptp_adjoint"), "cotangent, a, axis=None, keepdims=False", shape_only=("a",),
        apply="sd.ptp_adjoint(cotangent, a, axis, keepdims)",
        cotangent="sd.unbroadcast(np.sum(g * sd.ptp_adjoint(np.ones_like(cotangent), a, axis, keepdims), "
                  "axis=axis, keepdims=keepdims), cotangent)", returns="new")

# -- the in-place adjoint helpers, spelled out ------------------------------------------------------------------

# The part of an adjoint that a write overwrote (store_adjoint without the clearing): a gather of the last
# writes; its transpose scatters them back. increment_adjoint leaves the adjoint as it was (for float arrays).
_linear(runtime("written_part"), "adjoint, index, array=None", shape_only=("array",),
        apply="sd.written_part(adjoint, index, array)",
          adjoint="sd.written_part_adjoint(g, adjoint, index, array)", returns="new")
_linear(runtime("written_part_adjoint"), "cotangent, adjoint, index, array=None", shape_only=("adjoint", "array"),
          apply="sd.written_part_adjoint(cotangent, adjoint, index, array)",
          cotangent="sd.unbroadcast(sd.written_part(g, index, array), cotangent)", returns="new")
_linear(runtime("increment_part"), "adjoint, index, array, negate=False", shape_only=("array",),
          apply="sd.increment_part(adjoint, index, array, negate)",
          adjoint="sd.written_part_adjoint(-g if negate else g, adjoint, index, array)", returns="new")
# A private copy of an adjoint to be written into (a tuple's as a list): the identity.
deflinear(runtime("as_mutable"), "adjoint", apply="sd.as_mutable(adjoint)", adjoint="g", returns="new")
# What add_at leaves at adjoint[index]: the old part plus every value aimed at it.
deflinear(runtime("added_at"), "adjoint, index, value", apply="sd.added_at(adjoint, index, value)",
          adjoint="sd.index_adjoint(g, adjoint, index)", value="sd.added_at_adjoint(g, adjoint, index, value)",
          returns="new")
_linear(runtime("added_at_adjoint"), "cotangent, adjoint, index, value", shape_only=("adjoint", "value"),
          apply="sd.added_at_adjoint(cotangent, adjoint, index, value)",
          cotangent="sd.unbroadcast(sd.added_at(sd.zeros_like(adjoint), index, g), cotangent)", returns="new")

# -- forward mode's helpers: a generated jvp differentiated again ----------------------------------------------

defnondiff(runtime("zero_tangent"), "a zero tangent shaped like its argument: it does not depend on its values",
           returns="new")
# A rule's tangent broadcast to the result's shape, and its transpose: summed back to the tangent's shape.
_linear(runtime("fit_tangent"), "value, like", apply="sd.fit_tangent(value, like)", shape_only=("like",),
        value="sd.unbroadcast(g, value)")
deflinear(runtime("own_tangent"), "value", apply="sd.own_tangent(value)", value="g", returns="new")
# The tangent stored into an array: the value's, or zero in an integer array; its transpose is the same choice.
_linear(runtime("tangent_stored_in"), "primal, value", apply="sd.tangent_stored_in(primal, value)",
        shape_only=("primal",), value="sd.tangent_stored_in(primal, g)")

# -- complex values: linear helpers whose templates hold for complex arguments ---------------------------------

# Summing down to a shape and broadcasting up to one are complex-linear, and each is the other's transpose under
# JAX's convention for complex adjoints (registry.defcomplex): Re(sum(h * unbroadcast(dv))) = Re(sum(broadcast(h) * dv)).
valid_for_complex(runtime("unbroadcast"), runtime("fit_tangent"))

SPELLED_OUT = {
    "store_adjoint": "part = sd.written_part(a, i, array); a[i] = sd.cleared(a, i); then part, unbroadcast to "
                     "the value",
    "store_adjoint_to": "as store_adjoint, then sd.unbroadcast_to(part, shape)",
    "clear_at": "a[i] = sd.cleared(a, i)",
    "increment_adjoint": "sd.increment_part(a, i, array, negate) (it leaves a float array's adjoint as it was; "
                         "an integer array is refused)",
    "add_at": "a = sd.as_mutable(a); a[i] = sd.added_at(a, i, value)",
    "restore_item": "container[key] = sd.restored_value(saved)",
    "unpop": "items.append(value), or items.insert(sd.unpop_position(items, i), value)",
    "uninsert": "items.pop(sd.uninsert_position(items, i))",
    "unextend": "n pops, each value put back at the front of a new list: sd.as_list_adjoint(that list)",
}
"""The runtime helpers that write into an argument, and how the parse stage spells each call out when generated
code is differentiated again (``sourcediff.parse.spell_out_writes``)."""


# -- the dispatch: differentiated through the code it chose ------------------------------------------------------

DISPATCH: dict[str, str] = {
    "call_forward": "runs the forward half of a function passed as a value, chosen when it runs; a call of it is "
                    "differentiated through glue that calls that half (sourcediff.calls)",
    "call_backward": "runs the backward half that call_forward chose; differentiated through glue that calls it",
    "call_jvp": "runs the forward derivative of a function passed as a value; differentiated through glue that "
                "calls it",
}
"""The runtime's dispatch to functions known only when the code runs: each call is differentiated as a call of a
derived function (``parse.declare_derived_call``), through generated glue. Derived functions themselves
(``grad(f)`` called inside a differentiated function) are followed to one level only, and refused beyond."""

