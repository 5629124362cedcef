"""The differential fuzzer in CI: a fixed budget of generated programs, and tests of the referee itself.

``test_fuzz_budget`` checks a fixed set of programs (seed and count fixed, about
a minute) and fails on any crash, wrong gradient, wrong value, changed
argument or wrong structure, printing the failing programs;
``test_fuzz_budget_forward`` fails on any forward-mode failure of the same
programs (a wrong or crashing ``jvp`` or ``hessian``, changed arguments or
tangents, a refusal in one mode only). The other tests
make sure the fuzzer cannot pass vacuously: the generator writes valid programs
that use the constructs it promises, and the oracle catches bugs planted in
fake derivative functions.
"""
from __future__ import annotations

import random
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

# pytest runs with --import-mode=importlib and tests/ is not a package: import the fuzzer as `tests.fuzz`
# from the repository root, then take the root off sys.path again (so `rules` stays unimportable).
_ROOT = str(Path(__file__).resolve().parents[2])
sys.path.insert(0, _ROOT)
try:
    from tests.fuzz import forward, generator, oracle, registry_leaves, runner
    from tests.fuzz.context import Context
    from tests.fuzz.expressions import Exprs
    from tests.fuzz.scope import FLOAT, vec
    from tests.fuzz.minimize import minimize
    from tests.fuzz.program import Program, load, parse_reproducer, reproducer
finally:
    sys.path.remove(_ROOT)

import sourcediff  # noqa: E402

SEED = 1
COUNT = 105          # about a minute on one core of the development machine, forward-mode checks included
MIN_VALID_SHARE = 0.9
MIN_PASSED_SHARE = 0.25


# -- the budget run ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def budget_summary() -> runner.Summary:
    """The budget run, shared by the reverse-mode and the forward-mode test."""
    summary = runner.run(seed=SEED, count=COUNT, use_jax=True)
    print(summary.report())
    return summary


@pytest.mark.slow
def test_fuzz_budget(budget_summary):
    summary = budget_summary
    failures = [r for r in summary.failures if r.outcome.mode == "reverse"]
    shown = "\n\n".join(_describe(result) for result in failures[:8])
    assert len(failures) == 0, (f"{len(failures)} of {COUNT} generated programs fail "
                          f"({dict(summary.counts)}); the first ones:\n\n{shown}")
    assert summary.valid >= MIN_VALID_SHARE * COUNT, summary.report()
    assert summary.counts["passed"] >= MIN_PASSED_SHARE * summary.valid, summary.report()


@pytest.mark.slow
def test_fuzz_budget_forward(budget_summary):
    summary = budget_summary
    failures = [r for r in summary.failures if r.outcome.mode != "reverse"]
    shown = "\n\n".join(_describe(result) for result in failures[:8])
    forward = summary.mode_counts("forward")
    assert sum(forward.values()) == summary.valid, "forward mode was not checked on every valid program"
    assert len(failures) == 0, (f"{len(failures)} forward-mode failures in {COUNT} generated programs "
                                f"(jvp: {dict(forward)}, hessian: {dict(summary.mode_counts('hessian'))}); "
                                f"the first ones:\n\n{shown}")


def _describe(result: runner.Result) -> str:
    program, outcome = result.program, result.outcome
    return (f"--- {outcome.signature} (program seed {program.seed}; replay: generate({program.seed}))\n"
            f"{outcome.detail}\n{program.source}args = {program.args_source}\nargnums = {program.argnums!r}")


# -- the generator -------------------------------------------------------------------------------

