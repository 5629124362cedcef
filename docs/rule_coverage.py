"""How much of NumPy, SciPy and ``math`` the rule registry covers, as figures, and the table of every rule.

    python docs/rule_coverage.py            # the summary
    python docs/rule_coverage.py --missing  # and the missing names, module by module
    python docs/rule_coverage.py --table    # write docs/rule_table.md (every rule, its modes and kind)

Two measures:

* against autograd's registry (installed autograd, read at run time): each of
  its VJP and JVP primitives that wraps a NumPy or SciPy function, and whether
  sourcediff has a rule for that function with both templates;
* against the public functions of ``numpy``, ``numpy.linalg``, ``numpy.fft``,
  ``scipy.special`` and ``math``: differentiable (a rule with both templates),
  declared non-differentiable, or missing.
"""
from __future__ import annotations

import argparse
import importlib
from pathlib import Path

import numpy as np

import sourcediff  # noqa: F401  (registers the rule library)
from sourcediff.rules import registry

MODULES = ("numpy", "numpy.linalg", "numpy.fft", "scipy.special", "math")


def status(function) -> str:
    """``"both modes"``, ``"reverse only"``, ``"non-differentiable"`` or ``"missing"``."""
    rule = registry.lookup(function)
    if rule is not None:
        return "both modes" if rule.jvps else "reverse only"
    return "non-differentiable" if registry.is_nondifferentiable(function) else "missing"


def public_functions(module_name: str) -> dict[str, object]:
    """The public callables of a module that are functions or ufuncs (not classes, not submodules)."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return {}
    found = {}
    for name in sorted(dir(module)):
        obj = getattr(module, name)
        if name.startswith("_") or isinstance(obj, type) or not callable(obj):
            continue
        if not isinstance(obj, np.ufunc) and not (getattr(obj, "__module__", None) or "").startswith(
                ("numpy", "scipy", "math")):
            continue
        found[name] = obj
    return found


def _module_of(primal) -> str:
    """The public module a primitive belongs to (ufuncs carry none: NumPy's own, or ``scipy.special``'s)."""
    if isinstance(primal, np.ufunc):
        return "numpy" if getattr(np, primal.__name__, None) is primal else "scipy.special"
    module = getattr(primal, "__module__", None) or ""
    return ".".join(part for part in module.split(".") if not part.startswith("_"))


def autograd_primitives() -> dict[str, dict[str, set]]:
    """``{"vjp": {qualified name: primal}, "jvp": {...}}`` of autograd's primitives that wrap NumPy or SciPy."""
    try:
        import autograd.core as core
        import autograd.numpy  # noqa: F401  (registers the NumPy primitives)
        import autograd.scipy.special  # noqa: F401
        import autograd.scipy.stats  # noqa: F401
    except ImportError:
        return {}
    out = {}
    for mode, table in (("vjp", core.primitive_vjps), ("jvp", core.primitive_jvps)):
        found = {}
        for wrapped in table:
            primal = getattr(wrapped, "fun", None)
            module = _module_of(primal)
            if primal is None or not module.startswith(("numpy", "scipy")):
                continue
            found[f"{module}.{getattr(primal, '__name__', repr(primal))}"] = primal
        out[mode] = found
    return out


def coverage_lines(missing: bool = False) -> list[str]:
    """The summary the script prints: the registry's size, autograd's primitives, each module's functions."""
    lines = [" ".join(["sourcediff rule registry:", str(len(registry.REVERSE_RULES)), "function rules,",
                       str(len(registry.METHOD_RULES)), "method rules,", str(len(registry.ATTRIBUTE_RULES)),
                       "attribute rules,", str(len(registry.NONDIFFERENTIABLE)), "declared non-differentiable"])]
    prims = autograd_primitives()
    if prims:
        for mode, found in prims.items():
            covered = sorted(n for n, f in found.items() if status(f) == "both modes")
            absent = sorted(n for n, f in found.items() if status(f) in ("missing", "reverse only"))
            declared = len(found) - len(covered) - len(absent)
            lines.append(f"autograd {mode.upper()} primitives wrapping NumPy/SciPy: {len(found)}; covered in both "
                         f"modes: {len(covered)}; declared non-differentiable: {declared}; missing: {len(absent)}")
            if missing and absent:
                lines.append("    missing: " + ", ".join(absent))
    else:
        lines.append("autograd is not installed: its registry is not compared")
    for module_name in MODULES:
        functions = public_functions(module_name)
        if not functions:
            lines.append(f"{module_name}: not installed")
            continue
        counts: dict[str, list[str]] = {}
        for name, obj in functions.items():
            counts.setdefault(status(obj), []).append(name)
        summary = ", ".join(f"{kind} {len(counts.get(kind, []))}"
                            for kind in ("both modes", "reverse only", "non-differentiable", "missing"))
        lines.append(f"{module_name}: {len(functions)} public functions: {summary}")
        if missing and counts.get("missing"):
            lines.append("    missing: " + ", ".join(counts["missing"]))
    return lines


# -- the rule table ---------------------------------------------------------------------------------

TABLE = Path(__file__).with_name("rule_table.md")
REGENERATE = "python docs/rule_coverage.py --table"

