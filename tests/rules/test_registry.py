"""The registry itself: every template parses and reads only names it may read.

Templates are parsed lazily (on first use) to keep ``import sourcediff`` fast,
so this test is what catches a typo in a template that no other test reaches.
"""
import builtins

import numpy as np
import pytest

from sourcediff.rules import registry

ALLOWED = {"g", "ans", "np", "math", "sd"} | set(dir(builtins))


def _all_rules():
    registry.load_lazy_rules()  # the SciPy rules load on first use: load them here so the walk sees them
    for table in (registry.REVERSE_RULES, registry.METHOD_RULES, registry.ATTRIBUTE_RULES, registry.COMPLEX_RULES):
        for key, rule in table.items():
            yield pytest.param(rule, id=f"{getattr(key, '__name__', key)}@{rule.origin.rsplit('/', 1)[-1]}")


@pytest.mark.parametrize("rule", list(_all_rules()))
def test_templates_parse_and_read_only_their_parameters(rule):
    for param in rule.adjoints:
        unknown = rule.reads(param) - set(rule.signature.parameters) - ALLOWED
        assert not unknown, f"template of {param!r} reads unknown names {sorted(unknown)}"
    for param in rule.jvps:
        unknown = rule.jvp_reads(param) - set(rule.signature.parameters) - ALLOWED - {registry.TANGENT}
        assert not unknown, f"forward template of {param!r} reads unknown names {sorted(unknown)}"
        assert "g" not in rule.jvp_reads(param), f"forward template of {param!r} reads the adjoint g"


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


# -- both modes: every rule of the library has a forward and a reverse template, and they agree -----------