PROMISED = [
    "ode_loop", "rk4", "stencil", "fill_loop", "recurrence_fill", "helper", "closure", "helper_tuple",
    "helper_np_array", "helper_writes_arg", "helper_identity", "helper_default", "helper_aug_float_param",
    "helper_rebind_write", "helper_returns_arg", "reassign", "accumulate", "if_elif_else", "ifexp", "while_data",
    "early_return", "break", "continue", "nested_loops", "pass_loop", "branch_only_name", "list_append",
    "np_sum_list", "sum_list", "np_array_list", "dict_arg", "list_arg", "tuple_arg", "namedtuple_arg",
    "dataclass_arg", "tuple_unpack", "for_over_array", "enumerate", "zip", "loop_over_mutated_array",
    "loop_rebinds_iterated", "inplace_name", "inplace_slice", "inplace_mask", "inplace_int_array", "add_at",
    "alias_inplace", "view_read", "alias_ident_helper", "float_aug_unpacked", "float_aug_dict",
    "neg_const_power", "math_fabs", "math_func", "std_var", "std_len1_axis", "std_zero", "einsum", "sort",
    "np_append", "r_", "c_", "norm", "nested_def_neg_default", "module_default", "module_constant",
    "dict_key_change", "writes_argument", "jax_compatible", "inplace_2d", "stencil_2d", "comprehension",
    "list_methods", "lambda", "linalg", "array_methods", "container_alias", "stale_view", "module_array",
    "odd_loops", "helper_early_return", "recursion", "function_argument", "container_leaf_write",
    "nested_overwrite", "complex", "list_operands", "shape_functions", "view_functions",
    "rearranging_functions", "registry_call",
]


def test_generator_is_deterministic():
    assert generator.generate(123) == generator.generate(123)
    assert generator.generate(123).source != generator.generate(124).source


def test_generated_programs_run_and_cover_the_language():
    seen: set[str] = set()
    rules: set[str] = set()
    bad = []
    for seed in range(600):
        program = generator.generate(seed)
        seen |= program.features
        rules |= {f for f in program.features if f.startswith("rule:")}
        loaded = load(program)
        try:
            with np.errstate(all="ignore"):
                value = loaded.function(*loaded.args)
            if np.ndim(value) != 0 or not np.isfinite(value):
                bad.append((seed, repr(value)))
        except Exception as exc:
            bad.append((seed, repr(exc)))
        finally:
            loaded.close()
    assert len(bad) <= 0.02 * 600, bad[:5]
    missing = [f for f in PROMISED if f not in seen]
    assert not missing, f"no generated program uses {missing}"
    assert len(rules) >= 50, sorted(rules)


def _program_calling(call: registry_leaves.RuleCall, sample: registry_leaves.Sample, seed: int) -> Program:
    """A program whose body is the generator's registry fragment, with ``call`` and ``sample`` chosen."""
    c = Context(random.Random(seed), pure=True)
    params = [generator.Param("x", vec(4), "np.array([0.6, 1.1, 0.8, 1.3])"), generator.Param("a", FLOAT, "0.9")]
    for p in params:
        c.scope.add(p.name, p.kind, origin="arg")
    c.writer.level = 1
    registry_leaves.registry_call(c, Exprs(c), (call, sample))
    c.line("return " + " + ".join(c.outputs or ["a"]))
    source = generator._header(c, params, []) + "def f(x, a):\n" + c.writer.text()
    return Program(source, "(" + ", ".join(p.value for p in params) + ")", (0, 1), seed, frozenset(c.features),
                   jax_compatible=True)


def test_the_generator_calls_every_rule_that_has_samples():
    """Every rule of the library with samples is in the generator's table (only runtime functions and rules
    without samples are left out), and every sample of every rule makes a program that runs."""
    skipped = registry_leaves.skipped()
    unreachable = {why: rules for why, rules in skipped.items() if why not in ("runtime", "no samples") and rules}
    assert not unreachable, f"rules with samples the generator cannot call: {unreachable}"
    library = registry_leaves._rule_samples().library_rules()
    calls = registry_leaves.calls()
    assert len(calls) + len(skipped["runtime"]) + len(skipped["no samples"]) == len(library)
    assert len({call.name for call in calls}) == len(calls)
    failing, never_runs = [], []
    for k, call in enumerate(calls):
        runs = 0
        for j, sample in enumerate(call.samples):
            program = _program_calling(call, sample, 1000 * k + j)
            assert {"registry_call", "rule:" + call.name} <= program.features
            loaded = load(program)
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    value = loaded.function(*loaded.args)
                runs += np.ndim(value) == 0 and bool(np.isfinite(value))
            except Exception as exc:
                failing.append((call.name, j, repr(exc)[:200]))
            finally:
                loaded.close()
        if not runs:
            never_runs.append(call.name)
    assert not never_runs, f"rules no program can call: {never_runs}; {failing[:5]}"
    samples = sum(len(call.samples) for call in calls)
    assert len(failing) <= 0.02 * samples, failing[:10]


