"""Act and update throughput of the filter-bubble papers' recommenders on a real population.

Each policy (``ideal``, ``implicit_factorization``, ``item_knn``, ``linear_ucb``,
``linear_thompson``, and ``most_popular`` by consumption) runs ``--steps`` steps on a
``PopulationEnv`` of ``--users`` users (by default 10⁴ and 10⁵), ``--items`` items (10² and
10³), ``d = 8`` row-normalised features, the idiosyncratic term on (``idiosyncratic_std =
0.5``, so the ideal recommender's utilities include the hash of every user × item pair),
at slate size 1 (the ``"consume"`` choice model) and ``--slate-size`` (10, multinomial
logit). The retrained learners fit every 5 steps (``retrain_every = 5``: the update times
include their fits, amortised). Times are wall-clock per step (``time.perf_counter``) of
``act`` and of ``update`` alone — the environment's own step is not counted — with the
throughput of both in user-steps per second.

Run from the repository root::

    python benchmarks/bench_paper_policies.py
    python benchmarks/bench_paper_policies.py --users 10000 --items 100 --steps 20
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from recgym.population import PopulationEnv
from recgym.population.policies import Policy, make_policy

DIM = 8

#: The policies benchmarked and their arguments.
POLICY_ARGUMENTS = {
    "ideal": {},
    "implicit_factorization": {"retrain_every": 5},
    "item_knn": {"retrain_every": 5},
    "linear_ucb": {},
    "linear_thompson": {},
    "most_popular": {"counts": "consumption"},
}


def run(env: PopulationEnv, policy: Policy, steps: int) -> tuple[float, float]:
    """Seconds per step of ``act`` and of ``update``, over ``steps`` steps."""
    policy.reset(env.item_features, n_users=env.n_users, rng=np.random.default_rng(1))
    observations, info = env.reset_batch(seed=0)
    acting = updating = 0.0
    for _ in range(steps):
        start = time.perf_counter()
        decision = policy.act(observations, utilities=env.utilities)
        acting += time.perf_counter() - start
        observations, rewards, _, _, info = env.step_batch(decision.actions)
        start = time.perf_counter()
        policy.update(decision.actions, rewards, consumed=info.get("item"))
        updating += time.perf_counter() - start
    return acting / steps, updating / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--items", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--slate-size", type=int, default=10)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument(
        "--policies", nargs="+", default=list(POLICY_ARGUMENTS), choices=list(POLICY_ARGUMENTS)
    )
    args = parser.parse_args()
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numpy {np.__version__}; d = {DIM}, {args.steps} steps"
    )
    print(
        f"{'policy':24s} {'users':>7s} {'items':>5s} {'k':>3s} {'act ms':>9s} "
        f"{'update ms':>9s} {'user-steps/s':>13s}"
    )
    for n_users in args.users:
        for n_items in args.items:
            for k in (1, args.slate_size):
                env = PopulationEnv(
                    n_users=n_users,
                    n_items=n_items,
                    user_feature_dim=DIM,
                    item_feature_dim=DIM,
                    step_per_episode=args.steps,
                    slate_size=k,
                    choice_model="consume" if k == 1 else "mnl",
                    idiosyncratic_std=0.5,
                    feature_normalization="row",
                    random_state=0,
                )
                for name in args.policies:
                    policy = make_policy(name, slate_size=k, **POLICY_ARGUMENTS[name])
                    acting, updating = run(env, policy, args.steps)
                    rate = n_users / (acting + updating)
                    print(
                        f"{name:24s} {n_users:7d} {n_items:5d} {k:3d} {acting * 1e3:9.1f} "
                        f"{updating * 1e3:9.1f} {rate:13,.0f}",
                        flush=True,
                    )


if __name__ == "__main__":
    main()
