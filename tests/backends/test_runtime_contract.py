"""The runtime contract: the NumPy runtime implements every name, and generated code sees no other."""
import gast
import pytest

from sourcediff import pipeline
from sourcediff.backends import NUMPY, contract, numpy_backend
from sourcediff.rules import registry


def _own_callables(module) -> set[str]:
    return {name for name, value in vars(module).items() if not name.startswith("_") and callable(value)
            and not isinstance(value, type) and getattr(value, "__module__", "").startswith("sourcediff.backends")}


@pytest.mark.parametrize("name", [n for n in contract.RUNTIME if n not in contract.BOUND_BY_PIPELINE])
def test_the_numpy_runtime_implements_the_contract(name):
    assert callable(getattr(numpy_backend, name, None)), f"sd.{name} is in the contract but not in the runtime"


def test_the_contract_lists_every_public_function_of_the_runtime():
    assert _own_callables(numpy_backend) <= set(contract.RUNTIME)


def test_the_contract_names_each_function_once():
    assert len(set(contract.RUNTIME)) == len(contract.RUNTIME)


def test_rule_templates_call_only_the_contract():
    lazy = registry.load_lazy_rules()  # the SciPy rules load on first use: load them so the walk sees them
    called = set()
    for table in (registry.REVERSE_RULES, registry.METHOD_RULES, registry.ATTRIBUTE_RULES, registry.COMPLEX_RULES):
        for rule in table.values():
            templates = [rule.template(p) for p in rule.adjoints] + [rule.jvp_template(p) for p in rule.jvps]
            for template in templates:
                called |= {n.attr for n in gast.walk(template) if isinstance(n, gast.Attribute)
                           and isinstance(n.value, gast.Name) and n.value.id == "sd"}
    structural = {"zeros_like", "assign_into", "list_adjoint", "iterable", "accumulate_at", "concatenate_rows",
                  "concatenate_columns"}  # forward templates of linear runtime functions apply them to tangents
    # the rules of the runtime itself (rules/runtime.py) apply their runtime functions to tangents and cotangents
    structural |= {key.name for key in registry.REVERSE_RULES if isinstance(key, registry.RuntimeFunction)}
    helpers = set(contract.RULE_HELPERS) | structural
    assert called <= helpers, sorted(called - helpers)
    # field_adjoint, field_tangent: constructor rules, made on use
    unused = {"field_adjoint", "field_tangent"}
    if "scipy.special" not in lazy:  # SciPy is not installed: the helpers of its rules are called by none
        from sourcediff.backends import scipy_linalg_ops, scipy_signal_ops, scipy_special_ops, scipy_stats_ops

        for module in (scipy_special_ops, scipy_linalg_ops, scipy_stats_ops, scipy_signal_ops):
            unused |= set(module.__all__)
    assert set(contract.RULE_HELPERS) - unused <= called


def test_generated_code_sees_exactly_the_contract():
    namespaces = NUMPY.namespaces({"call_forward": print, "call_backward": print, "call_jvp": print})
    assert set(vars(namespaces["sd"])) == set(contract.RUNTIME)
    assert namespaces["np"] is NUMPY.np and namespaces["math"] is NUMPY.math
    assert set(vars(pipeline._NAMESPACES["sd"])) == set(contract.RUNTIME)


def test_a_backend_refuses_to_leave_the_pipeline_calls_unbound():
    with pytest.raises(TypeError, match="call_forward"):
        NUMPY.namespaces({"call_backward": print})