def test_reproducer_round_trip():
    program = generator.generate(7)
    again = parse_reproducer(reproducer(program, "a header\nof two lines"))
    assert again.args_source == program.args_source and again.argnums == program.argnums
    assert again.features == program.features and again.jax_compatible == program.jax_compatible
    assert load(again).function.__name__ == "f"


# -- the oracle catches planted bugs ------------------------------------------------------------

SMOOTH = Program(
    source="import math\n\nimport numpy as np\n\n\ndef f(x, a, n):\n    s = 0.0\n"
           "    for i in range(n):\n        s = s + np.sum(np.sin(x) * a) * math.cos(a)\n    return s\n",
    args_source="(np.array([0.5, 1.0, 1.25]), 0.7, 2)", argnums=(0, 1), jax_compatible=True)


def _derivatives(**changes) -> oracle.Derivatives:
    base = oracle.Derivatives.sourcediff()
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def _grad_returning(transform):
    def fake_grad(f, argnums=0):
        real = sourcediff.grad(f, argnums=argnums)
        return lambda *args: transform(real(*args), args)
    return fake_grad


def test_the_unmodified_oracle_passes_a_smooth_program():
    outcome = oracle.Oracle().run(SMOOTH)
    assert outcome.kind == "passed", outcome
    assert outcome.jax == "compared"


def test_a_wrong_gradient_is_caught():
    fake = _grad_returning(lambda g, args: (g[0] * 1.01, g[1]))
    outcome = oracle.Oracle(_derivatives(grad=fake), use_jax=False).run(SMOOTH)
    assert (outcome.kind, outcome.check) == ("wrong_gradient", "grad vs finite differences"), outcome


def test_a_small_error_below_finite_difference_noise_is_caught_by_jax():
    fake = _grad_returning(lambda g, args: (g[0] * (1 + 2e-6), g[1]))
    fd_only = oracle.Oracle(_derivatives(grad=fake), use_jax=False, checks="grad vs finite differences")
    assert fd_only.run(SMOOTH).kind == "passed"
    outcome = oracle.Oracle(_derivatives(grad=fake), use_jax=True, checks="grad vs jax").run(SMOOTH)
    assert (outcome.kind, outcome.check) == ("wrong_gradient", "grad vs jax"), outcome


def test_a_derivative_that_depends_on_the_argument_types_is_caught():
    def fake(f, argnums=0):
        real = sourcediff.grad(f, argnums=argnums)

        def call(*args, **kwargs):
            g = real(*args, **kwargs)
            return (g[0] * 2.0, g[1]) if isinstance(args[1], np.float64) else g
        return call
    outcome = oracle.Oracle(_derivatives(grad=fake), use_jax=False).run(SMOOTH)
    assert (outcome.kind, outcome.check) == ("wrong_gradient", "grad again"), outcome


def test_a_changed_argument_is_caught():
    def mutate(g, args):
        args[0][1] += 1e-3
        return g
    outcome = oracle.Oracle(_derivatives(grad=_grad_returning(mutate)), use_jax=False).run(SMOOTH)
    assert (outcome.kind, outcome.check) == ("changed_arguments", "grad arguments"), outcome


def test_a_crash_is_caught_with_its_type():
    def broken(f, argnums=0):
        return lambda *args: {}["missing"]
    outcome = oracle.Oracle(_derivatives(grad=broken), use_jax=False).run(SMOOTH)
    assert outcome.kind == "crashed" and outcome.reason.startswith("KeyError"), outcome
    assert "KeyError" in outcome.traceback


def test_a_refusal_is_told_apart_from_a_crash():
    def refuses(f, argnums=0):
        raise sourcediff.UnsupportedSyntaxError("cannot differentiate s at line 7 yet")
    outcome = oracle.Oracle(_derivatives(grad=refuses), use_jax=False).run(SMOOTH)
    assert outcome.kind == "refused" and outcome.reason == "cannot differentiate <name> at line N yet", outcome


