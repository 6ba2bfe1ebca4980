"""Ray's cost per step: a population sharded over 2 local actors against one process.

Measures, and prints as markdown tables (d = 5, 100 items, float64; ``ray.init`` on the
machine's CPUs, local actors):

* **Ray's fixed costs**: a round of trivial calls to 2 actors, and ``ray.put`` and
  ``ray.get`` of a 40 MB array;
* **the step**: ``step_batch`` of ``ShardedPopulationEnv(n_shards=2)`` against
  ``PopulationEnv`` at each population size of ``--sizes`` (default 10⁴ … 10⁷), with the
  same engine in the driver and in the actors, and the step of a one-process population
  of half the size (what each actor computes, when it has a core to itself);
* **Ray's overhead per step**: the same sharded step on actors that replay their first
  result instead of computing (``ReplayShard``) — validation, scattering the actions,
  the calls, serialising, gathering and concatenating the results, without the actors'
  arithmetic competing with anything for the cores. Each actor also times its own
  population step (wall and CPU), which shows when it waited for a core;
* the **speed-up**, measured (one process / 2 actors) and on free cores (one process /
  (half population + Ray overhead), what 2 actors give when each has a core of its own
  and the driver's work does not overlap theirs); sharding pays where it exceeds 1 (the
  break-even size);
* the bytes moved per step: actions scattered, rewards and states (and observations,
  with observation noise) gathered.

Populations of fewer than 2 × 65,536 users run with ``block_size = ceil(N / 2)`` (in
all three environments of the row, so they compute the same numbers): two shards need
two blocks.

Every figure is the best of ``--repeats`` timed runs of ``--steps`` steps (the median
too), after a warm-up, with the 1-minute load average (as ``uptime`` shows it) taken
before and after the row. On a shared machine use ``--rounds``: every row is measured
again in each round over all rows, so that it gets several chances at a quiet moment,
and a last table keeps each figure's best over the rounds. The actors' numba
(``engine="numba"``) runs one thread each (``NUMBA_NUM_THREADS=1`` in their
environment); the one-process numba step runs on all threads.

Run from the repository root (Ray installed: ``pip install -e '.[ray]'``)::

    python benchmarks/bench_distributed.py                 # several minutes; 10⁷ needs ~8 GB
    python benchmarks/bench_distributed.py --quick         # up to 10⁵ users, under a minute
    python benchmarks/bench_distributed.py --sizes 1000000,10000000 --configs default,noise
    python benchmarks/bench_distributed.py --configs default,noise,mnl --rounds 3
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np
import ray
from bench_scale import load, machine  # the scale benchmark's machine line and load

from recgym._streams import BLOCK_SIZE
from recgym.distributed import ShardedPopulationEnv
from recgym.distributed import population as distributed_population
from recgym.distributed._worker import ShardResult, ShardWorker
from recgym.population import PopulationEnv

N_ITEMS, D = 100, 5
#: The configurations of the step rows.
CONFIGS = {
    "default": {},
    "noise": {"obs_std": 0.1, "reward_std": 0.1},
    "mnl": {"slate_size": 10, "choice_model": "mnl"},
}
#: One numba thread per actor: two actors on two cores.
ACTOR_OPTIONS = {"runtime_env": {"env_vars": {"NUMBA_NUM_THREADS": "1"}}}


def best_of(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(best, median) seconds of ``repeats`` calls of ``function``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def milliseconds(times: tuple[float, float]) -> str:
    return f"{times[0] * 1e3:.2f} ({times[1] * 1e3:.2f})"


# --- Ray's fixed costs ----------------------------------------------------------------------


@ray.remote
class Echo:
    """A trivial actor."""

    def call(self, value: object = None) -> object:
        """Return ``value``."""
        return value


def fixed_costs(repeats: int) -> None:
    actors = [Echo.remote() for _ in range(2)]
    ray.get([actor.call.remote() for actor in actors])
    array = np.random.default_rng(0).random((10**6, D))  # 40 MB
    reference = ray.put(array)
    rows = [
        ("round of 2 trivial actor calls", lambda: ray.get([a.call.remote() for a in actors])),
        ("ray.put of 40 MB", lambda: ray.put(array)),
        ("ray.get of 40 MB (zero-copy)", lambda: ray.get(reference)),
        ("np.copy of 40 MB (for comparison)", lambda: array.copy()),
    ]
    print("\n## Ray's fixed costs\n")
    print("| operation | best ms (median) | load before → after |")
    print("|---|---|---|")
    for name, function in rows:
        before = load()
        times = best_of(function, repeats * 4)
        print(f"| {name} | {milliseconds(times)} | {before:.2f} → {load():.2f} |")
    for actor in actors:
        ray.kill(actor)


# --- the step -----------------------------------------------------------------------------


class ReplayShard(ShardWorker):
    """A shard that steps once, then returns that step's result again without computing.

    A ``ShardedPopulationEnv`` on such actors does everything a sharded step does —
    validate, scatter the actions, call every actor, serialise, gather and concatenate
    the results, clip the observations — except the actors' arithmetic: its step time is
    Ray's overhead alone, measured without the actors competing for cores.
    """

    def step(self, actions: np.ndarray) -> ShardResult:
        """The first call's result, every time."""
        if not hasattr(self, "replayed"):
            self.replayed = super().step(actions)
        return self.replayed


