"""The NumPy runtime's in-place helpers against the plain NumPy they stand for."""
import numpy as np
import pytest

from sourcediff.backends import numpy_backend as sd

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("a, b", [
    (RNG.standard_normal(7), RNG.standard_normal(7)),
    (RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))),
    (RNG.standard_normal((3, 4)), RNG.standard_normal(4)),           # broadcast
    (RNG.standard_normal(5)[::2], RNG.standard_normal(3)),           # a strided view
    (RNG.standard_normal(3) + 1j, RNG.standard_normal(3)),           # complex: no vdot (it conjugates)
    (2.5, RNG.standard_normal(4)),
    (2.5, -1.5),
], ids=["vectors", "matrices", "broadcast", "strided", "complex", "number-array", "numbers"])
def test_sum_product_is_the_sum_of_the_product(a, b):
    got = sd.sum_product(a, b)
    expected = np.sum(np.multiply(a, b))
    assert np.isclose(got, expected, rtol=1e-13, atol=0)
    assert type(got) in (float, complex)  # a Python number, like the adjoint of a Python number


@pytest.mark.parametrize("negate", [False, True])
@pytest.mark.parametrize("index", [slice(1, -1), 2, (slice(0, 2), 1), np.array([1, 4, 1, 1]),
                                   np.array([True, False, True, True, False, False])],
                         ids=["slice", "int", "tuple", "repeated", "mask"])
def test_increment_adjoint_equals_cutting_out_and_adding_back(index, negate):
    """``increment_adjoint`` fuses store_adjoint (cut the written part) and add_at (the read of the old part)."""
    shape = (6, 3) if isinstance(index, tuple) else (6,)
    array = RNG.standard_normal(shape)
    adjoint = RNG.standard_normal(shape)
    fused = adjoint.copy()
    d_bar = sd.increment_adjoint(fused, index, array, negate)
    general = adjoint.copy()
    part = sd.store_adjoint(general, index, None, array)
    general = sd.add_at(general, index, part)
    np.testing.assert_allclose(fused, general, rtol=1e-15)
    np.testing.assert_allclose(d_bar, -part if negate else part, rtol=1e-15)
    if isinstance(d_bar, np.ndarray):
        assert not np.shares_memory(d_bar, fused)  # later in-place adds to the adjoint must not reach it


def test_increment_adjoint_into_an_integer_array_gives_zero():
    array = np.arange(6)
    adjoint = RNG.standard_normal(6)
    d_bar = sd.increment_adjoint(adjoint, slice(1, 4), array)
    assert not d_bar.any() and not adjoint[1:4].any()
