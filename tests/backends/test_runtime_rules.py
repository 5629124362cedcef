"""The runtime is closed under differentiation: every ``sd.<name>`` of the contract is differentiable again.

Each name of ``backends/contract.py`` is in exactly one class: it has a rule in both modes (``rules/runtime.py``
and the rules of the runtime functions that the lowering writes), it is declared non-differentiable with a
reason, its calls are spelled out as a pure call and a visible write when generated code is parsed again
(``SPELLED_OUT``), it is differentiated through its source as a function of the user's, or it dispatches to code
chosen when it runs and is differentiated through that code (``DISPATCH``).
"""
import ast
import importlib.util
import pathlib
import types

import gast
import numpy as np
import pytest

import sourcediff
from sourcediff import emit, parse, pipeline
from sourcediff.backends import contract
from sourcediff.errors import SourcediffError
from sourcediff.rules import registry
from sourcediff.rules import runtime as runtime_rules
from sourcediff.testing import check_rule


def _classes(name: str) -> list[str]:
    key = registry.runtime(name)
    found = []
    if key in registry.REVERSE_RULES:
        found.append("rule")
    if key in registry.NONDIFFERENTIABLE:
        found.append("non-differentiable")
    if name in runtime_rules.SPELLED_OUT:
        found.append("spelled out")
    if name in runtime_rules.DISPATCH:
        found.append("dispatch")
    if not found and isinstance(getattr(pipeline._NAMESPACES["sd"], name, None), types.FunctionType):
        found.append("through source")
    return found


@pytest.mark.parametrize("name", contract.RUNTIME)
def test_every_name_of_the_contract_is_in_exactly_one_class(name):
    assert len(_classes(name)) == 1, f"sd.{name}: {_classes(name) or 'no class'}"


def test_the_classes_are_counted():
    """How many names fall in each class (the report of issue 12 quotes them)."""
    counts: dict[str, int] = {}
    for name in contract.RUNTIME:
        for found in _classes(name):
            counts[found] = counts.get(found, 0) + 1
    assert counts["rule"] >= 110 and counts["spelled out"] == len(runtime_rules.SPELLED_OUT)
    assert counts["through source"] >= 60
    assert sum(counts.values()) == len(contract.RUNTIME)
    everything_the_common_rules_call = {"sum_adjoint", "mean_adjoint", "matmul_adjoint_a", "matmul_adjoint_b",
                                        "dot_adjoint_a", "dot_adjoint_b", "index_adjoint", "unbroadcast", "own",
                                        "add", "power_rule", "sum_product", "copy_adjoint", "list_adjoint",
                                        "iterable", "snapshot", "snapshot_item", "keep_value", "assign_into",
                                        "restore"}
    assert all(_classes(n) == ["rule"] for n in everything_the_common_rules_call)


def test_declarations_say_why():
    for name in contract.RUNTIME:
        key = registry.runtime(name)
        if key in registry.NONDIFFERENTIABLE:
            assert len(registry.NONDIFFERENTIABLE[key]) > 20, name
    assert all(len(how) > 10 for how in runtime_rules.SPELLED_OUT.values())


# -- generated code that calls a runtime function, read again --------------------------------------------------

def _generated(source: str, name: str):
    """``source`` compiled as sourcediff compiles a derivative: ``sd`` bound to the runtime, under a generated
    file name, so that parsing it reads it as generated code."""
    def anchor():
        pass

    filename = f"<sourcediff test of {name} {abs(hash(source))}>"
    return emit.compile_function(source, name, filename, anchor, {"sd": pipeline._NAMESPACES["sd"]})


# The names differentiated through their source; ``test_runtime_closure.py`` differentiates each one.
THROUGH_SOURCE = sorted(n for n in contract.RUNTIME if _classes(n) == ["through source"])


@pytest.mark.parametrize("name", ["check_index", "refuse_shared_arguments", "scalar_seed", "zeros_like"])
def test_a_non_differentiable_name_contributes_nothing(name):
    calls = {"check_index": "sd.check_index((1,))", "refuse_shared_arguments": "sd.refuse_shared_arguments('f', (), {})",
             "scalar_seed": "sd.scalar_seed(x)", "zeros_like": "sd.zeros_like(x)"}
    probe = _generated(f"def probe(x):\n    y = {calls[name]}\n    return x * x + (y if y is not None else 0.0) * x\n",
                       "probe")
    expected = 2 * 1.5 + (1.0 if name == "scalar_seed" else 0.0)
    np.testing.assert_allclose(sourcediff.grad(probe)(1.5), expected)