def sharded_env(n: int, config: str, engine: str, block: int, replay: bool):
    """``ShardedPopulationEnv(n_shards=2)``, on replaying actors if ``replay``."""
    original = distributed_population.RemoteShard
    if replay:
        distributed_population.RemoteShard = ray.remote(ReplayShard)
    try:
        return ShardedPopulationEnv(
            n_shards=2,
            actor_options=ACTOR_OPTIONS if engine == "numba" else None,
            **arguments(n, config, engine, block),
        )
    finally:
        distributed_population.RemoteShard = original


def arguments(n: int, config: str, engine: str, block_size: int) -> dict[str, object]:
    return {
        "n_users": n,
        "block_size": block_size,
        "n_items": N_ITEMS,
        "user_feature_dim": D,
        "item_feature_dim": D,
        "step_per_episode": 10**9,  # no reset inside a timed loop
        "random_state": 0,
        "engine": engine,
        **CONFIGS[config],
    }


def actions_for(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    if k == 1:
        return rng.integers(N_ITEMS, size=n)
    pool = np.argsort(rng.random((4096, N_ITEMS)), axis=1)[:, :k]  # distinct items
    return np.ascontiguousarray(pool[rng.integers(len(pool), size=n)])


def time_steps(env: PopulationEnv, steps: int, repeats: int) -> list[tuple[float, ...]]:
    """Per run of ``steps`` ``step_batch`` calls: seconds per step, and the slowest actor's.

    For a sharded environment the run also gives the wall-clock and CPU seconds per step
    its slowest actor spent in its population's own step (``ShardWorker.step_seconds``;
    CPU well below wall means the actor waited for a core); zeros otherwise.
    """
    rng = np.random.default_rng(0)
    batches = [actions_for(env.n_users, env.config.slate_size, rng) for _ in range(2)]
    env.reset_batch(seed=0)
    env.step_batch(batches[0])  # warm-up: compiles or loads the kernels, faults pages in
    workers = env._shards.workers if isinstance(env, ShardedPopulationEnv) else []

    def busy() -> np.ndarray:
        """(wall, CPU) seconds per actor, ``(n_actors, 2)``."""
        return np.array(ray.get([worker.step_seconds.remote() for worker in workers]))

    runs = []
    for _ in range(repeats):
        before = busy() if workers else None
        start = time.perf_counter()
        for step in range(steps):
            env.step_batch(batches[step % 2])
        elapsed = time.perf_counter() - start
        wall = cpu = 0.0
        if before is not None:
            spent = busy() - before
            slowest = int(np.argmax(spent[:, 0]))
            wall, cpu = spent[slowest]
        runs.append((elapsed / steps, wall / steps, cpu / steps))
    return runs


def summary(runs: list[tuple[float, ...]]) -> tuple[float, float]:
    """(best, median) seconds per step."""
    times = [run[0] for run in runs]
    return min(times), statistics.median(times)


def moved_bytes(n: int, config: str) -> str:
    """Bytes scattered and gathered per step (float64 states, int64 actions)."""
    settings = CONFIGS[config]
    k = settings.get("slate_size", 1)
    scattered = 8 * n * k
    gathered = 8 * n * D + 8 * n  # states, rewards
    if settings.get("obs_std", 0.0) > 0.0:
        gathered += 8 * n * D  # observations (without noise the driver clips the states)
    if k > 1:
        gathered += 16 * n  # choices and items
    return f"{scattered / 1e6:.0f} + {gathered / 1e6:.0f}"


def measure_row(n: int, config: str, engine: str, steps: int, repeats: int) -> dict:
    """One round of a row: each figure as (best, median) seconds per step, and the loads."""
    before = load()
    block = min(BLOCK_SIZE, -(-n // 2))  # two blocks at least, to make two shards
    row: dict = {}
    one = PopulationEnv(**arguments(n, config, engine, block))
    row["engine"] = engine = one._population.engine  # "auto" resolved for everyone
    row["one"] = summary(time_steps(one, steps, repeats))
    del one
    gc.collect()
    half = PopulationEnv(**arguments(n // 2, config, engine, block))
    row["half"] = summary(time_steps(half, steps, repeats))
    del half
    gc.collect()
    for replay in (True, False):
        env = sharded_env(n, config, engine, block, replay)
        runs = time_steps(env, steps, repeats)
        env.close()
        del env
        gc.collect()
        row["overhead" if replay else "sharded"] = summary(runs)
    row["actor"] = min(runs)[1:]  # the best sharded run's slowest actor: wall, CPU
    row["load"] = (before, load())
    return row


def best(rows: list[dict]) -> dict:
    """The rounds of a row combined: every figure's best and median over the rounds."""
    combined = dict(rows[0])
    for key in ("one", "half", "overhead", "sharded"):
        combined[key] = (min(row[key][0] for row in rows), min(row[key][1] for row in rows))
    combined["actor"] = min((row["actor"] for row in rows), key=lambda actor: actor[0])
    loads = [value for row in rows for value in row["load"]]
    combined["load"] = (min(loads), max(loads))
    return combined


HEADER = (
    "| users | config | engine | one process | half population | Ray overhead | 2 actors | "
    "slowest actor | speed-up measured | on free cores | MB moved | load |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def format_row(n: int, config: str, row: dict) -> str:
    one, half, overhead, sharded = (row[key] for key in ("one", "half", "overhead", "sharded"))
    wall, cpu = row["actor"]
    low, high = row["load"]
    return (
        f"| {n:,} | {config} | {row['engine']} | {milliseconds(one)} | {milliseconds(half)} | "
        f"{milliseconds(overhead)} | {milliseconds(sharded)} | {wall * 1e3:.2f} / "
        f"{cpu * 1e3:.2f} | {one[0] / sharded[0]:.2f} | {one[0] / (half[0] + overhead[0]):.2f} "
        f"| {moved_bytes(n, config)} | {low:.2f}–{high:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="up to 10^5 users, few repeats")
    parser.add_argument("--sizes", default=None, help="population sizes, comma-separated")
    parser.add_argument("--configs", default="default,noise", help=f"of {sorted(CONFIGS)}")
    parser.add_argument("--engines", default="numpy", help="numpy and/or numba (or auto)")
    parser.add_argument("--steps", type=int, default=None, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per figure")
    parser.add_argument("--rounds", type=int, default=1, help="rounds over all rows")
    args = parser.parse_args()
    if args.sizes:
        sizes = [int(size) for size in args.sizes.split(",")]
    elif args.quick:
        sizes = [10**4, 10**5]
    else:
        sizes = [10**4, 10**5, 3 * 10**5, 10**6, 3 * 10**6, 10**7]
    repeats = args.repeats or (2 if args.quick else 5)
    keys = [
        (engine, config, n)
        for engine in args.engines.split(",")
        for config in args.configs.split(",")
        for n in sizes
    ]

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    print(f"Machine: {machine()}, ray {ray.__version__}")
    fixed_costs(repeats)
    print("\n## The step: one process against 2 local actors\n")
    print(
        "Milliseconds per `step_batch`, best of the runs (median). Ray overhead: the "
        "sharded step on actors that replay their first result (no arithmetic). Slowest "
        "actor: its own population step in the best sharded run, wall / CPU (CPU below "
        "wall: it waited for a core). Speed-up measured = one process / 2 actors; on free "
        "cores = one process / (half population + Ray overhead). MB scattered + gathered "
        "per step. Load: the 1-minute load average before and after the row.\n"
    )
    results: dict[tuple, list[dict]] = {key: [] for key in keys}
    for round_ in range(args.rounds):
        if args.rounds > 1:
            print(f"\nRound {round_ + 1} of {args.rounds}:\n")
        print(HEADER)
        for engine, config, n in keys:
            steps = args.steps or max(2, min(50, 2 * 10**6 // n))
            row = measure_row(n, config, engine, steps, repeats)
            results[engine, config, n].append(row)
            print(format_row(n, config, row), flush=True)
    if args.rounds > 1:
        print(f"\nBest of the {args.rounds} rounds (load: lowest–highest during them):\n")
        print(HEADER)
        for engine, config, n in keys:
            print(format_row(n, config, best(results[engine, config, n])))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\nPeak resident memory of the driver: {peak:.1f} GiB")
    ray.shutdown()


if __name__ == "__main__":
    main()
