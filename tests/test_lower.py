"""Lower stage: A-normal form, unpacking and augmented assignment keep the meaning of the code."""
import gast
import numpy as np
import pytest

from sourcediff import emit, lower, parse


def nested(x, y):
    """A docstring the lowering drops."""
    return np.sum(np.sin(x * y) + y ** 2) / (1.0 + np.cos(x[0]))


def unpacking(a, b):
    a, b = b, a
    c = d = a * b
    (e, f), g = (c, d), a
    c += e
    c *= f - g
    return c


def pair(x):
    return x, 2 * x


def unpack_call(x):
    u, v = pair(x)
    return u * v


def _run_lowered(f, *args):
    node = lower.lower(parse.parse_function(f))
    namespace = dict(f.__globals__)
    exec(emit.to_source(node), namespace)
    return namespace[node.name](*args), node


def _is_atom(node):
    return isinstance(node, (gast.Name, gast.Constant, gast.Attribute))


def test_every_statement_is_one_operation_on_atoms():
    node = lower.lower(parse.parse_function(nested))
    for stmt in node.body:
        value = stmt.value
        if isinstance(value, gast.BinOp):
            assert _is_atom(value.left) and _is_atom(value.right)
        elif isinstance(value, gast.Call):
            assert all(_is_atom(a) for a in value.args)
        elif isinstance(value, gast.Subscript):
            assert _is_atom(value.value)
    assert isinstance(node.body[-1], gast.Return)
    assert not any(isinstance(s, gast.Expr) for s in node.body)  # the docstring is gone


@pytest.mark.parametrize("f, args", [
    (nested, (np.array([0.3, 0.7]), np.array([1.5, -0.2]))),
    (unpacking, (1.5, -0.5)),
    (unpack_call, (1.25,)),
])
def test_lowered_code_computes_the_same_value(f, args):
    got, _ = _run_lowered(f, *args)
    np.testing.assert_allclose(got, f(*args))


def private_update(x, y):
    z = x * y
    z += y
    z *= 2.0
    return z


def test_augmented_assignment_of_an_unshared_name_becomes_rebinding():
    _, node = _run_lowered(private_update, 1.0, 2.0)
    assert not any(isinstance(s, gast.AugAssign) for s in node.body)


def test_augmented_assignment_of_a_shared_name_stays_in_place():
    # c = d = a * b: for arrays, c += e changes d too, so the update stays in place
    _, node = _run_lowered(unpacking, 1.0, 2.0)
    assert [s.target.id for s in node.body if isinstance(s, gast.AugAssign)] == ["c", "c"]


def test_lowering_is_deterministic():
    first = emit.to_source(lower.lower(parse.parse_function(nested)))
    second = emit.to_source(lower.lower(parse.parse_function(nested)))
    assert first == second
    assert "t1 = " in first


def negative_imaginary(x):
    z = -2.5j
    return np.abs(x * z + -1j)


def test_a_negative_imaginary_constant_is_a_constant():
    # regression (fuzzer, seed 920200225): -2.5j went back and forth between atom and rhs until the recursion
    # limit
    value, node = _run_lowered(negative_imaginary, 0.7)
    assert value == negative_imaginary(0.7)
    assert "-2.5j" in emit.to_source(node)