# Each spelled-out helper, called as generated code calls it; the spelled-out code must give the same result and
# leave the same adjoints behind.
SPELLED_OUT_CALLS = {
    "store_adjoint": ("def probe(a, v):\n    part = sd.store_adjoint(a, 1, v, a)\n    return part, a\n",
                      lambda: (np.array([1.0, 2.0, 3.0]), 0.5)),
    "store_adjoint_to": ("def probe(a, v):\n    part = sd.store_adjoint_to(a, slice(0, 2), (1,), a)\n"
                         "    return part, a\n", lambda: (np.array([1.0, 2.0, 3.0]), 0.5)),
    "clear_at": ("def probe(a, v):\n    sd.clear_at(a, np.array([0, 2]))\n    return v, a\n",
                 lambda: (np.array([1.0, 2.0, 3.0]), 0.5)),
    "increment_adjoint": ("def probe(a, v):\n    part = sd.increment_adjoint(a, slice(1, None), np.zeros(3), True)\n"
                          "    return part, a\n", lambda: (np.array([1.0, 2.0, 3.0]), 0.5)),
    "add_at": ("def probe(a, v):\n    a = sd.add_at(a, np.array([0, 0, 2]), v)\n    return v, a\n",
               lambda: (np.array([1.0, 2.0, 3.0]), 0.5)),
    "restore_item": ("def probe(a, v):\n    sd.restore_item(a, 'k', v)\n    return v, a\n",
                     lambda: ({"k": 1.0}, 0.5)),
    "unpop": ("def probe(a, v):\n    a = sd.unpop(a, -1, v)\n    a = sd.unpop(a, None, v)\n    return v, a\n",
              lambda: ([1.0, 2.0], 0.5)),
    "uninsert": ("def probe(a, v):\n    w = sd.uninsert(a, -2)\n    sd.uninsert(a, 7)\n    return w, a\n",
                 lambda: ([1.0, 2.0, 3.0, 4.0], 0.5)),
    "unextend": ("def probe(a, v):\n    w = sd.unextend(a, 2)\n    sd.unextend(a, 1)\n    return w, a\n",
                 lambda: ([1.0, 2.0, 3.0, 4.0], 0.5)),
}


def test_every_spelled_out_name_has_a_probe():
    assert set(SPELLED_OUT_CALLS) == set(runtime_rules.SPELLED_OUT)


@pytest.mark.parametrize("name", sorted(SPELLED_OUT_CALLS))
def test_a_spelled_out_call_does_what_the_runtime_does(name):
    import numpy

    source, arguments = SPELLED_OUT_CALLS[name]
    probe = _generated(source, "probe")
    parsed = parse.parse_function(probe)
    spelled = ast.unparse(gast.gast_to_ast(parsed.node))
    assert f"sd.{name}(" not in spelled
    namespace = {"sd": pipeline._NAMESPACES["sd"], "np": numpy}
    exec(compile(spelled, "<spelled>", "exec"), namespace)
    expected, got = probe(*arguments()), namespace["probe"](*arguments())
    for mine, theirs in zip(got, expected):
        if isinstance(theirs, dict):
            assert mine == theirs
        else:
            np.testing.assert_array_equal(np.asarray(mine, dtype=float), np.asarray(theirs, dtype=float))


# -- every rule of the runtime passes the consistency check -----------------------------------------------------

def _samples():
    path = pathlib.Path(__file__).resolve().parents[1] / "rules" / "rule_samples.py"
    spec = importlib.util.spec_from_file_location("runtime_rule_samples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SAMPLES


SAMPLES = _samples()
RUNTIME_RULES = sorted((key for key in registry.REVERSE_RULES if isinstance(key, registry.RuntimeFunction)),
                       key=lambda key: key.name)


@pytest.mark.parametrize("key", RUNTIME_RULES, ids=lambda key: key.name)
def test_every_runtime_rule_passes_check_rule(key):
    """Forward template against finite differences and <vjp(u), v> == <u, jvp(v)>, for every differentiable
    parameter, on the samples of ``tests/rules/samples_runtime.py`` (and ``rule_samples.py``)."""
    rule = registry.lookup(key)
    assert set(rule.jvps) == set(rule.adjoints), key
    samples = SAMPLES.get(key)
    assert samples, f"no samples for {key!r}"
    rng = np.random.default_rng(sum(map(ord, key.name)))
    checked = set()
    for sample in samples:
        args, kwargs = sample(rng)
        checked |= set(check_rule(rule, args, kwargs, rng=rng))
    assert checked == set(rule.adjoints), f"parameters never checked: {sorted(set(rule.adjoints) - checked)}"