def _load_samples():
    """``tests/rules/rule_samples.py`` (pytest's importlib mode puts no test folder on sys.path)."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).with_name("rule_samples.py")
    spec = importlib.util.spec_from_file_location("rule_samples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SAMPLES = _load_samples()
LIBRARY = SAMPLES.library_rules()


def _rule_id(table, key, rule):
    name = getattr(key, "__qualname__", None) or str(key)
    module = getattr(key, "__module__", None)
    owner = getattr(getattr(key, "__self__", None), "name", None)  # scipy.stats.norm.logpdf: a bound method
    if isinstance(owner, str):
        name = f"{owner}.{key.__name__}"
    prefix = {"method": "x.", "attribute": "x."}.get(table, f"{module}." if module and table == "function" else "")
    return f"{prefix}{name}@{rule.origin.rsplit('/', 1)[-1]}"


LIBRARY_PARAMS = [pytest.param(table, key, rule, id=_rule_id(table, key, rule)) for table, key, rule in LIBRARY]


def test_the_library_is_all_there():
    """The walk below sees every rule file (a filter that dropped rules would make the checks vacuous)."""
    tables = {table for table, _, _ in LIBRARY}
    assert tables == {"function", "method", "attribute", "complex"}
    assert len(LIBRARY) >= 140
    files = {rule.origin.rsplit(":", 1)[0].rsplit("/", 1)[-1] for _, _, rule in LIBRARY}
    assert {"python.py", "math_module.py", "elementwise.py", "reductions.py", "shape.py", "indexing.py",
            "linalg.py", "fft.py", "complex.py"} <= files
    if "scipy.special" in registry.load_lazy_rules():  # SciPy is installed: its rules are walked too
        assert {"special.py", "stats.py", "signal.py"} <= files
        assert sum(rule.origin.rsplit(":", 1)[0].endswith("scipy/linalg.py") for _, _, rule in LIBRARY) >= 20


@pytest.mark.parametrize("table, key, rule", LIBRARY_PARAMS)
def test_every_rule_has_both_templates(table, key, rule):
    assert rule.adjoints, "a rule without a differentiable parameter should be a defnondiff declaration"
    assert set(rule.jvps) == set(rule.adjoints), \
        f"forward templates for {sorted(rule.jvps)}, reverse templates for {sorted(rule.adjoints)}"
    assert rule.form in {"partials", "linear", "bilinear", "general"}, rule.form


@pytest.mark.parametrize("table, key, rule", LIBRARY_PARAMS)
def test_every_rule_passes_check_rule(table, key, rule):
    """Forward template against finite differences and <vjp(u), v> == <u, jvp(v)>, on every sample of the rule,
    and every differentiable parameter checked by at least one sample."""
    from sourcediff.testing import check_rule

    samples = SAMPLES.SAMPLES.get(SAMPLES.rule_key(table, key))
    assert samples, f"no samples for this rule in tests/rules/rule_samples.py"
    rng = np.random.default_rng(sum(map(ord, repr(key))))
    checked = set()
    for sample in samples:
        args, kwargs = sample(rng)
        for _ in range(2):
            checked |= set(check_rule(rule, args, kwargs, rng=rng))
    assert checked == set(rule.adjoints), f"parameters never checked: {sorted(set(rule.adjoints) - checked)}"


def _complexified(value, rng):
    """``value`` with a random imaginary part added to every float leaf (integers and options stay)."""
    from sourcediff import pytrees

    def leaf(x):
        if isinstance(x, float) and not isinstance(x, bool):
            return complex(x, 0.5 * rng.standard_normal())
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            return x + 0.5j * rng.standard_normal(x.shape)
        return x
    return pytrees.map_leaves(leaf, value)


@pytest.mark.parametrize("key", sorted(registry.COMPLEX_SAFE | set(registry.COMPLEX_RULES), key=repr), ids=repr)
def test_rules_for_complex_arguments_hold_for_them(key):
    """A rule declared valid for complex arguments (or its complex variant) passes the check on the samples of
    the ordinary rule with complex arguments, in JAX's convention (``registry.defcomplex``)."""
    from sourcediff.testing import check_rule

    rule = registry.complex_rule(key)
    samples = SAMPLES.SAMPLES.get(key) or SAMPLES.SAMPLES.get(("complex", key))
    assert rule is not None and samples, f"no rule or no samples for {key!r}"
    rng = np.random.default_rng(sum(map(ord, repr(key))))
    checked = set()
    for sample in samples:
        args, kwargs = sample(rng)
        bound = rule.signature.bind(*args, **kwargs)
        for param in list(bound.arguments):
            if param in rule.adjoints:
                bound.arguments[param] = _complexified(bound.arguments[param], rng)
        checked |= set(check_rule(rule, bound.args, bound.kwargs, rng=rng))
    assert checked == set(rule.adjoints), f"parameters never checked: {sorted(set(rule.adjoints) - checked)}"


def test_every_sample_belongs_to_a_rule():
    keys = {SAMPLES.rule_key(table, key) for table, key, _ in LIBRARY}
    assert not [k for k in SAMPLES.SAMPLES if k not in keys]


def test_check_rule_catches_a_wrong_forward_template():
    from sourcediff.testing import check_rule

    wrong = registry.ReverseRule(np.sin, registry._signature("x"), {"x": "g * np.cos(x)"},
                                 jvps={"x": "t * np.cos(2 * x)"})
    with pytest.raises(AssertionError, match="finite differences"):
        check_rule(wrong, [np.array([0.3, 1.1])])


def test_check_rule_catches_a_forward_template_that_gives_nan():
    from sourcediff.testing import check_rule

    wrong = registry.ReverseRule(np.sin, registry._signature("x"), {"x": "g * np.cos(x)"},
                                 jvps={"x": "t * np.cos(x) * np.nan"})
    with pytest.raises(AssertionError, match="finite differences"):
        check_rule(wrong, [np.array([0.3, 1.1])])


def test_check_rule_catches_a_reverse_template_that_is_not_the_transpose():
    from sourcediff.testing import check_rule

    wrong = registry.ReverseRule(np.sum, registry._signature("a, axis=None"), {"a": "np.arange(3) * g"},
                                 jvps={"a": "np.sum(t, axis=axis)"})
    with pytest.raises(AssertionError, match="vjp"):
        check_rule(wrong, [np.array([0.3, 1.1, 2.0])])