def test_a_wrong_structure_is_caught():
    fake = _grad_returning(lambda g, args: (g[0][:-1], g[1]))
    outcome = oracle.Oracle(_derivatives(grad=fake), use_jax=False).run(SMOOTH)
    assert outcome.kind == "wrong_structure", outcome
    fake = _grad_returning(lambda g, args: list(g))
    assert oracle.Oracle(_derivatives(grad=fake), use_jax=False).run(SMOOTH).kind == "wrong_structure"


def test_a_wrong_value_from_value_and_grad_is_caught():
    def fake(f, argnums=0):
        real = sourcediff.value_and_grad(f, argnums=argnums)

        def call(*args):
            value, grads = real(*args)
            return value + 1e-6, grads
        return call
    outcome = oracle.Oracle(_derivatives(value_and_grad=fake), use_jax=False).run(SMOOTH)
    assert (outcome.kind, outcome.check) == ("wrong_value", "value_and_grad value"), outcome


def test_a_vjp_that_disagrees_with_grad_is_caught():
    def fake(f, *primals):
        out, pullback = sourcediff.vjp(f, *primals)
        return out, lambda ct: tuple(c * 2.0 if isinstance(c, np.ndarray) else c for c in pullback(ct))
    outcome = oracle.Oracle(_derivatives(vjp=fake), use_jax=False).run(SMOOTH)
    assert (outcome.kind, outcome.check) == ("wrong_gradient", "vjp pullback gradient"), outcome


def test_a_hang_is_reported_as_a_timeout():
    def hangs(f, argnums=0):
        def call(*args):
            time.sleep(5)
        return call
    outcome = oracle.Oracle(_derivatives(grad=hangs), use_jax=False, timeout=0.5).run(SMOOTH)
    assert (outcome.kind, outcome.reason) == ("crashed", "timeout"), outcome


def test_a_kink_makes_the_program_invalid_not_wrong():
    kink = SMOOTH.replace(source="import numpy as np\n\n\ndef f(x, a, n):\n    return np.sum(abs(x - 1.0)) * a\n",
                          args_source="(np.array([0.5, 1.00001, 1.25]), 0.7, 2)")  # |h| > 1e-5 > |h'|
    outcome = oracle.Oracle(use_jax=False).run(kink)
    assert (outcome.kind, outcome.reason) == ("invalid", "kink"), outcome


def test_a_value_too_large_to_resolve_makes_the_program_invalid_not_wrong():
    # seed 40101949: s grew to 7.7e12 in a loop, and sin(y) * (s - x[1]) lost a step of x[1] in its rounding,
    # so finite differences said 0 where the derivative is about -3e12
    huge = SMOOTH.replace(source="import math\n\nimport numpy as np\n\n\ndef f(x, a, n):\n    s = 0.0\n"
                                 "    for i in range(5):\n        s = math.pow(1.0 + s * s, 1.5)\n"
                                 "    y = a\n    for i in range(2):\n        y = np.sin(y) * (s - x[1])\n    return y\n",
                          jax_compatible=False)
    outcome = oracle.Oracle(use_jax=False).run(huge)
    assert (outcome.kind, outcome.check, outcome.reason) == ("invalid", "primal", "too large"), outcome


def test_a_primal_that_fails_a_step_away_makes_the_program_invalid_not_a_crash():
    # seed 40202943: the primal raised in math a step away from the point (the oracle crashed)
    edge = SMOOTH.replace(source="import math\n\nimport numpy as np\n\n\ndef f(x, a, n):\n"
                                 "    return np.sum(x) * math.sqrt(5e-5 - abs(a - 0.7))\n", jax_compatible=False)
    outcome = oracle.Oracle(use_jax=False).run(edge)
    assert (outcome.kind, outcome.check, outcome.reason) == ("invalid", "finite differences", "raised ValueError"), \
        outcome


def test_a_kink_central_differences_cannot_see_makes_the_program_invalid():
    # seed 40401554: a tie in np.sort; central differences average the two one-sided slopes at the tie
    tie = SMOOTH.replace(source="import numpy as np\n\n\ndef f(x, a, n):\n"
                                "    return np.sum(np.sort([0.68, x[2], x[0]]) * np.array([1.0, 2.0, 3.0]))\n",
                         args_source="(np.array([0.7287, 1.321, 0.7287]), 0.7, 2)", jax_compatible=False)
    outcome = oracle.Oracle(use_jax=False).run(tie)
    assert (outcome.kind, outcome.reason) == ("invalid", "kink"), outcome
    assert "one-sided" in outcome.detail


