"""Steps per second of the single-user ``RECEnv`` in a plain Python loop.

The loop is what an RL user writes: integer actions (Python ``int``), one ``env.step``
per action, and a ``reset`` whenever an episode ends. Every configuration runs
``--steps`` steps ``--repeats`` times. The rates are steps per second of the process's
CPU time (``time.process_time``), so that other programs running on the machine disturb
them less; the best and the median run are shown, and the best wall-clock rate.

Run from the repository root::

    python benchmarks/bench_rec_env.py

The same script measures SCOPE-RL's original RECGym when run by an interpreter in
which ``import recgym`` finds the original (it resets inside ``step`` by itself, so
the loop does not reset it).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # the original imports the unmaintained `gym`
    import recgym
    from recgym import RECEnv

#: SCOPE-RL's RECGym reports version 0.1.0 and has no top-level ``UserModel``.
ORIGINAL = not hasattr(recgym, "UserModel")

CONFIGURATIONS = {
    "default": {},
    "obs_std=0.1, reward_std=0.1": {"obs_std": 0.1, "reward_std": 0.1},
    "reward_type='binary'": {"reward_type": "binary"},
    "n_items=100": {"n_items": 100},
}


def run(env, actions: list[int]) -> tuple[float, float]:
    """Step ``env`` once per action; return the elapsed (CPU, wall) time in seconds."""
    env.reset(seed=0)
    cpu, wall = time.process_time(), time.perf_counter()
    for action in actions:
        _obs, _reward, terminated, _truncated, _info = env.step(action)
        if terminated and not ORIGINAL:
            env.reset()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20_000, help="steps per run")
    parser.add_argument("--repeats", type=int, default=10, help="runs per configuration")
    args = parser.parse_args()

    name = "SCOPE-RL recgym (original)" if ORIGINAL else f"recgym {recgym.__version__}"
    print(f"{name}, numpy {np.__version__}, Python {platform.python_version()}")
    print(f"{args.steps} steps x {args.repeats} runs per configuration\n")
    print(
        "| configuration | steps/s (CPU, best) | steps/s (CPU, median) | µs/step (CPU, best) "
        "| steps/s (wall, best) |"
    )
    print("|---|---:|---:|---:|---:|")
    for label, kwargs in CONFIGURATIONS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            env = RECEnv(random_state=12345, **kwargs)
        n_items = kwargs.get("n_items", 5)
        actions = np.random.default_rng(0).integers(0, n_items, args.steps).tolist()
        try:
            times = [run(env, actions) for _ in range(args.repeats)]
        except AttributeError as error:  # the original's binary reward crashes
            print(f"| {label} | crashes: {error} | | | |")
            continue
        cpu = [args.steps / max(t, 1e-9) for t, _ in times]
        wall = max(args.steps / t for _, t in times)
        best, median = max(cpu), statistics.median(cpu)
        print(f"| {label} | {best:,.0f} | {median:,.0f} | {1e6 / best:.1f} | {wall:,.0f} |")


if __name__ == "__main__":
    main()
