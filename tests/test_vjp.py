"""``vjp`` runs the forward pass once; ``vjp_fn`` may be called many times, each with its own cotangent."""
import numpy as np
import pytest

import sourcediff
from sourcediff.testing import assert_trees_close, numerical_grad

def counted(x, k):
    return np.sin(x) * k


def diffuse(u, k):
    """A loop of in-place stencil updates on the caller's array (written into)."""
    for _ in range(4):
        u[1:-1] += k * (u[2:] - 2 * u[1:-1] + u[:-2]) ** 2
    return u * 1.5


def diffuse_copy(u, k):
    """The same on a copy: the output is the array the backward pass puts elements back into."""
    u = u.copy()
    for _ in range(4):
        u[1:-1] += k * (u[2:] - 2 * u[1:-1] + u[:-2])
    return u


def grows_a_list(x, n):
    items = []
    for i in range(n):
        items.append(np.sin(x * (i + 1)))
    return items


U0 = np.array([0.0, 0.3, 0.9, 0.4, 0.2, 1.0])


def projected(f, cotangent, argnum, args):
    """The finite-difference gradient of <cotangent, f(*args)> with respect to args[argnum], on copies."""
    def scalar(*a):
        a = [x.copy() if isinstance(x, np.ndarray) else x for x in a]
        out = f(*a)
        if isinstance(out, list):
            return sum(float(np.sum(o * c)) for o, c in zip(out, cotangent))
        return float(np.sum(np.asarray(out) * cotangent))
    return numerical_grad(scalar, list(args), argnum)


@pytest.mark.parametrize("f", [diffuse, diffuse_copy])
def test_three_cotangents_give_three_right_answers(f):
    u = U0.copy()
    out, vjp_fn = sourcediff.vjp(f, u, 0.3)
    np.testing.assert_allclose(out, f(U0.copy(), 0.3))
    first_out = out.copy()
    for cotangent in (np.eye(6)[2], np.linspace(-1.0, 1.0, 6), np.eye(6)[4]):
        du, dk = vjp_fn(cotangent)
        np.testing.assert_allclose(du, projected(f, cotangent, 0, (U0, 0.3)), rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(dk, projected(f, cotangent, 1, (U0, 0.3)), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(u, U0)  # the caller's array, although f writes into its argument
    np.testing.assert_array_equal(out, first_out)  # the backward passes did not change the output


def test_the_forward_pass_runs_once(vjp_runs):
    runs = vjp_runs
    out, vjp_fn = sourcediff.vjp(counted, np.array([0.1, 0.2]), 2.0)
    assert runs == {"forward": 1, "backward": 0}
    for cotangent in (np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([2.0, -1.0])):
        dx, dk = vjp_fn(cotangent)
        np.testing.assert_allclose(dx, 2.0 * np.cos([0.1, 0.2]) * cotangent)
        assert dk == pytest.approx(float(np.sum(np.sin([0.1, 0.2]) * cotangent)))
    assert runs == {"forward": 1, "backward": 3}


def test_a_list_output_and_its_repeated_pullbacks():
    out, vjp_fn = sourcediff.vjp(grows_a_list, 0.7, 3)
    assert len(out) == 3
    for weights in ([1.0, 0.0, 0.0], [0.0, 2.0, 1.0], [1.0, 1.0, 1.0]):
        dx, dn = vjp_fn(list(weights))
        expected = sum(w * (i + 1) * np.cos(0.7 * (i + 1)) for i, w in enumerate(weights))
        assert dx == pytest.approx(expected)
    assert len(out) == 3  # the backward passes pop the list they consume, not the caller's output


def test_changing_the_primal_afterwards_does_not_change_the_pullback():
    x = np.array([0.5, 1.5])
    _, vjp_fn = sourcediff.vjp(counted, x, 3.0)
    x[:] = 100.0
    dx, _ = vjp_fn(np.ones(2))
    np.testing.assert_allclose(dx, 3.0 * np.cos([0.5, 1.5]))


def test_changing_the_output_does_not_change_the_pullback():
    out, vjp_fn = sourcediff.vjp(diffuse_copy, U0.copy(), 0.3)
    cotangent = np.linspace(-1.0, 1.0, 6)
    before = vjp_fn(cotangent)
    out[:] = -5.0
    assert_trees_close(vjp_fn(cotangent), before, rtol=0.0)


def test_the_cotangent_is_left_as_it_was():
    cotangent = np.linspace(-1.0, 1.0, 6)
    _, vjp_fn = sourcediff.vjp(diffuse_copy, U0.copy(), 0.3)
    vjp_fn(cotangent)
    vjp_fn(cotangent)
    np.testing.assert_array_equal(cotangent, np.linspace(-1.0, 1.0, 6))


def test_the_source_shows_both_halves():
    _, vjp_fn = sourcediff.vjp(diffuse, U0.copy(), 0.3)
    assert "def diffuse_fwd(" in vjp_fn.source and "def diffuse_bwd(" in vjp_fn.source


def test_has_aux_runs_once_and_gives_aux():
    def with_aux(x):
        y = np.sin(x)
        return y * 2.0, np.sum(y)

    out, vjp_fn, aux = sourcediff.vjp(with_aux, np.array([0.3, 0.4]), has_aux=True)
    assert aux == pytest.approx(np.sum(np.sin([0.3, 0.4])))
    for cotangent in (np.array([1.0, 0.0]), np.array([0.5, 2.0])):
        (dx,) = vjp_fn(cotangent)
        np.testing.assert_allclose(dx, 2.0 * np.cos([0.3, 0.4]) * cotangent)


def test_a_wrong_cotangent_is_still_refused():
    _, vjp_fn = sourcediff.vjp(diffuse_copy, U0.copy(), 0.3)
    with pytest.raises(sourcediff.SourcediffError, match="shape"):
        vjp_fn(np.ones(3))


def test_shared_arguments_written_into_are_refused_before_running():
    u = U0.copy()

    def writes_first(a, b):
        a[1:] += b[:-1]
        return np.sum(a * b)

    with pytest.raises(sourcediff.SourcediffError, match="shares memory"):
        sourcediff.vjp(writes_first, u, u)
    np.testing.assert_array_equal(u, U0)