def test_check_rule_unbroadcasts_and_catches_a_missing_unbroadcast():
    import operator

    from sourcediff.testing import check_rule

    rule = registry.lookup(operator.mul)
    assert check_rule(rule, [np.ones((2, 3)) * 0.5, np.array([1.0, 2.0, 3.0])]) == ["a", "b"]
    bare = registry.ReverseRule(operator.mul, rule.signature, rule.adjoints, False, jvps=rule.jvps)
    with pytest.raises(Exception):
        check_rule(bare, [np.ones((2, 3)) * 0.5, np.array([1.0, 2.0, 3.0])])


def test_view_again_of_a_view():
    """sd.view_again when the view does share the base: finite differences cannot follow the aliasing (a
    perturbed base is a new array), so this checks the forward templates against what the primal reads,
    ``base[index]``, and the transpose identity."""
    from sourcediff.backends import numpy_backend as sd

    rule = registry.lookup(registry.runtime("view_again"))
    base = np.array([1.0, 2.0, 3.0, 4.0])
    view = base[1:3]
    t_base, t_view = np.array([0.1, 0.2, 0.3, 0.4]), np.array([5.0, 6.0])
    scope = {"np": np, "sd": sd, "view": view, "base": base, "index": slice(1, 3)}
    assert np.array_equal(eval(rule.jvps["base"], dict(scope, t=t_base)), [0.2, 0.3])
    assert np.array_equal(eval(rule.jvps["view"], dict(scope, t=t_view)), [0.0, 0.0])
    u = np.array([7.0, -1.0])
    vjp_base = eval(rule.adjoints["base"], dict(scope, g=u))
    assert np.dot(vjp_base, t_base) == pytest.approx(np.dot(u, [0.2, 0.3]))
    assert np.array_equal(eval(rule.adjoints["view"], dict(scope, g=u)), [0.0, 0.0])


@pytest.mark.parametrize("record", ["namedtuple", "dataclass", "namespace"])
def test_constructor_rules_in_both_modes(record):
    """The rules made on use for namedtuple and dataclass constructors and types.SimpleNamespace."""
    import collections
    import dataclasses
    import types

    from sourcediff.testing import check_rule

    if record == "namedtuple":
        cls = collections.namedtuple("Pair", "w b")
        rule = registry.constructor_rule(cls)
    elif record == "dataclass":
        cls = dataclasses.make_dataclass("Pair", ["w", "b"])
        rule = registry.constructor_rule(cls)
    else:
        rule = registry.namespace_rule(("w", "b"))
    assert set(rule.jvps) == set(rule.adjoints) == {"w", "b"}
    rng = np.random.default_rng(4)
    args = ([np.array([0.5, -1.0]), 2.0], {}) if record != "namespace" else ([], {"w": np.array([0.5, -1.0]),
                                                                                  "b": 2.0})
    assert check_rule(rule, *args, rng=rng) == ["w", "b"]


# Where the samples cannot tell a doubled template from the right one, and what checks it instead.
_DOUBLING_CHECKED_ELSEWHERE = {
    ("view_again", "base"): "test_view_again_of_a_view (the samples' views are copies: the base does not reach "
                            "the result, so both templates are zero there)",
    # slopes that are 0 everywhere the function has one: doubled, they are still 0
    ("copysign", "x2"): "the sign of x2 only flips the result: slope 0 (np.copysign and math.copysign)",
    ("heaviside", "x1"): "a step: slope 0 on either side of 0 (the jump at 0 has no slope)",
}


