import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_configure(config):
    try:
        import jax
    except ImportError:
        return
    jax.config.update("jax_enable_x64", True)


def _jax_version(f, jnp):
    """``f`` run with ``np`` and ``math`` bound to jax.numpy, and so every function of its module."""
    import types

    namespace = dict(f.__globals__, np=jnp, math=jnp)
    for key, value in list(namespace.items()):
        if isinstance(value, types.FunctionType) and value.__globals__ is f.__globals__:
            namespace[key] = types.FunctionType(value.__code__, namespace, value.__name__, value.__defaults__,
                                                value.__closure__)
            namespace[key].__kwdefaults__ = value.__kwdefaults__
    clone = types.FunctionType(f.__code__, namespace, f.__name__, f.__defaults__, f.__closure__)
    clone.__kwdefaults__ = f.__kwdefaults__
    return clone


@pytest.fixture
def jax_grad():
    """``jax_grad(f, argnums)``: jax.grad of ``f`` with jax.numpy swapped in for NumPy and math."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    def make(f, argnums=0):
        return jax.grad(_jax_version(f, jnp), argnums=argnums)
    return make


@pytest.fixture
def vjp_runs(monkeypatch):
    """``{"forward": n, "backward": m}``: the runs of the halves that ``vjp`` (and ``jacrev``) get from now on."""
    import dataclasses

    import sourcediff

    runs = {"forward": 0, "backward": 0}
    build = sourcediff.pipeline.build_vjp

    def counting_build(*args, **kwargs):
        split = build(*args, **kwargs)

        def forward(*a, **k):
            runs["forward"] += 1
            return split.forward(*a, **k)

        def backward(*a):
            runs["backward"] += 1
            return split.backward(*a)
        return dataclasses.replace(split, forward=forward, backward=backward)

    monkeypatch.setattr(sourcediff.pipeline, "build_vjp", counting_build)
    return runs
