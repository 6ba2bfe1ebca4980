"""Build times of recgym.worlds: social graphs and von Mises–Fisher populations.

Prints a markdown table of wall-clock build times (best and median of ``--repeats`` runs,
each with a fresh seed):

* ``erdos_renyi(n, mean_degree=10)``;
* ``stochastic_block_model([n/2, n/2], p_in=16/n, p_out=4/n)`` (mean degree ≈ 10);
* ``barabasi_albert(n, m=5)`` (mean degree ≈ 10);

at n = 10⁵ and 10⁶, and ``von_mises_fisher`` draws of 10⁶ users at d = 5 (κ = 10), next
to ``scipy.stats.vonmises_fisher`` when scipy has it (≥ 1.11). ``--networkx`` adds
networkx's G(n, p) and Barabási–Albert generators at n = 10⁵ for comparison (tens of
seconds). networkx's ``stochastic_block_model(..., sparse=True)`` is left out: it took
about 4 minutes per graph at n = 10⁵ on the 2-CPU development machine.

Run from the repository root::

    python benchmarks/bench_worlds.py            # about a minute
    python benchmarks/bench_worlds.py --quick    # n = 10⁵ only, a few seconds

The machine may be shared: the script prints the load average, and the best of several
runs is the number least disturbed by other processes.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy
from scipy import stats

from recgym.worlds import barabasi_albert, erdos_renyi, stochastic_block_model, von_mises_fisher

MEAN_DEGREE = 10.0
M = 5
DIM, KAPPA, N_USERS = 5, 10.0, 10**6


def timed(build: Callable[[int], Any], repeats: int) -> tuple[float, float, Any]:
    """Best and median seconds of ``build(seed)`` over ``repeats`` seeds, and one result."""
    times, result = [], None
    for seed in range(repeats):
        start = time.perf_counter()
        result = build(seed)
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def graph_rows(n: int) -> list[tuple[str, Callable[[int], Any]]]:
    return [
        (f"erdos_renyi(n, {MEAN_DEGREE:g})", lambda s: erdos_renyi(n, MEAN_DEGREE, rng=s)),
        (
            "stochastic_block_model([n/2]*2, 16/n, 4/n)",
            lambda s: stochastic_block_model([n // 2, n - n // 2], 16 / n, 4 / n, rng=s),
        ),
        (f"barabasi_albert(n, {M})", lambda s: barabasi_albert(n, M, rng=s)),
    ]


def networkx_rows(n: int) -> list[tuple[str, Callable[[int], Any]]]:
    import networkx as nx

    return [
        (
            f"networkx.fast_gnp_random_graph(n, {MEAN_DEGREE:g}/(n-1))",
            lambda s: nx.fast_gnp_random_graph(n, MEAN_DEGREE / (n - 1), seed=s),
        ),
        (
            f"networkx.barabasi_albert_graph(n, {M})",
            lambda s: nx.barabasi_albert_graph(n, M, seed=s),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per row (default 3)")
    parser.add_argument("--quick", action="store_true", help="n = 10^5 only, no vMF at 10^6")
    parser.add_argument("--networkx", action="store_true", help="also time networkx at 10^5")
    args = parser.parse_args()

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print()
    print("| build | n | best (s) | median (s) | edges |")
    print("|---|---:|---:|---:|---:|")
    sizes = [10**5] if args.quick else [10**5, 10**6]
    for n in sizes:
        rows = graph_rows(n)
        if args.networkx and n == 10**5:
            rows += networkx_rows(n)
        for name, build in rows:
            best, median, graph = timed(build, args.repeats)
            edges = graph.number_of_edges() if hasattr(graph, "number_of_edges") else graph.nnz // 2
            print(f"| `{name}` | {n:,} | {best:.3f} | {median:.3f} | {edges:,} |")
    if not args.quick:
        mean = np.ones(DIM) / np.sqrt(DIM)
        vmf_rows: list[tuple[str, Callable[[int], Any]]] = [
            (
                f"von_mises_fisher(μ, {KAPPA:g}, size) at d = {DIM}",
                lambda s: von_mises_fisher(mean, KAPPA, N_USERS, rng=s),
            )
        ]
        scipy_vmf = getattr(stats, "vonmises_fisher", None)
        if scipy_vmf is not None:
            vmf_rows.append(
                (
                    f"scipy.stats.vonmises_fisher(μ, {KAPPA:g}).rvs(size) at d = {DIM}",
                    lambda s: scipy_vmf(mean, KAPPA).rvs(
                        N_USERS, random_state=np.random.default_rng(s)
                    ),
                )
            )
        for name, build in vmf_rows:
            best, median, _ = timed(build, args.repeats)
            print(f"| `{name}` | {N_USERS:,} | {best:.3f} | {median:.3f} | – |")
    print()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
