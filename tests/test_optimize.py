"""Optimize stage: folding, copy propagation and dead-code removal keep results exact."""
import gast
import numpy as np

from sourcediff import emit, optimize


def _stmts(source):
    return gast.parse(source).body


def _text(stmts):
    fn = gast.parse("def f():\n    pass").body[0]
    fn.body = stmts
    return emit.to_source(fn)


def test_constant_folding():
    out = _text(optimize.fold_constants(_stmts("a = g * 1\nb = 2 * 3 + x ** 1\nc = -(-y)\nd = u + -v\n")))
    assert "a = g\n" in out
    assert "b = 6 + x\n" in out
    assert "c = y\n" in out
    assert "d = u - v\n" in out


def test_power_rule_with_a_constant_exponent_folds():
    out = _text(optimize.fold_constants(_stmts("a = g * sd.power_rule(x, 2)\nb = sd.power_rule(x, 3)\n")))
    assert "a = g * (2 * x)" in out
    assert "b = 3 * x ** 2" in out


def test_copy_propagation_respects_reassignment():
    # b_bar is reassigned before the last read of a_bar: the copy must stay
    stmts = _stmts("a_bar = b_bar\nb_bar = b_bar + 1\nc = a_bar * 2\n")
    kept = optimize.propagate_copies(stmts, {"a_bar"})
    namespace = {"b_bar": 5.0}
    exec(_text(kept).replace("def f():", "def f(b_bar):") + "\nr = f(5.0)", namespace)
    assert "a_bar = b_bar" in _text(kept)


def test_copy_propagation_removes_plain_copies():
    stmts = _stmts("a_bar = b_bar\nc = a_bar * 2\nd = a_bar + c\n")
    out = _text(optimize.propagate_copies(stmts, {"a_bar"}))
    assert "a_bar" not in out
    assert "c = b_bar * 2" in out


def test_dead_code_removal_keeps_side_effects():
    stmts = _stmts("u = np.sin(x)\nv = tape.pop()\nw = 3\nreturn w\n")
    out = _text(optimize.remove_dead_code(stmts, {"np", "sd"}))
    assert "np.sin" not in out
    assert "tape.pop()" in out


def test_optimized_backward_computes_the_same_numbers():
    source = "t_bar = s_bar\nu_bar = t_bar * 2\nx_bar = u_bar * 1\nx_bar = x_bar + t_bar\nreturn x_bar\n"
    plain, optimized = {}, {}
    exec("def f(s_bar):\n" + "\n".join("    " + l for l in source.splitlines()), plain)
    new = optimize.optimize_backward(_stmts(source), {"t_bar", "u_bar", "x_bar"}, {"np", "sd"})
    exec(_text(new).replace("def f():", "def f(s_bar):"), optimized)
    assert plain["f"](np.float64(1.5)) == optimized["f"](np.float64(1.5))


def test_negation_read_once_by_a_constant_product_folds_into_it():
    out = _text(optimize.fold_negations(_stmts("a_bar = -g\nc_bar = a_bar * 2\nd = 2 * a\n"), {"a_bar", "c_bar"}))
    assert "a_bar" not in out
    assert "c_bar = g * -2" in out
    g = np.array([1.5, -0.25, 3.0])
    assert np.array_equal(g * -2, (-g) * 2)  # exact: negation only flips the sign bit


def test_negation_read_twice_or_by_a_variable_product_stays():
    twice = "a_bar = -g\nc_bar = a_bar * 2\ne_bar = a_bar + c_bar\n"
    assert "a_bar = -g" in _text(optimize.fold_negations(_stmts(twice), {"a_bar", "c_bar", "e_bar"}))
    variable = "a_bar = -g\nc_bar = a_bar * k\n"
    assert "a_bar = -g" in _text(optimize.fold_negations(_stmts(variable), {"a_bar", "c_bar"}))
    changed = "a_bar = -g\ng = g + 1\nc_bar = a_bar * 2\n"
    assert "a_bar = -g" in _text(optimize.fold_negations(_stmts(changed), {"a_bar", "c_bar"}))
