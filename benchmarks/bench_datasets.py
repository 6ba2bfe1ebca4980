"""Collect a logged dataset: recgym's population path against a plain Python loop.

The dataset of the issue: 1,000,000 trajectories of 10 steps (d = 5, 100 items) logged by a
softmax behaviour policy with its propensities, in SCOPE-RL's format (``state``,
``action``, ``reward``, ``done``, ``terminal``, ``pscore``, trajectory-major).

* **recgym**: ``collect_logged_dataset`` on a ``PopulationEnv`` of 1,000,000 users (one
  episode). Two behaviour policies, each run in a fresh subprocess so that its peak
  resident memory is its own:

  - ``vectorised softmax``: :class:`VectorisedSoftmax` below, a callable
    ``observations -> (actions, propensities)`` that scores users in cache-sized chunks
    laid out item-major and samples by a two-level inverse CDF;
  - ``SoftmaxPolicy``: recgym's built-in ``recgym.population.policies.SoftmaxPolicy``.

* **Python loop**: what a user of the original writes — ``RECEnv.reset``/``step`` one user
  at a time (the same pool of users), a numpy softmax per step, every value written into
  preallocated arrays of the same format. It runs ``--loop-trajectories`` trajectories
  (default 5,000) and its time is **extrapolated linearly** to ``--trajectories``: the
  loop's cost per step does not depend on how many steps came before.

Both use ``temperature = 0.1`` and the same environment parameters. Run from the
repository root::

    python benchmarks/bench_datasets.py

The measured processes run with one BLAS thread (``--blas-threads 1``, the default): the
policies' scoring products are small (``n_items × d`` by ``d × chunk``), and on two cores
OpenBLAS's own threads slow them down several-fold when anything else runs. The machine is
shared by whatever else runs on it; the script prints the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

import recgym
from recgym import RECEnv
from recgym.population import PopulationEnv, collect_logged_dataset
from recgym.population.policies import SoftmaxPolicy

N_ITEMS, DIM, STEPS, TEMPERATURE = 100, 5, 10, 0.1


class VectorisedSoftmax:
    """Softmax behaviour policy ``p(a | o) ∝ exp(⟨o, v_a⟩ / τ)`` with exact propensities.

    Users are processed ``rows`` at a time with the weights laid out item-major
    ``(n_items, rows)``, so every numpy operation runs along contiguous users. One uniform
    ``u`` per user picks the first item whose cumulative weight exceeds ``u`` times the
    total — located first among blocks of ``block`` items (block sums, cumulated), then
    item by item inside the block. The
    propensity is the item's weight over the total. Weights are ``exp(⟨o, v⟩ / τ)``
    without a max shift: observations lie in ``[-1, 1]^d`` and items have norm ≤ 1, so
    ``|⟨o, v⟩| / τ ≤ √d / τ`` stays far from overflow (checked).

    Args:
        item_features: ``(n_items, d)`` float64.
        temperature: ``τ > 0``.
        rng: The generator of the uniforms.
        rows: Users per chunk.
        block: Items per block of the two-level search.
    """

    __name__ = "softmax"

    def __init__(
        self,
        item_features: NDArray[np.floating],
        temperature: float,
        rng: np.random.Generator,
        rows: int = 4096,
        block: int = 10,
    ):
        n_items, d = item_features.shape
        self.n_blocks = -(-n_items // block)
        padded = self.n_blocks * block
        self.items = np.zeros((padded, d))
        self.items[:n_items] = item_features / temperature
        self.n_items, self.block, self.rows, self.rng = n_items, block, rows, rng
        self.weights = np.empty((padded, rows))
        self.block_sums = np.empty((self.n_blocks, rows))

    def __call__(
        self, observations: NDArray[np.floating]
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Actions int64 ``(n,)`` and their probabilities float64 ``(n,)`` for ``(n, d)``."""
        n = len(observations)
        uniforms = self.rng.random(n)
        actions = np.empty(n, dtype=np.int64)
        propensities = np.empty(n)
        n_blocks, block = self.n_blocks, self.block
        all_users = np.arange(self.rows)
        for start in range(0, n, self.rows):
            stop = min(start + self.rows, n)
            k = stop - start
            users = all_users[:k]
            weights = self.weights.reshape(-1)[: len(self.weights) * k].reshape(-1, k)
            np.matmul(self.items, observations[start:stop].T, out=weights)
            np.exp(weights, out=weights)
            weights[self.n_items :] = 0.0
            blocks = weights.reshape(n_blocks, block, k)
            cumulative = self.block_sums.reshape(-1)[: n_blocks * k].reshape(n_blocks, k)
            np.sum(blocks, axis=1, out=cumulative)
            for b in range(1, n_blocks):  # row by row: contiguous, vectorised adds
                cumulative[b] += cumulative[b - 1]
            total = cumulative[-1]
            if not np.isfinite(total).all():
                raise FloatingPointError("softmax weights overflowed; raise the temperature")
            target = uniforms[start:stop] * total
            # The chosen block: the number of block boundaries at or below the target,
            # and the cumulative weight before it.
            chosen_block = np.zeros(k, dtype=np.int64)
            for b in range(n_blocks - 1):
                chosen_block += cumulative[b] <= target
            before = cumulative.reshape(-1)[(chosen_block - 1) * k + users]
            remaining = target - np.where(chosen_block > 0, before, 0.0)
            # Walk the chosen block item by item, gathering one weight per user at a time.
            flat = weights.reshape(-1)
            position = chosen_block * (block * k) + users
            running = np.zeros(k)
            offset = np.zeros(k, dtype=np.int64)
            for _ in range(block - 1):
                running += flat[position]
                offset += running <= remaining
                position += k
            chosen = chosen_block * block + offset
            actions[start:stop] = chosen
            propensities[start:stop] = weights[chosen, users] / total
        return actions, propensities


