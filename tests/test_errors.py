"""Every refusal is a SourcediffError naming the file, the line and the construct."""
import numpy as np
import pytest

import sourcediff
from sourcediff import SourcediffError


def with_try(x):
    try:
        y = x * 2
    except ValueError:
        y = x
    return y


def with_with(x):
    with np.errstate(all="ignore"):
        y = np.log(x)
    return y


def with_yield(x):
    yield x


def with_global(x):
    global COUNTER
    COUNTER = x
    return x


async def with_async(x):
    return x


def with_class(x):
    class Local:
        pass
    return x


def with_lambda(x):
    y = max([x, 2.0], key=lambda v: -v)
    return y


def with_slice_assignment(x):
    y = np.zeros((3, 3))
    y[0][1] = x
    return np.sum(y)


def with_view_update(x):
    y = np.ones(3) * x
    v = y[1:]
    v[0] = 2.0
    return np.sum(y)


def with_stale_view(x):
    y = np.ones(3) * x
    v = y.reshape(3)  # a view that is not a slice: it cannot be read again from y
    y[2] = 5.0
    return np.sum(v)


BUFFER = np.zeros(3)


def with_global_update(x):
    BUFFER[0] = x
    return np.sum(BUFFER)


def with_nonlocal(x):
    def inner():
        nonlocal x
        x = 2 * x
    inner()
    return x


def with_raise(x):
    if x < 0:
        raise ValueError("negative")
    return x


def with_delete(x):
    y = [x, x * 2]
    del y[0]
    return y[0]


def with_import(x):
    import math
    return math.sin(x)


def with_loop_else(x):
    for i in range(3):
        x = x * 2
    else:
        x = x + 1
    return x


def with_starred_call(x):
    args = (x, 2.0)
    return np.power(*args)


def with_walrus(x):
    return (y := x * 2) + y


def _shadowing_str():
    str = "a local name"  # noqa: F841  (f-strings are lowered to str.format: here str is not the builtin)

    def with_fstring(x):
        label = f"{x}{str}"  # noqa: F841
        return x
    return with_fstring


with_fstring = _shadowing_str()


def with_set(x):
    s = {x, 2 * x}
    return x


def with_mutating_call(x):
    y = [x, 2 * x]
    y.sort()
    return y[0]


def with_fill(x):
    y = np.ones(2) * x
    y.fill(x)
    return y[0]


def calls_function_without_rule(x):
    return np.sum(np.frexp(x)[0]) + 1.0


def returns_array(x):
    return x * 2.0


def returns_tuple(x):
    return x, x


@pytest.mark.parametrize("f, construct", [
    (with_try, "a try statement"),
    (with_with, "a with statement"),
    (with_yield, "yield"),
    (with_global, "a global declaration"),
    (with_class, "a class definition"),
    (with_lambda, "a lambda used as a value"),
    (with_slice_assignment, "assignment into an element of an element"),
    (with_view_update, "which may be a view of y"),
    (with_stale_view, "after that array was changed in place"),
    (with_global_update, "which is not a local variable"),
    (with_nonlocal, "a nonlocal declaration"),
    (with_raise, "a raise statement"),
    (with_delete, "a del statement of an element or an attribute"),
    (with_import, "an import"),
    (with_loop_else, "a loop with an else clause"),
    (with_starred_call, "a starred expression"),
    (with_walrus, "an assignment expression"),
    (with_fstring, "an f-string"),
    (with_set, "a set literal"),
    (with_mutating_call, "the list method .sort()"),
    (with_fill, "the call y.fill(...) whose result is discarded"),
])
def test_unsupported_syntax_names_file_line_and_construct(f, construct):
    with pytest.raises(sourcediff.UnsupportedSyntaxError) as info:
        sourcediff.grad(f)(1.0)
    err = info.value
    assert err.filename == __file__
    assert construct in str(err)
    assert f.__code__.co_firstlineno < err.lineno <= f.__code__.co_firstlineno + 5
    assert err.source_line.strip()
    assert "What to do:" in str(err)


def test_async_function_is_refused():
    with pytest.raises(sourcediff.UnsupportedSyntaxError, match="async"):
        sourcediff.grad(with_async)


def test_missing_rule_names_the_function_and_how_to_add_one():
    with pytest.raises(sourcediff.MissingRuleError) as info:
        sourcediff.grad(calls_function_without_rule)
    message = str(info.value)
    assert "np.frexp" in message
    assert "defrule" in message
    assert info.value.lineno == calls_function_without_rule.__code__.co_firstlineno + 1


def test_missing_rule_for_an_inactive_call_is_fine():
    def uses_helper_on_constants(x):
        return x * np.sum(np.frexp(np.array([1.0, 2.5]))[0])
    # defined inside a test: its source is still readable from this file
    assert sourcediff.grad(uses_helper_on_constants)(1.0) == 1.125  # mantissas 0.5 and 0.625


def test_non_scalar_output_is_refused_with_location():
    with pytest.raises(sourcediff.NonScalarOutputError) as info:
        sourcediff.grad(returns_array)(np.ones(3))
    assert info.value.filename == __file__
    assert info.value.lineno == returns_array.__code__.co_firstlineno + 1
    assert "vjp" in str(info.value)


def test_tuple_output_is_refused():
    with pytest.raises(sourcediff.NonScalarOutputError, match="tuple"):
        sourcediff.grad(returns_tuple)


def test_argnums_out_of_range():
    with pytest.raises(sourcediff.ArgnumsError, match="out of range") as info:
        sourcediff.grad(returns_array, argnums=3)
    assert info.value.filename == __file__


def test_non_numeric_argument_is_refused():
    with pytest.raises(sourcediff.NonDifferentiableArgumentError):
        sourcediff.grad(returns_array)("text")


def test_all_errors_share_one_base_class():
    for cls in (sourcediff.SourceNotFoundError, sourcediff.UnsupportedSyntaxError, sourcediff.MissingRuleError,
                sourcediff.NonScalarOutputError, sourcediff.ArgnumsError, sourcediff.NonDifferentiableArgumentError):
        assert issubclass(cls, SourcediffError)


def append_to_an_alias(x):
    a = []
    b = a
    b.append(x)
    return sum(a)


def append_to_an_argument(xs, x):
    xs.append(x)
    return sum(xs)


@pytest.mark.parametrize("f, args, why", [
    (append_to_an_alias, (1.0,), "not always a new list"),
    (append_to_an_argument, ([1.0], 2.0), "is an argument"),
])
def test_appends_that_could_be_seen_elsewhere_are_refused(f, args, why):
    with pytest.raises(sourcediff.UnsupportedSyntaxError, match=why) as info:
        sourcediff.grad(f, argnums=len(args) - 1)(*args)
    assert info.value.filename == __file__ and info.value.lineno is not None
