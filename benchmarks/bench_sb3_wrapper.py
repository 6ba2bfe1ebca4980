"""Raw steps per second of recgym's Stable-Baselines3 adapters (no learning, no policy).

Every configuration steps ``--envs`` sub-environments with a fixed action array for
``--steps`` calls of ``step`` (autoresets included: 10-step episodes), ``--repeats``
times, and reports sub-environment steps per second of the process's CPU time (best and
median run) and the best wall-clock rate. Measured:

* ``RECVectorEnv.step``: the Gymnasium vector env itself (the floor of the adapters);
* ``SameStepVector`` / ``SameStepPopulation``: the same-step core without SB3;
* ``VectorEnvAdapter`` / ``PopulationVecEnv``: the SB3 ``VecEnv``s (``step`` =
  ``step_async`` + ``step_wait``), when stable-baselines3 is installed;
* SB3's ``DummyVecEnv`` over ``RECEnv`` (what ``make_vec_env("RECEnv-v0")`` builds), for
  comparison, with fewer calls (it is a Python loop over the sub-environments).

Run from the repository root::

    OMP_NUM_THREADS=1 python benchmarks/bench_sb3_wrapper.py --envs 256
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from recgym import RECEnv, RECVectorEnv
from recgym.population import PopulationEnv
from recgym.wrappers.autoreset import SameStepPopulation, SameStepVector


def rate(step: Callable[[], Any], calls: int, n: int, repeats: int) -> tuple[float, float, float]:
    """(best CPU, median CPU, best wall) sub-environment steps per second."""
    cpu_rates, wall_rates = [], []
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(calls):
            step()
        cpu_rates.append(calls * n / max(time.process_time() - cpu, 1e-9))
        wall_rates.append(calls * n / (time.perf_counter() - wall))
    return max(cpu_rates), statistics.median(cpu_rates), max(wall_rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--envs", type=int, default=256, help="sub-environments")
    parser.add_argument("--steps", type=int, default=4_000, help="step calls per run")
    parser.add_argument("--repeats", type=int, default=7, help="runs per configuration")
    args = parser.parse_args()
    n = args.envs
    actions = np.zeros(n, dtype=np.int64)
    rows: list[tuple[str, Callable[[], Any], int]] = []

    vector = RECVectorEnv(n, random_state=0)
    vector.reset(seed=0)
    rows.append(("RECVectorEnv.step (Gymnasium, NEXT_STEP)", lambda: vector.step(actions), 1))
    core = SameStepVector(RECVectorEnv(n, random_state=0))
    core.reset(seed=0)
    rows.append(("SameStepVector.step (no SB3)", lambda: core.step(actions), 1))
    population = SameStepPopulation(PopulationEnv(n_users=n, random_state=0))
    population.reset(seed=0)
    rows.append(("SameStepPopulation.step (no SB3)", lambda: population.step(actions), 1))
    try:
        from stable_baselines3.common.vec_env import DummyVecEnv

        from recgym.wrappers.sb3 import PopulationVecEnv, VectorEnvAdapter
    except ImportError:
        print("stable-baselines3 is not installed: the SB3 rows are skipped")
    else:
        adapter = VectorEnvAdapter(RECVectorEnv(n, random_state=0))
        adapter.reset()
        rows.append(("VectorEnvAdapter.step (SB3 VecEnv)", lambda: adapter.step(actions), 1))
        population_venv = PopulationVecEnv(PopulationEnv(n_users=n, random_state=0))
        population_venv.reset()
        rows.append(
            ("PopulationVecEnv.step (SB3 VecEnv)", lambda: population_venv.step(actions), 1)
        )
        dummy = DummyVecEnv([lambda: RECEnv(random_state=0) for _ in range(n)])
        dummy.reset()
        rows.append(("SB3 DummyVecEnv of RECEnv", lambda: dummy.step(actions), 40))

    print(
        f"{n} sub-environments, {args.steps} step calls x {args.repeats} runs; "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    print(f"{'configuration':<44} {'best CPU':>14} {'median CPU':>14} {'best wall':>14}")
    for name, step, divisor in rows:
        best, median, wall = rate(step, max(args.steps // divisor, 10), n, args.repeats)
        rates = "".join(f" {value / 1e6:>10.2f} M/s" for value in (best, median, wall))
        print(f"{name:<44}{rates}")


if __name__ == "__main__":
    main()
