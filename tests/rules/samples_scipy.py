"""Samples of the ``scipy.special`` rules (``rules/scipy/special.py``) for ``sourcediff.testing.check_rule``;
``rule_samples.py`` adds them to ``SAMPLES`` when SciPy is installed.

Those rules load on first use; importing this module loads them
(``registry.load_lazy_rules``), so that the walks over every rule see them.
Values stay inside each function's domain and away from its poles and kinks
(``i0e`` and the other scaled Bessel functions at 0, ``zeta`` at 1).
"""
from __future__ import annotations

import numpy as np
import scipy.special as special

from sourcediff.rules import registry

registry.load_lazy_rules()


def _draw(x, rng):
    return x(rng) if callable(x) else x


def S(*args, **kwargs):
    """A sample: each callable argument drawn from the generator."""
    return lambda rng: ([_draw(a, rng) for a in args], {k: _draw(v, rng) for k, v in kwargs.items()})


def N(*shape):
    return lambda rng: rng.standard_normal(shape) if shape else float(rng.standard_normal())


def U(low, high, *shape):
    return lambda rng: rng.uniform(low, high, shape) if shape else float(rng.uniform(low, high))


def signed(low, high, *shape):
    """Magnitudes in ``[low, high]``, of either sign (away from a kink at 0)."""
    def make(rng):
        sign = rng.choice([-1.0, 1.0], size=shape) if shape else float(rng.choice([-1.0, 1.0]))
        return sign * (rng.uniform(low, high, shape) if shape else float(rng.uniform(low, high)))
    return make


def unary(make):
    """A unary elementwise rule's samples: a Python float, a vector and a matrix."""
    return [S(make()), S(make(4)), S(make(2, 3))]


def binary(make1, make2):
    """A binary elementwise rule's samples: scalars, equal shapes and shapes that broadcast."""
    shapes = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3))]
    return [S(make1(*s1), make2(*s2)) for s1, s2 in shapes]


def in_x(order, make):
    """A rule differentiable in its second argument only (an order ``v`` or ``n``, then ``x``)."""
    return [S(order[0], make()), S(order[0], make(4)), S(np.asarray(order), make(2, len(order))),
            S(np.asarray(order)[:, None], make(3))]


def _positive(*shape):
    return U(0.3, 4.0, *shape)


SCIPY_SAMPLES = {
    special.logsumexp: [
        S(N()), S(N(4)), S(N(3, 4), axis=1), S(N(3, 4), axis=0, keepdims=True), S(N(2, 3, 4), axis=(0, 2)),
        S(N(3, 4), keepdims=True), S(N(3, 4), b=U(0.5, 2.0, 3, 4)), S(N(3, 4), axis=1, b=U(0.5, 2.0, 4)),
        S(N(3, 1), axis=0, b=U(0.5, 2.0, 3, 4)), S(N(3, 4), axis=-1, b=U(0.5, 2.0, 3, 1), keepdims=True),
    ],
    special.softmax: [S(N(4)), S(N(3, 4)), S(N(3, 4), axis=1), S(N(3, 4), axis=0), S(N(2, 3, 4), axis=(0, 2))],
    special.log_softmax: [S(N(4)), S(N(3, 4)), S(N(3, 4), axis=1), S(N(2, 3, 4), axis=-1)],
    special.expit: unary(N),
    special.logit: unary(lambda *s: U(0.1, 0.9, *s)),
    special.gammaln: unary(_positive) + [S(U(-2.8, -2.2, 3))],
    special.gamma: unary(_positive) + [S(U(-1.8, -1.2, 3))],
    special.digamma: unary(_positive) + [S(U(-0.8, -0.2, 3))],
    special.polygamma: in_x([1, 2, 3], _positive),
    special.beta: binary(_positive, _positive),
    special.betaln: binary(_positive, _positive),
    special.erf: unary(N),
    special.erfc: unary(N),
    special.erfinv: unary(lambda *s: U(-0.9, 0.9, *s)),
    special.erfcinv: unary(lambda *s: U(0.1, 1.9, *s)),
    special.xlogy: binary(N, _positive),
    special.xlog1py: binary(N, lambda *s: U(-0.5, 3.0, *s)),
    special.entr: unary(_positive),
    special.rel_entr: binary(_positive, _positive),
    special.i0: unary(N),
    special.i1: unary(N),
    special.i0e: unary(lambda *s: signed(0.2, 3.0, *s)),
    special.i1e: unary(lambda *s: signed(0.2, 3.0, *s)),
    special.iv: in_x([0.5, 1.0, 2.5], _positive) + [S(2.0, signed(0.2, 3.0, 4))],
    special.ive: in_x([0.5, 1.0, 2.5], _positive) + [S(2.0, signed(0.2, 3.0, 4))],
    special.jv: in_x([0.5, 1.0, 2.5], lambda *s: U(0.3, 6.0, *s)) + [S(3.0, N(4))],
    special.yv: in_x([0.5, 1.0, 2.5], lambda *s: U(0.5, 6.0, *s)),
    special.kv: in_x([0.5, 1.0, 2.5], _positive),
    special.zeta: [
        S(U(1.5, 4.0)), S(U(1.5, 4.0, 4)), S(U(-0.9, 0.6, 3)), S(U(1.5, 4.0), U(0.5, 3.0)),
        S(U(1.5, 4.0, 3), U(0.5, 3.0, 3)), S(U(1.5, 4.0, 2, 3), U(0.5, 3.0, 3)), S(U(1.5, 4.0, 3), q=2.5),
    ],
}


