"""Python data structures inside differentiated code: lists built with append, literals,
comprehensions, dicts, and objects (dataclass, namedtuple, SimpleNamespace) made inside the function.
"""
import math
import types
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import check_derivative, check_grads


def check(f, args, argnums, jax_grad=None):
    check_derivative(f, args, argnums, jax_grad(f, argnums) if jax_grad else None)


def trajectory(x, n):
    xs = [x]
    for i in range(n):
        xs.append(math.sin(xs[-1]) + 0.1 * xs[i])
    return sum(xs) + xs[n // 2] * xs[-1]


def literals(x, y):
    t = (x, y * 2.0)
    lst = [t[0] * t[1], y]
    d = {"a": x, "b": lst[0] + lst[1]}
    return d["a"] * d["b"] + t[1]


def comprehensions(xs):
    squares = [v * v for v in xs if v > 0]
    return sum(squares) + sum(math.sin(v) * i for i, v in enumerate(xs)) + sum([a * b for a in xs for b in xs])


def array_comprehension(w):
    rows = [np.tanh(w * k) for k in range(3)]
    return np.sum(np.stack(rows) ** 2)


def dict_of_params(params, x):
    h = np.tanh(x @ params["W"] + params["b"])
    total = 0.0
    for name in ["W", "b"]:
        total = total + 0.01 * np.sum(params[name] ** 2)
    return np.mean(h ** 2) + total


@dataclass
class State:
    pos: float
    vel: float


Pair = namedtuple("Pair", "a b")


def objects_made_inside(x, v):
    s = State(x * 2.0, vel=v)
    p = Pair(s.pos * s.vel, b=3.0)
    q = types.SimpleNamespace(mass=v, pos=x)
    return s.pos * math.sin(s.vel) + p.a + p[1] * x + q.mass * q.pos ** 2


def step(state, dt):
    return State(state.pos + dt * state.vel, state.vel - dt * state.pos)


def oscillator(x0, v0):
    s = State(x0, v0)
    for _ in range(20):
        s = step(s, 0.1)
    return s.pos ** 2 + 0.5 * s.vel


def test_list_built_with_append_and_read_by_index(jax_grad):
    check(trajectory, (0.4, 6), 0, jax_grad)


def test_tuple_list_and_dict_literals(jax_grad):
    check(literals, (0.4, -1.2), (0, 1), jax_grad)


def test_list_comprehensions_and_generators_inside_sum(jax_grad):
    check(comprehensions, (np.array([0.3, -0.5, 1.1]),), 0, jax_grad)


def test_comprehension_of_arrays(jax_grad):
    check(array_comprehension, (np.array([0.3, -0.5]),), 0, jax_grad)


def test_dict_of_parameters_in_a_loop(rng, jax_grad):
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    x = rng.standard_normal((4, 3))
    check(dict_of_params, (params, x), 0)
    ours = sourcediff.grad(dict_of_params)(params, x)
    theirs = jax_grad(dict_of_params, 0)(params, x)
    for key in params:
        np.testing.assert_allclose(ours[key], np.asarray(theirs[key]), rtol=1e-9)


def test_objects_made_inside_the_function(jax_grad):
    check(objects_made_inside, (0.4, 1.5), (0, 1), jax_grad)


def test_dataclass_state_through_a_helper_in_a_loop(jax_grad):
    check(oscillator, (0.4, 1.5), (0, 1), jax_grad)


def test_a_class_with_its_own_init_is_refused():
    class Particle:
        def __init__(self, x):
            self.x = x * 2

    def uses(x):
        return Particle(x).x

    with pytest.raises(sourcediff.MissingRuleError, match="Particle"):
        sourcediff.grad(uses)(1.0)


def loop_over_dict_keys(params, x):
    total = 0.0
    for name in params:
        total = total + params[name] * x
    for name, value in params.items():
        total = total + value ** 2
    return total


def test_for_over_a_dict_argument(jax_grad):
    params = {"a": 0.5, "b": -1.5}
    check_grads(loop_over_dict_keys, (params, 0.7), argnums=0)
    ours = sourcediff.grad(loop_over_dict_keys)(params, 0.7)
    theirs = jax_grad(loop_over_dict_keys, 0)(params, 0.7)
    assert ours.keys() == params.keys()
    for key in params:
        assert abs(ours[key] - float(theirs[key])) < 1e-12


def list_methods(x, y):
    lst = [x, y, x * y]
    a = lst.pop()
    b = lst.pop(0)
    lst.append(a * b)
    lst.extend([y, x * y])
    lst.insert(-1, math.cos(x))
    lst.insert(0, y * y)
    return lst[0] * lst[1] + lst[2] * lst[3] - lst[4] + sum(lst) + a


def stack_machine(x, n):
    stack = [x]
    for i in range(n):
        top = stack.pop()
        stack.append(top * 1.1)
        stack.append(math.sin(top))
    total = 0.0
    while len(stack) > 0:
        total = total + stack.pop()
    return total


def test_list_pop_extend_and_insert(jax_grad):
    check(list_methods, (0.7, 1.3), (0, 1), jax_grad)


def test_a_stack_popped_in_a_while_loop(jax_grad):
    check(stack_machine, (0.7, 4), 0, jax_grad)


# -- a list element replaced by a value of another shape (np.linalg.multi_dot's helper did this) --------------

W_CHAIN = np.eye(3) * 2 + 0.1


def chain_of_rows_and_columns(x):
    mats = [np.asarray(v, dtype=np.float64) for v in [x[0], W_CHAIN, x[2]]]
    if mats[0].ndim == 1:
        mats[0] = mats[0][None, :]
    if mats[-1].ndim == 1:
        mats[-1] = mats[-1][:, None]
    return np.sum(mats[0] @ mats[1] @ mats[2])


def both_elements_active(x):
    mats = [x[0] * 1.0, x[1] * 1.0]
    mats[0] = mats[0][None, :]
    return np.sum(mats[0] @ mats[1])


@pytest.mark.parametrize("f", [chain_of_rows_and_columns, both_elements_active], ids=lambda f: f.__name__)
def test_a_list_element_replaced_by_another_shape(f):
    """The adjoint slot cleared by the write holds a zero of any shape: the element put back is (3,), not (1, 3)."""
    sourcediff.check_grads(f, (np.arange(9.0).reshape(3, 3) / 10,), order=1)


# -- lists and tuples joined with + or repeated with * n: refused in both modes, at the generated line ----------

def _join_in_a_loop(x):
    s = x[0]
    parts = [s]
    for i in range(1, 3):
        s = s * x[i]
        parts = [s] + parts
    return np.sum(np.stack(parts) * np.array([1.0, 2.0, 3.0]))


def _join_lists(x):
    a = [x[0], x[1] * 2.0]
    b = [x[2]]
    c = a + b
    return c[0] * c[1] + c[2] * 3.0


def _join_tuples(x):
    a = (x[0], x[1] * 2.0)
    c = a + (x[2],)
    return c[0] * c[1] + c[2] * 3.0


def _repeat_list(x):
    a = [x[0], x[1]]
    c = a * 2
    return c[0] * c[3] + c[2]


@pytest.mark.parametrize("f", [_join_in_a_loop, _join_lists, _join_tuples, _repeat_list], ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["grad", "jvp"])
def test_joining_or_repeating_lists_is_refused_in_both_modes(f, mode):
    """Forward mode added the tangents element by element and reverse mode repeated the adjoint of ``a * 2``:
    silently wrong (found by helper hnumpy); now both refuse, naming the generated line."""
    x = np.array([1.5, -0.7, 2.0])
    with pytest.raises(sourcediff.SourcediffError, match="joining lists or tuples") as refused:
        if mode == "grad":
            sourcediff.grad(f)(x)
        else:
            sourcediff.jvp(f, (x,), (x,))
    assert "File " in str(refused.value)
