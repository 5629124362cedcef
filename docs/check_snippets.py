"""Run every ```python block of the docs; compare its output with the ```text block right after it.

    python docs/check_snippets.py            # docs/*.md
    python docs/check_snippets.py docs/rules.md --show

Each block runs on its own, as ``example.py`` in a fresh temporary folder, so
paths in its output read ``example.py``. A block must exit 0; when a ```text
block follows it (nothing but blank lines between), its stdout must equal
that block. Exits 1 if any block fails.
"""
from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


def snippets(text: str):
    """(line, code, expected output or None) for each python block."""
    blocks = list(FENCE.finditer(text))
    for i, block in enumerate(blocks):
        if block.group(1) != "python":
            continue
        expected = None
        if i + 1 < len(blocks):
            following = blocks[i + 1]
            if following.group(1) == "text" and not text[block.end():following.start()].strip():
                expected = following.group(2)
        yield text.count("\n", 0, block.start()) + 1, block.group(2), expected


def run(code: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "example.py").write_text(code)
        done = subprocess.run([sys.executable, "example.py"], cwd=folder, capture_output=True, text=True)
        real = os.path.realpath(folder)
        for attr in ("stdout", "stderr"):
            setattr(done, attr, getattr(done, attr).replace(real + os.sep, "").replace(folder + os.sep, ""))
        return done


def main(argv: list[str]) -> int:
    show = "--show" in argv
    paths = [a for a in argv if not a.startswith("--")] or sorted(str(p) for p in Path(__file__).parent.glob("*.md"))
    problems = 0
    for path in paths:
        for line, code, expected in snippets(Path(path).read_text()):
            done = run(code)
            if done.returncode != 0:
                status = f"FAILED (exit {done.returncode})"
            elif expected is not None and done.stdout != expected:
                status = "OUTPUT DIFFERS"
            else:
                status = "ok" if expected is not None else "ok (output not checked)"
            print(f"{path}:{line}: {status}")
            if not status.startswith("ok"):
                problems += 1
                print(done.stderr, end="")
                if expected is not None:
                    print("".join(difflib.unified_diff(expected.splitlines(True), done.stdout.splitlines(True),
                                                       "documented", "actual")))
            if show:
                print(done.stdout, end="")
    print(f"{problems} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
