"""Imports go one way: stage by stage, the pipeline above the stages, the API above the pipeline.

Every import counts, including those inside functions. The runtime (``backends``)
never imports the compiler, and rules import neither the compiler nor a backend.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = {"sourcediff": ROOT / "sourcediff", "sourcediff.rules": ROOT / "rules",
            "sourcediff.backends": ROOT / "backends"}

# The compiler's modules, lowest first: a module may import only modules before it.
LAYERS = ["errors", "ir", "naming", "pytrees", "residuals", "custom", "jacobians", "parse", "strings", "calls",
          "inplace", "lower", "dataflow", "binding",
          "callsites", "complex_values",
          "analyze", "tape", "passes", "reverse", "forward", "optimize", "emit",
          "pipeline", "arguments", "composed", "api", "checks", "testing", "__main__"]
STAGES = {"parse", "lower", "analyze", "reverse", "forward", "optimize", "emit"}
RUNTIME_MAY_IMPORT = {"sourcediff.pytrees", "sourcediff.errors"}  # plain data helpers, no compiler


def _modules() -> dict[str, pathlib.Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package] + parts)] = path
    return found


MODULES = _modules()


def _imports(module: str) -> set[str]:
    """The package's modules that ``module`` imports, anywhere in its code."""
    path = MODULES[module]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[: len(module.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join(parts + ([base] if base else []))
            submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
            targets = submodules if len(submodules) == len(node.names) else [base] + submodules
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_the_graph_was_read():
    assert "sourcediff.pipeline" in GRAPH["sourcediff.api"]
    assert "sourcediff.lower" in GRAPH["sourcediff.pipeline"]
    assert "sourcediff.rules.registry" in GRAPH["sourcediff.rules.numpy.shape"]


def test_no_import_cycle():
    assert _cycles() == []


@pytest.mark.parametrize("module", [m for m in LAYERS if f"sourcediff.{m}" in MODULES])
def test_compiler_modules_import_only_lower_layers(module):
    allowed = {f"sourcediff.{m}" for m in LAYERS[: LAYERS.index(module)]}
    imported = {m for m in GRAPH[f"sourcediff.{module}"] if not m.startswith(("sourcediff.rules", "sourcediff.backends"))}
    imported.discard("sourcediff")  # the package itself: its public names (testing, __main__)
    assert imported <= allowed, f"sourcediff.{module} imports {sorted(imported - allowed)}, which come after it"


def test_every_compiler_module_has_a_layer():
    compiler = {m for m in MODULES if not m.startswith(("sourcediff.rules", "sourcediff.backends"))} - {"sourcediff"}
    assert compiler == {f"sourcediff.{m}" for m in LAYERS}


def test_only_the_pipeline_imports_every_stage():
    for module, imported in GRAPH.items():
        stages = {m.rpartition(".")[2] for m in imported if m.startswith("sourcediff.")} & STAGES
        if module != "sourcediff.pipeline":
            assert stages != STAGES, module
    assert {f"sourcediff.{s}" for s in STAGES} <= GRAPH["sourcediff.pipeline"]


def test_the_runtime_never_imports_the_compiler_and_rules_import_no_backend():
    for module, imported in GRAPH.items():
        if module.startswith("sourcediff.backends"):
            outside = {m for m in imported if not m.startswith("sourcediff.backends")}
            assert outside <= RUNTIME_MAY_IMPORT, f"{module} imports {sorted(outside - RUNTIME_MAY_IMPORT)}"
        if module.startswith("sourcediff.rules"):
            outside = {m for m in imported if not m.startswith("sourcediff.rules")}
            assert not outside, f"{module} imports {sorted(outside)}"
