"""Pytree arguments and outputs: gradients come back in the structure of the argument, like jax.grad."""
import dataclasses
import types
from collections import namedtuple

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import assert_trees_close, check_grads, numerical_grad

RTOL, ATOL = 1e-6, 1e-8


def as_jax(f):
    """The same code object, run with ``np`` bound to jax.numpy."""
    jnp = pytest.importorskip("jax.numpy")
    return types.FunctionType(f.__code__, dict(f.__globals__, np=jnp), f.__name__, f.__defaults__, f.__closure__)


def jax_grad(f, *args, **options):
    jax = pytest.importorskip("jax")
    return jax.grad(as_jax(f), **options)(*args)


# -- the functions under test: straight-line code ------------------------------------------------------

def mlp_loss(params, x, y):
    h = np.tanh(x @ params['W1'] + params['b1'])
    out = h @ params['W2'] + params['b2']
    return np.mean((out - y) ** 2)


def nested_loss(params, x):
    first = params['layers'][0]
    second = params['layers'][1]
    h = np.sin(x @ first['W'] + first['b'])
    z = h @ second['W'] + second['b']
    return np.sum(z ** 2) * params['scale']


def sequences(t, lst):
    a, b = t
    return np.sum(a * lst[0]) + b ** 2 * lst[1] + np.sum(lst[2] ** 3)


Affine = namedtuple("Affine", ["w", "b"])


def affine_loss(p, x):
    return np.sum(np.exp(x * p[0] + p.b))


@dataclasses.dataclass
class Spring:
    k: float
    rest: np.ndarray
    damping: float = 0.1


@dataclasses.dataclass(frozen=True)
class FrozenSpring:
    k: float
    rest: np.ndarray
    damping: float = 0.1


def spring_energy(s, x):
    stretch = x - s.rest
    return 0.5 * s.k * np.sum(stretch ** 2) + s.damping * np.sum(x)


def namespace_loss(ns):
    return np.sum(ns.w ** 2) * ns.c + np.sum(np.cos(ns.w))


def with_dict_output(params, x):
    h = np.tanh(x @ params['W'])
    return {'h': h, 'norm': np.sum(h ** 2), 'scaled': params['s'] * x}


def with_dict_aux(params, x):
    pred = x @ params['W'] + params['b']
    loss = np.mean(pred ** 2)
    return loss, {'pred': pred, 'loss': loss}


def two_arguments(params, x):
    return np.sum(np.tanh(x @ params['W']) * x[:, :1]) + params['c'] * np.sum(x ** 2)


def int_leaf(params, x):
    return np.sum(params['w'] * x) * params['n']


def string_leaf(params, x):
    return np.sum(params['W'] * x)


def aliased_dict(p):
    u = p
    v = p
    return u['a'] * v['b']


def aliased_tuple(p):
    u = p
    v = p
    return u[0] * v[1] ** 2


def internal_containers(x, y):
    pair = (x, y * 2.0)
    d = {'pair': pair, 'x': x, 'unread': (y, x)}
    first = d['pair']
    return np.sum(first[1] * d['x'] + first[0])


# -- data --------------------------------------------------------------------------------------------

@pytest.fixture
def mlp_data(rng):
    params = {'W1': rng.standard_normal((3, 4)), 'b1': rng.standard_normal(4),
              'W2': rng.standard_normal((4, 2)), 'b2': rng.standard_normal(2)}
    return params, rng.standard_normal((5, 3)), rng.standard_normal((5, 2))


@pytest.fixture(scope="module")
def jax_dataclasses():
    """Spring and FrozenSpring registered as JAX pytrees."""
    jax = pytest.importorskip("jax")
    for cls in (Spring, FrozenSpring):
        try:
            jax.tree_util.register_dataclass(cls, data_fields=["k", "rest", "damping"], meta_fields=[])
        except ValueError:  # registered already
            pass


# -- tests -------------------------------------------------------------------------------------------

def test_dict_of_params(mlp_data):
    params, x, y = mlp_data
    g = sourcediff.grad(mlp_loss)(params, x, y)
    assert type(g) is dict and list(g) == list(params)
    assert_trees_close(g, numerical_grad(mlp_loss, (params, x, y), 0), RTOL, ATOL)
    assert_trees_close(g, jax_grad(mlp_loss, params, x, y), RTOL, ATOL)


