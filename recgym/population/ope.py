"""Checks of logged data: importance-sampling estimates and true values by simulation.

Off-policy evaluation estimates the value of an *evaluation* policy ``π_e`` from a
dataset logged by a *behaviour* policy ``π_b`` (see
:func:`~recgym.population.collect_logged_dataset`). With ``n`` trajectories of ``T``
steps, rewards ``r_{i,t}``, the logged propensities ``π_b(a_{i,t} | s_{i,t})``
(``pscore``) and the evaluation policy's probabilities ``π_e(a_{i,t} | s_{i,t})`` of the
same logged actions, the per-step ratios are ``ρ_{i,t} = π_e / π_b`` and

* trajectory-wise IS (``"tis"``): ``(1/n) Σ_i Σ_t γ^t w_{i,T-1} r_{i,t}`` with the whole
  trajectory's weight ``w_{i,T-1} = Π_{t'<T} ρ_{i,t'}``;
* per-decision IS (``"pdis"``): ``(1/n) Σ_i Σ_t γ^t w_{i,t} r_{i,t}`` with the weight
  of the decisions so far ``w_{i,t} = Π_{t'≤t} ρ_{i,t'}``;
* their self-normalised forms (``"sntis"``, ``"snpdis"``): each step's weights divided by
  their mean over trajectories, ``w_{i,t} / ((1/n) Σ_j w_{j,t})``.

TIS and PDIS are unbiased when ``π_b`` gives every action ``π_e`` may take a positive
probability — so their average over many datasets converges to
:func:`true_policy_value`, which checks that the logged propensities are right. The
self-normalised forms are biased but consistent, with a smaller variance. These are the
definitions of SCOPE-RL's ``TrajectoryWiseImportanceSampling``,
``PerDecisionImportanceSampling``, ``SelfNormalizedTIS`` and ``SelfNormalizedPDIS``
(SCOPE-RL adds ``1e-10`` to the self-normalising mean; here a step whose weights are all
zero contributes zero).

Example:
    >>> from recgym.population import PopulationEnv, collect_logged_dataset
    >>> from recgym.population.ope import importance_sampling_estimates
    >>> from recgym.population.policies import RandomPolicy
    >>> env = PopulationEnv(n_users=50, n_items=3, step_per_episode=3, random_state=0)
    >>> data = collect_logged_dataset(env, RandomPolicy(), 100, seed=0)
    >>> estimates = importance_sampling_estimates(
    ...     data, RandomPolicy(), item_features=env.item_features, gamma=0.9
    ... )
    >>> sorted(estimates)
    ['pdis', 'snpdis', 'sntis', 'tis']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import (
    check_array,
    check_choice,
    check_positive_int,
    check_probability,
    check_seed,
)
from recgym.population.env import PopulationEnv
from recgym.population.policies import Policy
from recgym.population.rollout import PolicyLike, Rollout, check_env

__all__ = [
    "ESTIMATORS",
    "evaluation_probabilities",
    "importance_sampling_estimates",
    "rollout_returns",
    "trajectory_values",
    "true_policy_value",
]

#: Names of the importance-sampling estimators.
ESTIMATORS = ("tis", "pdis", "sntis", "snpdis")

# Rows per call when a Policy computes evaluation probabilities.
_DEFAULT_CHUNK_ROWS = 65_536


def _first_outside(values: NDArray[Any], inside: NDArray[np.bool_]) -> str:
    """``"<value> at index <i>"`` for the first entry where ``inside`` is False."""
    index = int(np.flatnonzero(~inside)[0])
    return f"{values[index].item()!r} at index {index}"


def _check_real(values: Any, name: str) -> NDArray[Any]:
    """``values`` as an array of finite real numbers (a list is accepted, as SCOPE-RL's)."""
    array = np.asarray(values)
    if array.dtype == np.bool_ or array.dtype.kind not in "iuf":
        raise TypeError(f"`{name}` must hold real numbers, got dtype {array.dtype}")
    finite = np.isfinite(array)
    if not finite.all():
        raise ValueError(f"`{name}` must hold finite values, got {_first_outside(array, finite)}")
    return array


def _check_dataset(dataset: Any) -> tuple[int, int]:
    """Check the entries the estimators read; return ``(n_trajectories, step_per_trajectory)``."""
    _check_mapping(dataset)
    if "slate_id" in dataset:
        raise ValueError(
            "`dataset` holds slates (it has 'slate_id'); estimate their value with "
            "recgym.population.slate_ope.slate_estimates"
        )
    missing = [
        key
        for key in ("n_trajectories", "step_per_trajectory", "action", "reward", "pscore")
        if key not in dataset
    ]
    if missing:
        raise ValueError(f"`dataset` lacks the entries {missing}")
    n = check_positive_int(dataset["n_trajectories"], "dataset['n_trajectories']")
    horizon = check_positive_int(dataset["step_per_trajectory"], "dataset['step_per_trajectory']")
    for key in ("action", "reward", "pscore"):
        if np.shape(dataset[key]) != (n * horizon,):
            raise ValueError(
                f"`dataset[{key!r}]` must have shape ({n * horizon},) "
                f"(n_trajectories · step_per_trajectory), got {np.shape(dataset[key])}"
            )
    _check_real(dataset["reward"], "dataset['reward']")
    pscore = _check_real(dataset["pscore"], "dataset['pscore']")
    inside = (pscore > 0) & (pscore <= 1)
    if not inside.all():
        raise ValueError(
            f"`dataset['pscore']` must lie in (0, 1], got {_first_outside(pscore, inside)}"
        )
    return n, horizon


def evaluation_probabilities(
    dataset: Mapping[str, Any],
    policy: Policy,
    item_features: NDArray[np.floating],
    *,
    chunk_size: int = _DEFAULT_CHUNK_ROWS,
) -> NDArray[np.float64]:
    """``π_e(a | s)`` of every logged action, from a policy's :meth:`~Policy.probabilities`.

    The policy is reset (bound to ``item_features`` and to chunks of ``chunk_size``
    rows) and asked for the probability of each logged action given its logged
    observation, chunk by chunk: it is evaluated in its freshly reset state, as a
    function of each row alone. Policies whose choice for one user depends on the
    others (``ExposureCappedPolicy``) or on learned state are not meaningful here.

    Args:
        dataset: A logged dataset (``state`` ``(size, d)`` and ``action`` ``(size,)``).
        policy: The evaluation policy; it must not need true states.
        item_features: The item table ``(n_items, d)`` the data was logged with
            (``env.item_features``).
        chunk_size: Rows per call.

    Returns:
        numpy.ndarray: float64 ``(size,)``.

    Raises:
        TypeError: If ``policy`` is not a Policy.
        ValueError: If the policy needs true states or utilities, or its probabilities
            have no closed form.
    """
    check_evaluation_policy(policy)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    _check_mapping(dataset)
    missing = [key for key in ("state", "action") if key not in dataset]
    if missing:
        raise ValueError(f"`dataset` lacks the entries {missing}")
    states, actions = dataset["state"], dataset["action"]
    _check_item_features(item_features, states, "state")
    probabilities = np.empty(len(actions), dtype=np.float64)
    for rows in policy_chunks(policy, item_features, len(actions), chunk_size):
        probabilities[rows] = policy.probabilities(states[rows], actions[rows])
    return probabilities


def check_evaluation_policy(policy: Any) -> Policy:
    """``policy`` if it is a Policy that can be evaluated on logged observations.

    Raises:
        TypeError: If ``policy`` is not a Policy.
        ValueError: If it needs the true states or utilities (``needs_state``,
            ``needs_utilities``), or its probabilities have no closed form.
    """
    if not isinstance(policy, Policy):
        raise TypeError(f"`policy` must be a recgym Policy instance, got {type(policy).__name__}")
    if policy.needs_state or policy.needs_utilities:
        needs = "states" if policy.needs_state else "utilities"
        raise ValueError(
            f"{type(policy).__name__} needs the true {needs}, which a logged dataset does "
            "not hold at decision time; pass its probabilities as an array instead"
        )
    if not policy.exact_propensities:
        raise ValueError(
            f"{type(policy).__name__} has no closed-form probabilities (see its "
            "exact_propensities); pass estimated probabilities as an array instead"
        )
    return policy


def _check_mapping(dataset: Any) -> None:
    if not isinstance(dataset, Mapping):
        raise TypeError(f"`dataset` must be a logged dataset dict, got {type(dataset).__name__}")


def _check_item_features(item_features: Any, observations: Any, key: str) -> None:
    """Raise unless ``item_features`` is a real table with one column per observed feature."""
    check_array(item_features, "item_features", (None, None))
    if np.ndim(observations) != 2 or item_features.shape[1] != np.shape(observations)[1]:
        raise ValueError(
            f"`item_features` must have one column per feature of `dataset[{key!r}]` "
            f"{np.shape(observations)}, got shape {item_features.shape}"
        )


def policy_chunks(
    policy: Policy, item_features: NDArray[np.floating], size: int, chunk_size: int
) -> Iterator[slice]:
    """Consecutive row slices of ``range(size)``, with ``policy`` reset for each one's size.

    The policy is bound to ``item_features`` and to as many users as the slice has rows
    (reset again only when that number changes), with a generator it never draws from:
    probabilities draw nothing.

    Args:
        policy: The evaluation policy.
        item_features: The item table ``(n_items, d)``.
        size: Number of rows.
        chunk_size: Rows per slice, ``>= 1``.

    Yields:
        slice: The rows of the next call.
    """
    rng = np.random.default_rng(0)
    bound = 0
    for start in range(0, size, chunk_size):
        stop = min(start + chunk_size, size)
        if stop - start != bound:
            bound = stop - start
            policy.reset(item_features, n_users=bound, rng=rng)
        yield slice(start, stop)


def _ratios(
    dataset: Mapping[str, Any],
    evaluation: NDArray[np.floating] | Policy,
    item_features: NDArray[np.floating] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-step ratios ``π_e / π_b`` and rewards, both float64 ``(n, T)``."""
    n, horizon = _check_dataset(dataset)
    if isinstance(evaluation, Policy):
        if item_features is None:
            raise ValueError(
                "`item_features` (env.item_features) is needed to evaluate a Policy on a "
                "logged dataset"
            )
        evaluation = evaluation_probabilities(dataset, evaluation, item_features)
    elif not isinstance(evaluation, np.ndarray):
        raise TypeError(
            "`evaluation` must be an array of the evaluation policy's probabilities of the "
            f"logged actions or a recgym Policy, got {type(evaluation).__name__}"
        )
    if evaluation.dtype == np.bool_ or evaluation.dtype.kind not in "iuf":
        raise TypeError(f"`evaluation` must hold real probabilities, got dtype {evaluation.dtype}")
    if evaluation.shape != (n * horizon,):
        raise ValueError(
            f"`evaluation` must have shape ({n * horizon},), one probability per logged "
            f"step, got {evaluation.shape}"
        )
    inside = (evaluation >= 0) & (evaluation <= 1)  # False for NaN
    if not inside.all():
        raise ValueError(
            "`evaluation` probabilities must lie in [0, 1], got "
            f"{_first_outside(evaluation, inside)}"
        )
    ratios = (evaluation / dataset["pscore"]).reshape(n, horizon)
    return ratios, np.asarray(dataset["reward"], dtype=np.float64).reshape(n, horizon)


def trajectory_values(
    dataset: Mapping[str, Any],
    evaluation: NDArray[np.floating] | Policy,
    estimator: str = "pdis",
    *,
    gamma: float = 1.0,
    item_features: NDArray[np.floating] | None = None,
) -> NDArray[np.float64]:
    """Each trajectory's term of an importance-sampling estimate; their mean is the estimate.

    Useful for confidence intervals: for ``"tis"`` and ``"pdis"`` the terms are
    independent across episodes, and ``std / sqrt(n)`` is the standard error.

    Args:
        dataset: A logged dataset (``n_trajectories``, ``step_per_trajectory``,
            ``action``, ``reward``, ``pscore``; ``state`` when ``evaluation`` is a Policy).
        evaluation: ``π_e(a_t | s_t)`` of every logged action, float ``(size,)``; or a
            Policy, whose :func:`evaluation_probabilities` are used.
        estimator: One of :data:`ESTIMATORS`.
        gamma: Discount factor in ``[0, 1]``.
        item_features: The item table, needed when ``evaluation`` is a Policy.

    Returns:
        numpy.ndarray: float64 ``(n_trajectories,)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument has a wrong value or shape.
    """
    estimator = check_choice(estimator, "estimator", ESTIMATORS)
    gamma = check_probability(gamma, "gamma")
    ratios, rewards = _ratios(dataset, evaluation, item_features)
    return _values(ratios, rewards, estimator, gamma)


def _values(
    ratios: NDArray[np.float64], rewards: NDArray[np.float64], estimator: str, gamma: float
) -> NDArray[np.float64]:
    horizon = ratios.shape[1]
    weights = np.cumprod(ratios, axis=1)
    if estimator in ("tis", "sntis"):
        weights = np.repeat(weights[:, -1:], horizon, axis=1)
    if estimator.startswith("sn"):
        mean = weights.mean(axis=0)
        weights = np.divide(weights, mean, out=np.zeros_like(weights), where=mean > 0)
    discount = gamma ** np.arange(horizon, dtype=np.float64)
    return (weights * rewards) @ discount


def importance_sampling_estimates(
    dataset: Mapping[str, Any],
    evaluation: NDArray[np.floating] | Policy,
    *,
    gamma: float = 1.0,
    item_features: NDArray[np.floating] | None = None,
) -> dict[str, float]:
    """The four importance-sampling estimates of an evaluation policy's value.

    Args:
        dataset: A logged dataset (see :func:`trajectory_values`).
        evaluation: ``π_e(a_t | s_t)`` of every logged action, float ``(size,)``; or a
            Policy (its probabilities are computed once for all four estimators).
        gamma: Discount factor in ``[0, 1]``.
        item_features: The item table, needed when ``evaluation`` is a Policy.

    Returns:
        dict: ``{"tis": …, "pdis": …, "sntis": …, "snpdis": …}`` (Python floats).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument has a wrong value or shape.
    """
    gamma = check_probability(gamma, "gamma")
    ratios, rewards = _ratios(dataset, evaluation, item_features)
    return {
        estimator: float(_values(ratios, rewards, estimator, gamma).mean())
        for estimator in ESTIMATORS
    }


def rollout_returns(
    env: PopulationEnv,
    policy: PolicyLike,
    n_trajectories: int,
    *,
    gamma: float = 1.0,
    seed: int | None = None,
    progress: bool | None = None,
) -> NDArray[np.float64]:
    """The discounted return ``Σ_t γ^t r_t`` of each trajectory of an on-policy rollout.

    The rollout is exactly the one :func:`~recgym.population.collect_logged_dataset`
    runs for the same arguments (same episodes, seeds and trajectory order), keeping
    only the returns: memory ``O(n_trajectories + n_users · d)``.

    Args:
        env: The population; it is reset.
        policy: A Policy, a registered policy name or a callable, as for
            :func:`~recgym.population.collect_logged_dataset`.
        n_trajectories: Number of trajectories, ``>= 1``.
        gamma: Discount factor in ``[0, 1]``.
        seed: Seeds the environment's first reset and the policy's generator.
        progress: Print a progress line on stderr (None: for large runs on a terminal).

    Returns:
        numpy.ndarray: float64 ``(n_trajectories,)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument has a wrong value.
    """
    env = check_env(env)
    n_trajectories = check_positive_int(n_trajectories, "n_trajectories")
    gamma = check_probability(gamma, "gamma")
    seed = check_seed(seed, "seed")
    run = Rollout(
        env,
        policy,
        task="rollout_returns",
        trajectories=n_trajectories,
        seed=seed,
        progress=progress,
        require_end=True,
    )
    returns = np.zeros(n_trajectories, dtype=np.float64)
    for episode in run:
        rows, k = slice(episode.first, episode.first + episode.size), episode.size
        for step in episode:
            returns[rows] += gamma**step.t * step.rewards[:k]
    return returns


def true_policy_value(
    env: PopulationEnv,
    policy: PolicyLike,
    n_trajectories: int,
    gamma: float = 1.0,
    seed: int | None = None,
    *,
    progress: bool | None = None,
) -> float:
    """The policy's value ``E[Σ_t γ^t r_t]`` by on-policy simulation.

    The mean of :func:`rollout_returns` for the same arguments. With ``n_trajectories``
    a multiple of ``env.n_users`` every user of the pool counts equally: the same
    initial-state distribution as a logged dataset of such a size. With slates
    (``slate_size > 1``) a step's reward is the consumed item's (0 for none), the sum of
    a slate's per-position rewards: this is the value that
    :func:`~recgym.population.slate_ope.slate_estimates` estimates.

    Args:
        env: The population; it is reset.
        policy: A Policy, a registered policy name or a callable.
        n_trajectories: Number of simulated trajectories, ``>= 1``.
        gamma: Discount factor in ``[0, 1]``.
        seed: Seeds the environment's first reset and the policy's generator.
        progress: Print a progress line on stderr (None: for large runs on a terminal).

    Returns:
        float: The mean discounted return.
    """
    returns = rollout_returns(
        env, policy, n_trajectories, gamma=gamma, seed=seed, progress=progress
    )
    return float(returns.mean())
