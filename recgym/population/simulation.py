"""``simulate``: run a population-level policy on a ``PopulationEnv`` and record metrics."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_choice, check_memory, check_positive_int, check_seed
from recgym.population.env import PopulationEnv
from recgym.population.history import History
from recgym.population.metrics import DEFAULT_METRICS, Recorder, default_metrics
from recgym.population.metrics.groups import _group_rows
from recgym.population.metrics.items import _consumption_counts
from recgym.population.metrics.registry import _metric_names
from recgym.population.policies import Policy, make_policy
from recgym.population.rollout import SAMPLE_STREAM, Rollout, check_env, horizon, stream_rng

__all__ = ["DEFAULT_METRICS", "RECORDABLE", "simulate"]

#: The arrays :func:`simulate` can record in full (``record=...``).
RECORDABLE = ("states", "observations", "actions", "rewards")


def simulate(
    env: PopulationEnv,
    policy: Policy | str,
    steps: int | None = None,
    *,
    seed: int | None = None,
    metrics: Iterable[str] | None = None,
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
    steps (always including the last), by a
    :class:`~recgym.population.metrics.Recorder` built from the registry — with churn,
    on the users present. Item metrics
    (``coverage``, ``gini``, ``entropy``, ``top10_share``) use the cumulative item counts
    chosen by ``counts``; ``jaccard_nn`` pairs users by their initial preferences and
    compares the sets of items they *consumed* (items whose reward was positive);
    ``reward`` is the users' mean reward at the step and ``mean_reward`` its running mean
    over the steps so far (NaN at step 0), whose last value is ``History.final()``'s
    ``"mean_reward"``. The recorder gets the environment's item features and item
    classes (``item_groups``) and the true states after every step, for the metrics that
    read them (``utility``, ``degeneracy``, ``class_share``, …).

    Args:
        env: The population. It is reset at the start.
        policy: A :class:`~recgym.population.policies.Policy` or a registered name
            (see :data:`~recgym.population.policies.POLICIES`).
        steps: Steps to run; default (and at most) ``env.step_per_episode``.
        seed: Seeds the environment (``reset_batch(seed=seed)``) and the policy's own
            generator, so the whole run is reproducible.
        metrics: Names from :data:`~recgym.population.metrics.METRICS`; default
            :func:`~recgym.population.metrics.default_metrics` of the environment:
            :data:`~recgym.population.metrics.DEFAULT_METRICS`, plus the click-through and
            no-choice rates with a choice model, and the retention curve with churn.
        every: Record metrics every this many steps.
        counts: ``"exposure"`` (every item shown to a present user, each slate position
            counted) or ``"consumption"`` (the items consumed with a positive reward)
            for the item metrics.
        groups: Optional user-group labels ``(n_users,)``, default the environment's
            ``user_groups`` (none if it has none); every metric is then also
            recorded per group as ``"name[label]"`` (computed on that group's users,
            their item counts and their nearest neighbours within the group).
        record: Any of :data:`RECORDABLE` to keep in full in ``History.trajectory``
            (``states`` and ``observations`` cost ``(steps + 1) · N · d`` floats each).
        progress: Show a progress bar on stderr; default: when stderr is a terminal and
            the run has at least 10⁷ user-steps.
        options: Passed to ``env.reset_batch``.
        jaccard_users: The sample size of the history metrics that sample users
            (``jaccard_nn``): with more users than this, they average over a fixed
            uniform random sample of this many users (drawn once from ``seed``; per
            group, the sampled users of the group): an unbiased estimate of the mean
            over everyone, with standard error at most ``0.5 / √jaccard_users`` for
            ``jaccard_nn``, that bounds its one-off nearest-neighbour search, which
            degrades towards O(N) per user in high dimension.

    Returns:
        History: The recorded run.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument has a wrong value (unknown metric, too many steps, …).
    """
    env = check_env(env)
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
    longest = horizon(env)
    steps = longest if steps is None else check_positive_int(steps, "steps")
    if steps > longest:
        raise ValueError(
            f"`steps` must be at most the episode length ({longest}; raise "
            f"`step_per_episode`), got {steps}"
        )
    seed = check_seed(seed, "seed")
    every = check_positive_int(every, "every")
    jaccard_users = check_positive_int(jaccard_users, "jaccard_users")
    names = _metric_names(default_metrics(env.config) if metrics is None else metrics, "metrics")
    counts = check_choice(counts, "counts", ("exposure", "consumption"))
    record = _check_record(record)
    n, n_items = env.n_users, env.n_items
    recorded = {"states": (steps + 1) * n * env.user_feature_dim, "observations": 0}
    recorded["observations"] = recorded["states"]
    recorded.update(actions=steps * n * env.config.slate_size, rewards=steps * n)
    check_memory(  # the per-step rewards and metric series, and the recorded trajectory
        8 * (steps * (2 + len(names)) + sum(recorded[name] for name in record)),
        "steps",
        steps,
        "the run's records",
    )
    groups_rows = _group_rows(env.config.user_groups if groups is None else groups, n)
    run = Rollout(
        env, policy, task="simulate", steps=steps, seed=seed, options=options, progress=progress
    )

    episode = next(iter(run))
    obs = episode.observations
    # info["state"] is a read-only snapshot (never written again): no copy per step. The
    # History gets its own writable copies of the first and last states.
    initial_states = episode.info["state"]
    recorder = Recorder(
        names,
        initial_states,
        n_items=n_items,
        groups=groups_rows,
        counts=counts,
        sample_users=jaccard_users,
        sample_rng=stream_rng(seed, SAMPLE_STREAM),
        item_features=env.item_features,
        item_groups=env.config.item_groups,
    )
    trajectory = _allocate(record, steps, obs, n, env.config.slate_size)
    _store(trajectory, 0, states=initial_states, observations=obs)
    recorder.record(0, initial_states)

    mean_rewards = np.empty(steps, dtype=np.float64)
    exposure = np.zeros(n_items, dtype=np.int64)
    consumption = np.zeros(n_items, dtype=np.int64)
    current = initial_states
    present = episode.info.get("active")  # who is shown a slate at the next step
    for step in episode:
        t, actions, rewards, info = step.t + 1, step.actions, step.rewards, step.info
        current = info["state"]
        consumed = info.get("item", actions)
        positive = rewards > 0
        shown = actions if present is None else actions[present]
        exposure += np.bincount(shown.reshape(-1), minlength=n_items)
        consumption += _consumption_counts(consumed, positive, n_items)
        mean_rewards[t - 1] = rewards.mean() if present is None else _mean_or_nan(rewards[present])
        recorder.observe(
            actions,
            rewards,
            consumed=consumed,
            present=present,
            active=info.get("active"),
            states=current,
        )
        present = info.get("active")
        _store(
            trajectory,
            t,
            states=current,
            observations=step.next_observations,
            actions=actions,
            rewards=rewards,
        )
        if t % every == 0 or t == steps:
            recorder.record(t, current, exposure if counts == "exposure" else consumption)

    return History(
        policy=run.name,
        steps=np.asarray(recorder.steps, dtype=np.int64),
        metrics=recorder.series(),
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


def _mean_or_nan(values: NDArray[Any]) -> float:
    return float(values.mean()) if values.size else math.nan


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


def _allocate(
    record: Sequence[str], steps: int, obs: NDArray[Any], n: int, slate_size: int = 1
) -> dict[str, NDArray[Any]]:
    slate = () if slate_size == 1 else (slate_size,)
    shapes: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {
        "states": ((steps + 1, *obs.shape), obs.dtype),
        "observations": ((steps + 1, *obs.shape), obs.dtype),
        "actions": ((steps, n, *slate), np.dtype(np.int64)),
        "rewards": ((steps, n), obs.dtype),
    }
    return {name: np.empty(shapes[name][0], dtype=shapes[name][1]) for name in record}


def _store(trajectory: dict[str, NDArray[Any]], t: int, **arrays: NDArray[Any] | None) -> None:
    for name, value in arrays.items():
        if name in trajectory and value is not None:
            index = t - 1 if name in ("actions", "rewards") else t
            trajectory[name][index] = value