def test_dict_keys_that_are_not_read_get_zeros_of_their_shape_and_dtype(mlp_data):
    params, x, y = mlp_data
    params = dict(params, unused=np.ones((2, 3), dtype=np.float32), b2=params['b2'].astype(np.float32))
    g = sourcediff.grad(mlp_loss)(params, x, y)
    assert g['unused'].dtype == np.float32 and g['b2'].dtype == np.float32 and g['W2'].dtype == np.float64
    np.testing.assert_array_equal(g['unused'], np.zeros((2, 3)))
    assert_trees_close(g, numerical_grad(mlp_loss, (params, x, y), 0), 1e-4, 1e-6)


def test_nested_dict_and_list(rng):
    params = {'layers': [{'W': rng.standard_normal((3, 4)), 'b': rng.standard_normal(4)},
                         {'W': rng.standard_normal((4, 2)), 'b': rng.standard_normal(2)}],
              'scale': 0.7}
    x = rng.standard_normal((2, 3))
    g = sourcediff.grad(nested_loss)(params, x)
    assert type(g['layers']) is list and type(g['scale']) is float
    assert_trees_close(g, numerical_grad(nested_loss, (params, x), 0), RTOL, ATOL)
    assert_trees_close(g, jax_grad(nested_loss, params, x), RTOL, ATOL)


def test_tuple_and_list_arguments(rng):
    t = (rng.standard_normal(3), 0.4)
    lst = [rng.standard_normal(3), 1.3, rng.standard_normal(2)]
    gt, gl = sourcediff.grad(sequences, argnums=(0, 1))(t, lst)
    assert type(gt) is tuple and type(gl) is list
    assert_trees_close(gt, numerical_grad(sequences, (t, lst), 0), RTOL, ATOL)
    assert_trees_close(gl, numerical_grad(sequences, (t, lst), 1), RTOL, ATOL)
    jt, jl = jax_grad(sequences, t, lst, argnums=(0, 1))
    assert_trees_close(gt, jt, RTOL, ATOL)
    assert_trees_close(gl, jl, RTOL, ATOL)


def test_namedtuple_read_by_attribute_and_index(rng):
    p = Affine(w=rng.standard_normal(3), b=0.2)
    x = rng.standard_normal(3)
    g = sourcediff.grad(affine_loss)(p, x)
    assert type(g) is Affine
    assert_trees_close(g, numerical_grad(affine_loss, (p, x), 0), RTOL, ATOL)
    assert_trees_close(g, jax_grad(affine_loss, p, x), RTOL, ATOL)


@pytest.mark.parametrize("cls", [Spring, FrozenSpring])
def test_dataclass_read_by_attribute(cls, rng, jax_dataclasses):
    s = cls(k=2.5, rest=rng.standard_normal(4))
    x = rng.standard_normal(4)
    g = sourcediff.grad(spring_energy)(s, x)
    assert type(g) is cls
    assert_trees_close(g, numerical_grad(spring_energy, (s, x), 0), RTOL, ATOL)
    assert_trees_close(g, jax_grad(spring_energy, s, x), RTOL, ATOL)


@dataclasses.dataclass
class Checked:
    k: float
    rest: np.ndarray
    damping: float

    def __post_init__(self):
        if self.damping < 0:
            raise ValueError("damping must not be negative")
        self.rest = np.abs(self.rest)


def test_dataclass_gradient_skips_post_init():
    """A negative gradient for damping must not trip the check, and abs() must not touch rest's gradient."""
    s = Checked(k=1.0, rest=np.array([0.5, 1.0]), damping=0.3)
    x = np.array([2.0, -3.0])
    g = sourcediff.grad(spring_energy)(s, x)
    assert type(g) is Checked and g.damping < 0 and np.any(g.rest < 0)
    assert_trees_close(g, numerical_grad(spring_energy, (s, x), 0), RTOL, ATOL)


def test_simple_namespace(rng):
    ns = types.SimpleNamespace(w=rng.standard_normal(4), c=1.7, unused=np.ones(2))
    g = sourcediff.grad(namespace_loss)(ns)
    assert type(g) is types.SimpleNamespace
    assert_trees_close(g, numerical_grad(namespace_loss, (ns,), 0), RTOL, ATOL)


def test_value_and_grad_with_a_dict(mlp_data):
    params, x, y = mlp_data
    value, g = sourcediff.value_and_grad(mlp_loss)(params, x, y)
    assert value == pytest.approx(mlp_loss(params, x, y))
    assert_trees_close(g, numerical_grad(mlp_loss, (params, x, y), 0), RTOL, ATOL)
    assert_trees_close(g, jax_grad(mlp_loss, params, x, y), RTOL, ATOL)


