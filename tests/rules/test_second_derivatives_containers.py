"""Second derivatives through the helpers that return tuple and list adjoints (``sd.as_tuple_adjoint``):
the decompositions of ``np.linalg`` that return several arrays, and Python's ``sum``, ``max``, ``tuple``."""
import dataclasses
import math
from collections import namedtuple

import numpy as np
import pytest

from .second_order import WAYS, check_second_derivatives

RNG = np.random.default_rng(3)
W3 = RNG.standard_normal((3, 3))
W2 = RNG.standard_normal((3, 2))
SPD = RNG.standard_normal((3, 3)) @ RNG.standard_normal((3, 3)).T + 3 * np.eye(3)
B = RNG.standard_normal(3)


def svd_all(x):
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    return np.sum(np.abs(u[:, 0]) * W3[0]) + np.sum(s * s * W3[1]) + np.sum(np.abs(vh[0]) * W3[2])


def svd_values(x):
    return np.sum(np.linalg.svd(x, compute_uv=False) * W3[0])


def eigh_all(x):
    w, v = np.linalg.eigh(x + x.T + SPD)
    return np.sum(w * W3[0]) + np.sum(v[:, 1] ** 2 * W3[1])


def qr_all(x):
    q, r = np.linalg.qr(x)
    return np.sum(q * W3) + np.sum(r * W3.T)


def slogdet_all(x):
    sign, logdet = np.linalg.slogdet(x + SPD)
    return sign * logdet * logdet


def lstsq_all(x):
    solution, residuals, rank, sv = np.linalg.lstsq(np.vstack([x, W3]), np.concatenate([B, B]), rcond=None)
    return np.sum(solution * B) + np.sum(residuals) + np.sum(sv * B)


def lstsq_rhs(x):
    solution, residuals, rank, sv = np.linalg.lstsq(np.vstack([W3, SPD]), np.concatenate([x, x * x]), rcond=None)
    return np.sum(solution * solution) + np.sum(residuals)


def builtin_sum_of_tuple(x):
    parts = (x[0] * x[1], np.sin(x[2]), x[1] ** 3)
    return sum(parts) * x[0]


def builtin_sum_of_list(x):
    parts = [x[0] * x[1], np.sin(x[2]), x[1] ** 3]
    return sum(parts, 1.0) ** 2


def builtin_max_of_list(x):
    return max([x[0] * x[1], x[2] ** 2, np.cos(x[1])]) * x[0]


def builtin_max_of_tuple(x):
    return max((x[0] * x[1], x[2] ** 2, np.cos(x[1]))) * x[2]


def tuple_of_list(x):
    t = tuple([x[0] * x[2], x[1] ** 2])
    return t[0] * t[1] + t[1]


