"""Strings next to differentiated math: labels, keys and messages carry no gradient and are not refused."""
import math

import numpy as np
import pytest

import sourcediff
from sourcediff.testing import assert_trees_close, check_grads

TEMPLATE = "layer {}: {:.3f}"


def labels(x, y):
    label = f"x={x:.3f} y={y!r:>12} {{braces}} {x=}"
    other = "{}_{}".format("loss", 3).upper()
    joined = "-".join([label, other, str(x), repr(y), format(y, ".2f"), TEMPLATE.format(1, x)])
    message = "%.2f and %s" % (x, y)
    title = joined.title().strip() + message
    n = len(title) + len(str(x * y)) * 0 + ord("a") - 97
    return x * y * (n > 0) + math.sin(x) + len(joined.split("-"))


def test_labels_next_to_math():
    check_grads(labels, (0.7, -1.3))
    gx, gy = sourcediff.grad(labels, argnums=(0, 1))(0.7, -1.3)
    assert gx == pytest.approx(-1.3 + math.cos(0.7)) and gy == pytest.approx(0.7)


def keys_from_strings(params, x):
    total = 0.0
    for i in range(3):
        total = total + params[f"w{i}"] * x ** i
    for name in ("bias", "scale"):
        key = name.upper()
        total = total + params[key.lower()] * len(key)
    prefix = "w"
    return total + params[prefix + "0"] ** 2


def test_dict_keys_built_from_strings(jax_grad):
    params = {"w0": 0.5, "w1": -0.3, "w2": 1.1, "bias": 0.2, "scale": 2.0}
    check_grads(keys_from_strings, (params, 0.8))
    ours = sourcediff.grad(keys_from_strings, argnums=(0, 1))(params, 0.8)
    theirs = jax_grad(keys_from_strings, (0, 1))(params, 0.8)
    assert_trees_close(ours, theirs, rtol=1e-12)


def annotated(x, name: str, tag):
    shout = name.upper() + tag  # name is a str by its annotation; tag is not differentiated either
    return np.sum(np.tanh(x)) * len(shout) + len(tag.strip())


def test_a_parameter_annotated_str_and_one_that_is_not_differentiated(rng):
    check_grads(annotated, (rng.standard_normal(3), "relu", " x "), argnums=0)


class Formatter:
    """Not a string: its format method gives a number computed from its argument."""

    def format(self, value):
        return 2.0 * value


def formats_with_an_object(fmt, x):
    return fmt.format(x) * x


def test_a_method_of_another_type_named_like_a_string_s_is_refused():
    with pytest.raises(sourcediff.MissingRuleError, match=r"\.format\(\)"):
        sourcediff.grad(formats_with_an_object, argnums=1)(Formatter(), 0.5)


def formats_a_number(x):
    label = f"{x:.2f}"
    return x * x if label else 0.0


def test_the_derivative_source_formats_with_str_methods():
    derivative = sourcediff.grad(formats_a_number)
    assert derivative(1.5) == 3.0
    assert "str.format('{:.2f}', x)" in derivative.source


def dict_built_inside_with_a_label(x, y):
    d = {"a": x * 2.0, "b": np.sin(y)}
    total = d.get("a", 0.0) * d.get("c", y) + sum(d.values())
    for k, v in d.items():
        total = total + v * len(k)
    label = f"{k}:{total:.2f}"  # a key made from a differentiated value: the key carries no gradient
    d[label] = total
    return d[label] * x + len(d.keys())


def test_a_dict_built_inside_keyed_by_a_label():
    check_grads(dict_built_inside_with_a_label, (0.3, 1.1))
