"""Gradient of an explicit 1-D heat equation written with in-place slice updates: sourcediff against its peers.

Model: 20,000 cells, 200 explicit Euler steps of the discrete heat equation,
the interior updated in place, the two end values held fixed,

    u = u0.copy()
    for _ in range(n_steps):
        u[1:-1] = u[1:-1] + kappa * (u[2:] - 2 * u[1:-1] + u[:-2])
    return np.sum(u ** 2)

with kappa = 0.25 (kappa = diffusivity * dt / dx**2; stable up to 0.5) and u0
a smooth profile plus noise, in float64. The gradient is taken with respect
to (u0, kappa). Every step is a handful of whole-array operations on 160 KB
arrays, so this measures what a gradient costs for array code that overwrites
its state: what must be saved, and how fast the backward pass streams it.

The same equation written WITHOUT mutation (every step builds a new array),

    u = np.concatenate([u[:1], u[1:-1] + kappa * (u[2:] - 2 * u[1:-1] + u[:-2]), u[-1:]])

is what autograd, jax and the concatenating sourcediff contender run.

Contenders, timed side by side (round-robin, medians; see timing.py):

    numpy primal (in place)         the function above
    sourcediff grad (in place)      sourcediff.grad(heat_inplace, argnums=(0, 1))
    hand-written adjoint            snapshots of u[1:-1] on a list, one backward sweep (information)
    numpy primal (concat)           the version without mutation
    sourcediff grad (concat)        sourcediff.grad(heat_concat, argnums=(0, 1))
    autograd grad (concat)          autograd.grad, the concat version in autograd.numpy
    torch primal/grad (concat)      torch.cat, float64 CPU tensors, torch.autograd.grad
    torch primal/grad (in place)    the in-place version on tensors (information)
    jax primal/jax.grad (eager)     jnp.concatenate, float64, no jit, op by op
    jax primal/jax.jit(jax.grad) (jit)
                                    the concat step in lax.fori_loop, compiled (information).
                                    Not the Python loop: XLA takes minutes to compile 200
                                    unrolled concatenates (over ten minutes for the primal here)

jax eager costs about a second a call. It is timed in a second round-robin
(``--slow-rounds``, one call a sample) together with the numpy in-place primal
and sourcediff's in-place gradient, so that its ratios are paired too.

Before timing, every gradient is checked against the hand-written adjoint
(rtol 1e-9) and that against central finite differences on a few entries.
A contender that fails or disagrees is reported and not timed. A peer that is
not installed is skipped with a note.

    python benchmarks/heat.py [--rounds 30] [--slow-rounds 3] [--skip jax,torch,autograd] [--show-source] [--check]

``--check`` exits 1 unless sourcediff's in-place gradient costs at most 4
in-place primals. ``--threads`` and ``--malloc`` are as in ``mlp.py``; with
glibc's default malloc thresholds (``--malloc default``) the 160 KB arrays are
fresh mmaps, and every gradient that keeps 200 steps of them pays page faults
on all of them, several times over.

``--fill`` runs a different, quick check instead: the gradient of a function
that fills an n-element array one element at a time in a Python loop,

    y = np.zeros(n)
    y[0] = x[0]
    for i in range(1, n):
        y[i] = a * y[i - 1] + x[i] * x[i]

at n = 10,000 and n = 100,000 (``--fill-sizes``). It prints the time per
element of the primal and of the gradient: an overwritten element must be
saved and restored on its own, so the gradient's time per element must stay
flat as n grows (O(n), not O(n^2)). With ``--check``, it exits 1 if the time
per element grows by more than 2x from the smallest n to the largest.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from pathlib import Path

PEERS = ("autograd", "jax", "torch")


def _parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30, help="rounds for the fast contenders (default 30)")
    ap.add_argument("--slow-rounds", type=int, default=3,
                    help="rounds for jax eager, one call a sample (default 3)")
    ap.add_argument("--target", type=float, default=2e-2,
                    help="seconds per sample; fast calls are repeated to fill it")
    ap.add_argument("--cells", type=int, default=20_000, help="grid cells (default 20000)")
    ap.add_argument("--steps", type=int, default=200, help="time steps (default 200)")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for BLAS, XLA and torch (default 1; 0: leave the defaults)")
    ap.add_argument("--malloc", choices=("steady", "default"), default="steady",
                    help="fixed glibc malloc thresholds for every contender (default), or glibc's defaults")
    ap.add_argument("--skip", default="", help="comma-separated peers to leave out: " + ",".join(PEERS))
    ap.add_argument("--show-source", action="store_true", help="print sourcediff's generated gradients")
    ap.add_argument("--check", action="store_true",
                    help=f"exit 1 unless sourcediff (in place) / numpy primal (in place) <= {4.0:.1f} "
                         "(with --fill: unless the gradient's time per element stays within 2x)")
    ap.add_argument("--fill", action="store_true",
                    help="instead: time the gradient of an element-by-element fill loop at several n")
    ap.add_argument("--fill-sizes", default="10000,100000", help="n for --fill (default 10000,100000)")
    ap.add_argument("--fill-rounds", type=int, default=5, help="rounds for --fill (default 5)")
    return ap.parse_args(argv)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from timing import pin_environment
    pin_environment(_parse_args().malloc, _parse_args().threads)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import calibrate_inner, fmt_time, interleaved_timings, paired_ratio  # noqa: E402

TARGET_RATIO = 4.0
KAPPA = 0.25
FILL_GROWTH_LIMIT = 2.0


# The primal, as a scientist writes it: copy the state, then update it in place.

def heat_inplace(u0, kappa, n_steps):
    u = u0.copy()
    for _ in range(n_steps):
        u[1:-1] = u[1:-1] + kappa * (u[2:] - 2 * u[1:-1] + u[:-2])
    return np.sum(u**2)


# The same scheme without mutation: every step builds a new array.

def heat_concat(u0, kappa, n_steps):
    u = u0
    for _ in range(n_steps):
        u = np.concatenate([u[:1], u[1:-1] + kappa * (u[2:] - 2 * u[1:-1] + u[:-2]), u[-1:]])
    return np.sum(u**2)


# The reference: a hand-written adjoint. The forward pass saves the interior
# before each step overwrites it; the backward pass puts it back, recomputes
# that step's Laplacian, and propagates the adjoint through the step.

def heat_adjoint(u0, kappa, n_steps):
    u = u0.copy()
    saved = []
    for _ in range(n_steps):
        saved.append(u[1:-1].copy())
        u[1:-1] = u[1:-1] + kappa * (u[2:] - 2 * u[1:-1] + u[:-2])
    u_bar = 2.0 * u
    kappa_bar = 0.0
    for _ in range(n_steps):
        u[1:-1] = saved.pop()
        g = u_bar[1:-1].copy()              # d loss / d (new interior)
        kappa_bar += g @ (u[2:] - 2 * u[1:-1] + u[:-2])
        kg = kappa * g
        u_bar[1:-1] -= 2.0 * kg             # the identity part (g) is already there
        u_bar[2:] += kg
        u_bar[:-2] += kg
    return u_bar, kappa_bar


def make_data(n_cells: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, n_cells)
    return np.sin(3 * np.pi * x) + x + 0.1 * rng.standard_normal(n_cells)


class _Skipped(Exception):
    """A peer left out with --skip."""


class Contender:
    """A timed callable, and how to get its gradient as (d/du0 as an ndarray, d/dkappa as a float)."""

    def __init__(self, name, call, grads=None, primal=None, slow=False, info=False):
        self.name = name
        self.call = call          # zero-argument callable to time
        self.grads = grads        # zero-argument callable returning (g_u0, g_kappa), or None for a primal
        self.primal = primal      # name of its own primal (None: it is a primal)
        self.slow = slow          # about a second a call: timed in the slow round-robin
        self.info = info          # shown for information


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


NP_INPLACE = "numpy primal (in place)"
NP_CONCAT = "numpy primal (concat)"
OURS = "sourcediff grad (in place)"


def build_contenders(args, u0, notes, skip=()):
    n = args.steps
    out = [Contender(NP_INPLACE, lambda: heat_inplace(u0, KAPPA, n))]

    # --- sourcediff: a transformer bug must not hide the peers' figures
    try:
        import sourcediff
        refusal = sourcediff.SourcediffError
    except Exception as e:
        sourcediff, refusal = None, ()
        notes.append(f"sourcediff: failed: cannot import: {_first_line(e)}")
    ours = []
    for label, fn, primal in ((OURS, heat_inplace, NP_INPLACE),
                              ("sourcediff grad (concat)", heat_concat, NP_CONCAT)):
        if sourcediff is None:
            break
        try:
            t0 = time.perf_counter()
            g = sourcediff.grad(fn, argnums=(0, 1))
            g(u0, KAPPA, n)
            notes.append(f"{label}: grad() + first call took {fmt_time(time.perf_counter() - t0)} "
                         f"(transform + compile, once)")
            if args.show_source:
                print(f"---- sourcediff.grad({fn.__name__}, argnums=(0, 1)).source ----")
                print(g.source)
                print("-" * 60)
            ours.append(Contender(label, lambda g=g: g(u0, KAPPA, n), lambda g=g: g(u0, KAPPA, n), primal))
        except Exception as e:
            msg = f"{label.replace('sourcediff grad', 'sourcediff')}: failed: {_first_line(e)}"
            print(msg)
            notes.append(msg)
            if not isinstance(e, refusal):
                traceback.print_exc()  # a transformer bug, not a refusal: show where
    out += [c for c in ours if c.primal == NP_INPLACE]
    out.append(Contender("hand-written adjoint", lambda: heat_adjoint(u0, KAPPA, n),
                         lambda: heat_adjoint(u0, KAPPA, n), NP_INPLACE, info=True))
    out.append(Contender(NP_CONCAT, lambda: heat_concat(u0, KAPPA, n)))
    out += [c for c in ours if c.primal == NP_CONCAT]

    # --- autograd: the concat version in autograd.numpy (no in-place updates in autograd)
    try:
        if "autograd" in skip:
            raise _Skipped
        import autograd
        import autograd.numpy as anp

        def heat_concat_autograd(u0, kappa, n_steps):
            u = u0
            for _ in range(n_steps):
                u = anp.concatenate([u[:1], u[1:-1] + kappa * (u[2:] - 2 * u[1:-1] + u[:-2]), u[-1:]])
            return anp.sum(u**2)

        g_ag = autograd.grad(heat_concat_autograd, (0, 1))
        out.append(Contender("autograd grad (concat)", lambda: g_ag(u0, KAPPA, n),
                             lambda: g_ag(u0, KAPPA, n), NP_CONCAT))
    except _Skipped:
        notes.append("autograd: skipped (--skip)")
    except ImportError:
        notes.append("autograd not installed: skipped (pip install -e '.[bench]')")

    # --- torch (optional, installed by hand: pip install torch==2.13.0): float64 CPU tensors
    try:
        if "torch" in skip:
            raise _Skipped
        import torch
        if args.threads > 0:
            torch.set_num_threads(args.threads)
        tu0 = torch.tensor(u0, dtype=torch.float64, requires_grad=True)
        tk = torch.tensor(KAPPA, dtype=torch.float64, requires_grad=True)

        def heat_concat_torch(u0, kappa, n_steps):
            u = u0
            for _ in range(n_steps):
                u = torch.cat([u[:1], u[1:-1] + kappa * (u[2:] - 2 * u[1:-1] + u[:-2]), u[-1:]])
            return torch.sum(u**2)

        def heat_inplace_torch(u0, kappa, n_steps):
            u = u0.clone()
            for _ in range(n_steps):
                u[1:-1] = u[1:-1] + kappa * (u[2:] - 2 * u[1:-1] + u[:-2])
            return torch.sum(u**2)

        for variant, fn, info in (("concat", heat_concat_torch, False), ("in place", heat_inplace_torch, True)):
            def primal(fn=fn):
                with torch.no_grad():
                    return fn(tu0, tk, n)

            def grad(fn=fn):
                return torch.autograd.grad(fn(tu0, tk, n), (tu0, tk))

            def grads(grad=grad):
                gu, gk = grad()
                return gu.numpy(), gk.item()

            out.append(Contender(f"torch primal ({variant})", primal, info=info))
            out.append(Contender(f"torch grad ({variant})", grad, grads, f"torch primal ({variant})", info=info))
        notes.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except _Skipped:
        notes.append("torch: skipped (--skip)")
    except ImportError:
        notes.append("torch not installed: skipped (optional: pip install torch==2.13.0)")

    # --- jax: the concat version; eager (op by op), and for information compiled with lax.fori_loop
    try:
        if "jax" in skip:
            raise _Skipped
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        def heat_concat_jax(u0, kappa, n_steps):
            u = u0
            for _ in range(n_steps):
                u = jnp.concatenate([u[:1], u[1:-1] + kappa * (u[2:] - 2 * u[1:-1] + u[:-2]), u[-1:]])
            return jnp.sum(u**2)

        def heat_concat_jax_loop(u0, kappa, n_steps):
            def step(_, u):
                return jnp.concatenate([u[:1], u[1:-1] + kappa * (u[2:] - 2 * u[1:-1] + u[:-2]), u[-1:]])
            return jnp.sum(jax.lax.fori_loop(0, n_steps, step, u0) ** 2)

        ju0 = jax.device_put(jnp.asarray(u0))
        assert ju0.dtype == jnp.float64
        g_eager = jax.grad(heat_concat_jax, argnums=(0, 1))
        p_jit = jax.jit(heat_concat_jax_loop, static_argnums=2)
        g_jit = jax.jit(jax.grad(heat_concat_jax_loop, argnums=(0, 1)), static_argnums=2)
        t0 = time.perf_counter()
        jax.block_until_ready(p_jit(ju0, KAPPA, n))
        jax.block_until_ready(g_jit(ju0, KAPPA, n))
        notes.append(f"jax jit: compiling primal and gradient (lax.fori_loop) took {fmt_time(time.perf_counter() - t0)}")

        def as_numpy(gs):
            return np.asarray(gs[0]), float(gs[1])

        out.append(Contender("jax primal (eager)", lambda: heat_concat_jax(ju0, KAPPA, n).block_until_ready(),
                             slow=True))
        out.append(Contender("jax.grad (eager)", lambda: jax.block_until_ready(g_eager(ju0, KAPPA, n)),
                             lambda: as_numpy(g_eager(ju0, KAPPA, n)), "jax primal (eager)", slow=True))
        out.append(Contender("jax primal (jit)", lambda: p_jit(ju0, KAPPA, n).block_until_ready(), info=True))
        out.append(Contender("jax.jit(jax.grad)", lambda: jax.block_until_ready(g_jit(ju0, KAPPA, n)),
                             lambda: as_numpy(g_jit(ju0, KAPPA, n)), "jax primal (jit)", info=True))
        notes.append(f"jax {jax.__version__} on {jax.devices()[0].platform}, float64; "
                     f"jit contenders run the step in lax.fori_loop")
    except _Skipped:
        notes.append("jax: skipped (--skip)")
    except ImportError:
        notes.append("jax not installed: skipped (pip install -e '.[bench]')")
    return out


def finite_differences(u0, n_steps, entries, eps_kappa=1e-6, eps_u=1e-3):
    """Central differences of heat_inplace in kappa and in u0 at ``entries``.

    The loss is quadratic in u0, so a central difference in u0 has no
    truncation error, and a large step keeps the round-off of a loss of order
    1e4 small.
    """
    fd_k = (heat_inplace(u0, KAPPA + eps_kappa, n_steps)
            - heat_inplace(u0, KAPPA - eps_kappa, n_steps)) / (2 * eps_kappa)
    fd_u = []
    for i in entries:
        plus, minus = u0.copy(), u0.copy()
        plus[i] += eps_u
        minus[i] -= eps_u
        fd_u.append((heat_inplace(plus, KAPPA, n_steps) - heat_inplace(minus, KAPPA, n_steps)) / (2 * eps_u))
    return np.array(fd_u), fd_k


def check_gradients(contenders, u0, n_steps) -> tuple[list[str], tuple]:
    """The hand-written adjoint agrees with finite differences; every gradient agrees with it."""
    import math

    problems = []
    ref_u, ref_k = heat_adjoint(u0, KAPPA, n_steps)
    n = u0.shape[0]
    entries = [0, 1, n // 3, n // 2, n - 2, n - 1]
    fd_u, fd_k = finite_differences(u0, n_steps, entries)
    if not (math.isclose(ref_k, fd_k, rel_tol=1e-5) and np.allclose(ref_u[entries], fd_u, rtol=1e-6, atol=1e-8)):
        problems.append(f"hand-written adjoint: disagrees with finite differences: d/dkappa {ref_k:.10g} vs "
                        f"{fd_k:.10g}, d/du0{entries} {ref_u[entries]} vs {fd_u}")
    for c in contenders:
        if c.grads is None or c.name == "hand-written adjoint":
            continue
        try:
            gu, gk = c.grads()
            gu, gk = np.asarray(gu, dtype=np.float64), float(gk)
        except Exception as e:
            problems.append(f"{c.name}: gradient failed: {_first_line(e)}")
            continue
        if gu.shape != u0.shape or not np.all(np.isfinite(gu)) or not math.isfinite(gk):
            problems.append(f"{c.name}: gradient is not (a finite array of shape {u0.shape}, a finite float)")
            continue
        if not math.isclose(gk, ref_k, rel_tol=1e-9, abs_tol=1e-12):
            problems.append(f"{c.name}: d loss/d kappa = {gk:.15g}, the hand-written adjoint says {ref_k:.15g}")
            continue
        if not np.allclose(gu, ref_u, rtol=1e-9, atol=1e-12):
            err = float(np.max(np.abs(gu - ref_u)))
            problems.append(f"{c.name}: d loss/d u0 differs from the hand-written adjoint (max abs {err:.3g})")
    return problems, (ref_k, fd_k)


def main(argv=None) -> int:
    args = _parse_args(argv)
    skip = {p.strip() for p in args.skip.split(",") if p.strip()}
    unknown = skip - set(PEERS)
    if unknown:
        print(f"--skip: unknown peer(s) {', '.join(sorted(unknown))}; known: {', '.join(PEERS)}", file=sys.stderr)
        return 2
    if args.fill:
        return fill_main(args)

    notes: list[str] = []
    t_start = time.perf_counter()
    u0 = make_data(args.cells)
    contenders = build_contenders(args, u0, notes, skip=skip)

    problems, (ref_k, fd_k) = check_gradients(contenders, u0, args.steps)
    if problems:
        print("GRADIENTS DISAGREE; a benchmark of a wrong gradient is worthless:")
        for p in problems:
            print("  " + p)
        bad = {p.split(":", 1)[0] for p in problems}
        contenders = [c for c in contenders if c.name not in bad]
        print("timing only the contenders whose gradients agree.\n")
    else:
        k = sum(c.grads is not None for c in contenders)
        print(f"gradients of {k} contenders agree with the hand-written adjoint (rtol 1e-9), "
              f"and it with finite differences (rtol 1e-5 in kappa, 1e-6 in u0).")
    print(f"d loss/d kappa = {ref_k:.10g} (finite differences: {fd_k:.10g})")

    by_name = {c.name: c for c in contenders}
    fast = {c.name: c.call for c in contenders if not c.slow}
    timings = interleaved_timings(fast, rounds=args.rounds, target=args.target, warmup=2)

    # jax eager: one call a sample, against the in-place primal and sourcediff in the same rounds.
    slow_names = [c.name for c in contenders if c.slow]
    slow_timings = {}
    if slow_names and args.slow_rounds > 0:
        partners = [name for name in (NP_INPLACE, OURS) if name in by_name]
        slow = {name: by_name[name].call for name in partners + slow_names}
        inner = {name: calibrate_inner(by_name[name].call, args.target) for name in partners}
        inner.update({name: 1 for name in slow_names})
        slow_timings = interleaved_timings(slow, rounds=args.slow_rounds, inner=inner, warmup=1)

    def timing(name):
        return slow_timings[name] if by_name[name].slow else timings.get(name)

    def ratio(a: str, b: str) -> float | None:
        """Paired ratio, from the round-robin that timed both (the slow one when a slow contender is involved)."""
        if a not in by_name or b not in by_name:
            return None
        source = slow_timings if (by_name[a].slow or by_name[b].slow) else timings
        if a in source and b in source:
            return paired_ratio(source[a], source[b])
        return None

    def fmt_ratio(r: float | None) -> str:
        return "" if r is None else f"{r:.1f}x" if r >= 100 else f"{r:.2f}x"

    print(f"\nheat equation, {args.cells} cells, {args.steps} explicit steps, kappa={KAPPA}, float64; "
          f"gradient w.r.t. u0 and kappa")
    print(f"fast contenders: median of {args.rounds} interleaved rounds; jax eager: median of "
          f"{args.slow_rounds} rounds of one call, interleaved with the in-place primal and sourcediff")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus; threads: "
          f"{args.threads if args.threads > 0 else 'library defaults'}; malloc: {args.malloc}")
    print("(ratios: median over rounds of the per-round ratio, steadier than a ratio of medians; "
          "(i): for information)")

    print(f"\n{'contender':<34}{'median':>11}{'IQR':>24}{'rounds':>8}  {'/ own primal':>13}{'/ np in-place':>15}")
    for c in contenders:
        t = timing(c.name)
        if t is None:
            continue
        lo, hi = t.iqr
        own = "" if c.primal is None else fmt_ratio(ratio(c.name, c.primal))
        vs_np = "" if c.name == NP_INPLACE else fmt_ratio(ratio(c.name, NP_INPLACE))
        label = c.name + (" (i)" if c.info else "")
        print(f"{label:<34}{fmt_time(t.median):>11}{'[' + fmt_time(lo) + ', ' + fmt_time(hi) + ']':>24}"
              f"{len(t.samples):>8}  {own:>13}{vs_np:>15}")

    ok = True
    print()
    if OURS in by_name and OURS in timings:
        r = ratio(OURS, NP_INPLACE)
        ok &= r <= TARGET_RATIO
        print(f"sourcediff (in place) / numpy primal (in place) = {r:.2f}  (target <= {TARGET_RATIO:.1f}: "
              f"{'met' if r <= TARGET_RATIO else 'MISSED'})")
        for c in contenders:
            if c.grads is not None and c.name != OURS:
                r = ratio(OURS, c.name)
                if r is not None:
                    print(f"sourcediff (in place) / {c.name:<25}= {r:.3g}")
    else:
        ok = False
        print("sourcediff (in place) was not timed (see the notes)")
    notes.append(f"whole run: {time.perf_counter() - t_start:.0f} s")
    print("\nnotes:")
    for note in notes:
        print("  - " + note)
    if problems:
        return 1
    return 1 if (args.check and not ok) else 0


# --- --fill: an array filled element by element in a Python loop ------------------------------

def fill_recurrence(x, a):
    n = x.shape[0]
    y = np.zeros(n)
    y[0] = x[0]
    for i in range(1, n):
        y[i] = a * y[i - 1] + x[i] * x[i]
    return np.sum(y)


def fill_adjoint(x, a):
    """Hand-written adjoint of fill_recurrence: the same loop, backwards."""
    n = x.shape[0]
    y = np.zeros(n)
    y[0] = x[0]
    for i in range(1, n):
        y[i] = a * y[i - 1] + x[i] * x[i]
    x_bar = np.zeros(n)
    a_bar = 0.0
    y_bar_next = 0.0          # d loss / d y[i + 1]
    for i in range(n - 1, 0, -1):
        y_bar = 1.0 + a * y_bar_next
        x_bar[i] = 2.0 * x[i] * y_bar
        a_bar += y[i - 1] * y_bar
        y_bar_next = y_bar
    x_bar[0] = 1.0 + a * y_bar_next
    return x_bar, a_bar


def fill_main(args) -> int:
    import sourcediff

    sizes = [int(s) for s in args.fill_sizes.split(",") if s.strip()]
    a = 0.5
    g = sourcediff.grad(fill_recurrence, argnums=(0, 1))
    if args.show_source:
        print("---- sourcediff.grad(fill_recurrence, argnums=(0, 1)).source ----")
        print(g.source)
        print("-" * 60)

    # correctness first, on a small n: finite differences and the hand-written adjoint
    xs = np.random.default_rng(2).uniform(-1.0, 1.0, 12)
    gx, ga = g(xs, a)
    hx, ha = fill_adjoint(xs, a)
    fd_a = (fill_recurrence(xs, a + 1e-6) - fill_recurrence(xs, a - 1e-6)) / 2e-6
    if not (np.allclose(gx, hx, rtol=1e-12) and np.isclose(ga, ha, rtol=1e-12) and np.isclose(ga, fd_a, rtol=1e-6)):
        print(f"GRADIENT WRONG: sourcediff {gx}, {ga}; hand-written {hx}, {ha}; finite differences d/da {fd_a}")
        return 1

    print(f"fill loop: y[i] = a * y[i - 1] + x[i] * x[i], one element a Python iteration; gradient w.r.t. x and a")
    print(f"median of {args.fill_rounds} interleaved rounds, one call a sample; malloc: {args.malloc}\n")
    print(f"{'n':>9}  {'contender':<22}{'median':>11}{'per element':>14}{'/ primal':>10}")
    per_element = {}
    for n in sizes:
        x = np.random.default_rng(n).uniform(-1.0, 1.0, n)
        gx, ga = g(x, a)
        hx, ha = fill_adjoint(x, a)
        if not (np.allclose(gx, hx, rtol=1e-10, atol=1e-12) and np.isclose(ga, ha, rtol=1e-10)):
            print(f"GRADIENT WRONG at n={n}: max |d/dx - hand| = {np.max(np.abs(gx - hx)):.3g}, d/da {ga} vs {ha}")
            return 1
        contenders = {"python primal": lambda: fill_recurrence(x, a),
                      "sourcediff grad": lambda: g(x, a),
                      "hand-written adjoint": lambda: fill_adjoint(x, a)}
        timings = interleaved_timings(contenders, rounds=args.fill_rounds, inner=1, warmup=1)
        for name, t in timings.items():
            r = "" if name == "python primal" else f"{paired_ratio(t, timings['python primal']):.1f}x"
            print(f"{n:>9}  {name:<22}{fmt_time(t.median):>11}{fmt_time(t.median / n):>14}{r:>10}")
        per_element[n] = {name: t.median / n for name, t in timings.items()}

    ok = True
    if len(sizes) > 1:
        lo, hi = min(sizes), max(sizes)
        print()
        for name in ("python primal", "sourcediff grad"):
            growth = per_element[hi][name] / per_element[lo][name]
            flat = growth <= FILL_GROWTH_LIMIT
            if name == "sourcediff grad":
                ok &= flat
            print(f"{name}: time per element at n={hi} / at n={lo} = {growth:.2f}  "
                  f"({'flat: O(n)' if flat else 'GROWS: worse than O(n)'})")
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