def _open(low, high):
    return lambda *s: U(low, high, *s)


SCIPY_SAMPLES.update({
    # in x only: a and b carry no template (their slopes have no closed form)
    special.betainc: [S(2.0, 3.0, U(0.1, 0.9)), S(U(0.5, 3.0, 4), U(0.5, 3.0, 4), U(0.1, 0.9, 4)),
                      S(np.array([1.5, 2.5]), 2.0, U(0.1, 0.9, 3, 2))],
    special.gammainc: [S(U(0.5, 3.0), U(0.2, 4.0)), S(U(0.5, 3.0, 4), U(0.2, 4.0, 4)), S(2.0, U(0.2, 4.0, 2, 3))],
    special.gammaincc: [S(U(0.5, 3.0), U(0.2, 4.0)), S(U(0.5, 3.0, 4), U(0.2, 4.0, 4)), S(2.0, U(0.2, 4.0, 2, 3))],
    special.multigammaln: [S(U(3.0, 5.0), 3), S(U(3.0, 5.0, 4), 2), S(U(1.0, 2.0, 2, 2), 1)],
    special.rgamma: unary(N) + [S(np.array([0.0, -1.0, -2.0, -3.0]))],
    special.expm1: unary(N),
    special.log1p: unary(_open(-0.5, 2.0)),
    special.exp2: unary(N),
    special.exp10: unary(_open(-1.0, 1.0)),
    special.cbrt: unary(lambda *s: signed(0.2, 3.0, *s)),
    special.softplus: unary(N) + [S(np.array([-40.0, 40.0]))],
    special.log_expit: unary(N),
    special.erfcx: unary(N),
    special.erfi: unary(_open(-1.5, 1.5)),
    special.dawsn: unary(N),
    special.ndtr: unary(N),
    special.ndtri: unary(_open(0.05, 0.95)),
    special.log_ndtr: unary(lambda *s: U(-6.0, 3.0, *s)),
    special.j0: unary(lambda *s: U(-6.0, 6.0, *s)),
    special.j1: unary(lambda *s: U(-6.0, 6.0, *s)),
    special.y0: unary(_open(0.5, 6.0)),
    special.y1: unary(_open(0.5, 6.0)),
    special.yn: in_x([0, 1, 2], _open(0.5, 6.0)),
    special.k0: unary(_positive),
    special.k1: unary(_positive),
    special.k0e: unary(_positive),
    special.k1e: unary(_positive),
    special.kve: in_x([0.5, 1.0, 2.5], _positive),
    special.jve: in_x([0.5, 1.0, 2.5], _open(0.3, 6.0)),
    special.yve: in_x([0.5, 1.0, 2.5], _open(0.5, 6.0)),
    special.boxcox: binary(_positive, _open(-1.0, 2.0)) + [S(U(0.3, 4.0, 3), 0.0), S(U(0.3, 4.0, 3), 1e-9),
                                                          S(U(0.3, 4.0, 3), U(-0.1, 0.1, 3))],
    special.boxcox1p: binary(_open(-0.5, 3.0), _open(-1.0, 2.0)) + [S(U(-0.5, 3.0, 3), 0.0)],
    special.huber: binary(_open(0.5, 1.5), lambda *s: U(-3.0, 3.0, *s)),
    special.pseudo_huber: binary(_open(0.5, 2.0), N),
    special.kl_div: binary(_positive, _positive),
    special.spence: unary(_open(0.2, 3.0)) + [S(np.array([0.5, 1.0, 2.0]))],
    special.poch: binary(_open(0.5, 3.0), _open(-0.4, 2.0)),
    special.binom: binary(_open(2.0, 5.0), _open(0.3, 1.8)),
})