_SECTIONS = {
    "numpy": "NumPy", "numpy.linalg": "numpy.linalg", "numpy.fft": "numpy.fft", "math": "math",
    "builtins": "Python builtins", "operator": "Python operators (`a + b` is `operator.add`)",
    "str": "Python strings (non-differentiable; f-strings and string methods are lowered to them)",
    "methods": "Methods (`x.name(...)`, found by their name: of an ndarray, `get` and `keys` of a dict)",
    "attributes": "Attributes (`x.name` of an ndarray)",
    "sourcediff runtime": "The runtime's own functions (`sd.name`, what the lowering writes for some forms)",
}
_FIRST = ["numpy", "numpy.linalg", "numpy.fft", "math", "builtins", "operator", "str", "methods", "attributes"]


def rule_module(key) -> str:
    """The heading a rule's key goes under: its public module, ``str``, or the runtime."""
    if isinstance(key, registry.RuntimeFunction):
        return "sourcediff runtime"
    if isinstance(key, np.ufunc):
        return _module_of(key)
    owner = getattr(key, "__objclass__", None) or getattr(key, "__self__", None)
    if isinstance(owner, type):
        return owner.__name__  # str.upper, str.maketrans
    module = _module_of(key)
    return "operator" if module == "operator" or module == "" and getattr(key, "__module__", "") == "_operator" \
        else module


def _display(key) -> str:
    if isinstance(key, registry.RuntimeFunction):
        return f"sd.{key.name}"
    return getattr(key, "__name__", repr(key))


def _row(name: str, rule) -> tuple[str, str, str, str]:
    modes = "reverse, forward" if rule.jvps else "reverse"
    params = ", ".join(f"`{p}`" for p in rule.adjoints)
    return (f"`{name}`", modes, rule.form, params or "none")


def table_rows() -> dict[str, list[tuple[str, str, str, str]]]:
    """Every rule and non-differentiable declaration, by heading: (name, modes, kind, differentiable in)."""
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    for key, rule in registry.REVERSE_RULES.items():
        if rule.form == "structural":
            continue  # constructor rules, made on first use
        sections.setdefault(rule_module(key), []).append(_row(_display(key), rule))
    for key, why in registry.NONDIFFERENTIABLE.items():
        sections.setdefault(rule_module(key), []).append(
            (f"`{_display(key)}`", "none", f"non-differentiable: {why}", ""))
    for name, rule in registry.METHOD_RULES.items():
        sections.setdefault("methods", []).append(_row(f"x.{name}()", rule))
    for name, why in registry.NONDIFFERENTIABLE_METHODS.items():
        sections.setdefault("methods", []).append((f"`x.{name}()`", "none", f"non-differentiable: {why}", ""))
    for name, rule in registry.ATTRIBUTE_RULES.items():
        sections.setdefault("attributes", []).append(_row(f"x.{name}", rule))
    for name, why in registry.NONDIFFERENTIABLE_ATTRIBUTES.items():
        sections.setdefault("attributes", []).append((f"`x.{name}`", "none", f"non-differentiable: {why}", ""))
    return {k: sorted(v, key=lambda row: (row[0].strip("`").lower(), row[0])) for k, v in sections.items()}


def _versions() -> str:
    import platform
    from importlib import metadata

    found = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    for package in ("scipy", "autograd"):
        try:
            found.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            found.append(f"{package} not installed")
    return ", ".join(found)


VERSIONS_PREFIX = "Generated with "


def rule_table() -> str:
    """The text of ``docs/rule_table.md``."""
    sections = table_rows()
    order = _FIRST + sorted(k for k in sections if k.startswith("scipy")) + sorted(
        k for k in sections if k not in _FIRST and not k.startswith("scipy") and k != "sourcediff runtime") + [
        "sourcediff runtime"]
    out = ["# The rule table", "",
           f"Every rule of the library, by module: the modes it has, how it is declared (its kind: `partials`, "
           f"`linear`, `bilinear`, `general`, or non-differentiable, see [rules.md](rules.md)) and the "
           f"parameters it differentiates in. Do not edit by hand: `{REGENERATE}` writes it from the registry.", "",
           f"{VERSIONS_PREFIX}{_versions()}.", "", "## Coverage", "", "```"] + coverage_lines() + ["```", ""]
    for key in order:
        rows = sections.get(key)
        if not rows:
            continue
        differentiable = sum(1 for r in rows if r[1] != "none")
        out += [f"## {_SECTIONS.get(key, key)}", "",
                f"{len(rows)} entries: {differentiable} rules, {len(rows) - differentiable} non-differentiable.", "",
                "| name | modes | kind | differentiable in |", "|---|---|---|---|"]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", action="store_true", help="list the missing names")
    parser.add_argument("--table", nargs="?", const=str(TABLE), metavar="PATH",
                        help=f"write the rule table (default {TABLE.name}; '-' prints it)")
    args = parser.parse_args()
    registry.load_lazy_rules()  # the SciPy rules load on first use: count them from the start
    if args.table:
        text = rule_table()
        if args.table == "-":
            print(text, end="")
        else:
            Path(args.table).write_text(text)
            print(f"wrote {args.table}")
        return
    print("\n".join(coverage_lines(args.missing)))


if __name__ == "__main__":
    main()
