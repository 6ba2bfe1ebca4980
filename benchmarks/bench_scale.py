"""Throughput at scale: a million users on all cores, next to the machine's memory bandwidth.

Measures, and prints as a markdown table (d = 5, 100 items, float64, N = 10⁶ by default):

* the default step (one item, always consumed, no noise), ``PopulationEnv.step_batch``,
  with ``engine="numba"`` (the fused kernels) and ``engine="numpy"``;
* the same with observation and reward noise (``obs_std = reward_std = 0.1``);
* a slate step, ``k = 10`` items, multinomial-logit choice;
* ``simulate`` with the random policy and the default metrics every 10 steps, over
  ``--simulate-steps`` steps (reset, the metrics' one-off set-up such as
  ``jaccard_nn``'s neighbour search, policy, steps and metrics all timed);
* the original's Python loop: ``RECEnv(legacy=True)`` — SCOPE-RL 0.2.1's arithmetic and
  draws, one user at a time — stepped ``--legacy-steps`` times, for the ratio;
* the memory bandwidth: numpy's single-threaded copy, and a copy and a triad
  (``a = b + s·c``) on all of numba's threads, in GB/s of bytes read plus written.

Each throughput row is the best of ``--repeats`` timed runs of ``--steps`` steps after
a warm-up (compilation included there), with the median, and the 1-minute load average
before and after the row: on a shared machine, read the rows taken at a low load.

Run from the repository root (numba installed: ``pip install -e '.[fast]'``)::

    python benchmarks/bench_scale.py            # 1-2 minutes
    python benchmarks/bench_scale.py --quick    # 10⁵ users, a few seconds
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
from bench_population import cpu_model  # the population benchmark's machine line

import recgym
from recgym import RECEnv
from recgym.population import PopulationEnv
from recgym.population.simulation import simulate

N_ITEMS, D = 100, 5
NOISE = {"obs_std": 0.1, "reward_std": 0.1}
MNL = {"slate_size": 10, "choice_model": "mnl"}
#: Targets of issue 15 at N = 10⁶ (user-steps per second), and the ratio to the loop.
TARGETS = {"default": 80e6, "noise": 30e6, "mnl": 15e6, "simulate": 20e6}
RATIO_TARGET = 1500


def load() -> float:
    return os.getloadavg()[0]


def machine() -> str:
    try:
        import numba

        threads = f"numba {numba.__version__} on {numba.get_num_threads()} threads"
    except ImportError:
        threads = "numba not installed"
    return (
        f"{cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy "
        f"{np.__version__}, {threads}, recgym {recgym.__version__}"
    )


# --- memory bandwidth ---------------------------------------------------------------------


def bandwidth(megabytes: int, repeats: int) -> dict[str, float]:
    """GB/s (bytes read + written) of a copy and a triad over arrays of ``megabytes``."""
    n = megabytes * 2**20 // 8
    b = np.random.default_rng(0).random(n)
    c = np.random.default_rng(1).random(n)
    a = np.empty(n)
    a[:] = 0.0  # fault the pages in before timing

    def best(function, bytes_moved: int) -> float:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        return bytes_moved / min(times) / 1e9

    results = {"numpy copy (1 thread)": best(lambda: np.copyto(a, b), 16 * n)}
    try:
        from numba import njit, prange
    except ImportError:
        return results

    @njit(parallel=True)
    def copy(out, x):  # pragma: no cover - compiled
        for i in prange(x.shape[0]):
            out[i] = x[i]

    @njit(parallel=True)
    def triad(out, x, y, scalar):  # pragma: no cover - compiled
        for i in prange(x.shape[0]):
            out[i] = x[i] + scalar * y[i]

    copy(a, b)
    triad(a, b, c, 3.0)
    results["copy (all threads)"] = best(lambda: copy(a, b), 16 * n)
    results["triad (all threads)"] = best(lambda: triad(a, b, c, 3.0), 24 * n)
    return results


# --- throughput ---------------------------------------------------------------------------


def make(n: int, engine: str, **kwargs) -> PopulationEnv:
    return PopulationEnv(
        n_users=n, n_items=N_ITEMS, user_feature_dim=D, item_feature_dim=D,
        step_per_episode=10**9, random_state=0, engine=engine, **kwargs,
    )  # fmt: skip


def actions_for(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    if k == 1:
        return rng.integers(N_ITEMS, size=n)
    pool = np.argsort(rng.random((4096, N_ITEMS)), axis=1)[:, :k]  # distinct items
    return np.ascontiguousarray(pool[rng.integers(len(pool), size=n)])


def time_steps(env: PopulationEnv, steps: int, repeats: int) -> list[float]:
    """User-steps per second of ``repeats`` runs of ``steps`` ``step_batch`` calls."""
    n = env.n_users
    rng = np.random.default_rng(0)
    batches = [actions_for(n, env.config.slate_size, rng) for _ in range(2)]
    env.reset_batch(seed=0)
    env.step_batch(batches[0])  # warm-up: compiles (or loads) the kernels
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for step in range(steps):
            env.step_batch(batches[step % 2])
        rates.append(n * steps / (time.perf_counter() - start))
    return rates


def time_simulate(n: int, engine: str, steps: int, repeats: int) -> list[float]:
    """User-steps per second of ``simulate`` (random policy, default metrics every 10)."""
    env = make(n, engine)
    simulate(env, "random", steps=2, seed=0, every=10, progress=False)  # warm-up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        simulate(env, "random", steps=steps, seed=0, every=10, progress=False)
        rates.append(n * steps / (time.perf_counter() - start))
    return rates


def legacy_loop(steps: int, repeats: int) -> list[float]:
    """Steps per second of the original's arithmetic in a Python loop (RECEnv, legacy)."""
    env = RECEnv(n_items=N_ITEMS, random_state=0, legacy=True)
    actions = np.random.default_rng(0).integers(N_ITEMS, size=steps).tolist()
    rates = []
    for _ in range(repeats):
        env.reset(seed=0)
        start = time.perf_counter()
        for action in actions:
            terminated = env.step(action)[2]
            if terminated:
                env.reset()
        rates.append(steps / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10^5 users, few repeats")
    parser.add_argument("--users", type=int, default=None, help="population size (10^6)")
    parser.add_argument("--steps", type=int, default=None, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per row")
    parser.add_argument("--legacy-steps", type=int, default=20_000, help="loop steps per run")
    parser.add_argument(
        "--simulate-steps", type=int, default=None, help="steps per simulate run (100)"
    )
    parser.add_argument("--bandwidth-mb", type=int, default=400, help="array size, MiB")
    parser.add_argument(
        "--engines", default="numba,numpy", help="engines of the step rows (comma-separated)"
    )
    args = parser.parse_args()
    n = args.users or (10**5 if args.quick else 10**6)
    steps = args.steps or (10 if args.quick else 20)
    repeats = args.repeats or (2 if args.quick else 5)
    engines = [engine for engine in args.engines.split(",") if engine]
    simulate_steps = args.simulate_steps or (20 if args.quick else 100)

    print(f"Machine: {machine()}")
    print(f"N = {n:,} users, d = {D}, {N_ITEMS} items, float64; {repeats} runs of {steps} steps")
    before = load()
    rates = bandwidth(args.bandwidth_mb // (8 if args.quick else 1), repeats)
    print(f"\nMemory bandwidth (load {before:.2f}-{load():.2f}):")
    for name, value in rates.items():
        print(f"* {name}: {value:.1f} GB/s")

    rows = []  # (label, key, engine, rates, load before, load after)
    for label, key, kwargs in (
        ("default step", "default", {}),
        ("obs + reward noise", "noise", NOISE),
        ("slate k = 10, MNL", "mnl", MNL),
    ):
        for engine in engines:
            before = load()
            result = time_steps(make(n, engine, **kwargs), steps, repeats)
            rows.append((label, key, engine, result, before, load()))
    label = f"simulate, {simulate_steps} steps, random, metrics every 10"
    for engine in engines:
        before = load()
        result = time_simulate(n, engine, simulate_steps, max(1, repeats // 2))
        rows.append((label, "simulate", engine, result, before, load()))
    before = load()
    loop = legacy_loop(args.legacy_steps, repeats)
    loop_best = max(loop)

    print(
        "\n| case | engine | M user-steps/s (best) | median | × loop (best) | load 1-min "
        "| target |\n|---|---|---:|---:|---:|---|---|"
    )
    for label, key, engine, result, low, high in rows:
        best, median = max(result), statistics.median(result)
        target = TARGETS[key]
        verdict = "met" if best >= target else "missed"
        print(
            f"| {label} | {engine} | {best / 1e6:.1f} | {median / 1e6:.1f} "
            f"| {best / loop_best:,.0f} | {low:.2f}-{high:.2f} "
            f"| ≥ {target / 1e6:.0f} M: {verdict if n == 10**6 else 'n/a'} |"
        )
    print(
        f"| original's loop (RECEnv legacy=True) | python | {loop_best / 1e6:.4f} "
        f"| {statistics.median(loop) / 1e6:.4f} | 1 | {before:.2f}-{load():.2f} | |"
    )
    default = [max(r[3]) for r in rows if r[1] == "default" and r[2] == "numba"]
    if default:
        print(
            f"\nDefault step with numba: {default[0] / loop_best:,.0f}× the loop "
            f"(target ≥ {RATIO_TARGET:,}×)"
        )


if __name__ == "__main__":
    main()
