"""The forward templates of a SciPy rule against ``jax.jvp`` of JAX's function of the same name, on the rule's
samples (``tests/rules/rule_samples.py``). The test modules of this folder load this file by path (pytest's
importlib mode puts no test folder on ``sys.path``): ``compare(key, counterpart, adapt)``.

Every float leaf of every differentiable argument gets a random tangent (the flag of ``(c, lower)``, pivots and
integers get none); the sum of the forward templates' contributions must equal JAX's output tangent, leaf by
leaf (float leaves of a tuple result).
"""
from __future__ import annotations

import copy
import importlib.util
import inspect
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[3]
_SAMPLES = None


def samples():
    """``tests/rules/rule_samples.py``, loaded once."""
    global _SAMPLES
    if _SAMPLES is None:
        spec = importlib.util.spec_from_file_location("rule_samples", ROOT / "tests/rules/rule_samples.py")
        _SAMPLES = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_SAMPLES)
    return _SAMPLES


def float_leaves(x):
    """The float leaves of an argument (``(c, lower)`` gives ``[c]``), and a function putting new ones back."""
    if isinstance(x, (tuple, list)):
        parts = [float_leaves(v) for v in x]
        sizes = [len(p[0]) for p in parts]

        def rebuild(values):
            out, k = [], 0
            for (_, put), size in zip(parts, sizes):
                out.append(put(values[k:k + size]))
                k += size
            return type(x)(out)
        return [leaf for p in parts for leaf in p[0]], rebuild
    if isinstance(x, float) or (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
        return [x], lambda values: values[0]
    return [], lambda values: x


def compare(key, counterpart, adapt=None, tangent=None, rtol=1e-6, atol=1e-9, limit=4) -> int:
    """Compare the forward templates of ``key``'s rule with ``jax.jvp`` of ``counterpart`` on every sample that
    ``adapt(args, kwargs)`` does not turn into None (it may rewrite them for JAX: ``(args, kwargs)``, the same
    point in JAX's terms);
    ``tangent(param, value, rng)`` may replace the random tangent of a parameter. Compares at most ``limit``
    samples (JAX traces each anew; finite differences check every sample in ``test_registry.py``). Returns the
    samples compared."""
    import jax
    import jax.numpy as jnp

    from sourcediff.backends import NUMPY
    from sourcediff.rules import registry
    from sourcediff.testing import _carries_tangent, _random_like

    rule = registry.lookup(key)
    namespaces = NUMPY.namespaces({"call_forward": print, "call_backward": print, "call_jvp": print})
    rng = np.random.default_rng(3)
    compared = 0
    for sample in samples().SAMPLES[key]:
        if compared >= limit:
            break
        args, kwargs = sample(rng)
        converted = (args, kwargs) if adapt is None else adapt(args, kwargs)
        if converted is None:
            continue
        full = rule.signature.bind(*args, **kwargs)
        full.apply_defaults()
        active = [p for p in rule.adjoints if _carries_tangent(full.arguments.get(p))]
        if not active:
            continue
        ans = key(*copy.deepcopy(args), **copy.deepcopy(kwargs))
        tangents = {}
        for p in active:
            chosen = None if tangent is None else tangent(p, full.arguments[p], rng)
            tangents[p] = _random_like(full.arguments[p], rng) if chosen is None else chosen
        ours = []
        for p in active:
            scope = dict(namespaces, **copy.deepcopy(dict(full.arguments)), ans=ans, t=tangents[p])
            ours.append(float_leaves(eval(rule.jvps[p], scope))[0])
        jargs, jkwargs = converted
        given = rule.signature.bind(*jargs, **jkwargs)
        at = rule.signature.bind(*jargs, **jkwargs)
        at.apply_defaults()
        leaves = {p: float_leaves(at.arguments[p]) for p in active}  # the point, as JAX is given it
        sizes = [len(leaves[p][0]) for p in active]

        def primal(*values):
            arguments, k = dict(given.arguments), 0
            for p, size in zip(active, sizes):
                arguments[p] = leaves[p][1](list(values[k:k + size]))
                k += size
            bound = inspect.BoundArguments(rule.signature, arguments)
            return counterpart(*bound.args, **bound.kwargs)

        primals = tuple(jnp.asarray(v) for p in active for v in leaves[p][0])
        directions = tuple(jnp.asarray(v) for p in active for v in float_leaves(tangents[p])[0])
        _, theirs = jax.jvp(primal, primals, directions)
        summed = [sum(np.asarray(part) for part in parts) for parts in zip(*ours)]
        theirs = [np.asarray(x) for x in jax.tree_util.tree_leaves(theirs) if np.asarray(x).dtype.kind == "f"]
        assert len(summed) == len(theirs), (key, len(summed), len(theirs))
        for o, t in zip(summed, theirs):
            np.testing.assert_allclose(np.broadcast_to(o, t.shape), t, rtol=rtol, atol=atol,
                                       err_msg=f"sample {args!r}, {kwargs!r}")
        compared += 1
    return compared