def test_vjp_with_dict_output_and_dict_cotangent(rng):
    params = {'W': rng.standard_normal((3, 2)), 's': 0.8}
    x = rng.standard_normal((4, 3))
    out, pullback = sourcediff.vjp(with_dict_output, params, x)
    assert_trees_close(out, with_dict_output(params, x))
    cotangent = {'h': rng.standard_normal((4, 2)), 'norm': 0.6, 'scaled': rng.standard_normal((4, 3))}
    g_params, g_x = pullback(cotangent)

    def projected(p, xs):
        o = with_dict_output(p, xs)
        return sum(np.sum(o[k] * cotangent[k]) for k in o)

    assert_trees_close(g_params, numerical_grad(projected, (params, x), 0), RTOL, ATOL)
    np.testing.assert_allclose(g_x, numerical_grad(projected, (params, x), 1), RTOL, ATOL)
    jax = pytest.importorskip("jax")
    _, jax_pullback = jax.vjp(as_jax(with_dict_output), params, x)
    j_params, j_x = jax_pullback(cotangent)
    assert_trees_close(g_params, j_params, RTOL, ATOL)
    np.testing.assert_allclose(g_x, j_x, RTOL, ATOL)
    check_grads(with_dict_output, (params, x))


def test_vjp_refuses_a_cotangent_of_another_structure(rng):
    params = {'W': rng.standard_normal((3, 2)), 's': 0.8}
    x = rng.standard_normal((4, 3))
    _, pullback = sourcediff.vjp(with_dict_output, params, x)
    with pytest.raises(sourcediff.SourcediffError, match="keys 'h', 'norm'"):
        pullback({'h': np.ones((4, 2)), 'norm': 1.0})
    with pytest.raises(sourcediff.SourcediffError, match=r"output\['h'\] has shape \(2,\)"):
        pullback({'h': np.ones(2), 'norm': 1.0, 'scaled': np.ones((4, 3))})
    with pytest.raises(sourcediff.SourcediffError, match="is a ndarray, but the output is a dict"):
        pullback(np.ones(3))


def test_has_aux_with_a_dict_aux(rng):
    params = {'W': rng.standard_normal((3, 2)), 'b': rng.standard_normal(2)}
    x = rng.standard_normal((5, 3))
    g, aux = sourcediff.grad(with_dict_aux, has_aux=True)(params, x)
    pred = x @ params['W'] + params['b']
    np.testing.assert_allclose(aux['pred'], pred)
    assert aux['loss'] == pytest.approx(np.mean(pred ** 2))

    def loss_only(p, xs):
        return with_dict_aux(p, xs)[0]

    assert_trees_close(g, numerical_grad(loss_only, (params, x), 0), RTOL, ATOL)
    j_g, j_aux = jax_grad(with_dict_aux, params, x, has_aux=True)
    assert_trees_close(g, j_g, RTOL, ATOL)
    assert_trees_close(aux, j_aux, RTOL, ATOL)


def test_argnums_with_a_dict_and_an_array(rng):
    params = {'W': rng.standard_normal((3, 2)), 'c': 0.3}
    x = rng.standard_normal((4, 3))
    g_params, g_x = sourcediff.grad(two_arguments, argnums=(0, 1))(params, x)
    assert type(g_params) is dict and g_x.shape == x.shape
    assert_trees_close(g_params, numerical_grad(two_arguments, (params, x), 0), RTOL, ATOL)
    np.testing.assert_allclose(g_x, numerical_grad(two_arguments, (params, x), 1), RTOL, ATOL)
    j_params, j_x = jax_grad(two_arguments, params, x, argnums=(0, 1))
    assert_trees_close(g_params, j_params, RTOL, ATOL)
    np.testing.assert_allclose(g_x, j_x, RTOL, ATOL)


def test_int_leaf_counts_as_a_number(rng):
    params = {'w': rng.standard_normal(3), 'n': 3, 'unused': 7}
    x = rng.standard_normal(3)
    g = sourcediff.grad(int_leaf)(params, x)
    assert type(g['n']) is float and g['unused'] == 0.0 and type(g['unused']) is float
    assert g['n'] == pytest.approx(np.sum(params['w'] * x))
    assert_trees_close(g, numerical_grad(int_leaf, (params, x), 0), RTOL, ATOL)
    # JAX refuses int inputs: compare with the same dict holding floats
    as_floats = dict(params, n=3.0, unused=7.0)
    assert_trees_close(g, jax_grad(int_leaf, as_floats, x), RTOL, ATOL)


