"""scipy.signal end to end: ``sourcediff.grad`` of functions that convolve and correlate, in every mode, in 1-D
and 2-D, with either input the longer, against finite differences and ``jax.grad`` of the same function on
``jax.scipy.signal``; the refusals; and the forward templates against ``jax.jvp``.
"""
import pathlib
import types

import numpy as np
import pytest

import sourcediff
from sourcediff.rules import registry
from sourcediff.testing import check_grads

signal = pytest.importorskip("scipy.signal")

MODES = ("full", "same", "valid")


def with_jax(f):
    jax = pytest.importorskip("jax")
    import jax.scipy.signal

    return types.FunctionType(f.__code__, {**f.__globals__, "np": jax.numpy, "signal": jax.scipy.signal},
                              f.__name__, f.__defaults__)


def check(f, args, argnums=(0, 1), jax_too=True):
    check_grads(f, args, argnums)
    if jax_too:
        jax = pytest.importorskip("jax")
        ours = sourcediff.grad(f, argnums=argnums)(*args)
        theirs = jax.grad(with_jax(f), argnums=argnums)(*args)
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(o, np.asarray(t), rtol=1e-7, atol=1e-9)


@pytest.fixture
def rng():
    return np.random.default_rng(2)


def weighted(f, mode):
    """``sum(w * f(a, b, mode))`` with fixed weights of the result's shape: every entry of the result counts."""
    def loss(a, b):
        y = f(a, b, mode)
        return np.sum(y * np.cos(np.arange(y.size).reshape(y.shape)))
    return loss


def f_convolve(a, b, mode):
    return signal.convolve(a, b, mode)


def f_correlate(a, b, mode):
    return signal.correlate(a, b, mode=mode)


def f_fftconvolve(a, b, mode):
    return signal.fftconvolve(a, b, mode=mode)


SHAPES_1D = [(7, 3), (3, 7), (6, 4), (4, 6), (5, 5)]
SHAPES_2D = [((4, 5), (2, 3)), ((2, 3), (4, 5)), ((4, 4), (3, 2))]


def _jax_loss(f, mode):
    """The same loss with jax.scipy.signal (``weighted`` reads ``f`` from its closure, not its globals)."""
    jax_f = with_jax(f)

    def loss(a, b):
        y = jax_f(a, b, mode)
        import jax.numpy as jnp

        return jnp.sum(y * jnp.cos(jnp.arange(y.size).reshape(y.shape)))
    return loss


@pytest.mark.parametrize("f", [f_convolve, f_correlate, f_fftconvolve], ids=lambda f: f.__name__[2:])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shapes", SHAPES_1D + SHAPES_2D, ids=str)
def test_every_mode_and_order(f, mode, shapes, rng):
    n1, n2 = (s if isinstance(s, tuple) else (s,) for s in shapes)
    a, b = rng.standard_normal(n1), rng.standard_normal(n2)
    loss = weighted(f, mode)
    check_grads(loss, (a, b), argnums=(0, 1))
    jax = pytest.importorskip("jax")
    ours = sourcediff.grad(loss, argnums=(0, 1))(a, b)
    theirs = jax.grad(_jax_loss(f, mode), argnums=(0, 1))(a, b)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, np.asarray(t), rtol=1e-7, atol=1e-9)


def test_method_is_accepted(rng):
    def f(a, b):
        return np.sum(signal.convolve(a, b, "same", method="direct") ** 2) \
            + np.sum(signal.correlate(a, b, "valid", "fft") * 3.0) + np.sum(signal.convolve(b, a, method="auto"))

    check(f, (rng.standard_normal(6), rng.standard_normal(3)))


def test_fftconvolve_along_axes(rng):
    def f(a, b):
        return np.sum(signal.fftconvolve(a, b, "same", axes=1) ** 2) + np.sum(signal.fftconvolve(a, b, axes=[1]))

    check(f, (rng.standard_normal((3, 6)), rng.standard_normal((3, 4))))
    check(f, (rng.standard_normal((3, 6)), rng.standard_normal((1, 4))), jax_too=False)  # JAX does not broadcast


def test_oaconvolve(rng):
    def f(a, b):
        return np.sum(signal.oaconvolve(a, b, "same") ** 2) + np.sum(signal.oaconvolve(b, a, "valid"))

    check(f, (rng.standard_normal(9), rng.standard_normal(4)), jax_too=False)  # JAX has no oaconvolve


def test_convolve2d(rng):
    def f(a, b):
        return np.sum(signal.convolve2d(a, b, "same") ** 2) + np.sum(signal.convolve2d(b, a, mode="valid"))

    check(f, (rng.standard_normal((4, 5)), rng.standard_normal((2, 3))))


def test_a_smoothing_loss_with_the_kernel_longer_than_the_signal(rng):
    """``same`` keeps the first input's length: the longer kernel is cropped asymmetrically."""
    def loss(x, kernel):
        return np.sum((signal.convolve(x, kernel, mode="same") - 1.0) ** 2)

    check(loss, (rng.standard_normal(4), rng.standard_normal(7)))


def test_other_boundaries_of_convolve2d_are_refused(rng):
    def f(a, b):
        return np.sum(signal.convolve2d(a, b, "same", boundary="wrap"))

    with pytest.raises(sourcediff.SourcediffError, match="boundary"):
        sourcediff.grad(f)(rng.standard_normal((4, 4)), rng.standard_normal((2, 2)))


def test_correlate2d_has_no_rule(rng):
    def f(a, b):
        return np.sum(signal.correlate2d(a, b))

    with pytest.raises(sourcediff.MissingRuleError):
        sourcediff.grad(f)(rng.standard_normal((4, 4)), rng.standard_normal((2, 2)))


# -- lazy loading and the forward templates against jax.jvp -------------------------------------------------------

def _library_keys(origin):
    registry.load_lazy_rules()
    return [key for key, rule in registry.REVERSE_RULES.items() if rule.origin.rsplit(":", 1)[0].endswith(origin)]


SIGNAL_KEYS = _library_keys("scipy/signal.py")


@pytest.mark.parametrize("key", SIGNAL_KEYS, ids=lambda k: k.__name__)
def test_each_function_maps_to_the_signal_rules(key):
    assert registry._lazy_module_of(key) == "scipy.signal"
    assert getattr(signal, key.__name__) is key


def _forward():
    import importlib.util

    spec = importlib.util.spec_from_file_location("forward_against_jax",
                                                  pathlib.Path(__file__).with_name("forward_against_jax.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("key", [k for k in SIGNAL_KEYS if k.__name__ != "oaconvolve"], ids=lambda k: k.__name__)
def test_forward_templates_match_jax(key):
    pytest.importorskip("jax")
    import jax.scipy.signal

    def adapt(args, kwargs):  # JAX's fftconvolve does not broadcast the axes it does not convolve
        if key is not signal.fftconvolve:
            return args, kwargs
        a, b = np.shape(args[0]), np.shape(args[1])
        axes = kwargs.get("axes", args[3] if len(args) > 3 else None)
        if axes is not None and any(i % len(a) not in [x % len(a) for x in np.atleast_1d(axes)] and a[i] != b[i]
                                    for i in range(len(a))):
            return None
        return args, kwargs

    assert _forward().compare(key, getattr(jax.scipy.signal, key.__name__), adapt)