def test_the_oracle_itself_leaves_the_arguments_as_they_were():
    # the one-sided kink check evaluated the program on the caller's own arguments once, and a program that
    # writes into its argument then looked like a derivative that changed it (seed 50100096)
    writes = SMOOTH.replace(source="import numpy as np\n\n\ndef f(x, a, n):\n    x[:] = np.sin(x) * a\n"
                                   "    return np.sum(x * x) * a\n", jax_compatible=False)
    outcome = oracle.Oracle(use_jax=False).run(writes)
    assert outcome.kind == "passed", outcome


def test_the_minimizer_keeps_the_failure_and_shrinks_the_program():
    padded = SMOOTH.replace(source=SMOOTH.source.replace(
        "    return s\n", "    t = np.tanh(a) * 2.0\n    u = np.sum(x ** 2) + t\n    return s + 0.0 * u\n"))
    fake = _grad_returning(lambda g, args: (g[0] + 1.0, g[1]))
    referee = oracle.Oracle(_derivatives(grad=fake), use_jax=False)
    outcome = referee.run(padded)
    assert outcome.kind == "wrong_gradient"
    small, small_outcome = minimize(padded, outcome, referee, seconds=60)
    assert small_outcome.kind == "wrong_gradient"
    assert len(small.source) < len(padded.source) and "np.tanh" not in small.source, small.source


def test_calls_that_jax_differentiates_otherwise_are_not_compared_with_jax():
    """JAX symmetrizes the matrix of cholesky and eigh, NumPy reads one triangle: the two disagree on the
    fuzzer's matrices, which are not symmetric (regression: seed 920200530, reported as a wrong gradient).
    jnp.arange holds its start constant (seed 1300502036: ours agreed with finite differences)."""
    calls = {call.name: call for call in registry_leaves.calls()}
    for name in registry_leaves.READS_ONE_TRIANGLE | registry_leaves.JAX_HOLDS_CONSTANT:
        call = calls[name]
        c = Context(random.Random(0), pure=True)
        c.scope.add("x", vec(4), origin="arg")
        c.writer.level = 1
        registry_leaves.registry_call(c, Exprs(c), (call, call.samples[0]))
        assert c.mutates, name


# -- forward mode: the referee catches bugs planted in jvp and hessian ----------------------------

POLY = SMOOTH.replace(source="import numpy as np\n\n\ndef f(x, a, n):\n    return np.sum(x ** 3) * a\n",
                      argnums=(0, 1), seed=0)  # seed 0: a Hessian is checked, with respect to x (argnum 0)


def _jvp_returning(transform):
    def fake_jvp(f, args, argnums, tangents):
        out, out_dot = oracle.Derivatives.sourcediff().jvp(f, args, argnums, tangents)
        return transform(out, out_dot, args, tangents)
    return fake_jvp


def _exact_poly_hessian(f, argnums=0):
    assert argnums == 0
    return lambda x, a, n: np.diag(6.0 * x * a)


def test_forward_mode_is_checked_and_passes_on_a_smooth_program():
    outcome = oracle.Oracle().run(SMOOTH)
    assert outcome.forward is not None and outcome.forward.kind == "passed", outcome.forward
    assert outcome.forward.jax == "compared"


def test_a_wrong_jvp_is_caught_against_vjp():
    fake = _jvp_returning(lambda out, t, args, tangents: (out, t * (1 + 2e-6)))
    outcome = oracle.Oracle(_derivatives(jvp=fake), use_jax=False).run(SMOOTH)
    assert outcome.kind == "passed"  # reverse mode is fine
    assert (outcome.forward.label, outcome.forward.check) == ("forward-wrong", "jvp vs vjp"), outcome.forward
    assert outcome.failures() == [outcome.forward]


