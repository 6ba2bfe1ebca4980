"""Reward metrics: the mean reward of a step and the running mean reward of a rollout.

Rewards are ``(n_users,)`` for one step or ``(T, n_users)`` for the steps so far (users
on the last axis). The mean over users of a step is taken in the rewards' dtype (float32
in a float32 environment), as :func:`~recgym.population.simulate` takes it for
``History.rewards``; the running mean is the mean of these per-step means, so its value
at the last step of a run is exactly ``History.rewards.mean()``.

:func:`consumed_utility` (registry ``utility``) is the noise-free counterpart of the
step's reward: the mean true affinity ``⟨s, v⟩`` of the items consumed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym.population.metrics._checks import (
    _check_consumed_items,
    _check_item_features,
    _check_rewards,
    _check_states,
)
from recgym.population.metrics._metric import LastStepTracker, Metric, StepData, TrackerContext

#: This module's entries of :data:`~recgym.population.metrics.METRICS`, in registry order.
ENTRIES: dict[str, Metric] = {}


def _per_step_means(rewards: NDArray[Any]) -> NDArray[np.float64]:
    """float64 ``(T,)``: each row's mean over users (a 1-D array is one row)."""
    rows = rewards.reshape(1, -1) if rewards.ndim == 1 else rewards
    return np.array([row.mean() for row in rows], dtype=np.float64)


def step_reward(rewards: NDArray[Any]) -> float:
    """Mean reward over users at the last step of ``rewards``.

    ``r̄_t = (1/N) Σᵢ r_{i,t}``, the population's mean reward of one step (the value
    ``simulate`` keeps in ``History.rewards``).

    Args:
        rewards: Real array of shape ``(n_users,)`` (one step) or ``(T, n_users)`` (the
            steps so far; the last row is read).

    Returns:
        float: ``r̄_T`` for the last step ``T``; ``nan`` without users or steps.

    Raises:
        TypeError: If ``rewards`` is not a real numpy array.
        ValueError: If it is not 1-D or 2-D, or holds NaN or inf.

    Cost:
        O(T N) to check the rewards, O(N) for the mean.
    """
    valid = _check_rewards(rewards)
    last = valid if valid.ndim == 1 else valid[-1:].reshape(-1)
    return float(last.mean()) if last.size else math.nan


def mean_reward(rewards: NDArray[Any]) -> float:
    """Mean reward over users and over all steps of ``rewards``.

    ``(1/T) Σ_t r̄_t``, the mean over steps of the per-step means over users (every step
    has the same users, so this is the mean over all user-steps). Over a whole run it is
    the run's mean reward, ``History.rewards.mean()``.

    Args:
        rewards: Real array of shape ``(T, n_users)`` (the steps so far) or
            ``(n_users,)`` (one step).

    Returns:
        float: ``(1/T) Σ_t r̄_t``; ``nan`` without users or steps.

    Raises:
        TypeError: If ``rewards`` is not a real numpy array.
        ValueError: If it is not 1-D or 2-D, or holds NaN or inf.

    Cost:
        O(T N), one pass per step.
    """
    valid = _check_rewards(rewards)
    if valid.size == 0:
        return math.nan
    return float(_per_step_means(valid).mean())


ENTRIES["reward"] = Metric(
    step_reward,
    ("rewards",),
    "mean reward over users at this step",
    default=True,
    unit="reward, unitless",
    definition=(
        "the users' mean reward at the step, `r̄_t = (1/N) Σᵢ r_{i,t}`; NaN at step 0. "
        "A continuous reward is the affinity ⟨s, v⟩ ∈ [−1, 1] (row-normalised features) "
        "plus noise."
    ),
)


def _present_mean(rewards: NDArray[np.floating], present: NDArray[np.bool_]) -> float:
    """The mean reward of the present users; NaN if nobody was present."""
    return float(rewards[present].mean()) if present.any() else math.nan


class _MeanRewardTracker:
    """The tracker of ``mean_reward``: the mean reward of every step so far, per scope.

    Keeps one float per step for everyone and for each group, and averages them at a
    record (O(T) per record), which reproduces :func:`mean_reward` on the rewards so far
    bit for bit — a running sum would not.

    Args:
        context: The run (only its groups are read).
    """

    def __init__(self, context: TrackerContext):
        self.groups = context.groups
        self.means: dict[Hashable, list[float]] = {None: []}
        self.means.update({label: [] for label in self.groups})

    def observe(self, step: StepData) -> None:
        """Add this step's mean reward of everyone present, overall and in each group."""
        rewards, present = step.rewards, step.present
        if present is None:
            self.means[None].append(float(rewards.mean()))
            for label, index in self.groups.items():
                self.means[label].append(float(rewards[index].mean()))
            return
        scopes: list[tuple[Hashable, Any]] = [(None, None), *self.groups.items()]
        for label, rows in scopes:
            mask = present if rows is None else present[rows]
            if mask.any():  # a step without anyone present does not count
                scoped = rewards if rows is None else rewards[rows]
                self.means[label].append(_present_mean(scoped, mask))

    def values(self) -> dict[Hashable, float]:
        """``mean_reward`` now, for everyone (key None) and each group; nan before a step."""
        return {
            label: float(np.array(means, dtype=np.float64).mean()) if means else math.nan
            for label, means in self.means.items()
        }


