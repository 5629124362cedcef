"""Runs many programs (optionally on several processes), tallies outcomes, saves and minimizes failures."""
from __future__ import annotations

import dataclasses
import multiprocessing
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import registry_leaves
from .generator import generate
from .oracle import FAILURES, FORWARD_OUTCOMES, HESSIAN_OUTCOMES, OUTCOMES, Oracle, Outcome
from .program import Program, reproducer

BATCH = 4  # programs per task sent to a worker process


def program_seed(seed: int, index: int) -> int:
    """The seed of program ``index`` of a run with ``seed`` (readable: seed 7, program 42 -> 700042)."""
    return seed * 100_000 + index


@dataclass
class Result:
    """One program's outcome; failures keep the program, to save and minimize it."""

    index: int
    seed: int
    outcome: Outcome
    features: frozenset[str]
    program: Program | None = None


@dataclass
class Summary:
    """Counts over a run: outcomes, refusal reasons, crash types, invalid reasons, feature coverage."""

    results: list[Result] = field(default_factory=list)
    elapsed: float = 0.0

    def add(self, result: Result) -> None:
        self.results.append(result)

    @property
    def counts(self) -> Counter:
        return Counter(r.outcome.kind for r in self.results)

    def mode_counts(self, mode: str) -> Counter:
        """Outcome kinds of the ``forward`` or ``hessian`` checks, over the programs where they ran."""
        return Counter(part.kind for r in self.results for part in r.outcome.parts() if part.mode == mode)

    @property
    def failures(self) -> list[Result]:
        """One result per failing part (reverse, forward, hessian), its ``outcome`` that part."""
        return [dataclasses.replace(r, outcome=part) for r in sorted(self.results, key=lambda r: r.index)
                for part in r.outcome.failures()]

    @property
    def valid(self) -> int:
        return len(self.results) - self.counts["invalid"]

    def reasons(self, kind: str) -> Counter:
        return Counter(f"{r.outcome.check}: {r.outcome.reason}" if kind != "refused" or r.outcome.check != "grad"
                       else r.outcome.reason for r in self.results if r.outcome.kind == kind)

    def report(self) -> str:
        """The summary printed at the end of a run."""
        counts, total = self.counts, len(self.results)
        rate = 60.0 * total / self.elapsed if self.elapsed else 0.0
        lines = [f"programs generated: {total} in {self.elapsed:.0f} s ({rate:.0f} per minute)",
                 f"valid: {self.valid} ({100.0 * self.valid / max(total, 1):.1f} %)"]
        for kind in OUTCOMES:
            if kind == "invalid":
                continue
            share = 100.0 * counts[kind] / max(self.valid, 1)
            lines.append(f"  {kind:<18} {counts[kind]:6d}  ({share:.1f} % of valid)")
        lines.append(f"  {'invalid':<18} {counts['invalid']:6d}")
        for kind, title in (("refused", "refusal reasons"), ("crashed", "crashes"),
                            ("wrong_gradient", "wrong gradients"), ("wrong_value", "wrong values"),
                            ("changed_arguments", "changed arguments"), ("wrong_structure", "wrong structure"),
                            ("invalid", "invalid programs")):
            reasons = self.reasons(kind)
            if reasons:
                lines.append(f"\n{title} ({sum(reasons.values())}):")
                lines += [f"  {n:5d}  {reason}" for reason, n in reasons.most_common()]
        jax = Counter(r.outcome.jax for r in self.results if r.outcome.jax)
        if jax:
            lines.append("\njax cross-check:")
            lines += [f"  {n:5d}  {what}" for what, n in jax.most_common()]
        lines += self._forward_report()
        features = Counter(f for r in self.results for f in r.features)
        plain = sorted((f for f in features if not f.startswith("rule:")), key=lambda f: (-features[f], f))
        rules = sorted((f for f in features if f.startswith("rule:")), key=lambda f: (-features[f], f))
        lines.append(f"\nfeature coverage (programs using each construct, of {total}):")
        lines += [f"  {features[f]:5d}  {f}" for f in plain]
        lines.append(f"rules used as leaves ({len(rules)} functions): " +
                     ", ".join(f"{f[5:]} {features[f]}" for f in rules))
        lines.append(registry_leaves.coverage_note())
        return "\n".join(lines)


    def _forward_report(self) -> list[str]:
        """The forward-mode part of the summary: counts, then reasons (mismatches with example seeds)."""
        lines = []
        for mode, kinds, title in (("forward", FORWARD_OUTCOMES, "forward mode (jvp vs vjp, finite differences, "
                                                                   "jax.jvp)"),
                                   ("hessian", HESSIAN_OUTCOMES, "hessian (forward over reverse) vs finite "
                                                                 "differences of grad"),
                                   ("composition", HESSIAN_OUTCOMES, "second derivative composed (jacrev(grad), "
                                    "jacrev(jacfwd), jacfwd(jacfwd), in turn) vs finite differences of grad")):
            counts = self.mode_counts(mode)
            checked = sum(counts.values())
            lines.append(f"\n{title}: {checked} programs checked")
            lines += [f"  {kind:<18} {counts[kind]:6d}  ({100.0 * counts[kind] / max(checked, 1):.1f} %)"
                      for kind in kinds]
            for kind in kinds:
                if kind == "passed":
                    continue
                parts = [(r, part) for r in self.results for part in r.outcome.parts()
                         if part.mode == mode and part.kind == kind]
                if not parts:
                    continue
                grouped: dict[str, list[int]] = {}
                for r, part in parts:
                    grouped.setdefault(f"{part.check}: {part.reason}", []).append(r.seed)
                lines.append(f"\n{mode} {kind} ({len(parts)}):")
                lines += [f"  {len(seeds):5d}  {reason}   [seeds {', '.join(map(str, seeds[:3]))}]"
                          for reason, seeds in sorted(grouped.items(), key=lambda item: -len(item[1]))]
        jax = Counter(part.jax for r in self.results for part in r.outcome.parts()
                      if part.mode == "forward" and part.jax)
        if jax:
            lines.append("\njax.jvp cross-check:")
            lines += [f"  {n:5d}  {what}" for what, n in jax.most_common()]
        return lines