def test_a_wrong_jvp_is_caught_by_jax_where_reverse_mode_refused():
    def refuses(f, argnums=0):
        raise sourcediff.UnsupportedSyntaxError("cannot differentiate s at line 7 yet")
    fake = _jvp_returning(lambda out, t, args, tangents: (out, t * (1 + 2e-6)))  # below finite differences' noise
    outcome = oracle.Oracle(_derivatives(grad=refuses, jvp=fake)).run(SMOOTH)
    assert outcome.kind == "refused"
    assert (outcome.forward.kind, outcome.forward.check) == ("wrong", "jvp vs jax"), outcome.forward
    fake = _jvp_returning(lambda out, t, args, tangents: (out, t + 0.1))
    outcome = oracle.Oracle(_derivatives(grad=refuses, jvp=fake), use_jax=False).run(SMOOTH)
    assert (outcome.forward.kind, outcome.forward.check) == ("wrong", "jvp vs finite differences"), outcome.forward


def test_a_refusal_in_one_mode_only_is_a_mode_mismatch():
    def refuses(*args, **kwargs):
        raise sourcediff.UnsupportedSyntaxError("cannot differentiate s at line 7 yet")
    outcome = oracle.Oracle(_derivatives(jvp=refuses), use_jax=False).run(SMOOTH)
    assert outcome.kind == "passed"
    assert (outcome.forward.kind, outcome.forward.check) == ("mode-mismatch", "jvp refused, reverse accepted")
    assert outcome.forward.reason == "cannot differentiate <name> at line N yet"
    outcome = oracle.Oracle(_derivatives(grad=refuses), use_jax=False).run(SMOOTH)
    assert (outcome.kind, outcome.forward.kind) == ("refused", "mode-mismatch"), outcome.forward
    assert outcome.forward.check == "jvp accepted, reverse refused"
    both = oracle.Oracle(_derivatives(grad=refuses, jvp=refuses), use_jax=False).run(SMOOTH)
    assert (both.kind, both.forward.kind, both.failures()) == ("refused", "refused", [])


def test_a_jvp_that_changes_the_tangents_or_the_arguments_is_caught():
    def write(out, t, args, tangents):
        tangents[0][0] += 1.0
        return out, t
    outcome = oracle.Oracle(_derivatives(jvp=_jvp_returning(write)), use_jax=False).run(SMOOTH)
    assert (outcome.forward.kind, outcome.forward.check) == ("changed_arguments", "jvp tangents"), outcome.forward

    def write_argument(out, t, args, tangents):
        args[0][0] += 1.0
        return out, t
    outcome = oracle.Oracle(_derivatives(jvp=_jvp_returning(write_argument)), use_jax=False).run(SMOOTH)
    assert (outcome.forward.kind, outcome.forward.check) == ("changed_arguments", "jvp args"), outcome.forward


def test_a_jvp_with_a_wrong_value_or_structure_or_a_crash_is_caught():
    cases = [(lambda out, t, args, tangents: (out + 1e-6, t), "wrong", "jvp value"),
             (lambda out, t, args, tangents: (out, np.array([t, t])), "wrong", "jvp structure"),
             (lambda out, t, args, tangents: {}["missing"], "crashed", "jvp")]
    for transform, kind, check in cases:
        outcome = oracle.Oracle(_derivatives(jvp=_jvp_returning(transform)), use_jax=False).run(SMOOTH)
        assert (outcome.forward.kind, outcome.forward.check) == (kind, check), outcome.forward
    assert outcome.forward.reason.startswith("KeyError")


def test_the_tangents_are_random_on_floats_and_zero_on_ints():
    args = ({"k": 2, "w": np.array([1.0, 2.0]), "i": np.array([1, 2])}, 0.5, 3)
    tangents = forward.random_tangents(args, (0, 1), np.random.default_rng(0))
    assert len(tangents) == 2 and tangents[0]["k"] == 0.0 and np.all(tangents[0]["i"] == 0.0)
    assert tangents[0]["w"].shape == (2,) and np.all(tangents[0]["w"] != 0) and tangents[1] != 0.0