ENTRIES["mean_reward"] = Metric(
    mean_reward,
    ("rewards",),
    "mean reward over users and all steps so far",
    default=True,
    tracker=_MeanRewardTracker,
    unit="reward, unitless",
    definition=(
        "the running mean of the step rewards, `(1/t) Σ_{s≤t} r̄_s`; at the last step, the "
        "run's mean reward."
    ),
)


# ------------------------------------------------------------------------------ utility


def consumed_utility(
    previous_states: NDArray[Any],
    item_features: NDArray[Any],
    consumed_items: NDArray[np.integer[Any]],
) -> float:
    """Mean true affinity of the consumed items: ``⟨s, v⟩`` without reward noise.

    With ``sᵢ`` user ``i``'s true preference *before* the step (the state the reward is
    computed on) and ``vⱼ`` the features of the item ``jᵢ`` it consumed::

        U = (1/|C|) Σ_{i∈C} ⟨sᵢ, v_{jᵢ}⟩,   C = {i : jᵢ ≠ −1}

    — the utility Chaney, Stewart & Engelhardt (2018) record for the consumed items, the
    affinity :class:`~recgym.UserModel` rewards. Unlike the mean reward it has no reward
    noise (``reward_std``), is not a Bernoulli draw (``reward_type="binary"``), and
    leaves out the users who consumed nothing instead of counting them as 0; it also
    leaves out the environment's idiosyncratic term and satiation. For the default
    continuous model without noise, every user consuming, it equals the step's mean
    reward.

    Args:
        previous_states: The users' true preferences before the step ``(n_users, dim)``.
        item_features: The item table ``(n_items, dim)``.
        consumed_items: int ``(n_users,)``: the item each user consumed, −1 for none.

    Returns:
        float: The mean affinity; in ``[−1, 1]`` for unit states and items. ``nan`` if
        nobody consumed anything.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On mismatched shapes, NaN or inf, or an item outside
            ``[−1, n_items)``.

    Cost:
        O(N d).
    """
    states = _check_states(previous_states, "previous_states")
    features = _check_item_features(item_features, states.shape[1])
    items = _check_consumed_items(consumed_items, states.shape[0], features.shape[0])
    return _mean_affinity(states, features, items)


def _mean_affinity(
    states: NDArray[Any], features: NDArray[np.float64], items: NDArray[np.int64]
) -> float:
    """The body of :func:`consumed_utility` on the rows of one scope (in float64)."""
    chosen = items >= 0
    if not chosen.any():
        return math.nan
    rows = states[chosen].astype(np.float64, copy=False)
    return float(np.vecdot(rows, features[items[chosen]]).mean())


class _UtilityTracker(LastStepTracker):
    """The tracker of ``utility``: the states before each step and the items consumed.

    Keeps a reference to the last step's states (the runner's snapshot, never written),
    and at each step averages the affinity of the consumed items over each scope's users
    present who consumed something.

    Args:
        context: The run: initial states, item features and groups.

    Raises:
        ValueError: If the run has no item features.
    """

    def __init__(self, context: TrackerContext):
        super().__init__(context)
        features = context.require("item_features", "utility")
        self.features = _check_item_features(features, context.initial_states.shape[1])
        self.previous: NDArray[Any] = context.initial_states

    def measure(self, step: StepData, rows: Callable[[NDArray[Any]], NDArray[Any]]) -> float:
        """The mean affinity of the items the scope's present users consumed."""
        return _mean_affinity(rows(self.previous), self.features, rows(step.items))

    def update(self, step: StepData) -> None:
        """Keep the states after the step: the next step's states before."""
        self.previous = step.after("utility")


ENTRIES["utility"] = Metric(
    consumed_utility,
    ("previous_states", "item_features", "consumed_items"),
    "mean true affinity <s, v> of the items consumed at this step",
    tracker=_UtilityTracker,
    unit="affinity, unitless",
    definition=(
        "the mean true affinity of the items consumed at the step, `U_t = (1/|C|) Σ_{i∈C} "
        "⟨s_i, v_{j_i}⟩`, over the users who consumed; NaN at step 0 or when nobody "
        "consumed."
    ),
    bounds=None,
)