# -- running programs --------------------------------------------------------------------------------

_worker_oracle: Oracle | None = None


def _init_worker(use_jax: bool, forward: bool) -> None:
    global _worker_oracle
    _worker_oracle = Oracle(use_jax=use_jax, forward=forward)


def check_program(oracle: Oracle, seed: int, index: int) -> Result:
    """Generate and check program ``index`` of the run ``seed``."""
    program = generate(program_seed(seed, index))
    outcome = oracle.run(program)
    return Result(index, program.seed, outcome, program.features, program if outcome.failures() else None)


def _check_batch(seed: int, indices: list[int]) -> list[Result]:
    return [check_program(_worker_oracle, seed, i) for i in indices]


def run(seed: int = 0, count: int | None = None, seconds: float | None = None, jobs: int = 1,
        use_jax: bool = True, progress: Callable[[Summary], None] | None = None, forward: bool = True) -> Summary:
    """Check programs ``0, 1, ...`` of run ``seed`` until ``count`` programs or ``seconds`` have passed
    (``forward=False``: reverse mode only)."""
    if count is None and seconds is None:
        raise ValueError("give a count or a time limit")
    summary = Summary()
    started = time.monotonic()
    deadline = started + seconds if seconds is not None else float("inf")
    limit = count if count is not None else float("inf")
    if jobs <= 1:
        oracle = Oracle(use_jax=use_jax, forward=forward)
        index = 0
        while index < limit and time.monotonic() < deadline:
            summary.add(check_program(oracle, seed, index))
            index += 1
            if progress and index % 50 == 0:
                summary.elapsed = time.monotonic() - started
                progress(summary)
    else:
        _run_parallel(summary, seed, limit, deadline, jobs, (use_jax, forward), progress, started)
    summary.results.sort(key=lambda r: r.index)
    summary.elapsed = time.monotonic() - started
    return summary


def _run_parallel(summary, seed, limit, deadline, jobs, options, progress, started) -> None:
    context = multiprocessing.get_context("spawn")  # jax and forking do not mix
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker, initargs=options) as pool:
        pending = set()
        next_index = 0
        while True:
            while len(pending) < 2 * jobs and next_index < limit and time.monotonic() < deadline:
                batch = list(range(next_index, int(min(next_index + BATCH, limit))))
                pending.add(pool.submit(_check_batch, seed, batch))
                next_index += len(batch)
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                for result in future.result():
                    summary.add(result)
            if progress:
                summary.elapsed = time.monotonic() - started
                progress(summary)


# -- failures --------------------------------------------------------------------------------------

def describe(outcome: Outcome, program: Program, minimized: bool = False) -> str:
    """The comment header of a saved failure."""
    lines = [f"sourcediff fuzz failure: {outcome.signature}",
             f"program seed {program.seed}{', minimized' if minimized else ''}",
             "replay: python -m tests.fuzz --replay THIS_FILE", "", "detail:"]
    lines += ["  " + line for line in outcome.detail.splitlines()[:40]]
    if outcome.traceback:
        lines += ["", "traceback (last lines):"] + ["  " + line for line in outcome.traceback.splitlines()[-25:]]
    return "\n".join(lines)


def save_failure(directory: Path, program: Program, outcome: Outcome, minimized: bool = False) -> Path:
    """Write a self-contained reproducer; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    suffix = "-min" if minimized else ""
    path = directory / f"{outcome.label}-{program.seed}{suffix}.py"
    path.write_text(reproducer(program, describe(outcome, program, minimized)))
    return path


def _minimize_task(program: Program, outcome: Outcome, seconds: float, use_jax: bool) -> tuple[Program, Outcome]:
    from .minimize import minimize

    return minimize(program, outcome, seconds=seconds, use_jax=use_jax)


def minimize_failures(failures: Iterable[Result], directory: Path, per_signature: int = 2,
                      seconds: float = 60.0, jobs: int = 1, use_jax: bool = True) -> list[tuple[str, Path]]:
    """Minimize the first ``per_signature`` failures of each signature; returns (signature, path) pairs."""
    chosen: list[Result] = []
    seen: Counter = Counter()
    for result in failures:
        if seen[result.outcome.signature] < per_signature:
            seen[result.outcome.signature] += 1
            chosen.append(result)
    chosen.sort(key=lambda r: r.outcome.mode == "reverse")  # forward mode's first (stable otherwise)
    out: list[tuple[str, Path]] = []
    if jobs <= 1:  # each saved as soon as it is shrunk, so that an interrupted run keeps the first ones
        for r in chosen:
            program, outcome = _minimize_task(r.program, r.outcome, seconds, use_jax)
            out.append((r.outcome.signature, save_failure(directory, program, outcome, minimized=True)))
        return out
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        shrunk = list(pool.map(_minimize_task, [r.program for r in chosen], [r.outcome for r in chosen],
                               [seconds] * len(chosen), [use_jax] * len(chosen)))
    for result, (program, outcome) in zip(chosen, shrunk):
        out.append((result.outcome.signature, save_failure(directory, program, outcome, minimized=True)))
    return out


__all__ = ["FAILURES", "Result", "Summary", "check_program", "describe", "minimize_failures", "program_seed",
           "run", "save_failure"]
