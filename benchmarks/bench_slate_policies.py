"""Time per ``act`` of every built-in policy, with single items and with slates.

Every policy is bound to ``--users`` users (by default 10⁵ and 10⁶), 100 items and
``d = 5`` (unit-norm features and observations, as the row-normalised environment has),
and acts ``--repeats`` times on the same observations, at ``slate_size`` 1 and
``--slate-size`` (10). ``collaborative_filtering`` is timed fitted (one refit on one
logged step, outside the timing: its act is then ε-greedy on the predicted top items)
and ``most_popular`` after one update; ``exposure_capped`` uses ``max_share = 0.05`` at
``k = 1`` and ``0.2`` at ``k > 1`` (its capacity must cover every slate position: at
``k = 10`` that leaves room for twice the ``N · k`` positions). Times are the
process's CPU time per call (``time.process_time``): the best and the median run.
Set ``OPENBLAS_NUM_THREADS=1`` for one-core numbers (the scoring products use BLAS).
The recommenders of the filter-bubble papers are timed by ``bench_paper_policies.py``.

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_slate_policies.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from recgym.population.policies import POLICIES, Policy, make_policy

N_ITEMS, DIM = 100, 5

#: Timed in bench_paper_policies.py, on an environment (the ideal one needs its utilities).
PAPER_POLICIES = ("ideal", "implicit_factorization", "item_knn", "linear_ucb", "linear_thompson")
TIMED = [name for name in POLICIES if name not in PAPER_POLICIES]

KWARGS = {
    "epsilon_greedy": {"epsilon": 0.1},
    "softmax": {"temperature": 0.1},
    "collaborative_filtering": {"rank": 6, "refit_every": 1, "epsilon": 0.1},
}


def unit_rows(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def bound(name: str, k: int, items: np.ndarray, obs: np.ndarray) -> Policy:
    """The policy ``name`` at slate size ``k``, bound and (for learners) warmed up."""
    kwargs = dict(KWARGS.get(name, {}))
    if name == "exposure_capped":
        kwargs["max_share"] = 0.05 if k == 1 else 0.2
    policy = make_policy(name, slate_size=k, **kwargs)
    n = len(obs)
    policy.reset(items, n_users=n, rng=np.random.default_rng(1))
    if name in ("collaborative_filtering", "most_popular"):
        decision = policy.act(obs, states=obs)
        slates = decision.actions.reshape(n, k)
        consumed = slates[:, 0]
        rewards = np.einsum("nd,nd->n", obs, items[consumed])
        policy.update(decision.actions, rewards, consumed=consumed)
    return policy


def cpu_times(policy: Policy, obs: np.ndarray, repeats: int) -> list[float]:
    """CPU seconds of each of ``repeats`` calls of ``act``."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        policy.act(obs, states=obs)
        times.append(time.process_time() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--slate-size", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--policies", nargs="+", default=TIMED, choices=TIMED)
    args = parser.parse_args()
    sizes = (1, args.slate_size)

    data = np.random.default_rng(0)
    items = unit_rows(data.normal(size=(N_ITEMS, DIM)))
    print(
        f"{platform.processor() or platform.machine()}, numpy {np.__version__}, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}, "
        f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    )
    print(f"{N_ITEMS} items, d = {DIM}, {args.repeats} runs; CPU ms per act (best / median)\n")
    header = " | ".join(f"N = {n:,}, k = {k}" for n in args.users for k in sizes)
    print(f"| policy | {header} |")
    print("|---|" + "---:|" * (len(args.users) * len(sizes)))
    observations = {n: unit_rows(data.normal(size=(n, DIM))) for n in args.users}
    for name in args.policies:
        cells = []
        for n in args.users:
            for k in sizes:
                policy = bound(name, k, items, observations[n])
                times = cpu_times(policy, observations[n], args.repeats)
                cells.append(f"{1e3 * min(times):,.0f} / {1e3 * statistics.median(times):,.0f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
