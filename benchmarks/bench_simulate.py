"""Speed of ``simulate``: steps per second, and where the time goes.

Two parts, each printed as a markdown table:

1. **Greedy at scale** — ``simulate`` with the greedy policy on N = 10⁵ users, 1,000
   items, d = 16, every metric of ``METRICS`` recorded at every step. The same loop is
   then written out by hand (``policy.act`` → ``env.step_batch`` → bookkeeping → each
   metric), and every part is timed separately, so the table shows how a step splits
   between policy scoring, the environment and the metrics.

   ``jaccard_nn`` needs every user's nearest neighbour in the initial preferences,
   found once per run with a k-d tree. In d = 16 that search is far slower than the
   rest of a short run (minutes at N = 10⁵), so by default it is *estimated* — the tree
   is built on all users and queried for ``--nn-sample`` of them, and the time is
   scaled to N — and ``simulate`` itself is timed without ``jaccard_nn``. The per-step
   cost of ``jaccard_nn`` is still measured in the hand-written loop (its neighbours
   there come from the sampled tree, or are a stand-in derangement for the others; the
   per-step cost does not depend on which users are paired). ``--full-nn`` runs the
   exact search and ``simulate`` with ``jaccard_nn`` too.

2. **T-RECS size** — 100 items, d = 5 (the size at which T-RECS's content-filtering
   simulation runs about 38,000 user-steps/s on this machine class), N = 10⁴ and 10⁵:
   user-steps per second of the whole ``simulate`` loop (policy + environment +
   metrics) for the greedy and collaborative-filtering policies, with every metric at
   every step, with the default metrics every 10 steps, and with no metrics.

Run from the repository root::

    python benchmarks/bench_simulate.py            # 2-4 minutes on 2 cores
    python benchmarks/bench_simulate.py --quick    # smaller sizes, a smoke test

Timings are wall-clock, best of ``--repeats`` runs for the T-RECS table, which also
gives rates per second of the process's CPU time (less sensitive to other jobs on the
machine, as long as BLAS uses one thread). The script runs
with one BLAS thread (``--blas-threads 1``, the default; it re-executes itself with
``OPENBLAS_NUM_THREADS`` and friends set): on this 2-core machine, shared with other jobs,
OpenBLAS's second thread made the greedy loop about twice as slow.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.spatial import KDTree

import recgym
from recgym.population import PopulationEnv
from recgym.population.metrics import METRICS, nearest_neighbors
from recgym.population.policies import make_policy
from recgym.population.simulation import DEFAULT_METRICS, simulate

TRECS_USER_STEPS_PER_SECOND = 38_000
BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def make_env(n_users: int, n_items: int, dim: int, steps: int) -> PopulationEnv:
    """The benchmark population: row-normalised features, observation and reward noise."""
    return PopulationEnv(
        n_users=n_users,
        n_items=n_items,
        user_feature_dim=dim,
        item_feature_dim=dim,
        step_per_episode=steps,
        obs_std=0.1,
        reward_std=0.1,
        feature_normalization="row",
        random_state=0,
    )


def timed(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``(function(*args, **kwargs), seconds)``."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def estimate_neighbor_search(states: np.ndarray, sample: int) -> tuple[float, np.ndarray]:
    """Estimated seconds of ``nearest_neighbors(states)``, and neighbours to time with.

    The tree is built on all rows and queried for ``sample`` of them; the query time is
    scaled to all rows. The neighbours are exact for the sampled users and a stand-in
    derangement for the others.
    """
    n = len(states)
    units = states / np.linalg.norm(states, axis=1, keepdims=True)
    tree, build = timed(KDTree, units)
    rows = np.arange(min(sample, n))
    (_, candidates), query = timed(tree.query, units[rows], k=2)
    neighbors = np.roll(np.arange(n), 1)  # stand-in: the per-step cost ignores who is paired
    is_self = candidates[:, 0] == rows
    neighbors[rows] = np.where(is_self, candidates[:, 1], candidates[:, 0])
    return build + query * n / len(rows), neighbors


def manual_loop(
    env: PopulationEnv,
    policy_name: str,
    steps: int,
    metrics: tuple[str, ...],
    neighbors: np.ndarray | None,
) -> dict[str, float]:
    """The loop of ``simulate`` written out, with each part timed; seconds per part."""
    seconds: dict[str, float] = defaultdict(float)
    obs, info = env.reset_batch(seed=0)
    initial = info["state"]
    policy = make_policy(policy_name)
    policy.reset(env.item_features, n_users=env.n_users, rng=np.random.default_rng(0))
    n, n_items = env.n_users, env.n_items
    exposure = np.zeros(n_items, dtype=np.int64)
    consumed = sp.csr_array((n, n_items), dtype=np.int64)
    states = initial
    for _ in range(steps):
        decision, elapsed = timed(policy.act, obs, states=states if policy.needs_state else None)
        seconds["policy.act"] += elapsed
        (obs, rewards, _, _, info), elapsed = timed(env.step_batch, decision.actions)
        seconds["env.step_batch"] += elapsed
        states = info["state"]
        start = time.perf_counter()
        policy.update(decision.actions, rewards)
        seconds["policy.update"] += time.perf_counter() - start
        start = time.perf_counter()
        exposure += np.bincount(decision.actions, minlength=n_items)
        users = np.flatnonzero(rewards > 0)
        consumed = consumed + sp.csr_array(
            (np.ones(users.size, dtype=np.int64), (users, decision.actions[users])),
            shape=(n, n_items),
        )
        seconds["bookkeeping (counts, consumed matrix)"] += time.perf_counter() - start
        data = {
            "states": states,
            "initial_states": initial,
            "counts": exposure,
            "consumed": consumed,
            "neighbors": neighbors,
            "rewards": rewards,
        }
        for name in metrics:
            _, elapsed = timed(METRICS[name], **data)
            seconds[f"metric {name}"] += elapsed
    return seconds


def breakdown_table(seconds: dict[str, float], steps: int, n_users: int) -> None:
    """Print the per-part table of :func:`manual_loop`."""
    total = sum(seconds.values())
    print("| part | ms/step | share |")
    print("|---|---:|---:|")
    groups = {
        "policy (act + update)": ["policy.act", "policy.update"],
        "environment (step_batch)": ["env.step_batch"],
        "bookkeeping": ["bookkeeping (counts, consumed matrix)"],
        "metrics (all)": [k for k in seconds if k.startswith("metric ")],
    }
    for label, keys in groups.items():
        value = sum(seconds[k] for k in keys)
        print(f"| **{label}** | **{1e3 * value / steps:.1f}** | **{100 * value / total:.0f} %** |")
        if label == "metrics (all)":
            for key in sorted(keys, key=lambda k: -seconds[k]):
                share = 100 * seconds[key] / total
                print(
                    f"| &nbsp;&nbsp;{key[7:]} | {1e3 * seconds[key] / steps:.1f} | {share:.0f} % |"
                )
    rate = steps / total
    print(
        f"| **whole step** | **{1e3 * total / steps:.1f}** | 100 % "
        f"({rate:.2f} steps/s, {rate * n_users:,.0f} user-steps/s) |"
    )


def part_one(args: argparse.Namespace) -> None:
    n, n_items, dim, steps = args.users, args.items, args.dim, args.steps
    print(f"## Greedy at N = {n:,}, {n_items:,} items, d = {dim}: {steps} steps, every metric\n")
    env = make_env(n, n_items, dim, steps)
    initial = env.reset_batch(seed=0)[1]["state"]
    if args.full_nn:
        neighbors, search = timed(nearest_neighbors, initial)
        how = "exact, measured"
    else:
        search, neighbors = estimate_neighbor_search(initial, args.nn_sample)
        how = f"estimated from {args.nn_sample:,} queries"
    metrics = tuple(METRICS) if args.full_nn else tuple(m for m in METRICS if m != "jaccard_nn")
    history, elapsed = timed(simulate, env, "greedy", steps, seed=0, metrics=metrics, every=1)
    assert len(history.steps) == steps + 1
    label = "every metric" if args.full_nn else "every metric but jaccard_nn"
    print(
        f"`simulate(env, 'greedy', {steps}, metrics={label}, every=1)`: {elapsed:.2f} s "
        f"= {steps / elapsed:.2f} steps/s = {n * steps / elapsed:,.0f} user-steps/s "
        f"(includes reset and the metrics after reset)."
    )
    print(
        f"One-off nearest-neighbour search for `jaccard_nn` (k-d tree, d = {dim}): "
        f"{search:.1f} s ({how}).\n"
    )
    print("Where a step goes (the same loop written out, each part timed):\n")
    breakdown_table(manual_loop(env, "greedy", steps, tuple(METRICS), neighbors), steps, n)
    print()


def part_two(args: argparse.Namespace) -> None:
    steps = args.trecs_steps
    print(f"## T-RECS size: 100 items, d = 5, {steps} steps\n")
    print(f"T-RECS content filtering: about {TRECS_USER_STEPS_PER_SECOND:,} user-steps/s.\n")
    print("| N | policy | metrics | s (best) | user-steps/s | × T-RECS | per CPU-s | × T-RECS |")
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    variants = {
        "all, every step": (tuple(METRICS), 1),
        "default, every 10 steps": (DEFAULT_METRICS, 10),
        "none": ((), 1),
    }
    breakdowns = {}
    for n in args.trecs_users:
        env = make_env(n, 100, 5, steps)
        for policy in ("greedy", "collaborative_filtering"):
            for label, (metrics, every) in variants.items():
                wall, cpu = math.inf, math.inf
                for _ in range(args.repeats):
                    start_cpu = time.process_time()
                    _, elapsed = timed(simulate, env, policy, seed=0, metrics=metrics, every=every)
                    wall, cpu = min(wall, elapsed), min(cpu, time.process_time() - start_cpu)
                rate, cpu_rate = n * steps / wall, n * steps / cpu
                print(
                    f"| {n:,} | {policy} | {label} | {wall:.2f} | {rate:,.0f} "
                    f"| {rate / TRECS_USER_STEPS_PER_SECOND:.0f} | {cpu_rate:,.0f} "
                    f"| {cpu_rate / TRECS_USER_STEPS_PER_SECOND:.0f} |"
                )
        neighbors = nearest_neighbors(env.reset_batch(seed=0)[1]["state"])  # once, as simulate
        breakdowns[n] = manual_loop(env, "greedy", steps, tuple(METRICS), neighbors)
    for n, seconds in breakdowns.items():
        print(f"\nWhere a greedy step goes at N = {n:,} (every metric, every step):\n")
        breakdown_table(seconds, steps, n)
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000, help="users of part 1")
    parser.add_argument("--items", type=int, default=1_000, help="items of part 1")
    parser.add_argument("--dim", type=int, default=16, help="feature dimension of part 1")
    parser.add_argument("--steps", type=int, default=10, help="steps of part 1")
    parser.add_argument(
        "--nn-sample", type=int, default=2_000, help="users whose neighbour search is timed"
    )
    parser.add_argument(
        "--full-nn", action="store_true", help="run the exact neighbour search (minutes)"
    )
    parser.add_argument(
        "--trecs-users", type=int, nargs="+", default=[10_000, 100_000], help="N of part 2"
    )
    parser.add_argument("--trecs-steps", type=int, default=30, help="steps of part 2")
    parser.add_argument("--repeats", type=int, default=2, help="runs per part-2 row (best)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument(
        "--blas-threads",
        default="1",
        help="BLAS threads (OPENBLAS/OMP/MKL_NUM_THREADS), or 'default' to leave them unset",
    )
    args = parser.parse_args()
    wanted = args.blas_threads
    if wanted != "default" and any(os.environ.get(v) != wanted for v in BLAS_VARIABLES):
        # BLAS reads its thread count when numpy is imported: start again with it set.
        os.environ.update(dict.fromkeys(BLAS_VARIABLES, wanted))
        os.execv(sys.executable, [sys.executable, *sys.argv])
    if args.quick:
        args.users, args.items, args.steps, args.nn_sample = 5_000, 200, 3, 500
        args.trecs_users, args.trecs_steps, args.repeats = [2_000], 5, 1

    print(
        f"recgym {recgym.__version__}, numpy {np.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, BLAS threads: "
        f"{args.blas_threads}, load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} at start\n"
    )
    start = time.perf_counter()
    part_one(args)
    part_two(args)
    print(f"Total benchmark time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
