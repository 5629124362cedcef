"""``sourcediff.check_grads``: JAX's ``check_grads`` (both modes against finite differences, up to ``order``)."""
import math

import numpy as np
import pytest

import sourcediff
from sourcediff import checks


def polynomial(x, y):
    return x * x * y + math.sin(x) * y ** 3


def stencil(u, k):
    v = u.copy()
    for _ in range(3):
        v[1:-1] += k * (v[2:] - 2 * v[1:-1] + v[:-2])
    return v


def tree_function(p, scale):
    return {"energy": np.sum(p["w"] ** 2) * scale, "shifted": p["w"] + p["b"]}, p["b"] * 2.0


U = np.array([0.0, 0.4, 1.0, 0.3, 0.1])
TREE = {"w": np.array([0.5, -1.0]), "b": 0.25}


@pytest.mark.parametrize("f, args", [(polynomial, (0.3, 1.2)), (stencil, (U, 0.2)), (tree_function, (TREE, 1.5))],
                         ids=["floats", "in-place loop", "pytrees"])
def test_reverse_mode_first_order(f, args):
    sourcediff.check_grads(f, args, order=1, modes=("rev",))
    np.testing.assert_array_equal(U, [0.0, 0.4, 1.0, 0.3, 0.1])


def test_forward_mode_first_order():
    if not hasattr(sourcediff, "jvp"):
        pytest.skip("sourcediff.jvp (forward mode, issue 12) is not in this build yet")
    sourcediff.check_grads(polynomial, (0.3, 1.2), order=1, modes=("fwd",))
    sourcediff.check_grads(stencil, (U, 0.2), order=1, modes=("fwd",))


def test_forward_mode_without_jvp_is_refused_by_name(monkeypatch):
    monkeypatch.delattr(sourcediff.api, "jvp", raising=False)
    with pytest.raises(sourcediff.SourcediffError, match="sourcediff.jvp"):
        sourcediff.check_grads(polynomial, (0.3, 1.2), order=1, modes=("fwd",))


def test_reverse_over_reverse_second_order_on_floats(monkeypatch):
    checked = []
    check_vjp = checks.check_vjp

    def recording(f, f_vjp, args, **options):
        checked.append(options["err_msg"])
        check_vjp(f, f_vjp, args, **options)

    monkeypatch.setattr(checks, "check_vjp", recording)
    sourcediff.check_grads(polynomial, (0.3, 1.2), order=2, modes=("rev",))
    assert checked == ["VJP", "VJP of VJP"]


def test_reverse_over_reverse_second_order_on_arrays():
    try:
        sourcediff.check_grads(stencil, (U, 0.2), order=2, modes=("rev",))
    except sourcediff.SourcediffError as exc:
        if "pullback_of_stencil" not in str(exc) and "sd." not in str(exc):
            raise  # a refusal of the user's code, not of sourcediff's generated code
        pytest.skip(f"reverse over reverse of generated array code (issue 12, sd.* runtime rules): {exc.message}")


@sourcediff.custom_vjp
def wrong_square(x):
    return x * x


wrong_square.defvjp(lambda x: (x * x, x), lambda x, g: (g * 3.0 * x,))  # should be 2 x


def test_a_wrong_derivative_fails_the_check():
    with pytest.raises(AssertionError, match="VJP"):
        sourcediff.check_grads(wrong_square, (0.7,), order=1, modes=("rev",))


def test_tolerances_and_modes_are_checked():
    with pytest.raises(ValueError, match="modes"):
        sourcediff.check_grads(polynomial, (0.3, 1.2), order=1, modes=("backward",))
    sourcediff.check_grads(polynomial, (0.3, 1.2), order=1, modes=("rev",), atol=1e-8, rtol=1e-8, eps=1e-5)
