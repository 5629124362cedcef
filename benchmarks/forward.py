"""Forward mode and second derivatives: sourcediff against its peers, side by side in one run.

Three problems, each timed round-robin against its own primal (medians of the per-round ratios, see timing.py):

1. Lorenz RK4 (``lorenz.py``'s ``lorenz_loss``), 1000 steps, Python floats:
       sourcediff jvp          jvp in the direction of sigma            (target: at most 3 primals)
       sourcediff jacfwd       jacfwd with respect to (sigma, rho, beta) (target: at most 5 primals)
       jax.jvp (eager)         for information, a few calls
2. The two-layer MLP of ``mlp.py`` (batch 256, 64 -> 256 -> 10): a Hessian-vector product with respect to all
   four weights, ``jvp(grad(loss), weights, v)``               (target: at most 6 primals, faster than the peers)
       autograd                hessian_vector_product(loss)
       jax eager / jax.jit     jax.jvp(jax.grad(loss)), op by op and compiled
3. A least-squares fit of the 10 parameters of an ODE integrated with 40 Euler steps: the full 10 x 10 Hessian
       sourcediff hessian      forward over reverse
       autograd hessian, jax.hessian eager and jitted

Every contender's result is checked against sourcediff's and against central finite differences before
timing; a peer that disagrees is reported and not timed, one that is not installed is skipped with a note.

    python benchmarks/forward.py [--rounds 30] [--malloc steady|default] [--skip jax,autograd] [--only lorenz,mlp,fit]
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import traceback
from pathlib import Path

PEERS = ("autograd", "jax", "jax-jit")
PROBLEMS = ("lorenz", "mlp", "fit")
TARGETS = {"sourcediff jvp": 3.0, "sourcediff jacfwd": 5.0, "sourcediff hvp": 6.0}


def _parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30, help="rounds of interleaved samples (default 30)")
    ap.add_argument("--slow-rounds", type=int, default=3, help="rounds for the eager peers (default 3)")
    ap.add_argument("--target", type=float, default=2e-2, help="seconds per sample")
    ap.add_argument("--threads", type=int, default=1, help="threads for BLAS and XLA (default 1)")
    ap.add_argument("--malloc", choices=("steady", "default"), default="steady",
                    help="fixed glibc malloc thresholds (default), or glibc's defaults")
    ap.add_argument("--skip", default="", help="comma-separated peers to leave out: " + ",".join(PEERS))
    ap.add_argument("--only", default=",".join(PROBLEMS), help="problems to run: " + ",".join(PROBLEMS))
    return ap.parse_args(argv)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from timing import pin_environment
    pin_environment(_parse_args().malloc, _parse_args().threads)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402

from timing import fmt_time, interleaved_timings, paired_ratio  # noqa: E402

import sourcediff  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# -- 3. the fit: dy/dt = theta0 + theta1 y + theta2 y^2 + theta3 sin(y) + ... (10 terms), Euler, squared misfit

def fit_loss(theta, data, dt, steps):
    y = 0.1
    misfit = 0.0
    for k in range(steps):
        rate = theta[0] + theta[1] * y + theta[2] * y * y + theta[3] * np.sin(y) + theta[4] * np.cos(y) \
            + theta[5] * np.tanh(y) + theta[6] * y * y * y + theta[7] * np.exp(-y * y) + theta[8] / (1.0 + y * y) \
            + theta[9] * np.sin(2.0 * y)
        y = y + dt * rate
        misfit = misfit + (y - data[k]) ** 2
    return misfit


def _fit_problem():
    rng = np.random.default_rng(3)
    theta = rng.normal(scale=0.3, size=10)
    data = np.sin(np.linspace(0.0, 2.0, 40))
    return theta, data, 0.05, 40


def _numerical_hessian(f, x, eps=1e-5):
    g = sourcediff.grad(f)
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = eps
        cols.append((g(x + e) - g(x - e)) / (2 * eps))
    return np.stack(cols, axis=-1)


def _agree(name, got, want, problems, rtol=1e-7, atol=1e-9):
    try:
        np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(want, dtype=float), rtol=rtol,
                                   atol=atol)
        return True
    except AssertionError as exc:
        problems.append(f"{name}: {str(exc).splitlines()[3] if len(str(exc).splitlines()) > 3 else exc}")
        return False


def _try(notes, name, build):
    try:
        return build()
    except Exception as exc:  # noqa: BLE001  (a peer or our own transform refused: say so, time the rest)
        notes.append(f"{name}: not timed ({type(exc).__name__}: {str(exc).splitlines()[0]})")
        if os.environ.get("SOURCEDIFF_BENCH_TRACE"):
            traceback.print_exc()
        return None


def lorenz(args, skip, notes, problems):
    from lorenz import PARAMS, STATE0, lorenz_loss
    full = PARAMS + STATE0 + (1000, 1e-3)
    ones = (1.0, 0.0, 0.0)
    fast = {"primal": lambda: lorenz_loss(*full)}
    want_jvp = (lorenz_loss(PARAMS[0] + 1e-6, *full[1:]) - lorenz_loss(PARAMS[0] - 1e-6, *full[1:])) / 2e-6
    want_grad = sourcediff.grad(lorenz_loss, argnums=(0, 1, 2))(*full)

    def ours_jvp():
        return sourcediff.composed.run_jvp(lorenz_loss, full, {}, (0, 1, 2), ones, False)[1]

    jac = sourcediff.jacfwd(lorenz_loss, argnums=(0, 1, 2))
    if _agree("sourcediff jvp", ours_jvp(), want_jvp, problems, rtol=1e-6):
        fast["sourcediff jvp"] = ours_jvp
    if _agree("sourcediff jacfwd", jac(*full), want_grad, problems, rtol=1e-9):
        fast["sourcediff jacfwd"] = lambda: jac(*full)
    slow = {}
    if "jax" not in skip:
        def build():
            import jax
            jax.config.update("jax_enable_x64", True)
            f = lambda s, r, b: lorenz_loss(s, r, b, *full[3:])  # noqa: E731
            run = lambda: jax.jvp(f, PARAMS, ones)[1]  # noqa: E731
            if _agree("jax.jvp (eager)", run(), want_jvp, problems, rtol=1e-6):
                return run
        run = _try(notes, "jax.jvp (eager)", build)
        if run is not None:
            slow["jax.jvp (eager)"] = run
    return "Lorenz RK4, 1000 steps, Python floats", fast, slow


def mlp(args, skip, notes, problems):
    import mlp as model
    weights, (x, y) = model.make_data()
    rng = np.random.default_rng(1)
    v = tuple(rng.normal(size=w.shape) for w in weights)
    loss = model.loss
    grad = sourcediff.grad(loss, argnums=(0, 1, 2, 3))
    fast = {"primal": lambda: loss(*weights, x, y)}

    global DATA, LOSS_GRAD
    DATA, LOSS_GRAD = (x, y), grad

    def hvp():
        return sourcediff.jvp(gradient_of_weights, weights, v)[1]

    eps = 1e-6
    plus = grad(*[w + eps * d for w, d in zip(weights, v)], x, y)
    minus = grad(*[w - eps * d for w, d in zip(weights, v)], x, y)
    want = [(a - b) / (2 * eps) for a, b in zip(plus, minus)]
    got = _try(notes, "sourcediff hvp", hvp)
    if got is not None and all(_agree("sourcediff hvp", g, w, problems, rtol=1e-5, atol=1e-7)
                               for g, w in zip(got, want)):
        fast["sourcediff hvp"] = hvp
    slow = {}
    if "autograd" not in skip:
        def build():
            import autograd
            import autograd.numpy as anp
            from autograd import hessian_vector_product

            sizes = [w.size for w in weights]
            cuts = np.cumsum(sizes)[:-1]

            def flat_loss(theta):  # autograd's hessian_vector_product takes one array
                W1_, b1_, W2_, b2_ = (part.reshape(w.shape) for part, w in zip(anp.split(theta, cuts), weights))
                h = anp.tanh(anp.dot(x, W1_) + b1_)
                return anp.mean((anp.dot(h, W2_) + b2_ - y) ** 2)
            hv = hessian_vector_product(flat_loss)
            theta = np.concatenate([w.ravel() for w in weights])
            direction = np.concatenate([d.ravel() for d in v])
            run = lambda: hv(theta, direction)  # noqa: E731
            del autograd
            parts = np.split(run(), cuts)
            if all(_agree("autograd hvp", g.ravel(), w.ravel(), problems, rtol=1e-5, atol=1e-7)
                   for g, w in zip(parts, want)):
                return run
        run = _try(notes, "autograd hvp", build)
        if run is not None:
            fast["autograd hvp"] = run
    if "jax" not in skip:
        def build():
            import jax
            import jax.numpy as jnp
            jax.config.update("jax_enable_x64", True)

            def jloss(ws):
                h = jnp.tanh(x @ ws[0] + ws[1])
                return jnp.mean((h @ ws[2] + ws[3] - y) ** 2)
            eager = lambda: jax.jvp(jax.grad(jloss), (weights,), (v,))[1]  # noqa: E731
            jitted_fn = jax.jit(lambda ws, vs: jax.jvp(jax.grad(jloss), (ws,), (vs,))[1])
            jitted = lambda: [a.block_until_ready() for a in jitted_fn(weights, v)]  # noqa: E731
            ok = all(_agree("jax hvp", g, w, problems, rtol=1e-5, atol=1e-7) for g, w in zip(eager(), want))
            ok &= all(_agree("jax.jit hvp", g, w, problems, rtol=1e-5, atol=1e-7) for g, w in zip(jitted(), want))
            return (eager, jitted) if ok else None
        runs = _try(notes, "jax hvp", build)
        if runs is not None:
            slow["jax.jvp(jax.grad) eager"] = runs[0]
            fast["jax.jit(jax.jvp(jax.grad))"] = runs[1]
    return "MLP 256x64 -> 256 -> 10, Hessian-vector product", fast, slow


DATA: tuple = ()
LOSS_GRAD = None


def gradient_of_weights(W1, b1, W2, b2):
    """The MLP's gradient as a function of the weights alone (the data are module globals, as jax.jvp of a
    closure over them): its jvp is the Hessian-vector product."""
    return LOSS_GRAD(W1, b1, W2, b2, DATA[0], DATA[1])


def fit(args, skip, notes, problems):
    theta, data, dt, steps = _fit_problem()
    want = _numerical_hessian(lambda t: fit_loss(t, data, dt, steps), theta)
    hess = sourcediff.hessian(fit_loss)
    fast = {"primal": lambda: fit_loss(theta, data, dt, steps)}
    got = _try(notes, "sourcediff hessian", lambda: hess(theta, data, dt, steps))
    if got is not None and _agree("sourcediff hessian", got, want, problems, rtol=1e-5, atol=1e-7):
        fast["sourcediff hessian"] = lambda: hess(theta, data, dt, steps)
    slow = {}
    if "autograd" not in skip:
        def build():
            import autograd
            import autograd.numpy as anp

            loss = _with_numpy(fit_loss, anp)
            h = autograd.hessian(lambda t: loss(t, data, dt, steps))
            if _agree("autograd hessian", h(theta), want, problems, rtol=1e-5, atol=1e-7):
                return lambda: h(theta)
        run = _try(notes, "autograd hessian", build)
        if run is not None:
            slow["autograd hessian"] = run
    if "jax" not in skip:
        def build():
            import jax
            import jax.numpy as jnp
            jax.config.update("jax_enable_x64", True)
            loss = _with_numpy(fit_loss, jnp)
            h = jax.hessian(lambda t: loss(t, data, dt, steps))
            ok = _agree("jax.hessian", h(theta), want, problems, rtol=1e-5, atol=1e-7)
            if "jax-jit" in skip:
                return (lambda: h(theta), None) if ok else None
            hj = jax.jit(h)
            started = time.perf_counter()
            ok &= _agree("jax.jit(jax.hessian)", hj(theta), want, problems, rtol=1e-5, atol=1e-7)
            notes.append(f"jax.jit(jax.hessian): the first call (tracing the Python loop and compiling) took "
                         f"{time.perf_counter() - started:.1f} s")
            return (lambda: h(theta), lambda: hj(theta).block_until_ready()) if ok else None
        runs = _try(notes, "jax hessian", build)
        if runs is not None:
            slow["jax.hessian (eager)"] = runs[0]
            if runs[1] is not None:
                fast["jax.jit(jax.hessian)"] = runs[1]
    return "ODE least squares, 10 parameters, 40 Euler steps: the 10 x 10 Hessian", fast, slow


def _with_numpy(f, module):
    """``f`` with the name ``np`` bound to ``module`` (autograd.numpy, jax.numpy): the same source for the peers."""
    import types
    return types.FunctionType(f.__code__, dict(f.__globals__, np=module), f.__name__, f.__defaults__)


def main(argv=None) -> int:
    args = _parse_args(argv)
    skip = {p.strip() for p in args.skip.split(",") if p.strip()}
    chosen = [p.strip() for p in args.only.split(",") if p.strip()]
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus; "
          f"threads: {args.threads}; malloc: {args.malloc}")
    print("(ratios: median over rounds of the per-round ratio to the primal of the same round)")
    missed = False
    for problem in chosen:
        notes: list[str] = []
        problems: list[str] = []
        title, fast, slow = {"lorenz": lorenz, "mlp": mlp, "fit": fit}[problem](args, skip, notes, problems)
        timings = interleaved_timings(fast, rounds=args.rounds, target=args.target, warmup=2)
        slow_timings = interleaved_timings({"primal": fast["primal"], **slow}, rounds=args.slow_rounds,
                                           inner=1, warmup=1) if slow else {}
        print(f"\n{title}")
        print(f"  {'contender':<30}{'median':>11}  {'/ primal':>9}")
        for group in (timings, slow_timings):
            for name, t in group.items():
                ratio = "" if name == "primal" else f"{paired_ratio(t, group['primal']):.2f}x"
                print(f"  {name:<30}{fmt_time(t.median):>11}  {ratio:>9}")
        for name, target in TARGETS.items():
            if name in timings:
                r = paired_ratio(timings[name], timings["primal"])
                missed |= r > target
                print(f"  {name} / primal = {r:.2f} (target <= {target:.1f}: {'met' if r <= target else 'MISSED'})")
        for peer in [n for n in list(timings) + list(slow_timings) if n not in TARGETS and n != "primal"
                     and not n.startswith("sourcediff")]:
            ours = next((n for n in timings if n.startswith("sourcediff")), None)
            if ours is None:
                continue
            theirs = timings.get(peer) or slow_timings.get(peer)
            mine = timings[ours].median
            print(f"  {ours} / {peer} = {mine / theirs.median:.3g} (ratio of medians)")
        for line in problems:
            print(f"  DISAGREES: {line}")
        for line in notes:
            print(f"  note: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
