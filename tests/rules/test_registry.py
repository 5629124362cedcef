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
