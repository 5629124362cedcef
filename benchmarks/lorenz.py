"""Gradient of an RK4-integrated Lorenz system in plain Python floats: sourcediff against its peers.

Model: the Lorenz system dx/dt = sigma (y - x), dy/dt = x (rho - z) - y,
dz/dt = x y - beta z, integrated with classical RK4 (4 stages, 12 scalar
right-hand-side evaluations a step) for 1000 steps of dt = 0.001 from
(1, 1, 1), at sigma = 10, rho = 28, beta = 8/3. The loss is the squared
distance of the final state from the origin, x^2 + y^2 + z^2. The gradient is
taken with respect to (sigma, rho, beta). Everything is a Python float: this
measures the cost per scalar operation, which is where op-by-op tapes
(autograd, jax eager) pay the most.

Why T = 1 (1000 steps of 0.001) and not T = 10 (1000 steps of 0.01): Lorenz
is chaotic, and sensitivities to the parameters grow like exp(0.9 T) (0.9 is
its largest Lyapunov exponent). Over long horizons the gradient of a
trajectory loss is huge and erratic, so it tells a fitting routine nothing.
With T = 1 the gradient is of order 1 to 300 and finite differences confirm it
to 1e-8. The timings depend on the number of steps, not on dt (``--steps``,
``--dt`` change them).

Contenders, timed side by side in one run (round-robin, medians; see timing.py):

    python primal           lorenz_loss itself
    sourcediff grad         sourcediff.grad(lorenz_loss, argnums=(0, 1, 2))
    hand-written adjoint    states stored on a list, then one backward sweep (the reference)
    tangent grad            tangent.grad(lorenz_loss, wrt=(0, 1, 2))
    autograd grad           autograd.grad(lorenz_loss, (0, 1, 2)), the same function
    jax.grad (eager)        jax.grad(lorenz_loss, argnums=(0, 1, 2)), float64, no jit
    torch backward          lorenz_loss on 0-d float64 tensors, torch.autograd.grad

For information, the fast contenders also run ``lorenz_loss_rhs``, the same
integrator written with a helper ``lorenz_rhs`` called from the loop.

autograd, jax eager and torch cost seconds a call, thousands of times the
primal. They are timed in a second round-robin (``--slow-rounds``, one call a
sample) against the primal and sourcediff, so that the whole script runs in
about two minutes. The fast contenders get ``--rounds`` rounds of samples of
about ``--target`` seconds each.

Before timing, every contender's gradient is checked against central finite
differences (rtol 1e-6) and against the hand-written adjoint (rtol 1e-9). A
contender that fails or disagrees is reported and not timed. A peer that is
not installed is skipped with a note.

    python benchmarks/lorenz.py [--rounds 50] [--slow-rounds 5] [--skip jax,autograd] [--show-source] [--check]

``--check`` exits 1 unless sourcediff's gradient costs at most 6 primals.
``--threads`` and ``--malloc`` are as in ``mlp.py`` (they matter little for
scalar code, and are there so that the two benchmarks run alike).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from pathlib import Path

PEERS = ("tangent", "autograd", "jax", "torch")


def _parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=50, help="rounds for the fast contenders (default 50)")
    ap.add_argument("--slow-rounds", type=int, default=5,
                    help="rounds for autograd, jax eager and torch, one call a sample (default 5)")
    ap.add_argument("--target", type=float, default=2e-2,
                    help="seconds per sample; fast calls are repeated to fill it")
    ap.add_argument("--steps", type=int, default=1000, help="RK4 steps (default 1000)")
    ap.add_argument("--dt", type=float, default=1e-3, help="RK4 step size (default 0.001)")
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for BLAS, XLA and torch (default 1; 0: leave the defaults)")
    ap.add_argument("--malloc", choices=("steady", "default"), default="steady",
                    help="fixed glibc malloc thresholds for every contender (default), or glibc's defaults")
    ap.add_argument("--skip", default="", help="comma-separated peers to leave out: " + ",".join(PEERS))
    ap.add_argument("--show-source", action="store_true", help="print sourcediff's generated gradient")
    ap.add_argument("--check", action="store_true",
                    help=f"exit 1 unless sourcediff/primal <= {6.0:.1f}")
    return ap.parse_args(argv)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from timing import pin_environment
    pin_environment(_parse_args().malloc, _parse_args().threads)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import calibrate_inner, fmt_time, interleaved_timings, paired_ratio  # noqa: E402

TARGET_RATIO = 6.0
PARAMS = (10.0, 28.0, 8.0 / 3.0)      # sigma, rho, beta
STATE0 = (1.0, 1.0, 1.0)              # x0, y0, z0
NAMES = ("sigma", "rho", "beta")


# The primal, as a scientist writes it: one loop, the four stages inline.

def lorenz_loss(sigma, rho, beta, x0, y0, z0, n_steps, dt):
    x = x0
    y = y0
    z = z0
    for _ in range(n_steps):
        k1x = sigma * (y - x)
        k1y = x * (rho - z) - y
        k1z = x * y - beta * z
        x2 = x + 0.5 * dt * k1x
        y2 = y + 0.5 * dt * k1y
        z2 = z + 0.5 * dt * k1z
        k2x = sigma * (y2 - x2)
        k2y = x2 * (rho - z2) - y2
        k2z = x2 * y2 - beta * z2
        x3 = x + 0.5 * dt * k2x
        y3 = y + 0.5 * dt * k2y
        z3 = z + 0.5 * dt * k2z
        k3x = sigma * (y3 - x3)
        k3y = x3 * (rho - z3) - y3
        k3z = x3 * y3 - beta * z3
        x4 = x + dt * k3x
        y4 = y + dt * k3y
        z4 = z + dt * k3z
        k4x = sigma * (y4 - x4)
        k4y = x4 * (rho - z4) - y4
        k4z = x4 * y4 - beta * z4
        x = x + dt / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
        y = y + dt / 6.0 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
        z = z + dt / 6.0 * (k1z + 2.0 * k2z + 2.0 * k3z + k4z)
    return x * x + y * y + z * z


# The same integrator with the right-hand side in a helper (for information).

def lorenz_rhs(x, y, z, sigma, rho, beta):
    return sigma * (y - x), x * (rho - z) - y, x * y - beta * z


def lorenz_loss_rhs(sigma, rho, beta, x0, y0, z0, n_steps, dt):
    x = x0
    y = y0
    z = z0
    for _ in range(n_steps):
        k1x, k1y, k1z = lorenz_rhs(x, y, z, sigma, rho, beta)
        k2x, k2y, k2z = lorenz_rhs(x + 0.5 * dt * k1x, y + 0.5 * dt * k1y, z + 0.5 * dt * k1z, sigma, rho, beta)
        k3x, k3y, k3z = lorenz_rhs(x + 0.5 * dt * k2x, y + 0.5 * dt * k2y, z + 0.5 * dt * k2z, sigma, rho, beta)
        k4x, k4y, k4z = lorenz_rhs(x + dt * k3x, y + dt * k3y, z + dt * k3z, sigma, rho, beta)
        x = x + dt / 6.0 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
        y = y + dt / 6.0 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
        z = z + dt / 6.0 * (k1z + 2.0 * k2z + 2.0 * k3z + k4z)
    return x * x + y * y + z * z


# The reference: a hand-written adjoint. The forward pass stores the state at
# the start of each step; the backward pass recomputes that step's stages and
# sweeps them in reverse. Every partial is written out by hand.

def lorenz_loss_adjoint(sigma, rho, beta, x0, y0, z0, n_steps, dt):
    a = 0.5 * dt
    h = dt / 6.0
    states = []
    x = x0
    y = y0
    z = z0
    for _ in range(n_steps):
        states.append((x, y, z))
        k1x = sigma * (y - x)
        k1y = x * (rho - z) - y
        k1z = x * y - beta * z
        x2 = x + a * k1x
        y2 = y + a * k1y
        z2 = z + a * k1z
        k2x = sigma * (y2 - x2)
        k2y = x2 * (rho - z2) - y2
        k2z = x2 * y2 - beta * z2
        x3 = x + a * k2x
        y3 = y + a * k2y
        z3 = z + a * k2z
        k3x = sigma * (y3 - x3)
        k3y = x3 * (rho - z3) - y3
        k3z = x3 * y3 - beta * z3
        x4 = x + dt * k3x
        y4 = y + dt * k3y
        z4 = z + dt * k3z
        k4x = sigma * (y4 - x4)
        k4y = x4 * (rho - z4) - y4
        k4z = x4 * y4 - beta * z4
        x = x + h * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
        y = y + h * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
        z = z + h * (k1z + 2.0 * k2z + 2.0 * k3z + k4z)

    # d loss / d (x, y, z) at the end
    xb = 2.0 * x
    yb = 2.0 * y
    zb = 2.0 * z
    sb = 0.0
    rb = 0.0
    bb = 0.0
    for x, y, z in reversed(states):
        # recompute the stage points of this step
        k1x = sigma * (y - x)
        k1y = x * (rho - z) - y
        k1z = x * y - beta * z
        x2 = x + a * k1x
        y2 = y + a * k1y
        z2 = z + a * k1z
        k2x = sigma * (y2 - x2)
        k2y = x2 * (rho - z2) - y2
        k2z = x2 * y2 - beta * z2
        x3 = x + a * k2x
        y3 = y + a * k2y
        z3 = z + a * k2z
        k3x = sigma * (y3 - x3)
        k3y = x3 * (rho - z3) - y3
        k3z = x3 * y3 - beta * z3
        x4 = x + dt * k3x
        y4 = y + dt * k3y
        z4 = z + dt * k3z
        # x_new = x + h (k1 + 2 k2 + 2 k3 + k4): adjoints of the k's
        k1xb = h * xb
        k1yb = h * yb
        k1zb = h * zb
        k4xb = k1xb
        k4yb = k1yb
        k4zb = k1zb
        k2xb = 2.0 * k1xb
        k2yb = 2.0 * k1yb
        k2zb = 2.0 * k1zb
        k3xb = k2xb
        k3yb = k2yb
        k3zb = k2zb
        # stage 4: k4 = f(x4, y4, z4); x4 = x + dt k3
        sb += (y4 - x4) * k4xb
        rb += x4 * k4yb
        bb -= z4 * k4zb
        x4b = -sigma * k4xb + (rho - z4) * k4yb + y4 * k4zb
        y4b = sigma * k4xb - k4yb + x4 * k4zb
        z4b = -x4 * k4yb - beta * k4zb
        xb += x4b
        yb += y4b
        zb += z4b
        k3xb += dt * x4b
        k3yb += dt * y4b
        k3zb += dt * z4b
        # stage 3: k3 = f(x3, y3, z3); x3 = x + a k2
        sb += (y3 - x3) * k3xb
        rb += x3 * k3yb
        bb -= z3 * k3zb
        x3b = -sigma * k3xb + (rho - z3) * k3yb + y3 * k3zb
        y3b = sigma * k3xb - k3yb + x3 * k3zb
        z3b = -x3 * k3yb - beta * k3zb
        xb += x3b
        yb += y3b
        zb += z3b
        k2xb += a * x3b
        k2yb += a * y3b
        k2zb += a * z3b
        # stage 2: k2 = f(x2, y2, z2); x2 = x + a k1
        sb += (y2 - x2) * k2xb
        rb += x2 * k2yb
        bb -= z2 * k2zb
        x2b = -sigma * k2xb + (rho - z2) * k2yb + y2 * k2zb
        y2b = sigma * k2xb - k2yb + x2 * k2zb
        z2b = -x2 * k2yb - beta * k2zb
        xb += x2b
        yb += y2b
        zb += z2b
        k1xb += a * x2b
        k1yb += a * y2b
        k1zb += a * z2b
        # stage 1: k1 = f(x, y, z)
        sb += (y - x) * k1xb
        rb += x * k1yb
        bb -= z * k1zb
        x1b = -sigma * k1xb + (rho - z) * k1yb + y * k1zb
        y1b = sigma * k1xb - k1yb + x * k1zb
        z1b = -x * k1yb - beta * k1zb
        xb += x1b
        yb += y1b
        zb += z1b
    return sb, rb, bb


class _Skipped(Exception):
    """A peer left out with --skip."""


class Contender:
    """A timed callable, and how to get its gradient as three floats."""

    def __init__(self, name, call, grads=None, slow=False, info=False):
        self.name = name
        self.call = call          # zero-argument callable to time
        self.grads = grads        # zero-argument callable returning (d/dsigma, d/drho, d/dbeta), or None
        self.slow = slow          # seconds a call: timed in the slow round-robin, one call a sample
        self.info = info          # the helper-function variant, shown for information


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


def build_contenders(args, notes, show_source=False, threads=1, skip=()):
    sigma, rho, beta = PARAMS
    x0, y0, z0 = STATE0
    n, dt = args.steps, args.dt
    rest = (x0, y0, z0, n, dt)
    call = (sigma, rho, beta) + rest

    out = [Contender("python primal", lambda: lorenz_loss(*call)),
           Contender("hand-written adjoint", lambda: lorenz_loss_adjoint(*call),
                     lambda: lorenz_loss_adjoint(*call))]

    # --- sourcediff: the loop support may not be in yet; a failure must not hide the peers' figures.
    try:
        import sourcediff
        refusal = sourcediff.SourcediffError
    except Exception as e:
        sourcediff, refusal = None, ()
        notes.append(f"sourcediff: failed: cannot import: {_first_line(e)}")
    for label, fn, info in (("sourcediff grad", lorenz_loss, False),
                            ("sourcediff grad (rhs helper)", lorenz_loss_rhs, True)):
        if sourcediff is None:
            break
        try:
            t0 = time.perf_counter()
            g_ours = sourcediff.grad(fn, argnums=(0, 1, 2))
            g_ours(*call)
            notes.append(f"{label}: grad() + first call took {fmt_time(time.perf_counter() - t0)} "
                         f"(transform + compile, once)")
            if show_source:
                print(f"---- sourcediff.grad({fn.__name__}, argnums=(0, 1, 2)).source ----")
                print(g_ours.source)
                print("-" * 60)
            out.append(Contender(label, lambda g=g_ours: g(*call), lambda g=g_ours: g(*call), info=info))
        except Exception as e:
            msg = f"{label.replace('sourcediff grad', 'sourcediff')}: failed: {_first_line(e)}"
            print(msg)
            notes.append(msg)
            if not isinstance(e, refusal):
                traceback.print_exc()  # a transformer bug, not a refusal: show where
    out.insert(1, Contender("python primal (rhs helper)", lambda: lorenz_loss_rhs(*call), info=True))

    # --- tangent
    try:
        if "tangent" in skip:
            raise _Skipped
        import tangent
        for label, fn, info in (("tangent grad", lorenz_loss, False),
                                ("tangent grad (rhs helper)", lorenz_loss_rhs, True)):
            try:
                g_tg = tangent.grad(fn, wrt=(0, 1, 2), verbose=0)
                g_tg(*call)
                out.append(Contender(label, lambda g=g_tg: g(*call), lambda g=g_tg: g(*call), info=info))
            except Exception as e:
                notes.append(f"{label.replace('tangent grad', 'tangent')}: failed: {_first_line(e)}")
    except _Skipped:
        notes.append("tangent: skipped (--skip)")
    except ImportError:
        notes.append("tangent not installed: skipped (pip install -e '.[bench]')")

    # --- autograd: the same function; float arithmetic needs no autograd.numpy
    try:
        if "autograd" in skip:
            raise _Skipped
        import autograd
        g_ag = autograd.grad(lorenz_loss, (0, 1, 2))
        out.append(Contender("autograd grad", lambda: g_ag(*call), lambda: g_ag(*call), slow=True))
    except _Skipped:
        notes.append("autograd: skipped (--skip)")
    except ImportError:
        notes.append("autograd not installed: skipped (pip install -e '.[bench]')")

    # --- jax, eager: the same Python code, every float operation dispatched on its own
    try:
        if "jax" in skip:
            raise _Skipped
        import jax
        jax.config.update("jax_enable_x64", True)
        g_jax = jax.grad(lorenz_loss, argnums=(0, 1, 2))
        out.append(Contender("jax.grad (eager)", lambda: jax.block_until_ready(g_jax(*call)),
                             lambda: g_jax(*call), slow=True))
        notes.append(f"jax {jax.__version__} on {jax.devices()[0].platform}, float64, no jit")
    except _Skipped:
        notes.append("jax: skipped (--skip)")
    except ImportError:
        notes.append("jax not installed: skipped (pip install -e '.[bench]')")

    # --- torch (optional, installed by hand: pip install torch==2.13.0): 0-d float64 tensors
    try:
        if "torch" in skip:
            raise _Skipped
        import torch
        if threads > 0:
            torch.set_num_threads(threads)
        tparams = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in PARAMS]

        def torch_grad():
            return torch.autograd.grad(lorenz_loss(*tparams, *rest), tparams)

        out.append(Contender("torch backward", torch_grad,
                             lambda: tuple(t.item() for t in torch_grad()), slow=True))
        notes.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads, 0-d tensors")
    except _Skipped:
        notes.append("torch: skipped (--skip)")
    except ImportError:
        notes.append("torch not installed: skipped (optional: pip install torch==2.13.0)")
    return out


def finite_differences(args, rel_step=1e-6):
    """Central differences of lorenz_loss in each parameter, step relative to the parameter."""
    fd = []
    for k, p in enumerate(PARAMS):
        step = rel_step * max(1.0, abs(p))
        plus, minus = list(PARAMS), list(PARAMS)
        plus[k] += step
        minus[k] -= step
        rest = STATE0 + (args.steps, args.dt)
        fd.append((lorenz_loss(*plus, *rest) - lorenz_loss(*minus, *rest)) / (2 * step))
    return tuple(fd)


def check_gradients(contenders, args) -> tuple[list[str], tuple, tuple]:
    """Every gradient agrees with central finite differences and with the hand-written adjoint."""
    import math

    problems = []
    fd = finite_differences(args)
    ref = lorenz_loss_adjoint(*PARAMS, *STATE0, args.steps, args.dt)
    for c in contenders:
        if c.grads is None:
            continue
        try:
            gs = tuple(float(g) for g in c.grads())
        except Exception as e:
            problems.append(f"{c.name}: gradient failed: {_first_line(e)}")
            continue
        if len(gs) != 3 or not all(math.isfinite(g) for g in gs):
            problems.append(f"{c.name}: gradient {gs} is not three finite floats")
            continue
        for k in range(3):
            if not math.isclose(gs[k], fd[k], rel_tol=1e-6, abs_tol=1e-9):
                problems.append(f"{c.name}: d loss/d {NAMES[k]} = {gs[k]:.12g}, "
                                f"finite differences say {fd[k]:.12g}")
                break
            if not math.isclose(gs[k], ref[k], rel_tol=1e-9, abs_tol=1e-12):
                problems.append(f"{c.name}: d loss/d {NAMES[k]} = {gs[k]:.15g}, "
                                f"the hand-written adjoint says {ref[k]:.15g}")
                break
    return problems, fd, ref


def main(argv=None) -> int:
    args = _parse_args(argv)
    skip = {p.strip() for p in args.skip.split(",") if p.strip()}
    unknown = skip - set(PEERS)
    if unknown:
        print(f"--skip: unknown peer(s) {', '.join(sorted(unknown))}; known: {', '.join(PEERS)}", file=sys.stderr)
        return 2

    notes: list[str] = []
    t_start = time.perf_counter()
    contenders = build_contenders(args, notes, show_source=args.show_source, threads=args.threads, skip=skip)

    problems, fd, ref = check_gradients(contenders, args)
    if problems:
        print("GRADIENTS DISAGREE; a benchmark of a wrong gradient is worthless:")
        for p in problems:
            print("  " + p)
        bad = {p.split(":", 1)[0] for p in problems}
        contenders = [c for c in contenders if c.name not in bad]
        print("timing only the contenders whose gradients agree.\n")
    else:
        n = sum(c.grads is not None for c in contenders)
        print(f"gradients of {n} contenders agree with the hand-written adjoint (rtol 1e-9) "
              f"and with finite differences (rtol 1e-6).")
    print("d loss/d (sigma, rho, beta) = (" + ", ".join(f"{g:.10g}" for g in ref) + ")")

    by_name = {c.name: c for c in contenders}
    fast = {c.name: c.call for c in contenders if not c.slow}
    timings = interleaved_timings(fast, rounds=args.rounds, target=args.target, warmup=3)

    # The slow peers: one call a sample, against the primal (and sourcediff) in the same rounds.
    slow_names = [c.name for c in contenders if c.slow]
    slow_timings = {}
    if slow_names and args.slow_rounds > 0:
        partners = [n for n in ("python primal", "sourcediff grad") if n in by_name]
        slow = {n: by_name[n].call for n in partners + slow_names}
        inner = {n: calibrate_inner(by_name[n].call, args.target) for n in partners}
        inner.update({n: 1 for n in slow_names})
        # warmup 0: every slow contender ran during the gradient check
        slow_timings = interleaved_timings(slow, rounds=args.slow_rounds, inner=inner, warmup=0)

    print(f"\nLorenz, RK4, {args.steps} steps of dt={args.dt:g} (T={args.steps * args.dt:g}), Python floats; "
          f"gradient w.r.t. sigma, rho, beta")
    print(f"fast contenders: median of {args.rounds} interleaved rounds; autograd, jax eager, torch: "
          f"median of {args.slow_rounds} rounds of one call, interleaved with the primal")
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus; threads: "
          f"{args.threads if args.threads > 0 else 'library defaults'}; malloc: {args.malloc}")
    print("(ratios: median over rounds of the per-round ratio, steadier than a ratio of medians; "
          "a (rhs helper) contender over the (rhs helper) primal)")

    def timing(name):
        return slow_timings[name] if name in slow_timings and by_name[name].slow else timings.get(name)

    def ratio(a: str, b: str) -> float | None:
        """Paired ratio, from the round-robin that timed both (the slow one when a slow peer is involved)."""
        if by_name[a].slow or by_name[b].slow:
            if a in slow_timings and b in slow_timings:
                return paired_ratio(slow_timings[a], slow_timings[b])
            return None
        if a in timings and b in timings:
            return paired_ratio(timings[a], timings[b])
        return None

    print(f"\n{'contender':<30}{'median':>11}{'IQR':>24}{'rounds':>8}  {'/ primal':>10}")
    for c in contenders:
        t = timing(c.name)
        if t is None:
            continue
        lo, hi = t.iqr
        primal = "python primal (rhs helper)" if c.info else "python primal"
        r = None if c.name == primal else ratio(c.name, primal)
        r_s = "" if r is None else f"{r:.1f}x" if r >= 100 else f"{r:.2f}x"
        print(f"{c.name:<30}{fmt_time(t.median):>11}{'[' + fmt_time(lo) + ', ' + fmt_time(hi) + ']':>24}"
              f"{len(t.samples):>8}  {r_s:>10}")

    ok = True
    print()
    if "sourcediff grad" in by_name and "sourcediff grad" in timings:
        r = ratio("sourcediff grad", "python primal")
        ok &= r <= TARGET_RATIO
        print(f"sourcediff / python primal         = {r:.2f}  (target <= {TARGET_RATIO:.1f}: "
              f"{'met' if r <= TARGET_RATIO else 'MISSED'})")
        for peer in ("hand-written adjoint", "tangent grad", "autograd grad", "jax.grad (eager)", "torch backward"):
            if peer in by_name:
                r = ratio("sourcediff grad", peer)
                if r is not None:
                    print(f"sourcediff / {peer:<22}= {r:.3g}")
    else:
        ok = False
        print("sourcediff was not timed (see the notes)")
    notes.append(f"whole run: {time.perf_counter() - t_start:.0f} s")
    if notes:
        print("\nnotes:")
        for n in notes:
            print("  - " + n)
    if problems:
        return 1
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
