"""Several seeds of one run: per-step means with 95 % Student-t confidence intervals.

One rollout is one draw of a random process: the users' initial preferences, the
catalogue, the observation and reward noise and the policy's own draws all come from its
seed. :func:`run_seeds` repeats :func:`~recgym.population.simulate` over several seeds
derived from one base seed and :func:`summarize` turns the histories into a
:class:`SeedSummary`: for every metric and every recorded step, the mean over seeds and a
confidence interval, plus the final values of each seed.

**The interval.** With ``n`` seeds giving the values ``x₁ … xₙ`` of a metric at one step,
mean ``x̄`` and sample standard deviation ``s`` (``ddof = 1``), the interval is

    x̄ ± t_{(1 + c)/2, n − 1} · s / √n          (c = 0.95 by default)

the Student t interval for the mean of a normal population with unknown variance
(Student 1908). The seeds are independent replications, so it covers the expected value
of the metric under this configuration with probability ``c`` when the per-seed values
are roughly normal; with few seeds it is wide by construction (``t_{0.975, 2} = 4.30``
for three seeds). It is undefined (NaN) with one seed, and NaN wherever a seed's value is
NaN (e.g. ``reward`` at step 0).

**The seeds.** Seed ``i`` of base seed ``b`` is ``b + i`` (:func:`derive_seeds`): readable,
deterministic, and the seed ``0`` run of a one-seed study is the run ``simulate(...,
seed=0)`` documented elsewhere. Every seed seeds its own independent random streams
(numpy's ``SeedSequence`` hashes it), so neighbouring integers give unrelated draws.

Example:
    >>> from recgym.population import PopulationEnv
    >>> from recgym.population.seeds import run_seeds
    >>> def population(seed):
    ...     return PopulationEnv(n_users=50, n_items=8, step_per_episode=5, random_state=seed)
    >>> summary = run_seeds(population, "greedy", seeds=3, base_seed=10, metrics=["drift"])
    >>> summary.seeds
    (10, 11, 12)
    >>> mean, low, high = summary.final_interval("drift")
    >>> bool(low < mean < high)
    True
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._io import write_csv
from recgym._validation import check_nonnegative_int, check_positive_int
from recgym.population.env import PopulationEnv
from recgym.population.history import History
from recgym.population.policies import Policy
from recgym.population.simulation import simulate

__all__ = [
    "FINAL_COLUMNS",
    "INTERVAL_COLUMNS",
    "SeedSummary",
    "derive_seeds",
    "run_seeds",
    "summarize",
    "t_interval",
    "write_finals_csv",
    "write_intervals_csv",
]

#: Columns of the tidy table of :meth:`SeedSummary.rows` and :func:`write_intervals_csv`.
INTERVAL_COLUMNS = ("policy", "metric", "step", "n_seeds", "mean", "ci_low", "ci_high")
#: Columns of :meth:`SeedSummary.final_rows` and :func:`write_finals_csv`.
FINAL_COLUMNS = ("policy", "metric", "seed", "value")


def derive_seeds(base_seed: int, n: int) -> tuple[int, ...]:
    """The ``n`` seeds of base seed ``base_seed``: ``base_seed, base_seed + 1, …``.

    Args:
        base_seed: A non-negative integer.
        n: How many seeds (at least 1).

    Returns:
        tuple: ``n`` Python ints.

    Raises:
        TypeError: If an argument is not an integer.
        ValueError: If ``base_seed`` is negative or ``n`` below 1.
    """
    base_seed = check_nonnegative_int(base_seed, "base_seed")
    n = check_positive_int(n, "n")
    return tuple(base_seed + i for i in range(n))


def _check_confidence(confidence: Any) -> float:
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float, np.floating))
        or not 0.0 < float(confidence) < 1.0
    ):
        raise ValueError(f"`confidence` must be a float in (0, 1), got {confidence!r}")
    return float(confidence)


def t_interval(
    values: Any, confidence: float = 0.95, *, axis: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Mean and Student-t confidence interval of the mean along ``axis``.

    ``x̄ ± t_{(1 + confidence)/2, n − 1} · s / √n`` with ``s`` the sample standard
    deviation (``ddof = 1``) of the ``n`` values along ``axis``.

    Args:
        values: Real array; the replications lie along ``axis``.
        confidence: Coverage of the interval, in ``(0, 1)``.
        axis: The axis of the replications (seeds).

    Returns:
        tuple: ``(mean, low, high)``, float64 arrays of ``values``' shape without ``axis``
        (0-d for a 1-D input). ``low`` and ``high`` are NaN with one replication; every
        output is NaN where a replication is NaN.

    Raises:
        ValueError: If ``values`` is empty along ``axis`` or ``confidence`` is not in
            ``(0, 1)``.

    Example:
        >>> mean, low, high = t_interval([1.0, 2.0, 3.0])
        >>> float(mean), round(float(high - mean), 4)  # t(0.975, 2) · 1 / √3
        (2.0, 2.4841)
    """
    from scipy.stats import t as student_t

    confidence = _check_confidence(confidence)
    array = np.asarray(values, dtype=np.float64)
    n = array.shape[axis] if array.ndim else 0
    if n == 0:
        raise ValueError("`values` must hold at least one replication, got none")
    mean = array.mean(axis=axis)
    if n == 1:
        undefined = np.full_like(mean, math.nan)
        return mean, undefined, undefined.copy()
    half = student_t.ppf((1.0 + confidence) / 2.0, n - 1) * array.std(axis=axis, ddof=1)
    half = half / math.sqrt(n)
    return mean, mean - half, mean + half


