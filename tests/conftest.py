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