def test_a_wrong_hessian_is_caught_and_a_refusal_is_only_counted():
    assert forward.hessian_argnum(POLY, load(POLY).args) == 0
    right = oracle.Oracle(_derivatives(hessian=_exact_poly_hessian), use_jax=False).run(POLY)
    assert right.hessian is not None and right.hessian.kind == "passed", right.hessian

    def wrong(f, argnums=0):
        return lambda *args: _exact_poly_hessian(f, argnums)(*args) * 1.01
    outcome = oracle.Oracle(_derivatives(hessian=wrong), use_jax=False).run(POLY)
    assert (outcome.hessian.label, outcome.hessian.check) == ("hessian-wrong", "hessian vs finite differences")
    assert outcome.failures() == [outcome.hessian]

    def misshapen(f, argnums=0):
        return lambda *args: np.ravel(_exact_poly_hessian(f, argnums)(*args))
    outcome = oracle.Oracle(_derivatives(hessian=misshapen), use_jax=False).run(POLY)
    assert (outcome.hessian.kind, outcome.hessian.check) == ("wrong", "hessian structure"), outcome.hessian

    def refuses(f, argnums=0):
        raise sourcediff.MissingRuleError("no derivative rule for sd.something")
    outcome = oracle.Oracle(_derivatives(hessian=refuses), use_jax=False).run(POLY)
    assert outcome.hessian.kind == "refused" and outcome.failures() == []
    assert forward.hessian_argnum(POLY.replace(seed=1), load(POLY).args) is None  # 1 program in 10


def test_the_minimizer_shrinks_a_forward_failure_and_keeps_its_mode():
    padded = SMOOTH.replace(source=SMOOTH.source.replace(
        "    return s\n", "    t = np.tanh(a) * 2.0\n    u = np.sum(x ** 2) + t\n    return s + 0.0 * u\n"))
    fake = _jvp_returning(lambda out, t, args, tangents: (out, t + 1.0))
    referee = oracle.Oracle(_derivatives(jvp=fake), use_jax=False)
    outcome = referee.run(padded).forward
    assert outcome.kind == "wrong"
    small, small_outcome = minimize(padded, outcome, referee, seconds=60)
    assert (small_outcome.mode, small_outcome.kind, small_outcome.check) == ("forward", "wrong", "jvp vs vjp")
    assert len(small.source) < len(padded.source) and "np.tanh" not in small.source, small.source


def test_forward_failures_are_listed_and_counted_apart_from_reverse_ones():
    result = runner.Result(0, 5, oracle.Outcome("passed", forward=oracle.Outcome("wrong", "jvp vs vjp",
                                                                                  mode="forward")),
                           frozenset(), SMOOTH)
    summary = runner.Summary([result], elapsed=1.0)
    assert [r.outcome.signature for r in summary.failures] == ["forward-wrong | jvp vs vjp"]
    assert summary.counts["passed"] == 1 and summary.mode_counts("forward")["wrong"] == 1
    assert "forward wrong (1):" in summary.report()


def test_a_wrong_composition_is_caught_and_counted_apart():
    def exact(name, f, argnums):
        return _exact_poly_hessian(f, argnums)

    right = oracle.Oracle(_derivatives(hessian=_exact_poly_hessian, compose=exact), use_jax=False).run(POLY)
    assert right.composition is not None and right.composition.kind == "passed", right.composition
    assert right.composition.check == forward.composition_of(POLY)

    def wrong(name, f, argnums):
        return lambda *args: _exact_poly_hessian(f, argnums)(*args) * 1.01

    outcome = oracle.Oracle(_derivatives(hessian=_exact_poly_hessian, compose=wrong), use_jax=False).run(POLY)
    assert outcome.composition.label == "composition-wrong" and outcome.failures() == [outcome.composition]
    summary = runner.Summary([runner.Result(0, 5, outcome, frozenset(), POLY)], elapsed=1.0)
    assert summary.mode_counts("composition")["wrong"] == 1 and "composition wrong (1):" in summary.report()


def test_every_composition_agrees_with_the_hessian_on_a_program_with_a_loop():
    for seed in (0, 10, 20):  # one of each composition
        outcome = oracle.Oracle(use_jax=False).run(SMOOTH.replace(seed=seed))
        assert outcome.composition is not None and outcome.composition.kind == "passed", outcome.composition
