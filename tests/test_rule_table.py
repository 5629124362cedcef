"""docs/rule_table.md is what docs/rule_coverage.py writes from the registry now."""
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
TABLE = ROOT / "docs" / "rule_table.md"
REGENERATE = "python docs/rule_coverage.py --table"


def _split(text: str) -> tuple[str, str]:
    """(the versions line, the rule sections): the coverage figures depend on the installed libraries."""
    versions = next((line for line in text.splitlines() if line.startswith("Generated with ")), "")
    start = text.index("\n## ", text.index("## Coverage"))
    return versions, text[start:]


def test_the_committed_rule_table_is_current():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    fresh = subprocess.run([sys.executable, "docs/rule_coverage.py", "--table", "-"], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=True, timeout=300).stdout
    committed = TABLE.read_text()
    message = f"docs/rule_table.md is out of date: regenerate it with `{REGENERATE}` (from the repository root)"
    fresh_versions, fresh_rules = _split(fresh)
    committed_versions, committed_rules = _split(committed)
    assert fresh_rules == committed_rules, message
    if fresh_versions == committed_versions:  # the same libraries: the coverage figures must agree too
        assert fresh == committed, message
