"""Throughput and peak memory of a population of users (d=5, 100 items).

Measures, and prints as markdown tables:

* ``PopulationEnv.step_batch`` user-steps per second at N = 10³ … 10⁶ users, with noise
  off (the defaults) and on (``obs_std=0.1, reward_std=0.1``), and float32 at 10⁶;
* the PettingZoo dict API, ``PopulationEnv.step``, in agent-steps per second (the
  action dicts are built before the clock starts: building them is the policy's cost);
* ``gymnasium.make_vec("RECEnv-v0", num_envs=4096, n_items=100)`` in sub-environment
  steps per second (NEXT_STEP autoresets included);
* peak memory at N = 10⁶ during ``reset_batch`` and 10 ``step_batch`` calls, in a fresh
  process: the ``tracemalloc`` peak and the growth of the peak resident set size,
  against the population's own arrays (user pool + true states).

Every throughput is the best of many short timed runs (about 10⁶ user-steps each), made
in ``--rounds`` rounds over all rows so that each row gets several chances at a quiet
moment of a shared machine; the median is shown too. The CPU column divides by the
process's CPU time instead of the wall-clock time, which shows how much of a gap is
other processes. Episodes are long enough that no timed loop resets, except the vector
env's autoresets.

Run from the repository root::

    python benchmarks/bench_population.py            # about a minute
    python benchmarks/bench_population.py --quick    # smaller sizes, a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc

import gymnasium as gym
import numpy as np

import recgym
from recgym.population import PopulationEnv

D = 5
N_ITEMS = 100
NOISE = {"obs_std": 0.1, "reward_std": 0.1}
#: Targets of issue 3.
TARGET_STEP_BATCH = 7.5e6  # user-steps/s at N = 10⁶, default settings
TARGET_DICT = 1e6  # agent-steps/s at N = 10⁴
TARGET_MEMORY = 2.0  # peak / (user pool + states) at N = 10⁶


#: The engine of every population (``--engine``): numpy, as in the tables of
#: docs/performance.md's Population section; bench_scale.py measures the fused kernels.
ENGINE = "numpy"


def make_population(n: int, **kwargs) -> PopulationEnv:
    kwargs.setdefault("engine", ENGINE)
    return PopulationEnv(
        n_users=n,
        n_items=N_ITEMS,
        user_feature_dim=D,
        item_feature_dim=D,
        step_per_episode=10**9,  # no reset inside a timed loop
        random_state=0,
        **kwargs,
    )


def action_batches(n: int, count: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [rng.integers(N_ITEMS, size=n) for _ in range(count)]


def steps_for(n: int, budget: float) -> int:
    """Steps per timed run: about ``budget`` user-steps, at least one step."""
    return max(1, int(budget // n))


def setup_step_batch(n: int, budget: float, **kwargs):
    """A timed loop of ``step_batch`` calls and the user-steps it makes."""
    env = make_population(n, **kwargs)
    batches = action_batches(n)
    steps = steps_for(n, budget)
    env.reset_batch(seed=0)
    env.step_batch(batches[0])  # warm-up

    def loop() -> None:
        for step in range(steps):
            env.step_batch(batches[step % len(batches)])

    return loop, n * steps


def setup_dict(n: int, budget: float):
    """A timed loop of dict ``step`` calls (dicts prepared beforehand) and its agent-steps."""
    env = make_population(n)
    env.reset(seed=0)
    dicts = [dict(zip(env.agents, batch.tolist())) for batch in action_batches(n)]
    steps = steps_for(n, budget / 10)
    env.step(dicts[0])  # warm-up

    def loop() -> None:
        for step in range(steps):
            env.step(dicts[step % len(dicts)])

    return loop, n * steps


def setup_make_vec(num_envs: int, budget: float):
    """A timed loop of ``RECVectorEnv.step`` calls and the sub-env steps it makes."""
    env = gym.make_vec("RECEnv-v0", num_envs=num_envs, n_items=N_ITEMS)
    assert type(env) is recgym.RECVectorEnv
    batches = action_batches(num_envs)
    steps = steps_for(num_envs, budget)
    env.reset(seed=0)

    def loop() -> None:
        for step in range(steps):
            env.step(batches[step % len(batches)])

    return loop, num_envs * steps


def measure(cases: dict, rounds: int, repeats: int) -> dict:
    """Time every case ``repeats`` times per round, round after round.

    Spreading a case's runs over rounds gives each case several chances at a quiet moment
    of a shared machine. Returns, per case, items per second: wall-clock best and median,
    and the best per CPU-second of the process.
    """
    wall = {key: [] for key in cases}
    cpu = {key: [] for key in cases}
    for _ in range(rounds):
        for key, (loop, items) in cases.items():
            for _ in range(repeats):
                wall_start, cpu_start = time.perf_counter(), time.process_time()
                loop()
                cpu[key].append(items / max(time.process_time() - cpu_start, 1e-9))
                wall[key].append(items / (time.perf_counter() - wall_start))
    return {key: (max(wall[key]), statistics.median(wall[key]), max(cpu[key])) for key in cases}


# --- memory (in a child process, so that the resident set starts clean) ---------------


def _proc_status() -> dict[str, float]:
    """VmRSS and VmHWM (peak resident set) of this process, in MB."""
    values = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024 / 1e6
    return values


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # Linux: reset VmHWM to the current VmRSS
    except OSError:
        return False
    return True


def memory_child(n: int, dtype: str, keep: bool, steps: int = 10) -> dict[str, float]:
    """Peak memory of ``reset_batch`` + ``steps`` ``step_batch`` calls on N users.

    ``keep``: the loop keeps the previous step's return values while the next step runs,
    as ``obs, rewards, ... = env.step_batch(policy(obs))`` does; otherwise every return
    is dropped at once.
    """
    batches = action_batches(n, count=2)
    rss_before = _proc_status()["VmRSS"]
    tracemalloc.start()
    env = make_population(n, dtype=np.dtype(dtype))
    tracemalloc.reset_peak()
    rss_reset = _reset_peak_rss()
    if keep:
        returned = env.reset_batch(seed=0)
        for step in range(steps):
            returned = env.step_batch(batches[step % 2])
        del returned
    else:
        env.reset_batch(seed=0)
        for step in range(steps):
            env.step_batch(batches[step % 2])
    traced_peak = tracemalloc.get_traced_memory()[1]
    rss_peak = _proc_status()["VmHWM"]
    tracemalloc.stop()
    itemsize = np.dtype(dtype).itemsize
    own = 2 * n * D * itemsize / 1e6  # user pool + true states
    return {
        "own": own,
        "traced_peak": traced_peak / 1e6,
        "rss_growth": (rss_peak - rss_before) if rss_reset else float("nan"),
    }


def bench_memory(n: int, dtype: str, keep: bool) -> dict[str, float]:
    command = [sys.executable, __file__, "--memory-child", str(n), dtype, str(int(keep))]
    command += ["--engine", ENGINE]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output)


# --- report ---------------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name, from Linux's /proc/cpuinfo where there is one."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    return (
        f"{cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"numpy {np.__version__}, recgym {recgym.__version__}"
    )


def rate(value: float) -> str:
    return f"{value / 1e6:,.2f} M" if value >= 1e6 else f"{value / 1e3:,.0f} k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one round")
    parser.add_argument("--rounds", type=int, default=None, help="rounds over all rows")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per row and round")
    parser.add_argument(
        "--sizes", type=int, nargs="+", help="population sizes of the step_batch table"
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the memory table")
    parser.add_argument(
        "--engine", default="numpy", choices=("numpy", "numba", "auto"), help="the step's engine"
    )
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    global ENGINE
    ENGINE = args.engine

    if args.memory_child:
        n, dtype, keep = args.memory_child
        print(json.dumps(memory_child(int(n), dtype, bool(int(keep)))))
        return

    quick = args.quick
    rounds = args.rounds or (1 if quick else 5)
    repeats = args.repeats or (3 if quick else 5)
    budget = 1e5 if quick else 1e6  # user-steps per timed run
    sizes = args.sizes or ([10**3, 10**4] if quick else [10**3, 10**4, 10**5, 10**6])
    big = sizes[-1]
    dict_n = 10**3 if quick else 10**4
    vec_n = 512 if quick else 4096

    print(f"Machine: {machine()}")
    print(
        f"d={D}, {N_ITEMS} items; {rounds} rounds x {repeats} timed runs per row: best and "
        "median (wall clock), and best per CPU-second of the process\n"
    )

    rows = [(n, "defaults", {}) for n in sizes] + [(n, "noise", NOISE) for n in sizes]
    rows += [(big, "float32", {"dtype": np.float32})]
    rows += [(big, "float32 + noise", {"dtype": np.float32, **NOISE})]
    cases = {(n, label): setup_step_batch(n, budget, **kwargs) for n, label, kwargs in rows}
    cases["dict"] = setup_dict(dict_n, budget)
    cases["make_vec"] = setup_make_vec(vec_n, budget)
    results = measure(cases, rounds, repeats)
    del cases  # free the populations before the memory runs

    print("| N users | settings | step_batch user-steps/s: best | median | per CPU-s |")
    print("|---:|---|---:|---:|---:|")
    for n, label, _ in rows:
        best, median, cpu = results[(n, label)]
        print(f"| {n:,} | {label} | {rate(best)} | {rate(median)} | {rate(cpu)} |")

    print("\n| API | N | steps/s: best | median | per CPU-s |")
    print("|---|---:|---:|---:|---:|")
    names = {
        "dict": ("PettingZoo dict `step`, agent-steps", dict_n),
        "make_vec": (f'`make_vec("RECEnv-v0", num_envs={vec_n})`, sub-env steps', vec_n),
    }
    for key, (name, n) in names.items():
        best, median, cpu = results[key]
        print(f"| {name} | {n:,} | {rate(best)} | {rate(median)} | {rate(cpu)} |")
    dict_best = results["dict"][0]

    memory = {}
    if not args.no_memory:
        print(f"\nPeak memory, N = {big:,}: `reset_batch` + 10 `step_batch` calls, fresh process")
        print(
            "\n| dtype | loop | own arrays (pool + states) | tracemalloc peak | × own "
            "| peak RSS growth | × own |"
        )
        print("|---|---|---:|---:|---:|---:|---:|")
        for dtype, keep in (("float64", False), ("float64", True), ("float32", False)):
            numbers = memory[(dtype, keep)] = bench_memory(big, dtype, keep)
            loop = "caller keeps last returns" if keep else "returns dropped"
            own = numbers["own"]
            print(
                f"| {dtype} | {loop} | {own:,.0f} MB | {numbers['traced_peak']:,.0f} MB "
                f"| {numbers['traced_peak'] / own:.2f} | {numbers['rss_growth']:,.0f} MB "
                f"| {numbers['rss_growth'] / own:.2f} |"
            )

    verdicts = []  # (what, measured, target, met)
    if (10**6, "defaults") in results:
        step_rate = results[(10**6, "defaults")][0]
        verdicts.append(
            (
                "step_batch, N=10^6, defaults",
                f"{rate(step_rate)}/s",
                f">= {rate(TARGET_STEP_BATCH)}/s",
                step_rate >= TARGET_STEP_BATCH,
            )
        )
    if dict_n == 10**4:
        verdicts.append(
            (
                "dict API, N=10^4",
                f"{rate(dict_best)}/s",
                f">= {rate(TARGET_DICT)}/s",
                dict_best >= TARGET_DICT,
            )
        )
    if memory and big == 10**6:
        peak = memory[("float64", False)]
        ratio = peak["traced_peak"] / peak["own"]
        verdicts.append(
            (
                "peak memory, N=10^6, returns dropped",
                f"{ratio:.2f}x own arrays",
                f"<= {TARGET_MEMORY:.0f}x",
                ratio <= TARGET_MEMORY,
            )
        )
    if verdicts:
        print("\nTargets (throughput: wall-clock best):")
    for what, measured, target, met in verdicts:
        print(f"* {what}: {measured} (target {target}): {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
