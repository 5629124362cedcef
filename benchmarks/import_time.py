"""Wall time of ``import sourcediff`` in fresh interpreters.

Runs ``python -c "import sourcediff"`` and a bare ``python -c "pass"``
interleaved, ``--runs`` times each, and reports the median of the import runs
minus the median of the bare runs: the cost a user pays for the import alone.
With ``--top N`` it also runs ``python -X importtime`` once and lists the
modules with the largest cumulative import time.

    python benchmarks/import_time.py [--runs 15] [--top 10] [--module sourcediff] [--check]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BUDGET_S = 0.3


def _wall(code: str, cwd: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def import_time(module: str = "sourcediff", runs: int = 15, cwd: str | None = None) -> dict:
    """Median wall time of importing ``module`` in a fresh interpreter, less start-up."""
    cwd = cwd or os.path.expanduser("~")  # not the repository: import the installed package
    stmt = f"import {module}"
    # one untimed run of each, to warm the file-system cache
    _wall("pass", cwd)
    _wall(stmt, cwd)
    bare, full = [], []
    for _ in range(runs):
        bare.append(_wall("pass", cwd))
        full.append(_wall(stmt, cwd))
    bare_m, full_m = statistics.median(bare), statistics.median(full)
    return {"module": module, "runs": runs, "bare": bare_m, "with_import": full_m,
            "import": full_m - bare_m}


def importtime_offenders(module: str = "sourcediff", top: int = 10, cwd: str | None = None) -> list:
    """``(cumulative_us, self_us, name)`` of the slowest imports under ``-X importtime``."""
    cwd = cwd or os.path.expanduser("~")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          cwd=cwd, capture_output=True, text=True, check=True)
    rows = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        try:
            self_us, cum_us, name = line.split(":", 1)[1].split("|")
            rows.append((int(cum_us), int(self_us), name.rstrip()))
        except ValueError:
            continue
    # only top-level-ish names (lowest indentation) are the meaningful offenders,
    # but nested ones are informative too; sort everything by cumulative time
    rows.sort(reverse=True)
    return rows[:top]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--top", type=int, default=10, help="list the N slowest imports (0: don't)")
    ap.add_argument("--module", default="sourcediff")
    ap.add_argument("--check", action="store_true", help="exit 1 when over the budget")
    args = ap.parse_args(argv)

    r = import_time(args.module, args.runs)
    ok = r["import"] < BUDGET_S
    print(f"import {r['module']}: median of {r['runs']} fresh interpreters")
    print(f"  interpreter start-up (python -c pass) : {r['bare'] * 1e3:8.1f} ms")
    print(f"  start-up + import                    : {r['with_import'] * 1e3:8.1f} ms")
    print(f"  import alone                         : {r['import'] * 1e3:8.1f} ms   "
          f"({'under' if ok else 'OVER'} the {BUDGET_S:.1f} s budget)")
    if args.top:
        print(f"\nslowest imports under -X importtime (one run; cumulative / self):")
        for cum, self_, name in importtime_offenders(args.module, args.top):
            print(f"  {cum / 1e3:8.1f} ms  {self_ / 1e3:8.1f} ms  {name}")
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