@dataclass(frozen=True, eq=False)
class SeedSummary:
    """One policy over several seeds: every metric's per-step mean and confidence interval.

    Build it with :func:`run_seeds` or :func:`summarize`.

    Attributes:
        policy: The policy's name.
        seeds: The seeds, in order.
        steps: int64 ``(K,)``: the recorded steps, the same for every seed.
        values: Metric → float64 ``(n_seeds, K)``: each seed's recorded values.
        final: Metric → float64 ``(n_seeds,)``: each seed's :meth:`History.final`
            (every metric's last value, and ``mean_reward``, the run's mean reward).
        confidence: Coverage of the intervals (0.95).
        mean: Metric → float64 ``(K,)``: the mean over seeds at each step.
        low: Metric → float64 ``(K,)``: lower end of the interval (NaN with one seed).
        high: Metric → float64 ``(K,)``: upper end of the interval.
        histories: The seeds' histories, in the order of ``seeds``.
    """

    policy: str
    seeds: tuple[int, ...]
    steps: NDArray[np.int64]
    values: Mapping[str, NDArray[np.float64]]
    final: Mapping[str, NDArray[np.float64]]
    confidence: float = 0.95
    histories: tuple[History, ...] = ()
    mean: dict[str, NDArray[np.float64]] = field(init=False)
    low: dict[str, NDArray[np.float64]] = field(init=False)
    high: dict[str, NDArray[np.float64]] = field(init=False)

    def __post_init__(self) -> None:
        mean, low, high = {}, {}, {}
        for name, values in self.values.items():
            mean[name], low[name], high[name] = t_interval(values, self.confidence)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    @property
    def n_seeds(self) -> int:
        """Number of seeds."""
        return len(self.seeds)

    def interval(
        self, metric: str
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """``(mean, low, high)`` of ``metric`` at every recorded step, float64 ``(K,)`` each.

        Raises:
            KeyError: If ``metric`` was not recorded.
        """
        return self.mean[metric], self.low[metric], self.high[metric]

    def final_interval(self, metric: str) -> tuple[float, float, float]:
        """``(mean, low, high)`` over seeds of the final value of ``metric``.

        ``"mean_reward"`` is the run's mean reward (:meth:`History.final`).

        Raises:
            KeyError: If ``metric`` is not among :attr:`final`.
        """
        mean, low, high = t_interval(self.final[metric], self.confidence)
        return float(mean), float(low), float(high)

    def rows(self) -> list[dict[str, Any]]:
        """The tidy table: one row per metric and recorded step (:data:`INTERVAL_COLUMNS`).

        Returns:
            list: Dicts ``{"policy", "metric", "step", "n_seeds", "mean", "ci_low",
            "ci_high"}`` (``pandas.DataFrame(summary.rows())`` makes a data frame).
        """
        return [
            {
                "policy": self.policy,
                "metric": name,
                "step": int(step),
                "n_seeds": self.n_seeds,
                "mean": float(self.mean[name][k]),
                "ci_low": float(self.low[name][k]),
                "ci_high": float(self.high[name][k]),
            }
            for name in self.values
            for k, step in enumerate(self.steps.tolist())
        ]

    def final_rows(self) -> list[dict[str, Any]]:
        """The final values per seed: one row per metric and seed (:data:`FINAL_COLUMNS`)."""
        return [
            {"policy": self.policy, "metric": name, "seed": seed, "value": float(values[i])}
            for name, values in self.final.items()
            for i, seed in enumerate(self.seeds)
        ]

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`rows` as CSV, atomically (see :func:`write_intervals_csv`)."""
        return write_intervals_csv(path, [self])


def summarize(histories: Sequence[History], confidence: float = 0.95) -> SeedSummary:
    """Aggregate the histories of one policy run with different seeds.

    Args:
        histories: At least one :class:`History` of the same policy, recorded at the same
            steps with the same metrics; each history's seed is its
            ``metadata["seed"]``.
        confidence: Coverage of the intervals, in ``(0, 1)``.

    Returns:
        SeedSummary: The per-step means and intervals, and the final values per seed.

    Raises:
        TypeError: If ``histories`` is not a sequence of History objects.
        ValueError: If it is empty, or the histories differ in policy, recorded steps or
            metrics.
    """
    confidence = _check_confidence(confidence)
    if isinstance(histories, History) or not isinstance(histories, Sequence):
        raise TypeError(
            f"`histories` must be a list of History objects, got {type(histories).__name__}"
        )
    if not histories:
        raise ValueError("`histories` must hold at least one History, got none")
    for history in histories:
        if not isinstance(history, History):
            raise TypeError(f"`histories` must hold History objects, got {type(history).__name__}")
    first = histories[0]
    for history in histories[1:]:
        if history.policy != first.policy:
            raise ValueError(
                f"`histories` must be runs of one policy, got {first.policy!r} and "
                f"{history.policy!r}"
            )
        if not np.array_equal(history.steps, first.steps):
            raise ValueError(
                "`histories` must be recorded at the same steps, got "
                f"{first.steps.tolist()} and {history.steps.tolist()}"
            )
        if list(history.metrics) != list(first.metrics):
            raise ValueError(
                "`histories` must record the same metrics, got "
                f"{list(first.metrics)} and {list(history.metrics)}"
            )
    finals = [history.final() for history in histories]
    return SeedSummary(
        policy=first.policy,
        seeds=tuple(int(h.metadata.get("seed", -1)) for h in histories),
        steps=np.array(first.steps, dtype=np.int64),
        values={
            name: np.stack([h.metrics[name] for h in histories]).astype(np.float64)
            for name in first.metrics
        },
        final={
            name: np.array([final[name] for final in finals], dtype=np.float64)
            for name in finals[0]
        },
        confidence=confidence,
        histories=tuple(histories),
    )


def run_seeds(
    env: PopulationEnv | Callable[[int], PopulationEnv],
    policy: Policy | str,
    *,
    seeds: int | Sequence[int] = 3,
    base_seed: int = 0,
    confidence: float = 0.95,
    **simulate_options: Any,
) -> SeedSummary:
    """Run :func:`~recgym.population.simulate` once per seed and summarise the runs.

    Args:
        env: A function ``seed -> PopulationEnv`` (each seed gets its own population:
            items, users' initial preferences, noise — the usual choice), or one
            environment (its items and users stay; only the noise and the policy's draws
            change with the seed).
        policy: A :class:`~recgym.population.policies.Policy` (reset before each run) or
            a registered name.
        seeds: How many seeds (derived from ``base_seed`` by :func:`derive_seeds`), or
            the seeds themselves.
        base_seed: The first seed, when ``seeds`` is a count.
        confidence: Coverage of the intervals, in ``(0, 1)``.
        **simulate_options: Passed to :func:`~recgym.population.simulate` (``metrics``,
            ``every``, ``steps``, ``progress``, …); not ``seed``.

    Returns:
        SeedSummary: Per-step means and intervals, final values per seed, the histories.

    Raises:
        TypeError: If ``env`` is neither an environment nor a callable, ``seeds`` not a
            count or a sequence of integers, or ``seed`` is among the options.
        ValueError: On a bad count, a negative or repeated seed, or a bad ``confidence``.
    """
    confidence = _check_confidence(confidence)
    if "seed" in simulate_options:
        raise TypeError("`seed` is set per run by run_seeds; pass `seeds` or `base_seed`")
    chosen = _check_seeds(seeds, base_seed)
    population: Callable[[int], PopulationEnv]
    if isinstance(env, PopulationEnv):
        fixed = env

        def population(seed: int) -> PopulationEnv:
            return fixed

    elif callable(env):
        population = env
    else:
        raise TypeError(
            "`env` must be a PopulationEnv or a function seed -> PopulationEnv, "
            f"got {type(env).__name__}"
        )
    histories = [
        simulate(population(seed), policy, seed=seed, **simulate_options) for seed in chosen
    ]
    return summarize(histories, confidence)


def _check_seeds(seeds: Any, base_seed: Any) -> tuple[int, ...]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        return derive_seeds(base_seed, int(seeds))
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence):
        raise TypeError(f"`seeds` must be a count or a sequence of seeds, got {seeds!r}")
    chosen = tuple(check_nonnegative_int(seed, "seeds") for seed in seeds)
    if not chosen:
        raise ValueError("`seeds` must hold at least one seed, got none")
    repeated = [seed for i, seed in enumerate(chosen) if seed in chosen[:i]]
    if repeated:
        raise ValueError(f"`seeds` must not repeat a seed, got {repeated[0]} twice")
    return chosen


def write_intervals_csv(path: str | os.PathLike[str], summaries: Sequence[SeedSummary]) -> Path:
    """Write the tidy table of one or more summaries as CSV, atomically.

    Columns :data:`INTERVAL_COLUMNS`: ``policy, metric, step, n_seeds, mean, ci_low,
    ci_high``; one row per policy, metric and recorded step; ``nan`` where undefined.

    Returns:
        pathlib.Path: ``path``.
    """
    rows = (
        [row[column] for column in INTERVAL_COLUMNS]
        for summary in summaries
        for row in summary.rows()
    )
    return write_csv(path, INTERVAL_COLUMNS, rows)


def write_finals_csv(path: str | os.PathLike[str], summaries: Sequence[SeedSummary]) -> Path:
    """Write the final values per seed of one or more summaries as CSV, atomically.

    Columns ``policy, metric, seed, value``; one row per policy, metric and seed.

    Returns:
        pathlib.Path: ``path``.
    """
    rows = (
        [row[column] for column in FINAL_COLUMNS]
        for summary in summaries
        for row in summary.final_rows()
    )
    return write_csv(path, FINAL_COLUMNS, rows)