def peak_memory_bytes() -> int:
    """Peak resident memory of this process (Linux reports kibibytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_recgym(n_trajectories: int, policy: str) -> dict[str, Any]:
    """Collect ``n_trajectories`` with a population of that many users; time it."""
    env = PopulationEnv(
        n_users=n_trajectories,
        n_items=N_ITEMS,
        user_feature_dim=DIM,
        item_feature_dim=DIM,
        step_per_episode=STEPS,
        random_state=0,
    )
    if policy == "vectorised":
        behavior: Any = VectorisedSoftmax(env.item_features, TEMPERATURE, np.random.default_rng(1))
    else:
        behavior = SoftmaxPolicy(temperature=TEMPERATURE)
    start = time.perf_counter()
    data = collect_logged_dataset(env, behavior, n_trajectories, seed=1)
    elapsed = time.perf_counter() - start
    assert data["size"] == n_trajectories * STEPS
    return {"seconds": elapsed, "peak_bytes": peak_memory_bytes()}


def run_loop(n_trajectories: int, n_users: int) -> dict[str, Any]:
    """The plain Python loop over ``RECEnv`` (a pool of ``n_users``) producing the same arrays."""
    env = RECEnv(
        n_items=N_ITEMS,
        n_users=n_users,
        user_feature_dim=DIM,
        item_feature_dim=DIM,
        step_per_episode=STEPS,
        random_state=0,
    )
    items = env.item_feature_vector
    rng = np.random.default_rng(1)
    size = n_trajectories * STEPS
    state = np.empty((size, DIM))
    action = np.empty(size, dtype=np.int64)
    reward = np.empty(size)
    done = np.empty(size)
    terminal = np.empty(size)
    pscore = np.empty(size)
    start = time.perf_counter()
    index = 0
    for _ in range(n_trajectories):
        obs, _ = env.reset()
        for t in range(STEPS):
            scores = items @ obs / TEMPERATURE
            weights = np.exp(scores - scores.max())
            cumulative = np.cumsum(weights)
            item = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
            state[index] = obs
            action[index] = item
            pscore[index] = weights[item] / cumulative[-1]
            obs, reward[index], terminated, _, _ = env.step(item)
            done[index] = terminated
            terminal[index] = t == STEPS - 1
            index += 1
    return {"seconds": time.perf_counter() - start, "peak_bytes": peak_memory_bytes()}


def in_subprocess(
    case: str, n_trajectories: int, n_users: int, blas_threads: str
) -> dict[str, Any]:
    """Run one case in a fresh interpreter (its own peak memory); return its JSON result."""
    command = [sys.executable, __file__, "--case", case, "--trajectories", str(n_users)]
    environment = dict(os.environ)
    if blas_threads != "default":
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            environment[variable] = blas_threads
    output = subprocess.run(
        [*command, "--loop-trajectories", str(n_trajectories)],
        check=True,
        capture_output=True,
        text=True,
        env=environment,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trajectories", type=int, default=1_000_000)
    parser.add_argument("--loop-trajectories", type=int, default=5_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of every case")
    parser.add_argument(
        "--policies",
        default="vectorised,SoftmaxPolicy",
        help="comma-separated recgym behaviour policies to run: vectorised, SoftmaxPolicy",
    )
    parser.add_argument(
        "--blas-threads",
        default="1",
        help="BLAS threads of the measured processes (OPENBLAS/OMP/MKL_NUM_THREADS), or "
        "'default' to leave them unset (default: 1)",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case == "loop":  # child processes
        print(json.dumps(run_loop(args.loop_trajectories, args.trajectories)))
        return
    if args.case is not None:
        print(json.dumps(run_recgym(args.trajectories, args.case)))
        return

    n, steps = args.trajectories, args.trajectories * STEPS
    print(
        f"recgym {recgym.__version__}, numpy {np.__version__}, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, BLAS threads: {args.blas_threads}"
    )
    print(
        f"{n:,} trajectories x {STEPS} steps, d={DIM}, {N_ITEMS} items, softmax tau={TEMPERATURE}; "
        f"{args.repeats} runs of each case, interleaved"
    )
    cases = [*args.policies.split(","), "loop"]
    results: dict[str, list[dict[str, Any]]] = {case: [] for case in cases}
    loads = []
    for _ in range(args.repeats):
        for case in cases:
            loads.append(os.getloadavg()[0])
            count = args.loop_trajectories if case == "loop" else n
            results[case].append(in_subprocess(case, count, n, args.blas_threads))
    print(f"load average before the runs: {min(loads):.1f} to {max(loads):.1f}")
    print()
    print("| path | trajectories | median time (s) | best (s) | steps/s (median) | peak memory |")
    print("|---|---:|---:|---:|---:|---:|")
    labels = {"vectorised": "vectorised softmax", "SoftmaxPolicy": "SoftmaxPolicy"}
    medians: dict[str, float] = {}
    bests: dict[str, float] = {}
    for case in cases:
        seconds = [run["seconds"] for run in results[case]]
        medians[case], bests[case] = statistics.median(seconds), min(seconds)
        peak = max(run["peak_bytes"] for run in results[case]) / 2**30
        count = args.loop_trajectories if case == "loop" else n
        label = (
            "Python loop over `RECEnv` (measured)"
            if case == "loop"
            else f"recgym `collect_logged_dataset`, {labels[case]}"
        )
        print(
            f"| {label} | {count:,} | {medians[case]:.2f} | {bests[case]:.2f} | "
            f"{count * STEPS / medians[case]:,.0f} | {peak:.2f} GiB |"
        )
    scale = n / args.loop_trajectories
    loop_median, loop_best = medians.pop("loop") * scale, bests.pop("loop") * scale
    label = f"Python loop over `RECEnv` (extrapolated x{scale:,.0f})"
    rate = steps / loop_median
    print(f"| {label} | {n:,} | {loop_median:,.0f} | {loop_best:,.0f} | {rate:,.0f} | |")
    print()
    for case, median in medians.items():
        print(
            f"speed-up of recgym ({labels[case]}) over the loop: {loop_median / median:,.0f}x "
            f"(medians), {loop_best / bests[case]:,.0f}x (best runs)"
        )


if __name__ == "__main__":
    main()
