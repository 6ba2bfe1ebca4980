"""``simulate``: run a population-level policy on a ``PopulationEnv`` and record metrics."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recgym._progress import Progress
from recgym._validation import check_choice, check_positive_int, check_seed
from recgym.population.env import PopulationEnv
from recgym.population.history import History
from recgym.population.metrics import (
    METRICS,
    _evaluate,
    _jaccard,
    _metric_names,
    _Preferences,
    _unique_groups,
    nearest_neighbors,
)
from recgym.population.policies import Policy, make_policy

__all__ = ["DEFAULT_METRICS", "RECORDABLE", "simulate"]

#: Metrics recorded by default: preference structure, drift and exposure concentration.
DEFAULT_METRICS = (
    "homogenization",
    "polarization",
    "mean_squared_cosine",
    "drift",
    "coverage",
    "gini",
    "entropy",
    "top10_share",
    "jaccard_nn",
)

#: The arrays :func:`simulate` can record in full (``record=...``).
RECORDABLE = ("states", "observations", "actions", "rewards")

# Tags of the policy's and the Jaccard sample's random streams, distinct from the
# environment's spawned children.
_POLICY_STREAM = 0x706F6C
_JACCARD_STREAM = 0x6A6163


def simulate(
    env: PopulationEnv,
    policy: Policy | str,
    steps: int | None = None,
    *,
    seed: int | None = None,
    metrics: Iterable[str] = DEFAULT_METRICS,
    every: int = 1,
    counts: str = "exposure",
    groups: NDArray[Any] | None = None,
    record: Iterable[str] = (),
    progress: bool | None = None,
    options: dict[str, Any] | None = None,
    jaccard_users: int = 10_000,
) -> History:
    """Run ``policy`` for every user of ``env`` at once and record what happens.

    The loop goes through the array API: ``env.reset_batch(seed)``, then per step
    ``policy.act(observations)`` → ``env.step_batch(actions)`` → ``policy.update``.
    Metrics are computed on the *true* preferences after the reset and every ``every``
    steps (always including the last). Item metrics (``coverage``, ``gini``, ``entropy``,
    ``top10_share``) use the cumulative item counts chosen by ``counts``; ``jaccard_nn``
    pairs users by their initial preferences and compares the sets of items they
    *consumed* (items whose reward was positive).

    Args:
        env: The population. It is reset at the start.
        policy: A :class:`~recgym.population.policies.Policy` or a registered name
            (see :data:`~recgym.population.policies.POLICIES`).
        steps: Steps to run; default (and at most) ``env.step_per_episode``.
        seed: Seeds the environment (``reset_batch(seed=seed)``) and the policy's own
            generator, so the whole run is reproducible.
        metrics: Names from :data:`~recgym.population.metrics.METRICS`.
        every: Record metrics every this many steps.
        counts: ``"exposure"`` (recommended items) or ``"consumption"`` (items with a
            positive reward) for the item metrics.
        groups: Optional user-group labels ``(n_users,)``; every metric is then also
            recorded per group as ``"name[label]"`` (computed on that group's users,
            their item counts and their nearest neighbours within the group).
        record: Any of :data:`RECORDABLE` to keep in full in ``History.trajectory``
            (``states`` and ``observations`` cost ``(steps + 1) · N · d`` floats each).
        progress: Show a progress bar on stderr; default: when stderr is a terminal and
            the run has at least 10⁷ user-steps.
        options: Passed to ``env.reset_batch``.
        jaccard_users: With more users than this, ``jaccard_nn`` averages over a fixed
            uniform random sample of this many users (drawn from ``seed``; per group,
            the sampled users of the group): an unbiased estimate of the mean over
            everyone, with standard error at most ``0.5 / √jaccard_users``, that bounds
            the one-off nearest-neighbour search, which degrades towards O(N) per user
            in high dimension.

    Returns:
        History: The recorded run.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument has a wrong value (unknown metric, too many steps, …).
    """
    if not isinstance(env, PopulationEnv):
        raise TypeError(
            f"`env` must be a recgym.population.PopulationEnv, got {type(env).__name__}"
        )
    if isinstance(policy, str):
        policy = make_policy(policy)
    elif not isinstance(policy, Policy):
        got = (
            f"the class {policy.__name__} (pass an instance)"
            if isinstance(policy, type)
            else type(policy).__name__
        )
        raise TypeError(
            f"`policy` must be a recgym.population.policies.Policy or a policy name, got {got}"
        )
    horizon = (
        env.step_per_episode
        if env.max_cycles is None
        else min(env.step_per_episode, env.max_cycles)
    )
    steps = horizon if steps is None else check_positive_int(steps, "steps")
    if steps > horizon:
        raise ValueError(
            f"`steps` must be at most the episode length ({horizon}; raise "
            f"`step_per_episode`), got {steps}"
        )
    seed = check_seed(seed, "seed")
    every = check_positive_int(every, "every")
    jaccard_users = check_positive_int(jaccard_users, "jaccard_users")
    names = _metric_names(metrics, "metrics")
    counts = check_choice(counts, "counts", ("exposure", "consumption"))
    record = _check_record(record)
    n, n_items = env.n_users, env.n_items
    group_index = _group_index(groups, n)
    if progress is None:
        progress = sys.stderr.isatty() and n * steps >= 10**7
    elif not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"`progress` must be a bool or None, got {progress!r}")

    obs, info = env.reset_batch(seed=seed, options=options)
    # info["state"] is a read-only snapshot (never written again): no copy per step. The
    # History gets its own writable copies of the first and last states.
    initial_states = info["state"]
    policy.reset(
        env.item_features,
        n_users=n,
        rng=np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_POLICY_STREAM,))),
    )
    sample = None
    if "jaccard_nn" in names and n > jaccard_users:
        chosen = np.random.default_rng(
            np.random.SeedSequence(seed, spawn_key=(_JACCARD_STREAM,))
        ).choice(n, size=jaccard_users, replace=False)
        sample = np.zeros(n, dtype=np.bool_)
        sample[chosen] = True
    tracker = _MetricTracker(names, initial_states, n_items, group_index, counts, sample)
    trajectory = _allocate(record, steps, obs, n)
    _store(trajectory, 0, states=initial_states, observations=obs)
    tracker.record(0, initial_states)

    mean_rewards = np.empty(steps, dtype=np.float64)
    exposure = np.zeros(n_items, dtype=np.int64)
    consumption = np.zeros(n_items, dtype=np.int64)
    bar = Progress(steps, f"simulate {policy.name}", enabled=bool(progress))
    current = initial_states
    for t in range(1, steps + 1):
        decision = policy.act(obs, states=current if policy.needs_state else None)
        obs, rewards, _, _, info = env.step_batch(decision.actions)
        current = info["state"]
        policy.update(decision.actions, rewards)
        positive = rewards > 0
        exposure += np.bincount(decision.actions, minlength=n_items)
        consumption += np.bincount(decision.actions[positive], minlength=n_items)
        mean_rewards[t - 1] = rewards.mean()
        tracker.observe(decision.actions, positive)
        _store(
            trajectory,
            t,
            states=current,
            observations=obs,
            actions=decision.actions,
            rewards=rewards,
        )
        if t % every == 0 or t == steps:
            tracker.record(t, current, exposure if counts == "exposure" else consumption)
        bar.update(t)

    return History(
        policy=policy.name,
        steps=np.asarray(tracker.steps, dtype=np.int64),
        metrics=tracker.series(),
        rewards=mean_rewards,
        exposure=exposure,
        consumption=consumption,
        initial_states=np.array(initial_states),
        final_states=np.array(current),
        trajectory=trajectory,
        metadata={
            "n_users": n,
            "n_items": n_items,
            "user_feature_dim": env.user_feature_dim,
            "steps": steps,
            "seed": seed,
            "every": every,
            "counts": counts,
            "reward_type": env.config.reward_type,
            "obs_std": env.config.obs_std,
            "reward_std": env.config.reward_std,
            "feature_normalization": env.config.feature_normalization,
            "random_state": env.config.random_state,
            "dtype": str(env.dtype),
        },
    )


def _check_record(record: Iterable[str]) -> tuple[str, ...]:
    if isinstance(record, str):
        record = (record,)
    try:
        record = tuple(record)
    except TypeError:
        raise TypeError(
            f"`record` must be a name or an iterable of names from {list(RECORDABLE)}, "
            f"got {record!r}"
        ) from None
    unknown = [name for name in record if name not in RECORDABLE]
    if unknown:
        raise ValueError(f"`record` must hold names from {list(RECORDABLE)}, got {unknown[0]!r}")
    return record


def _group_index(groups: Any, n: int) -> dict[Any, NDArray[np.intp]]:
    if groups is None:
        return {}
    if not isinstance(groups, np.ndarray):
        raise TypeError(
            f"`groups` must be a numpy array of shape ({n},), got {type(groups).__name__}"
        )
    if groups.shape != (n,):
        raise ValueError(f"`groups` must have shape ({n},), got {groups.shape}")
    labels, inverse = _unique_groups(groups, n)  # no NaN, one sortable type
    return {label.item(): np.flatnonzero(inverse == g) for g, label in enumerate(labels)}


def _allocate(
    record: Sequence[str], steps: int, obs: NDArray[Any], n: int
) -> dict[str, NDArray[Any]]:
    shapes = {
        "states": ((steps + 1, *obs.shape), obs.dtype),
        "observations": ((steps + 1, *obs.shape), obs.dtype),
        "actions": ((steps, n), np.int64),
        "rewards": ((steps, n), obs.dtype),
    }
    return {name: np.empty(*shapes[name]) for name in record}


def _store(trajectory: dict[str, NDArray[Any]], t: int, **arrays: NDArray[Any] | None) -> None:
    for name, value in arrays.items():
        if name in trajectory and value is not None:
            index = t - 1 if name in ("actions", "rewards") else t
            trajectory[name][index] = value


#: Largest bit matrix (bytes) of consumed items that the tracker keeps instead of CSR.
_BITS_BUDGET = 1 << 26


def _jaccard_bits(
    bits: NDArray[np.uint8], queries: NDArray[np.intp], partner: NDArray[np.intp]
) -> float:
    """``metrics._jaccard`` on a bit-packed 0/1 matrix (rows of users, 8 items a byte).

    The same integer intersections and unions, so bit-identical values.
    """
    first, second = bits[queries], bits[partner]
    intersection = np.bitwise_count(first & second).sum(axis=1, dtype=np.int64)
    sizes_first = np.bitwise_count(first).sum(axis=1, dtype=np.int64)
    union = sizes_first + np.bitwise_count(second).sum(axis=1, dtype=np.int64) - intersection
    defined = union > 0
    if not defined.any():
        return math.nan
    return float(np.mean(intersection[defined] / union[defined]))


class _MetricTracker:
    """Evaluates the chosen metrics, for the whole population and for each group."""

    def __init__(
        self,
        names: list[str],
        initial_states: NDArray[Any],
        n_items: int,
        groups: dict[Any, NDArray[np.intp]],
        counts: str = "exposure",
        jaccard_sample: NDArray[np.bool_] | None = None,
    ):
        self.names = names
        self.count_consumption = counts == "consumption"
        self.initial_states = initial_states
        self.n_items = n_items
        self.groups = groups
        self.steps: list[int] = []
        self.values: dict[str, list[float]] = {}
        self.track_consumed = "jaccard_nn" in names
        self.others = [name for name in names if name != "jaccard_nn"]
        # The normalised initial states of each label (None: everyone), kept across records.
        self.initial: dict[Any, _Preferences] = {}
        n = len(initial_states)
        # 0/1 indicator of consumed items (canonical CSR), kept only for the rows that
        # jaccard_nn reads: the queried users and their neighbours (None: every row).
        self.consumed = sp.csr_array((n, n_items), dtype=np.int64)
        self.tracked_rows: NDArray[np.bool_] | None = None
        self.bits: NDArray[np.uint8] | None = None
        # label -> (queried users, their neighbours) as indices of all users.
        self.global_pairs: dict[Any, tuple[NDArray[np.intp], NDArray[np.intp]]] = {}
        self._pending_users: list[NDArray[np.intp]] = []
        self._pending_items: list[NDArray[np.int64]] = []
        self.group_counts = {label: np.zeros(n_items, dtype=np.int64) for label in groups}
        # label -> (queried users, their neighbours), both within the label's rows.
        self.neighbors: dict[Any, tuple[NDArray[np.intp] | None, NDArray[np.intp]] | None] = {}
        if self.track_consumed:
            everyone = np.arange(n)
            for label, index in [(None, everyone), *groups.items()]:
                queries = None if jaccard_sample is None else np.flatnonzero(jaccard_sample[index])
                if len(index) < 2 or (queries is not None and queries.size == 0):
                    self.neighbors[label] = None
                    continue
                pairs = nearest_neighbors(initial_states[index], users=queries)
                self.neighbors[label] = (queries, pairs)
            self.tracked_rows = np.zeros(n, dtype=np.bool_)
            for label, index in [(None, everyone), *groups.items()]:
                if self.neighbors[label] is not None:
                    queries, pairs = self.neighbors[label]
                    self.tracked_rows[index if queries is None else index[queries]] = True
                    self.tracked_rows[index[pairs]] = True
            if self.tracked_rows.all():
                self.tracked_rows = None
            # With a small enough catalogue, the indicator is a bit matrix (one bit per
            # user and item) updated in place: no sparse addition per record.
            row_bytes = (n_items + 7) // 8
            if n * row_bytes <= _BITS_BUDGET:
                self.bits = np.zeros((n, row_bytes), dtype=np.uint8)
                for label, index in [(None, everyone), *groups.items()]:
                    if self.neighbors[label] is not None:
                        queries, pairs = self.neighbors[label]
                        rows = index if queries is None else index[queries]
                        self.global_pairs[label] = (rows, index[pairs])

    def observe(self, actions: NDArray[np.int64], positive: NDArray[np.bool_]) -> None:
        if self.track_consumed:
            tracked = positive if self.tracked_rows is None else positive & self.tracked_rows
            users = np.flatnonzero(tracked)
            if self.bits is not None:
                items = actions[users]
                # One action per user and step: no (user, byte) pair repeats, so a plain
                # fancy-indexed |= is exact.
                self.bits[users, items >> 3] |= (0x80 >> (items & 7)).astype(np.uint8)
            else:
                self._pending_users.append(users)
                self._pending_items.append(actions[users])
        for label, index in self.groups.items():
            counted = actions[index][positive[index]] if self.count_consumption else actions[index]
            self.group_counts[label] += np.bincount(counted, minlength=self.n_items)

    def _flush(self) -> None:
        if self._pending_users:
            users = np.concatenate(self._pending_users)
            items = np.concatenate(self._pending_items)
            update = sp.csr_array(
                (np.ones(users.size, dtype=np.int64), (users, items)), shape=self.consumed.shape
            )
            self.consumed = self.consumed + update  # canonical: sorted, duplicates summed
            self.consumed.data[:] = 1  # every stored count is positive: an indicator
            self._pending_users.clear()
            self._pending_items.clear()

    def record(self, t: int, states: NDArray[Any], counts: NDArray[np.int64] | None = None) -> None:
        if self.track_consumed:
            self._flush()
        self.steps.append(t)
        self._evaluate("", None, states, self.initial_states, counts, self.consumed)
        for label, index in self.groups.items():
            self._evaluate(
                f"[{label}]",
                label,
                states[index],
                self.initial_states[index],
                None if counts is None else self.group_counts[label],
                self.consumed[index] if self.track_consumed and self.bits is None else None,
            )

    def _evaluate(
        self,
        suffix: str,
        label: Any,
        states: NDArray[Any],
        initial_states: NDArray[Any],
        counts: NDArray[np.int64] | None,
        consumed: Any,
    ) -> None:
        # One evaluation for every metric but jaccard_nn: the states are validated and
        # normalised once, the initial states once per run.
        computable = [
            name
            for name in self.others
            if counts is not None or "counts" not in METRICS[name].inputs
        ]
        initial = None
        if "drift" in computable:
            initial = self.initial.get(label)
            if initial is None:
                initial = self.initial[label] = _Preferences.check(initial_states, "initial_states")
        data = {"states": states, "initial_states": initial_states, "counts": counts}
        values = _evaluate(computable, data, initial) if computable else {}
        for name in self.names:
            if name == "jaccard_nn":
                if self.neighbors.get(label) is None:
                    value = math.nan  # fewer than 2 users
                elif self.bits is not None:
                    value = _jaccard_bits(self.bits, *self.global_pairs[label])
                else:
                    queries, pairs = self.neighbors[label]
                    everyone = queries is None
                    value = _jaccard(
                        consumed,
                        np.arange(len(initial_states)) if everyone else queries,
                        pairs,
                        everyone=everyone,
                    )
            else:
                value = values.get(name, math.nan)  # no item counts before the first step
            self.values.setdefault(name + suffix, []).append(value)

    def series(self) -> dict[str, NDArray[np.float64]]:
        return {name: np.asarray(values, dtype=np.float64) for name, values in self.values.items()}
