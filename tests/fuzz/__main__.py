"""Command line: ``python -m tests.fuzz --seconds 300 --seed 1 --minimize --jobs 2``.

Runs the fuzzer for a while, prints a summary (outcomes, refusal reasons,
crashes, feature coverage) and writes every failing program to ``--out``
(``fuzz-failures/`` by default) as a self-contained reproducer. ``--replay
FILE`` runs one saved reproducer through the oracle again.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from .program import parse_reproducer
from .runner import Summary, minimize_failures, run, save_failure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="run for this long (default 60 unless --count is given)")
    parser.add_argument("--count", type=int, help="check this many programs")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (program k has seed SEED*100000+k)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--out", type=Path, default=Path("fuzz-failures"), help="where failures are written")
    parser.add_argument("--minimize", action="store_true", help="also write minimized reproducers (*-min.py)")
    parser.add_argument("--minimize-seconds", type=float, default=60.0, help="time limit per minimization")
    parser.add_argument("--per-signature", type=int, default=2, help="failures minimized per distinct signature")
    parser.add_argument("--max-saved", type=int, default=5, help="failures saved per distinct signature")
    parser.add_argument("--no-jax", action="store_true", help="skip the jax.grad cross-check")
    parser.add_argument("--no-forward", action="store_true", help="skip the forward-mode checks (jvp, hessian)")
    parser.add_argument("--replay", type=Path, nargs="+", metavar="FILE", help="re-check saved reproducers")
    options = parser.parse_args(argv)
    if options.replay:
        return replay(options.replay, use_jax=not options.no_jax)
    seconds = options.seconds if options.seconds is not None or options.count is not None else 60.0
    last = [time.monotonic()]
    seen = [0]  # results already looked at

    def progress(summary: Summary) -> None:
        for result in summary.results[seen[0]:]:  # at once, so that a run stopped early still names them
            for part in result.outcome.failures():
                print(f"FAILURE {part.label} program seed {result.seed}: {part.check}", file=sys.stderr,
                      flush=True)
        seen[0] = len(summary.results)
        if time.monotonic() - last[0] >= 15:
            last[0] = time.monotonic()
            counts, forward = summary.counts, summary.mode_counts("forward")
            print(f"[{summary.elapsed:5.0f} s] {len(summary.results)} programs: " +
                  ", ".join(f"{k} {v}" for k, v in counts.most_common()) + "; forward: " +
                  ", ".join(f"{k} {v}" for k, v in forward.most_common()), file=sys.stderr, flush=True)

    summary = run(options.seed, options.count, seconds, options.jobs, not options.no_jax, progress,
                  not options.no_forward)
    print(summary.report(), flush=True)
    failures = summary.failures
    if options.out.exists() or failures:  # written before minimizing, which may take long
        options.out.mkdir(parents=True, exist_ok=True)
        (options.out / f"summary-seed{options.seed}.txt").write_text(summary.report() + "\n")
    if failures:
        saved: Counter = Counter()
        paths = []
        for result in failures:
            if saved[result.outcome.signature] < options.max_saved:
                saved[result.outcome.signature] += 1
                paths.append(save_failure(options.out, result.program, result.outcome))
        print(f"\n{len(failures)} failures; {len(paths)} written to {options.out}/")
        if options.minimize:
            print(f"minimizing up to {options.per_signature} per signature "
                  f"({len(saved)} signatures, {options.minimize_seconds:.0f} s each)...", flush=True)
            minimized = minimize_failures(failures, options.out, options.per_signature, options.minimize_seconds,
                                          options.jobs, not options.no_jax)
            print("\nminimized reproducers:")
            for signature, path in minimized:
                print(f"  {path}  [{signature}]  {_count_lines(path)} lines", flush=True)
    return 1 if failures else 0


def replay(paths: list[Path], use_jax: bool = True) -> int:
    """Run saved reproducers through the oracle and print what happens now."""
    from .oracle import Oracle

    oracle = Oracle(use_jax=use_jax)
    status = 0
    for path in paths:
        program = parse_reproducer(path.read_text())
        outcome = oracle.run(program)
        for part in outcome.parts():
            print(f"{path}: {part.signature}")
            if part.kind != "passed":
                print("\n".join("  " + line for line in part.detail.splitlines()[:30]))
                if part.traceback:
                    print("\n".join("  " + line for line in part.traceback.splitlines()[-15:]))
        status |= bool(outcome.failures())
    return status


def _count_lines(path: Path) -> int:
    text = path.read_text()
    body = text.split("# --- fuzz arguments ---")[0]
    return sum(1 for line in body.splitlines() if line.strip() and not line.startswith("#"))


if __name__ == "__main__":
    sys.exit(main())
