"""Interleaved median timing, shared by the benchmarks.

The machines these run on are shared and noisy. Timing each contender in its
own block lets a burst of load land on one contender only, so instead every
round runs each contender once, in round-robin order (rotated each round), and
a contender's figure is the median over rounds of its per-call time. Each
sample is the mean of ``inner`` back-to-back calls, so that very fast calls are
not dominated by timer resolution.

    from timing import interleaved_medians
    medians = interleaved_medians({"numpy": f, "ours": g}, rounds=50)
"""
from __future__ import annotations

import gc
import statistics
import time
from typing import Callable, Dict, Mapping, Sequence

__all__ = ["steady_allocator", "limit_threads", "pin_environment", "Timing", "interleaved_medians", "interleaved_timings", "paired_ratio",
           "calibrate_inner", "fmt_time"]


# glibc returns freed memory above a dynamic threshold to the kernel, and hands
# out big arrays as fresh mmaps; the next call then page-faults every 4 KiB of
# them again (~1.6 us a page here). Whether that happens depends on what the
# process did before (importing jax moves the thresholds), so one contender can
# pay ~700 faults a call and its neighbour none. Fixed thresholds make the
# allocator behave the same for every contender and every run.
STEADY_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(64 << 20), "MALLOC_TRIM_THRESHOLD_": str(256 << 20)}


def steady_allocator(mode: str) -> None:
    """Re-exec this script with fixed glibc malloc thresholds (``mode`` 'steady'), or do nothing ('default').

    Call it first thing, before numpy is imported: glibc reads these variables at start-up.
    """
    import os
    import sys

    if mode != "steady" or all(os.environ.get(k) == v for k, v in STEADY_MALLOC.items()):
        return
    os.environ.update(STEADY_MALLOC)
    os.execv(sys.executable, [sys.executable] + sys.argv)


def pin_environment(malloc: str, threads: int) -> None:
    """The benchmarks' start: fixed malloc thresholds (may re-exec) and pinned threads, before numpy loads."""
    steady_allocator(malloc)
    limit_threads(threads)


THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads(n: int) -> None:
    """Pin BLAS and XLA to ``n`` threads (``n <= 0``: leave the defaults alone).

    Call it before numpy or jax is imported: they read these variables when they load.
    """
    import os

    if n <= 0:
        return
    for var in THREAD_VARS:
        os.environ[var] = str(n)
    if n == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false"
                                   " intra_op_parallelism_threads=1").strip()


class Timing:
    """Per-call samples (seconds) of one contender, with their median and spread."""

    def __init__(self, name: str, samples: Sequence[float], inner: int):
        self.name = name
        self.samples = list(samples)
        self.inner = inner

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def iqr(self) -> tuple[float, float]:
        if len(self.samples) < 4:
            return (min(self.samples), max(self.samples))
        q = statistics.quantiles(self.samples, n=4)
        return (q[0], q[2])

    def __repr__(self) -> str:
        lo, hi = self.iqr
        return f"Timing({self.name!r}, median={fmt_time(self.median)}, iqr=[{fmt_time(lo)}, {fmt_time(hi)}])"


def calibrate_inner(fn: Callable[[], object], target: float = 2e-3, max_inner: int = 10_000) -> int:
    """Number of back-to-back calls of ``fn`` that take about ``target`` seconds."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    return int(min(max_inner, max(1, round(target / one))))


def interleaved_timings(
    contenders: Mapping[str, Callable[[], object]],
    rounds: int = 30,
    inner: int | Mapping[str, int] | None = None,
    warmup: int = 2,
    target: float = 2e-3,
    disable_gc: bool = True,
) -> Dict[str, Timing]:
    """Time zero-argument callables round-robin; return each one's :class:`Timing`.

    ``inner`` is the number of calls per sample: one number for all, one per
    contender, or ``None`` to calibrate each to about ``target`` seconds.
    Each contender is called ``warmup`` times before timing starts.
    """
    names = list(contenders)
    for name in names:
        for _ in range(warmup):
            contenders[name]()
    if inner is None:
        inners = {n: calibrate_inner(contenders[n], target) for n in names}
    elif isinstance(inner, int):
        inners = {n: inner for n in names}
    else:
        inners = {n: int(inner.get(n, 1)) for n in names}

    samples: Dict[str, list] = {n: [] for n in names}
    gc_was_enabled = gc.isenabled()
    try:
        if disable_gc:
            gc.collect()
            gc.disable()
        for r in range(rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                fn, k = contenders[name], inners[name]
                t0 = time.perf_counter()
                for _ in range(k):
                    fn()
                samples[name].append((time.perf_counter() - t0) / k)
            if disable_gc:
                gc.enable()
                gc.collect()
                gc.disable()
    finally:
        if gc_was_enabled:
            gc.enable()
    return {n: Timing(n, samples[n], inners[n]) for n in names}


def interleaved_medians(contenders: Mapping[str, Callable[[], object]], **kwargs) -> Dict[str, float]:
    """Like :func:`interleaved_timings`, returning only the medians (seconds per call)."""
    return {n: t.median for n, t in interleaved_timings(contenders, **kwargs).items()}


def paired_ratio(a: Timing, b: Timing) -> float:
    """Median over rounds of ``a``'s sample divided by ``b``'s sample of the same round.

    Samples of one round were taken moments apart, so a burst of load on the
    machine tends to hit both: this ratio is steadier than
    ``a.median / b.median`` when the machine is busy.
    """
    n = min(len(a.samples), len(b.samples))
    return statistics.median(a.samples[i] / b.samples[i] for i in range(n))


def fmt_time(seconds: float) -> str:
    """A time in the unit that suits it: ``12.3 us``, ``4.56 ms``, ``1.23 s``."""
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"
