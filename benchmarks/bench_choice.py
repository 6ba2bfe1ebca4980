"""Time per call of the choice models and of the idiosyncratic normals.

Every configuration runs ``--repeats`` times on ``--users`` users and slates of
``--slate-size`` items: utilities are standard normals (float64), the availability mask
(where used) keeps each position with probability 0.8, and per-user parameters are
indexed by ``user_ids = arange(n)``. Times are the process's CPU time per call
(``time.process_time``, less disturbed by other programs than wall-clock time): the best
and the median run. Everything runs on one core (no BLAS is involved). The last table
times ``idiosyncratic_normals`` for the same slates (``user_ids[:, None]`` × item ids).

Run from the repository root::

    python benchmarks/bench_choice.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np

from recgym._idiosyncratic import idiosyncratic_key, idiosyncratic_normals
from recgym.choice import Cascade, ChoiceModel, Consume, MultinomialLogit, PositionBased


def configurations(n: int) -> dict[str, ChoiceModel]:
    rng = np.random.default_rng(1)
    return {
        "consume": Consume(),
        "mnl": MultinomialLogit(),
        "mnl, per-user τ and u₀": MultinomialLogit(
            temperature=rng.uniform(0.5, 2.0, n), no_choice_utility=rng.normal(size=n)
        ),
        "cascade": Cascade(),
        "cascade, continuation 0.9": Cascade(continuation=0.9),
        "pbm": PositionBased(),
    }


def cpu_times(call: Callable[[], object], repeats: int) -> list[float]:
    """CPU seconds of each of ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--slate-size", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    n, k = args.users, args.slate_size

    data = np.random.default_rng(0)
    utilities = data.normal(size=(n, k))
    available = data.random((n, k)) < 0.8
    user_ids = np.arange(n)
    generator = np.random.default_rng(2)

    print(
        f"{platform.processor() or platform.machine()}, numpy {np.__version__}, "
        f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    print(f"n = {n:,} users, k = {k}, {args.repeats} runs; CPU ms per call (best / median)\n")
    print("| model | choose | choose, mask | probabilities | probabilities, mask |")
    print("|---|---:|---:|---:|---:|")
    for label, model in configurations(n).items():
        cells = []
        for method in ("choose", "probabilities"):
            for mask in (None, available):
                if method == "choose":

                    def call(model=model, mask=mask):
                        return model.choose(utilities, generator, available=mask, user_ids=user_ids)
                else:

                    def call(model=model, mask=mask):
                        return model.probabilities(utilities, available=mask, user_ids=user_ids)

                times = cpu_times(call, args.repeats)
                cells.append(f"{1e3 * min(times):.0f} / {1e3 * statistics.median(times):.0f}")
        print(f"| {label} | " + " | ".join(cells) + " |")

    key = idiosyncratic_key(np.random.SeedSequence(0))
    slates = data.integers(0, 100_000, size=(n, k))
    times = cpu_times(lambda: idiosyncratic_normals(key, user_ids[:, None], slates), args.repeats)
    print("\n| idiosyncratic normals | CPU ms per call (best / median) |")
    print("|---|---:|")
    print(
        f"| ({n:,}, 1) users × ({n:,}, {k}) items | "
        f"{1e3 * min(times):.0f} / {1e3 * statistics.median(times):.0f} |"
    )


if __name__ == "__main__":
    main()