@pytest.mark.parametrize("table, key, rule", LIBRARY_PARAMS)
def test_the_samples_catch_a_doubled_template(table, key, rule):
    """The check can fail for every rule: doubling one forward or reverse template (``t`` -> ``sd.add(t, t)``,
    ``g`` -> ``sd.add(g, g)``) makes some sample fail."""
    import dataclasses

    from sourcediff.testing import check_rule

    for param in rule.adjoints:
        if (getattr(key, "name", None) or getattr(key, "__name__", None), param) in _DOUBLING_CHECKED_ELSEWHERE:
            continue
        for mode in ("jvps", "adjoints"):
            templates = dict(getattr(rule, mode))
            name = registry.TANGENT if mode == "jvps" else "g"
            templates[param] = registry.rename(templates[param], {name: f"sd.add({name}, {name})"})
            doubled = dataclasses.replace(rule, **{mode: templates}, parsed={}, parsed_jvps={})
            rng = np.random.default_rng(0)
            with pytest.raises(AssertionError):
                for sample in SAMPLES.SAMPLES[SAMPLES.rule_key(table, key)]:
                    check_rule(doubled, *sample(rng), rng=rng)


SHARED_METHODS = {"sum": np.sum, "mean": np.mean, "prod": np.prod, "max": np.max, "min": np.min, "var": np.var,
                  "std": np.std, "ravel": np.ravel, "squeeze": np.squeeze, "dot": np.dot,
                  "trace": np.trace}


@pytest.mark.parametrize("name", sorted(SHARED_METHODS))
def test_a_method_shares_its_functions_declaration(name):
    """``x.sum(...)`` is ``np.sum(x, ...)``: the same templates, the receiver renamed ``self``."""
    function = registry.lookup(SHARED_METHODS[name])
    shared = registry.METHOD_RULES[name]
    first = next(iter(function.signature.parameters))
    assert next(iter(shared.signature.parameters)) == "self"
    assert shared.form == function.form and shared.unbroadcast == function.unbroadcast
    for mine, theirs in ((shared.adjoints, function.adjoints), (shared.jvps, function.jvps)):
        assert mine == {("self" if p == first else p): registry.rename(text, {first: "self"})
                        for p, text in theirs.items()}


def test_rename_leaves_attributes_and_keyword_names_alone():
    assert registry.rename("np.sum(a, axis=axis, a=a) + x.a", {"a": "t", "axis": "k"}) == \
        "np.sum(t, axis=k, a=t) + x.a"
    assert registry.rename("x if base == None else base", {"base": "b"}) == "x if b == None else b"


@pytest.mark.parametrize("partial, reverse, forward", [
    ("1", "g", "t"), ("-1", "-g", "-t"), ("b", "g * b", "t * b"), ("1 / b", "g / b", "t / b"),
    ("-ans / b", "-g * ans / b", "-t * ans / b"), ("-(a // b)", "-g * (a // b)", "-t * (a // b)"),
    ("(x1 > x2) + 0.5 * (x1 == x2)", "g * ((x1 > x2) + 0.5 * (x1 == x2))", "t * ((x1 > x2) + 0.5 * (x1 == x2))"),
    ("a - b", "g * (a - b)", "t * (a - b)"), ("x if c else y", "g * (x if c else y)", "t * (x if c else y)"),
])
def test_partials_scale_to_templates(partial, reverse, forward):
    assert registry.scaled("g", partial) == reverse
    assert registry.scaled("t", partial) == forward
    for x in (0.7, -1.3):  # the same value as g * (partial)
        scope = {"a": 1.7, "b": x, "x1": x, "x2": 0.2, "ans": 2.5, "x": 3.0, "y": 4.0, "c": x > 0, "g": 1.9}
        assert eval(reverse, scope) == pytest.approx(1.9 * eval(partial, scope))


@pytest.mark.parametrize("hidden", ["g", "ans"])
def test_a_parameter_that_would_hide_a_template_name_is_refused(hidden):
    """A parameter named ``ans`` (or ``g``) silently read the wrong value in the templates (found by helper
    hcomplex2: wrong second derivatives, not a refusal)."""
    from sourcediff.rules import registry

    def primal(x, other):
        return x * other

    with pytest.raises(ValueError, match="would hide"):
        registry.defrule(primal, f"x, {hidden}", x=f"g * {hidden}", jvp={"x": f"t * {hidden}"})
    assert registry.lookup(primal) is None
