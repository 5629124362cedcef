"""The registry itself: every template parses and reads only names it may read.

Templates are parsed lazily (on first use) to keep ``import sourcediff`` fast,
so this test is what catches a typo in a template that no other test reaches.
"""
import builtins

import pytest

from sourcediff.rules import registry

ALLOWED = {"g", "ans", "np", "math", "sd"} | set(dir(builtins))


def _all_rules():
    for table in (registry.REVERSE_RULES, registry.METHOD_RULES, registry.ATTRIBUTE_RULES):
        for key, rule in table.items():
            yield pytest.param(rule, id=f"{getattr(key, '__name__', key)}@{rule.origin.rsplit('/', 1)[-1]}")


@pytest.mark.parametrize("rule", list(_all_rules()))
def test_templates_parse_and_read_only_their_parameters(rule):
    for param in rule.adjoints:
        unknown = rule.reads(param) - set(rule.signature.parameters) - ALLOWED
        assert not unknown, f"template of {param!r} reads unknown names {sorted(unknown)}"


def test_rules_remember_where_they_were_declared():
    rule = registry.lookup(__import__("numpy").sin)
    assert rule.origin.endswith(".py:" + rule.origin.rsplit(":", 1)[-1])
    assert "elementwise.py" in rule.origin


# -- the invariant: an operation on a differentiated value has a rule, a declaration, or is refused ------

def call_it(x):
    return FUNCTION(x)  # noqa: F821  (bound per case: see _with_function)




def _with_function(function):
    """``call_it`` with ``FUNCTION`` bound to ``function``: a new function object, the same source."""
    import types

    return types.FunctionType(call_it.__code__, dict(call_it.__globals__, FUNCTION=function), "call_it")


def _uncovered_functions():
    import math

    import numpy as np

    found = {}
    for module, prefix in ((np, "np."), (np.linalg, "np.linalg."), (math, "math.")):
        for name in sorted(dir(module)):
            obj = getattr(module, name)
            if name.startswith("_") or not callable(obj) or isinstance(obj, type):
                continue
            if registry.lookup(obj) is None and not registry.is_nondifferentiable(obj):
                found.setdefault(id(obj), pytest.param(obj, id=prefix + name))
    return list(found.values())


@pytest.mark.parametrize("function", _uncovered_functions())
def test_a_function_without_a_rule_is_refused_when_grad_is_built(function):
    """Every NumPy and math function that has no rule and no non-differentiable declaration is refused
    by ``grad`` itself: never differentiated as if its result did not depend on its argument."""
    import sourcediff

    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(_with_function(function))


def _uncovered_methods():
    import numpy as np

    names = [n for n in dir(np.ndarray) if not n.startswith("_") and callable(getattr(np.ndarray, n))]
    return [n for n in names if n not in registry.METHOD_RULES and n not in registry.NONDIFFERENTIABLE_METHODS]


@pytest.mark.parametrize("method", _uncovered_methods())
def test_a_method_without_a_rule_is_refused(method):
    """``x.method()`` on a differentiated array, without a rule or a declaration: refused, never zero."""
    import numpy as np

    import sourcediff

    source = f"def call_method(x):\n    return x.{method}()\n"
    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(_compiled(source, "call_method"))(np.array([0.5, 1.5]))


def _compiled(source, name):
    """A function defined from ``source`` in a file of its own, so that its source can be read."""
    import importlib.util
    import pathlib
    import tempfile

    folder = pathlib.Path(tempfile.mkdtemp(prefix="sourcediff-invariant-"))
    path = folder / f"{name}_{abs(hash(source))}.py"
    path.write_text("import numpy as np\n\n" + source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def _array_attributes():
    """The array attributes without a rule or a declaration that hold numbers (``x.base``, ``x.flags`` don't)."""
    import numpy as np

    x = np.full((2, 2), 0.5)
    found = []
    for n in dir(np.ndarray):
        if n.startswith("_") or callable(getattr(np.ndarray, n)) or n in registry.ATTRIBUTE_RULES \
                or n in registry.NONDIFFERENTIABLE_ATTRIBUTES:
            continue
        try:
            np.sum(getattr(x, n) * 1.0)
        except (TypeError, ValueError, AttributeError):
            continue
        found.append(n)
    return found


@pytest.mark.parametrize("attribute", _array_attributes())
def test_an_array_attribute_without_a_rule_is_refused(attribute):
    """``x.attribute`` of a differentiated array, without a rule or a declaration: refused, never zero."""
    import numpy as np

    import sourcediff

    source = f"def read_attribute(x):\n    return np.sum(x.{attribute} * 1.0)\n"
    with pytest.raises(sourcediff.SourcediffError):
        sourcediff.grad(_compiled(source, "read_attribute"))(np.full((2, 2), 0.5))
