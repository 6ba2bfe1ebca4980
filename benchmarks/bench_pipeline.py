"""Throughput of the response pipeline's stages (d = 5, 100 items, float64, no noise).

Prints a markdown table of ``PopulationEnv.step_batch`` throughput for:

* the plain step (one item, always consumed) — the reference;
* slates of k = 10 with the multinomial-logit choice model, at N = 10⁴, 10⁵, 10⁶
  (target of issue 11: at least 2 M user-steps/s at 10⁶);
* social influence on an Erdős–Rényi graph of mean degree 10, with and without a
  confidence bound, at 10⁶ (target of issue 12: under 0.5 s per step);
* churn and satiation together at 10⁶ (target: at least half the plain step's
  throughput).

Each row is the best of ``--repeats`` timed steps after a warm-up step, with the median
and the rate per CPU-second (the CPU time of this process, which discounts other jobs on
a shared machine). BLAS is limited to one thread (the population step uses none, the
graph and choice models neither), so the figures are single-core.

Run from the repository root::

    python benchmarks/bench_pipeline.py           # about a minute
    python benchmarks/bench_pipeline.py --quick   # small sizes, a few seconds
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from recgym import worlds
from recgym.engagement import Churn, Satiation
from recgym.population import PopulationEnv

N_ITEMS, D = 100, 5


#: The engine of every population (``--engine``): numpy, as in docs/performance.md's
#: pipeline table; bench_scale.py measures the fused kernels.
ENGINE = "numpy"


def make(n: int, **kwargs) -> PopulationEnv:
    return PopulationEnv(
        n_users=n, n_items=N_ITEMS, user_feature_dim=D, item_feature_dim=D,
        step_per_episode=10_000, random_state=0, engine=ENGINE, **kwargs,
    )  # fmt: skip


def actions_for(n: int, k: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    if k == 1:
        return rng.integers(N_ITEMS, size=n)
    pool = np.argsort(rng.random((1_000, N_ITEMS)), axis=1)[:, :k]
    return pool[rng.integers(len(pool), size=n)]


def time_steps(env: PopulationEnv, actions: np.ndarray, repeats: int) -> tuple[list, list]:
    env.reset_batch(seed=0)
    env.step_batch(actions)  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        env.step_batch(actions)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per row")
    parser.add_argument(
        "--engine", default="numpy", choices=("numpy", "numba", "auto"), help="the step's engine"
    )
    args = parser.parse_args()
    global ENGINE
    ENGINE = args.engine
    big = 10**4 if args.quick else 10**6
    sizes = (10**3, 10**4) if args.quick else (10**4, 10**5, 10**6)
    graph = worlds.erdos_renyi(big, 10, rng=0)
    rows = [("plain step (k = 1, consume)", big, {}, 1)]
    rows += [(f"slate k = 10, MNL, N = {n:,}", n, {"slate_size": 10, "choice_model": "mnl"}, 10)
             for n in sizes]  # fmt: skip
    rows += [
        ("social influence, degree 10", big, {"social_graph": graph, "social_weight": 0.5}, 1),
        ("social influence, ε = 0.2", big,
         {"social_graph": graph, "social_weight": 0.5, "confidence_bound": 0.2}, 1),
        ("churn + satiation", big,
         {"churn": Churn(threshold=-0.5, return_probability=0.1), "satiation": Satiation()}, 1),
    ]  # fmt: skip
    print("| stage | N | s / step (best) | s / step (median) | M user-steps/s | per CPU-s |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, n, kwargs, k in rows:
        walls, cpus = time_steps(make(n, **kwargs), actions_for(n, k), args.repeats)
        best, median = min(walls), statistics.median(walls)
        print(
            f"| {label} | {n:,} | {best:.4f} | {median:.4f} | {n / best / 1e6:.2f} "
            f"| {n / min(cpus) / 1e6:.2f} |"
        )


if __name__ == "__main__":
    main()