def test_none_leaf_stays_none(rng):
    params = {'W1': rng.standard_normal((3, 4)), 'b1': rng.standard_normal(4),
              'W2': rng.standard_normal((4, 2)), 'b2': rng.standard_normal(2), 'extra': None}
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    g = sourcediff.grad(mlp_loss)(params, x, y)
    assert g['extra'] is None
    assert_trees_close(g, numerical_grad(mlp_loss, (params, x, y), 0), RTOL, ATOL)


def test_string_leaf_of_a_differentiated_argument_is_refused():
    params = {'W': np.ones(3), 'act': 'tanh'}
    with pytest.raises(sourcediff.NonDifferentiableArgumentError, match=r"argument 0\['act'\] is a str") as info:
        sourcediff.grad(string_leaf)(params, np.ones(3))
    assert isinstance(info.value, sourcediff.SourcediffError) and "argnums" in info.value.hint
    with pytest.raises(sourcediff.NonDifferentiableArgumentError, match=r"argument 0\['W'\] is a str"):
        sourcediff.grad(string_leaf)({'W': 'oops'}, np.ones(3))
    with pytest.raises(sourcediff.NonDifferentiableArgumentError, match=r"argument 0\.name is a str"):
        sourcediff.grad(namespace_loss)(types.SimpleNamespace(w=np.ones(2), c=1.0, name='n'))
    with pytest.raises(sourcediff.NonDifferentiableArgumentError, match=r"argument 0\[1\] is a bool"):
        sourcediff.vjp(sequences, (np.ones(3), True), [np.ones(3), 1.0, np.ones(2)])


def test_string_leaf_outside_argnums_is_fine():
    x = np.array([1.0, -2.0, 0.5])
    g = sourcediff.grad(string_leaf, argnums=1)({'W': np.array([0.3, 0.1, 2.0]), 'act': 'tanh'}, x)
    np.testing.assert_allclose(g, numerical_grad(string_leaf, ({'W': np.array([0.3, 0.1, 2.0])}, x), 1), RTOL, ATOL)


@pytest.mark.parametrize("f, arg", [(aliased_dict, {'a': 1.5, 'b': -0.5}), (aliased_tuple, (1.5, -0.5))])
def test_a_container_read_through_two_names(f, arg):
    g = sourcediff.grad(f)(arg)
    assert type(g) is type(arg)
    assert_trees_close(g, numerical_grad(f, (arg,), 0), RTOL, ATOL)
    assert_trees_close(g, jax_grad(f, arg), RTOL, ATOL)


def test_containers_built_inside_the_function(rng):
    x, y = rng.standard_normal(3), rng.standard_normal(3)
    gx, gy = sourcediff.grad(internal_containers, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, numerical_grad(internal_containers, (x, y), 0), RTOL, ATOL)
    np.testing.assert_allclose(gy, numerical_grad(internal_containers, (x, y), 1), RTOL, ATOL)
    jx, jy = jax_grad(internal_containers, x, y, argnums=(0, 1))
    np.testing.assert_allclose(gx, jx, RTOL, ATOL)
    np.testing.assert_allclose(gy, jy, RTOL, ATOL)


@dataclasses.dataclass
class Rect:
    w: float
    h: float
    unit = 2.0

    @property
    def area(self):
        return self.w * self.h


def reads_property(r):
    return r.area * 3.0


def reads_class_constant(r):
    return r.w * r.unit + r.h


def test_property_read_is_refused_and_class_constant_is_a_constant():
    with pytest.raises(sourcediff.MissingRuleError, match="property"):
        sourcediff.grad(reads_property)(Rect(2.0, 3.0))
    r = Rect(2.0, 3.0)
    g = sourcediff.grad(reads_class_constant)(r)
    assert_trees_close(g, numerical_grad(reads_class_constant, (r,), 0), RTOL, ATOL)


def test_a_field_named_like_an_array_attribute_is_refused_not_zeroed():
    import dataclasses

    @dataclasses.dataclass
    class Box:
        shape: float
        size: float

    def volume(box):
        return box.shape * box.size

    with pytest.raises(sourcediff.SourcediffError, match="is a field"):
        sourcediff.grad(volume)(Box(2.0, 3.0))
