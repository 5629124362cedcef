"""Packaging checks: the wheel's layout, and what ``import sourcediff`` pulls in.

``rules/`` and ``backends/`` sit at the repository root but must install as
``sourcediff.rules`` and ``sourcediff.backends``; a user's site-packages must
never receive top-level packages named ``rules`` or ``backends``.  These tests
build a real wheel from a clean copy of the sources and read its file list.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Where each source folder lands inside the wheel.
SOURCE_TO_WHEEL = {
    "sourcediff": "sourcediff",
    "rules": "sourcediff/rules",
    "backends": "sourcediff/backends",
}

# Optional or heavy modules that a bare ``import sourcediff`` must not load.
LAZY_MODULES = ("sympy", "jax", "jaxlib", "autograd", "torch", "tangent")


def _run_python(code: str, cwd: Path) -> str:
    """Run ``code`` in a fresh interpreter whose cwd is *not* the repository."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"subprocess failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Build a wheel from a clean copy of the sources and return its path."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in ("pyproject.toml", "README.md", "LICENSE", "setup.cfg", "MANIFEST.in"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, src / name)
    for folder in SOURCE_TO_WHEEL:
        shutil.copytree(REPO / folder, src / folder, ignore=ignore)
    out = tmp / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
         "--no-build-isolation", "--no-cache-dir", "-q", "-w", str(out)],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"wheel build failed:\n{proc.stdout}\n{proc.stderr}"
    wheels = sorted(out.glob("sourcediff-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, found {wheels}"
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_names(wheel) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


@pytest.mark.packaging
def test_wheel_has_only_sourcediff_at_top_level(wheel_names):
    top = {name.split("/", 1)[0] for name in wheel_names}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert len(dist_info) == 1, top
    assert top - dist_info == {"sourcediff"}, f"unexpected top-level entries: {sorted(top - dist_info)}"
    assert not any(t in ("rules", "backends") for t in top)


@pytest.mark.packaging
def test_wheel_maps_rules_and_backends_inside_the_package(wheel_names):
    names = set(wheel_names)
    for required in (
        "sourcediff/rules/__init__.py",
        "sourcediff/rules/numpy/__init__.py",
        "sourcediff/backends/__init__.py",
    ):
        assert required in names, f"{required} missing from the wheel"


@pytest.mark.packaging
def test_wheel_contains_every_source_module(wheel_names):
    """Every .py under sourcediff/, rules/ and backends/ ships, at its mapped place.

    Fails when a new sub-package is added but not listed in pyproject.toml's
    ``[tool.setuptools] packages``.
    """
    names = set(wheel_names)
    missing = []
    for folder, target in SOURCE_TO_WHEEL.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            rel = path.relative_to(REPO / folder).as_posix()
            if f"{target}/{rel}" not in names:
                missing.append(f"{folder}/{rel} -> {target}/{rel}")
    assert not missing, "not in the wheel (list the package in pyproject.toml):\n" + "\n".join(missing)


@pytest.mark.packaging
def test_wheel_metadata(wheel, wheel_names):
    with zipfile.ZipFile(wheel) as zf:
        # top_level.txt is optional in wheels; when present it must name only sourcediff.
        for name in wheel_names:
            if name.endswith(".dist-info/top_level.txt"):
                assert zf.read(name).decode().split() == ["sourcediff"]
        [metadata_name] = [n for n in wheel_names if n.endswith(".dist-info/METADATA")]
        metadata = zf.read(metadata_name).decode()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")]
    core = [r for r in requires if "extra ==" not in r]
    core_names = {r.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip().lower()
                  for r in core}
    assert core_names == {"gast", "numpy", "sympy"}, core


def test_import_does_not_load_heavy_or_optional_modules(tmp_path):
    code = (
        "import json, sys\n"
        "import sourcediff\n"
        f"heavy = {LAZY_MODULES!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    loaded = json.loads(_run_python(code, tmp_path).strip().splitlines()[-1])
    assert loaded == [], f"`import sourcediff` loaded {loaded}; import them lazily"


def test_installed_layout_has_no_top_level_rules_or_backends(tmp_path):
    code = (
        "import importlib, importlib.util, json\n"
        "out = {}\n"
        "for name in ('sourcediff.rules', 'sourcediff.backends', 'sourcediff.rules.numpy'):\n"
        "    out[name] = importlib.util.find_spec(name) is not None\n"
        "for name in ('rules', 'backends'):\n"
        "    spec = importlib.util.find_spec(name)\n"
        "    out[name] = None if spec is None else str(spec.origin or spec.submodule_search_locations)\n"
        "print(json.dumps(out))\n"
    )
    found = json.loads(_run_python(code, tmp_path).strip().splitlines()[-1])
    assert found["sourcediff.rules"] and found["sourcediff.backends"] and found["sourcediff.rules.numpy"]
    for name in ("rules", "backends"):
        where = found[name]
        assert where is None or str(REPO) not in where, (
            f"a top-level `{name}` from this repository is importable: {where}"
        )


def test_cli_unknown_command_prints_usage_and_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sourcediff", "no-such-command"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "usage: python -m sourcediff" in proc.stderr


def test_cli_demo_runs_and_agrees_with_finite_differences(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sourcediff", "demo"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "def f(x, y):" in proc.stdout
    assert "_bar" in proc.stdout            # the generated adjoint is printed
    assert proc.stdout.count("(agree)") == 2