CASES = {
    "svd_all": (svd_all, RNG.standard_normal((3, 3))),
    "svd_values": (svd_values, RNG.standard_normal((3, 3))),
    "eigh_all": (eigh_all, RNG.standard_normal((3, 3))),
    "qr_all": (qr_all, RNG.standard_normal((3, 3))),
    "slogdet_all": (slogdet_all, RNG.standard_normal((3, 3))),
    "lstsq_all": (lstsq_all, RNG.standard_normal((3, 3))),
    "lstsq_rhs": (lstsq_rhs, RNG.standard_normal(3)),
    "builtin_sum_of_tuple": (builtin_sum_of_tuple, RNG.standard_normal(3)),
    "builtin_sum_of_list": (builtin_sum_of_list, RNG.standard_normal(3)),
    "builtin_max_of_list": (builtin_max_of_list, np.array([1.3, 0.7, 0.2])),
    "builtin_max_of_tuple": (builtin_max_of_tuple, np.array([0.4, 0.7, 1.5])),
    "tuple_of_list": (tuple_of_list, RNG.standard_normal(3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_through_tuple_adjoints(name):
    scalar, x = CASES[name]
    assert check_second_derivatives(scalar, x) == list(WAYS)


# -- records: a field read (sd.attribute_adjoint, sd.field_of_tangent) and math.modf/frexp's fields ------------

Point = namedtuple("Point", "a b")


@dataclasses.dataclass
class State:
    position: np.ndarray
    speed: float


def namedtuple_fields(x):
    p = Point(x * x, np.sin(x[0]))
    return np.sum(p.a * p.b) + p.b ** 2


def dataclass_fields(x):
    s = State(np.cos(x), x[1] * x[2])
    return np.sum(s.position ** 2) * s.speed


def modf_fields(x):
    frac, whole = math.modf(x[0] * x[1] + 10.0)
    return frac * frac * x[2]


def frexp_fields(x):
    mantissa, exponent = math.frexp(x[0] * x[1] + 3.0)
    return mantissa ** 3 * x[2]


RECORDS = {
    "namedtuple_fields": (namedtuple_fields, RNG.standard_normal(3)),
    "dataclass_fields": (dataclass_fields, RNG.standard_normal(3)),
    "modf_fields": (modf_fields, np.array([0.7, 0.4, 1.3])),
    "frexp_fields": (frexp_fields, np.array([0.7, 0.4, 1.3])),
}


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_second_derivatives_through_record_fields(name):
    scalar, x = RECORDS[name]
    assert check_second_derivatives(scalar, x) == list(WAYS)


# -- lists that grow: the backward pass takes back what insert and extend added (spelled out when read again) --

def list_insert(x):
    lst = [x[0] * x[1]]
    lst.insert(0, np.sin(x[2]))
    lst.insert(-1, x[1] ** 2)
    return lst[0] * lst[1] + lst[2] * lst[0]


def list_extend(x):
    lst = [x[0] * x[1]]
    lst.extend([np.sin(x[2]), x[1] ** 2])
    total = 0.0
    for v in lst:
        total = total + v * v * x[0]
    return total


@pytest.mark.parametrize("scalar", [list_insert, list_extend], ids=lambda f: f.__name__)
def test_second_derivatives_through_list_changes(scalar):
    assert check_second_derivatives(scalar, np.array([0.3, 0.8, 1.1])) == list(WAYS)


# -- np.linalg.multi_dot: a list of operands in, its helpers loop over them ---------------------------------------

def multi_dot_chain(x):
    return np.sum(np.linalg.multi_dot([x, W3, np.tanh(x), W2]) * W2)


def multi_dot_vectors(x):
    return np.linalg.multi_dot([x[0], SPD, np.sin(x), x[2]]) * x[1, 1]


@pytest.mark.parametrize("scalar", [multi_dot_chain, multi_dot_vectors], ids=lambda f: f.__name__)
def test_second_derivatives_of_multi_dot(scalar):
    assert check_second_derivatives(scalar, RNG.standard_normal((3, 3))) == list(WAYS)


# -- bitwise operators on masks carry no derivative ----------------------------------------------------------------

def masks(x):
    inside = (x > 0.2) & (x < 1.0)
    outside = ~inside | (x > 5.0)
    inside &= x < 0.9
    return np.sum(np.where(inside, x ** 3, np.sin(x))) + np.sum(np.where(outside, x * x, 0.0))


def test_second_derivatives_through_masks():
    assert check_second_derivatives(masks, np.array([0.1, 0.5, 0.95, 1.3])) == list(WAYS)


# -- an array that a helper without a derivative writes into is put back with sd.assign_into, a write -----------

def _reset(buf, value):
    buf[:] = value


def helper_writes_into_a_buffer(x):
    buf = np.zeros(3)
    total = 0.0
    for k in range(3):
        _reset(buf, float(k))
        total = total + np.sum(buf * x * x)
    return total


def test_second_derivatives_through_a_restored_buffer():
    import sourcediff

    assert "buf = sd.assign_into(buf, tape.pop())" in sourcediff.grad(helper_writes_into_a_buffer).source
    assert check_second_derivatives(helper_writes_into_a_buffer, np.array([0.3, 0.8, 1.1])) == list(WAYS)


def shared_buffer_updated(x):
    y = x * 1.0
    z = y
    z += np.sin(x)
    w = y * y
    return np.sum(w * x)


def test_second_derivatives_through_a_shared_buffer_update():
    """``z += ...`` writes into the array ``y`` shares; the backward pass puts it back with ``sd.assign_into``, as
    the write itself. Reverse mode over forward code that writes in place is refused (docs/forward.md)."""
    import sourcediff

    assert "sd.restore(" not in sourcediff.grad(shared_buffer_updated).source
    checked = check_second_derivatives(shared_buffer_updated, np.array([0.3, 0.8, 1.1]),
                                       refusable=("reverse over forward",))
    assert checked[:2] == ["forward over reverse", "reverse over reverse"]


def _fill_list(items, k):
    items[0] = k
    items[1] = k * k


def helper_writes_into_a_list(x):
    items = [0.0, 0.0]
    total = 0.0
    for k in range(3):
        _fill_list(items, float(k))
        total = total + items[0] * np.sum(x ** 2) + items[1] * np.sum(np.sin(x))
    return total


def _fill_dict(table, k):
    table["a"] = k


def helper_writes_into_a_dict(x):
    table = {"a": 0.0}
    total = 0.0
    for k in range(3):
        _fill_dict(table, float(k))
        total = total + table["a"] * np.sum(x ** 3)
    return total


@pytest.mark.parametrize("function", [helper_writes_into_a_list, helper_writes_into_a_dict])
def test_second_derivatives_through_a_restored_list_or_dict(function):
    """What a helper without a derivative wrote into a list or a dict is put back with ``sd.restore``; read
    again, that is a write into the same object, with a rule (it was refused before: its source calls .clear())."""
    import sourcediff

    assert "= sd.restore(" in sourcediff.grad(function).source
    assert check_second_derivatives(function, np.array([0.3, 0.8, 1.1])) == list(WAYS)
