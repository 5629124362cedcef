"""Gradient of a two-layer tanh perceptron: sourcediff against its peers.

Model: batch 256, 64 -> 256 (tanh) -> 10, mean squared error loss, float64.
The gradient is taken with respect to all four weight arrays (W1, b1, W2, b2).

Contenders, timed side by side in one run (round-robin, medians; see timing.py):

    numpy primal            the loss itself, in NumPy
    sourcediff grad         sourcediff.grad(loss, argnums=(0, 1, 2, 3))
    autograd grad           autograd.grad over the tuple of weights
    tangent grad            tangent.grad(loss, wrt=(0, 1, 2, 3))           (if installed)
    torch backward          torch.autograd.grad, float64, CPU               (if installed)
    jax primal (eager)      the loss in jax.numpy, op by op
    jax.grad (eager)        jax.grad(loss, argnums=(0, 1, 2, 3)), op by op
    jax primal (jit)        jax.jit(loss)
    jax.jit(jax.grad)       compiled gradient

Before timing, every contender's gradient is checked against the others (and
against central finite differences on a few entries). A peer that is not
installed is skipped with a note.

    python benchmarks/mlp.py [--rounds 50] [--threads 1] [--skip jax,torch] [--show-source] [--check]

By default every library runs on one thread (``--threads 1``): on a small,
shared machine, BLAS and XLA thread pools that spin while the other library
runs make the interleaved timings meaningless. ``--threads 0`` leaves the
libraries' own defaults (and the environment variables) alone.

By default the script also re-runs itself with fixed glibc malloc thresholds
(``--malloc steady``, see ``timing.STEADY_MALLOC``). With glibc's adaptive
defaults, whether a 512 KiB array costs ~130 page faults on every call depends
on what the process did before (importing jax changes it), which swings the
primal by 2.4x and the gradients by 3x between runs. ``--malloc default``
measures under glibc's defaults.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from pathlib import Path

def _parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=50, help="round-robin rounds (default 50)")
    ap.add_argument("--target", type=float, default=2e-2,
                    help="seconds per sample; fast calls are repeated to fill it")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for BLAS, XLA and torch (default 1; 0: leave the defaults)")
    ap.add_argument("--malloc", choices=("steady", "default"), default="steady",
                    help="fixed glibc malloc thresholds for every contender (default), or glibc's defaults")
    ap.add_argument("--skip", default="",
                    help="comma-separated peers to leave out: autograd,tangent,torch,jax")
    ap.add_argument("--show-source", action="store_true", help="print sourcediff's generated gradient")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless sourcediff/primal <= 3.0 and sourcediff beats autograd")
    return ap.parse_args(argv)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from timing import pin_environment
    pin_environment(_parse_args().malloc, _parse_args().threads)

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import fmt_time, interleaved_timings, paired_ratio  # noqa: E402

BATCH, D_IN, D_HIDDEN, D_OUT = 256, 64, 256, 10
TARGET_RATIO = 3.0


# The same model written once per array library, in ordinary style.

def loss(W1, b1, W2, b2, x, y):
    h = np.tanh(x @ W1 + b1)
    out = h @ W2 + b2
    return np.mean((out - y) ** 2)


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    W1 = rng.normal(scale=1 / np.sqrt(D_IN), size=(D_IN, D_HIDDEN))
    b1 = rng.normal(scale=0.1, size=(D_HIDDEN,))
    W2 = rng.normal(scale=1 / np.sqrt(D_HIDDEN), size=(D_HIDDEN, D_OUT))
    b2 = rng.normal(scale=0.1, size=(D_OUT,))
    x = rng.normal(size=(BATCH, D_IN))
    y = rng.normal(size=(BATCH, D_OUT))
    return (W1, b1, W2, b2), (x, y)


class _Skipped(Exception):
    """A peer left out with --skip."""


class Contender:
    """A timed callable, and how to get its gradient as four NumPy arrays."""

    def __init__(self, name, call, grads=None, group="numpy"):
        self.name = name
        self.call = call          # zero-argument callable to time
        self.grads = grads        # zero-argument callable returning (gW1, gb1, gW2, gb2), or None
        self.group = group


def build_contenders(weights, data, notes, show_source=False, threads=1, skip=()):
    W1, b1, W2, b2 = weights
    x, y = data
    out = [Contender("numpy primal", lambda: loss(W1, b1, W2, b2, x, y))]

    # --- sourcediff
    try:
        import sourcediff
        t0 = time.perf_counter()
        g_ours = sourcediff.grad(loss, argnums=(0, 1, 2, 3))
        first = g_ours(W1, b1, W2, b2, x, y)
        notes.append(f"sourcediff: grad() + first call took {fmt_time(time.perf_counter() - t0)} "
                     f"(transform + compile, once)")
        if show_source:
            print("---- sourcediff.grad(loss, argnums=(0, 1, 2, 3)).source ----")
            print(g_ours.source)
            print("-" * 60)
        del first
        out.append(Contender("sourcediff grad", lambda: g_ours(W1, b1, W2, b2, x, y),
                             lambda: g_ours(W1, b1, W2, b2, x, y)))
    except Exception as e:  # a transformer bug must not hide the peers' figures
        notes.append("sourcediff FAILED: " + "".join(traceback.format_exception_only(type(e), e)).strip())
        traceback.print_exc()

    # --- autograd
    try:
        if "autograd" in skip:
            raise _Skipped
        import autograd
        import autograd.numpy as anp

        def loss_autograd(params, x, y):
            W1, b1, W2, b2 = params
            h = anp.tanh(x @ W1 + b1)
            out = h @ W2 + b2
            return anp.mean((out - y) ** 2)

        g_ag = autograd.grad(loss_autograd)
        params = (W1, b1, W2, b2)
        out.append(Contender("autograd grad", lambda: g_ag(params, x, y),
                             lambda: tuple(g_ag(params, x, y))))
    except _Skipped:
        notes.append("autograd: skipped (--skip)")
    except ImportError:
        notes.append("autograd not installed: skipped (pip install -e '.[bench]')")

    # --- tangent
    try:
        if "tangent" in skip:
            raise _Skipped
        import tangent
        g_tg = tangent.grad(loss, wrt=(0, 1, 2, 3), verbose=0)
        g_tg(W1, b1, W2, b2, x, y)
        out.append(Contender("tangent grad", lambda: g_tg(W1, b1, W2, b2, x, y),
                             lambda: tuple(g_tg(W1, b1, W2, b2, x, y))))
    except _Skipped:
        notes.append("tangent: skipped (--skip)")
    except ImportError:
        notes.append("tangent not installed: skipped (pip install -e '.[bench]')")
    except Exception as e:
        notes.append(f"tangent failed, skipped: {type(e).__name__}: {str(e)[:120]}")

    # --- torch (optional, installed by hand: pip install torch==2.13.0)
    try:
        if "torch" in skip:
            raise _Skipped
        import torch
        tw = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (W1, b1, W2, b2)]
        tx, ty = torch.tensor(x), torch.tensor(y)
        if threads > 0:
            torch.set_num_threads(threads)

        def loss_torch():
            h = torch.tanh(tx @ tw[0] + tw[1])
            o = h @ tw[2] + tw[3]
            return torch.mean((o - ty) ** 2)

        def torch_primal():
            with torch.no_grad():
                return loss_torch()

        def torch_grad():
            return torch.autograd.grad(loss_torch(), tw)

        out.append(Contender("torch primal", torch_primal, group="torch"))
        out.append(Contender("torch grad", torch_grad,
                             lambda: tuple(t.numpy() for t in torch_grad()), group="torch"))
        notes.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except _Skipped:
        notes.append("torch: skipped (--skip)")
    except ImportError:
        notes.append("torch not installed: skipped (optional: pip install torch==2.13.0)")

    # --- jax
    try:
        if "jax" in skip:
            raise _Skipped
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        def loss_jax(W1, b1, W2, b2, x, y):
            h = jnp.tanh(x @ W1 + b1)
            out = h @ W2 + b2
            return jnp.mean((out - y) ** 2)

        jargs = [jax.device_put(jnp.asarray(a)) for a in (W1, b1, W2, b2, x, y)]
        assert all(a.dtype == jnp.float64 for a in jargs)
        jgrad = jax.grad(loss_jax, argnums=(0, 1, 2, 3))
        jprimal_jit = jax.jit(loss_jax)
        jgrad_jit = jax.jit(jgrad)
        # warm-up: compile once outside the timings
        jax.block_until_ready(jprimal_jit(*jargs))
        jax.block_until_ready(jgrad_jit(*jargs))
        jax.block_until_ready(jgrad(*jargs))

        def as_numpy(gs):
            return tuple(np.asarray(g) for g in gs)

        out.append(Contender("jax primal (eager)",
                             lambda: loss_jax(*jargs).block_until_ready(), group="jax-eager"))
        out.append(Contender("jax.grad (eager)", lambda: jax.block_until_ready(jgrad(*jargs)),
                             lambda: as_numpy(jgrad(*jargs)), group="jax-eager"))
        out.append(Contender("jax primal (jit)",
                             lambda: jprimal_jit(*jargs).block_until_ready(), group="jax-jit"))
        out.append(Contender("jax.jit(jax.grad)", lambda: jax.block_until_ready(jgrad_jit(*jargs)),
                             lambda: as_numpy(jgrad_jit(*jargs)), group="jax-jit"))
        notes.append(f"jax {jax.__version__} on {jax.devices()[0].platform}, float64")
    except _Skipped:
        notes.append("jax: skipped (--skip)")
    except ImportError:
        notes.append("jax not installed: skipped (pip install -e '.[bench]')")
    return out


def check_gradients(contenders, weights, data) -> list[str]:
    """All gradients agree with each other and with finite differences on a few entries."""
    problems = []
    results = {}
    for c in contenders:
        if c.grads is None:
            continue
        try:
            gs = tuple(np.asarray(g, dtype=np.float64) for g in c.grads())
        except Exception as e:
            problems.append(f"{c.name}: gradient failed: {type(e).__name__}: {e}")
            continue
        shapes = [g.shape for g in gs]
        if shapes != [w.shape for w in weights]:
            problems.append(f"{c.name}: gradient shapes {shapes} != weight shapes")
            continue
        results[c.name] = gs

    # a few central finite differences, as the referee that needs no peer
    x, y = data
    rng = np.random.default_rng(1)
    eps = 1e-6
    fd_checks = []
    for k, w in enumerate(weights):
        for _ in range(3):
            idx = tuple(int(rng.integers(n)) for n in w.shape)
            plus = [a.copy() for a in weights]
            minus = [a.copy() for a in weights]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            fd = (loss(*plus, x, y) - loss(*minus, x, y)) / (2 * eps)
            fd_checks.append((k, idx, fd))

    names = ["W1", "b1", "W2", "b2"]
    for name, gs in results.items():
        for k, idx, fd in fd_checks:
            if not np.isclose(gs[k][idx], fd, rtol=1e-5, atol=1e-8):
                problems.append(f"{name}: d loss/d {names[k]}{list(idx)} = {gs[k][idx]:.10g}, "
                                f"finite differences say {fd:.10g}")
                break
    if results:
        ref_name = "autograd grad" if "autograd grad" in results else next(iter(results))
        ref = results[ref_name]
        for name, gs in results.items():
            for k in range(4):
                if not np.allclose(gs[k], ref[k], rtol=1e-9, atol=1e-12):
                    err = float(np.max(np.abs(gs[k] - ref[k])))
                    problems.append(f"{name}: d loss/d {names[k]} differs from {ref_name} (max abs {err:.3g})")
    return problems


def main(argv=None) -> int:
    args = _parse_args(argv)

    weights, data = make_data()
    notes: list[str] = []
    contenders = build_contenders(weights, data, notes, show_source=args.show_source,
                                  threads=args.threads,
                                  skip={p.strip() for p in args.skip.split(",") if p.strip()})

    problems = check_gradients(contenders, weights, data)
    if problems:
        print("GRADIENTS DISAGREE; a benchmark of a wrong gradient is worthless:")
        for p in problems:
            print("  " + p)
        bad = {p.split(":", 1)[0] for p in problems}
        contenders = [c for c in contenders if c.name not in bad]
        print("timing only the contenders whose gradients agree.\n")
    else:
        n = sum(c.grads is not None for c in contenders)
        print(f"gradients of {n} contenders agree (allclose, rtol 1e-9) and match finite differences.")

    timings = interleaved_timings({c.name: c.call for c in contenders},
                                  rounds=args.rounds, target=args.target, warmup=3)
    med = {n: t.median for n, t in timings.items()}

    print(f"\nMLP {BATCH}x{D_IN} -> {D_HIDDEN} (tanh) -> {D_OUT}, MSE, float64; "
          f"gradient w.r.t. W1, b1, W2, b2; median of {args.rounds} interleaved rounds")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus; "
          f"threads: {args.threads if args.threads > 0 else 'library defaults'} "
          f"(OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '-')}); "
          f"malloc: {args.malloc}")

    def ratio(a: str, b: str) -> float:
        return paired_ratio(timings[a], timings[b])

    baseline = {"numpy": "numpy primal", "torch": "torch primal",
                "jax-eager": "jax primal (eager)", "jax-jit": "jax primal (jit)"}
    print("(ratios: median over rounds of the per-round ratio, steadier than a ratio of medians)")
    print(f"\n{'contender':<22}{'median':>11}{'IQR':>22}  {'/ own primal':>13}{'/ numpy primal':>15}")
    for c in contenders:
        t = timings[c.name]
        lo, hi = t.iqr
        own = baseline[c.group]
        own_s = "" if c.name == own or own not in timings else f"{ratio(c.name, own):.2f}x"
        np_s = "" if c.name == "numpy primal" else f"{ratio(c.name, 'numpy primal'):.2f}x"
        print(f"{c.name:<22}{fmt_time(t.median):>11}{'[' + fmt_time(lo) + ', ' + fmt_time(hi) + ']':>22}  "
              f"{own_s:>13}{np_s:>15}")

    ok = True
    print()
    if "sourcediff grad" in med:
        r = ratio("sourcediff grad", "numpy primal")
        ok &= r <= TARGET_RATIO
        print(f"sourcediff / numpy primal = {r:.2f}  (target <= {TARGET_RATIO:.1f}: "
              f"{'met' if r <= TARGET_RATIO else 'MISSED'})")
        if "autograd grad" in med:
            r = ratio("sourcediff grad", "autograd grad")
            ok &= r < 1.0
            print(f"sourcediff / autograd     = {r:.2f}  (target < 1: {'met' if r < 1 else 'MISSED'})")
    else:
        ok = False
        print("sourcediff was not timed (see the notes)")
    if notes:
        print("\nnotes:")
        for n in notes:
            print("  - " + n)
    if problems:
        return 1
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
