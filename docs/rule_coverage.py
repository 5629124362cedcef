"""How much of NumPy and SciPy the rule registry covers, as figures.

    python docs/rule_coverage.py            # the summary
    python docs/rule_coverage.py --missing  # and the missing names, module by module

Two measures:

* against autograd's registry (installed autograd, read at run time): each of
  its VJP and JVP primitives that wraps a NumPy or SciPy function, and whether
  sourcediff has a rule for that function with both templates;
* against the public functions of ``numpy``, ``numpy.linalg``, ``numpy.fft``
  and ``scipy.special``: differentiable (a rule with both templates),
  declared non-differentiable, or missing.
"""
from __future__ import annotations

import argparse
import importlib

import numpy as np

import sourcediff  # noqa: F401  (registers the rule library)
from sourcediff.rules import registry

MODULES = ("numpy", "numpy.linalg", "numpy.fft", "scipy.special")


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
        if not isinstance(obj, np.ufunc) and not (getattr(obj, "__module__", None) or "").startswith(("numpy", "scipy")):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", action="store_true", help="list the missing names")
    args = parser.parse_args()
    registry.load_lazy_rules()  # the SciPy rules load on first use: count them from the start

    print("sourcediff rule registry:", len(registry.REVERSE_RULES), "function rules,",
          len(registry.METHOD_RULES), "method rules,", len(registry.ATTRIBUTE_RULES), "attribute rules,",
          len(registry.NONDIFFERENTIABLE), "declared non-differentiable")
    prims = autograd_primitives()
    if prims:
        for mode, found in prims.items():
            covered = sorted(n for n, f in found.items() if status(f) == "both modes")
            missing = sorted(n for n, f in found.items() if status(f) in ("missing", "reverse only"))
            print(f"autograd {mode.upper()} primitives wrapping NumPy/SciPy: {len(found)}; covered in both modes: "
                  f"{len(covered)}; declared non-differentiable: {len(found) - len(covered) - len(missing)}; "
                  f"missing: {len(missing)}")
            if args.missing and missing:
                print("    missing:", ", ".join(missing))
    else:
        print("autograd is not installed: its registry is not compared")
    for module_name in MODULES:
        functions = public_functions(module_name)
        if not functions:
            print(f"{module_name}: not installed")
            continue
        counts: dict[str, list[str]] = {}
        for name, obj in functions.items():
            counts.setdefault(status(obj), []).append(name)
        summary = ", ".join(f"{kind} {len(counts.get(kind, []))}"
                            for kind in ("both modes", "reverse only", "non-differentiable", "missing"))
        print(f"{module_name}: {len(functions)} public functions: {summary}")
        if args.missing and counts.get("missing"):
            print("    missing:", ", ".join(counts["missing"]))


if __name__ == "__main__":
    main()
