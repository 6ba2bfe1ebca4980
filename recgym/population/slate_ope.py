"""Off-policy evaluation of slate policies: standard, independent and cascade IPS.

A slate dataset (:func:`~recgym.population.collect_logged_dataset` at slate size
``k > 1``, in the Open Bandit Pipeline's format) logs, for slate ``s`` of trajectory
``i`` at step ``t``, the items ``a_{s,j}`` shown at positions ``j = 0 … k − 1``, the
reward ``r_{s,j}`` at each position (the consumed position's reward, 0 elsewhere) and
three behaviour propensities: the joint ``π_b(a_s | x_s)`` (``pscore``), the cascade
``π_b(a_{s,≤j} | x_s)`` (``pscore_cascade``) and the item-position marginal
``π_b(a_{s,j} at j | x_s)`` (``pscore_item_position``). With the evaluation policy's
same three probabilities of the logged slates, each estimator weights reward
``r_{s,j}`` by a ratio ``w_{s,j}``:

* **SIPS**, standard slate IPS (``"sips"``): ``w_{s,j} = π_e(a_s) / π_b(a_s)``, the
  whole slate's ratio. Unbiased under no assumption on how users respond; its variance
  grows with the number of slates (``n!/(n − k)!``).
* **IIPS**, independent IPS (``"iips"``): ``w_{s,j} = π_e(a_{s,j} at j) / π_b(a_{s,j} at
  j)``. Unbiased when the expected reward at position ``j`` depends on the item at ``j``
  only, ``E[r_j | x, a] = q_j(x, a_j)`` (Li et al. 2018's item-position model). With at
  most one item consumed per step this rarely holds: under the cascade and the PBM
  (which consume the *topmost* attractive item) a position's reward falls when the items
  above it are attractive. It holds when the user can consume position 0 only
  (``choice_model="consume"``, ``Cascade(continuation=0.0)``; there IIPS equals RIPS),
  or, for a custom choice model, when a position's consumption does not depend on the
  other items (a user glancing at one random position). Smallest variance; needs
  factorised propensities (None for softmax/Plackett–Luce policies).
* **RIPS**, reward-interaction (cascade) IPS (``"rips"``): ``w_{s,j} = π_e(a_{s,≤j}) /
  π_b(a_{s,≤j})``, the ratio of the slate's first ``j + 1`` items. Unbiased when the
  expected reward at position ``j`` depends on the items at positions ``≤ j`` only (the
  cascade assumption of McInerney et al. 2020), which the ``"cascade"`` and ``"pbm"``
  choice models satisfy (a user scans from the top and consumes the first attractive
  item); not ``"mnl"``, whose choice at any position depends on every item shown.
  Variance between IIPS' and SIPS'.

A trajectory's term adds its steps' discounted, per-decision weighted rewards: with ``T``
steps and the joint ratios ``ρ_{i,t} = π_e(a_{i,t}) / π_b(a_{i,t})`` of its slates,

``V_i = Σ_t γ^t (Π_{t' < t} ρ_{i,t'}) Σ_j w_{i,t,j} r_{i,t,j}``

and the estimate is their mean over the ``n`` trajectories. Earlier steps are weighted
by whole-slate ratios (they shaped the user's state), so over several steps IIPS and
RIPS need the joint propensities too. At ``T = 1`` (a slate bandit) ``V_i`` is the Open
Bandit Pipeline's ``SlateStandardIPS``, ``SlateIndependentIPS`` and
``SlateRewardInteractionIPS`` term, and the estimate equals theirs.

Confidence intervals are **Student-t** intervals over the trajectories (over slates when
``T = 1``): ``mean ± t_{n−1, (1+c)/2} · sd(V) / √n``. They assume independent
trajectories, which holds unless the environment couples its users within an episode
(social influence, a shared catalogue); OBP reports percentile-bootstrap intervals
instead, which agree with these for large ``n``.

References:
    McInerney, Brost, Chandar, Mehrotra & Carterette (2020). Counterfactual evaluation of
    slate recommendations with sequential reward interactions. KDD.
    Li, Abbasi-Yadkori, Kveton, Muthukrishnan, Vinay & Wen (2018). Offline evaluation of
    ranking policies with click models. KDD.

Example:
    >>> from recgym.population import PopulationEnv, collect_logged_dataset
    >>> from recgym.population.policies import EpsilonGreedyPolicy, RandomPolicy
    >>> from recgym.population.slate_ope import slate_estimates
    >>> env = PopulationEnv(n_users=50, n_items=4, slate_size=2, choice_model="cascade",
    ...                     step_per_episode=1, random_state=0)
    >>> data = collect_logged_dataset(env, RandomPolicy(slate_size=2), 200, seed=0)
    >>> estimates = slate_estimates(data, EpsilonGreedyPolicy(epsilon=0.2, slate_size=2))
    >>> sorted(estimates), estimates["rips"].n
    (['iips', 'rips', 'sips'], 200)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_choice, check_positive_int, check_probability
from recgym.population.ope import (
    _DEFAULT_CHUNK_ROWS,
    _check_item_features,
    _check_mapping,
    _check_real,
    _first_outside,
    check_evaluation_policy,
    policy_chunks,
)
from recgym.population.policies import Policy, SlateProbabilities

__all__ = [
    "SLATE_ESTIMATORS",
    "SlateEstimate",
    "evaluation_slate_probabilities",
    "slate_estimates",
    "slate_trajectory_values",
]

#: Names of the slate estimators.
SLATE_ESTIMATORS = ("sips", "iips", "rips")

# The dataset key of each estimator's behaviour propensities, and its field of
# SlateProbabilities (0 joint, 1 cascade, 2 item-position).
_KEYS = {"sips": "pscore", "rips": "pscore_cascade", "iips": "pscore_item_position"}
_FIELDS = {"sips": 0, "rips": 1, "iips": 2}
_WHAT = {
    "pscore": "joint",
    "pscore_cascade": "cascade",
    "pscore_item_position": "item-position",
}


class SlateEstimate(NamedTuple):
    """An estimate of a slate policy's value with its Student-t confidence interval.

    Attributes:
        value: The estimate, the mean of the trajectories' terms.
        lower: Lower bound of the confidence interval (NaN with one trajectory).
        upper: Upper bound of the confidence interval (NaN with one trajectory).
        std_error: ``sd / √n`` of the terms (ddof 1; NaN with one trajectory).
        n: Number of trajectories (of slates in a one-step dataset).
    """

    value: float
    lower: float
    upper: float
    std_error: float
    n: int


class _Slates(NamedTuple):
    """The checked layout of a slate dataset."""

    n_rounds: int
    len_list: int
    n_trajectories: int
    horizon: int
    rewards: NDArray[np.float64]  # (n_rounds, k)


# ----------------------------------------------------------------------------- checks


def _check_slates(dataset: Any) -> _Slates:
    """Check a slate dataset's layout and rewards."""
    _check_mapping(dataset)
    missing = [key for key in ("slate_id", "position", "action", "reward") if key not in dataset]
    if missing:
        hint = (
            " (a dataset logged at slate size 1 is estimated by "
            "recgym.population.ope.importance_sampling_estimates)"
            if "slate_id" in missing
            else ""
        )
        raise ValueError(f"`dataset` lacks the entries {missing}{hint}")
    position = np.asarray(dataset["position"])
    if position.ndim != 1 or position.dtype.kind not in "iu" or not position.size:
        raise ValueError(
            "`dataset['position']` must be a non-empty 1-D integer array, got "
            f"{position.dtype} of shape {position.shape}"
        )
    k = check_positive_int(dataset.get("len_list", int(position.max()) + 1), "len_list")
    n_rounds = len(position) // k
    layout = np.repeat(np.arange(n_rounds), k), np.tile(np.arange(k), n_rounds)
    if (
        len(position) != n_rounds * k
        or np.shape(dataset["slate_id"]) != position.shape
        or not np.array_equal(dataset["slate_id"], layout[0])
        or not np.array_equal(position, layout[1])
    ):
        raise ValueError(
            f"`dataset` must have one row per slate and position, in order: slate_id "
            f"0, 0, …, 1, … and position 0 … {k - 1} within each slate (len_list={k})"
        )
    for key in ("action", "reward"):
        if np.shape(dataset[key]) != position.shape:
            raise ValueError(
                f"`dataset[{key!r}]` must have shape {position.shape}, one entry per "
                f"slate and position, got {np.shape(dataset[key])}"
            )
    rewards = _check_real(dataset["reward"], "dataset['reward']").astype(np.float64)
    horizon = check_positive_int(dataset.get("step_per_trajectory", 1), "step_per_trajectory")
    n_trajectories = check_positive_int(
        dataset.get("n_trajectories", max(n_rounds // horizon, 1)), "n_trajectories"
    )
    if n_trajectories * horizon != n_rounds:
        raise ValueError(
            f"`dataset` has {n_rounds} slates, not n_trajectories · step_per_trajectory = "
            f"{n_trajectories} · {horizon}"
        )
    return _Slates(n_rounds, k, n_trajectories, horizon, rewards.reshape(n_rounds, k))


def _propensity_rows(
    value: Any, name: str, slates: _Slates, *, joint: bool, behaviour: bool
) -> NDArray[np.float64]:
    """Propensities as float64 ``(n_rounds,)`` (``joint``) or ``(n_rounds, k)``.

    Accepted shapes: the per-slate shape itself, or the Open Bandit Pipeline's flat
    ``(n_rounds · k,)`` (a joint then repeated on the slate's rows). Behaviour
    propensities must lie in ``(0, 1]``, the evaluation policy's in ``[0, 1]``.
    """
    n, k = slates.n_rounds, slates.len_list
    array = _check_real(value, name)
    shape = (n,) if joint else (n, k)
    if array.shape == (n * k,):
        array = array.reshape(n, k)
        if joint:
            if not (array == array[:, :1]).all():
                raise ValueError(f"`{name}` must be the same on every row of a slate")
            array = array[:, 0]
    elif array.shape != shape:
        raise ValueError(
            f"`{name}` must have shape {shape} or ({n * k},) (one per slate and position), "
            f"got {array.shape}"
        )
    inside = (array > 0 if behaviour else array >= 0) & (array <= 1)
    if not inside.all():
        interval = "(0, 1]" if behaviour else "[0, 1]"
        first = _first_outside(array.reshape(-1), inside.reshape(-1))
        raise ValueError(f"`{name}` must lie in {interval}, got {first}")
    return array.astype(np.float64, copy=False)


def _behaviour(
    dataset: Mapping[str, Any], key: str, slates: _Slates, estimator: str, past: bool = False
) -> NDArray[np.float64]:
    """The behaviour propensities ``dataset[key]``, checked; a pinned error if absent.

    ``past``: they are the joint ones that weight the earlier steps of a trajectory.
    """
    value = dataset.get(key)
    if value is None:
        state = "lacks the entry" if key not in dataset else "has None for"
        who = (
            f" (behaviour policy {dataset['behavior_policy']!r})"
            if "behavior_policy" in dataset
            else ""
        )
        raise ValueError(
            f"{_label(estimator, past)} needs the behaviour policy's {_WHAT[key]} "
            f"propensities, but `dataset` {state} {key!r}{who}; " + _alternatives(estimator)
        )
    return _propensity_rows(
        value, f"dataset[{key!r}]", slates, joint=key == "pscore", behaviour=True
    )


def _label(estimator: str, past: bool) -> str:
    """The estimator's name in messages."""
    if past:
        return f"{estimator.upper()} over several steps (earlier steps weigh whole slates)"
    return estimator.upper()


def _alternatives(estimator: str) -> str:
    """What to do when an estimator's propensities are missing."""
    if estimator == "iips":
        return "use 'sips' or 'rips'"
    return "give them (a policy's slate_probabilities has all three)"


def _evaluation(
    evaluation: Any, estimator: str, field: int, slates: _Slates, past: bool = False
) -> NDArray[np.float64]:
    """The evaluation policy's propensities of one kind, checked; a pinned error if absent.

    ``past``: they are the joint ones that weight the earlier steps of a trajectory.
    """
    value = evaluation[field]
    key = ("pscore", "pscore_cascade", "pscore_item_position")[field]
    if value is None:
        why = " (softmax policies have no item-position ones)" if field == 2 else ""
        raise ValueError(
            f"{_label(estimator, past)} needs the evaluation policy's {_WHAT[key]} "
            f"propensities, which were not given{why}; " + _alternatives(estimator)
        )
    return _propensity_rows(
        value, f"evaluation's {_WHAT[key]} propensities", slates, joint=field == 0, behaviour=False
    )


def _resolve_evaluation(
    dataset: Mapping[str, Any],
    evaluation: Any,
    item_features: NDArray[np.floating] | None,
    chunk_size: int,
) -> tuple[Any, Any, Any]:
    """``evaluation`` as its three (unchecked) arrays: joint, cascade, item-position."""
    if isinstance(evaluation, Policy):
        evaluation = evaluation_slate_probabilities(
            dataset, evaluation, item_features, chunk_size=chunk_size
        )
    if not isinstance(evaluation, tuple) or len(evaluation) != 3:
        raise TypeError(
            "`evaluation` must be a recgym Policy or its SlateProbabilities of the logged "
            "slates (joint, cascade, item-position; None for those not given), got "
            f"{type(evaluation).__name__}"
        )
    return evaluation[0], evaluation[1], evaluation[2]


# ------------------------------------------------------------------ evaluation policy


def evaluation_slate_probabilities(
    dataset: Mapping[str, Any],
    policy: Policy,
    item_features: NDArray[np.floating] | None = None,
    *,
    chunk_size: int = _DEFAULT_CHUNK_ROWS,
) -> SlateProbabilities:
    """A policy's joint, cascade and item-position probabilities of the logged slates.

    The policy is reset (bound to ``item_features`` and to chunks of ``chunk_size``
    slates) and asked for :meth:`~recgym.population.policies.Policy.slate_probabilities`
    of each logged slate given its logged ``context``: it is evaluated in its freshly
    reset state, as a function of each slate's context alone (as
    :func:`~recgym.population.ope.evaluation_probabilities` does at slate size 1).

    Args:
        dataset: A slate dataset (``context`` ``(n_rounds, d)``, ``action``
            ``(n_rounds · k,)``, ``len_list``).
        policy: The evaluation policy, of slate size ``len_list``; it must not need true
            states.
        item_features: The item table ``(n_items, d)``; default the dataset's
            ``action_context`` (``env.item_features`` when recgym logged it).
        chunk_size: Slates per call.

    Returns:
        SlateProbabilities: float64 joint ``(n_rounds,)``, cascade ``(n_rounds, k)`` and
        item-position ``(n_rounds, k)`` (None if the policy has no closed form for it).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If the policy needs true states or has another slate size, or an
            entry is missing or has the wrong shape.
    """
    policy = check_evaluation_policy(policy)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    slates = _check_slates(dataset)
    if "context" not in dataset:
        raise ValueError("`dataset` lacks the entries ['context']")
    if policy.slate_size != slates.len_list:
        raise ValueError(
            f"`policy` ({policy.name}) recommends slates of {policy.slate_size} items, but "
            f"the dataset's slates have len_list={slates.len_list}"
        )
    if item_features is None:
        item_features = dataset.get("action_context")
        if item_features is None:
            raise ValueError(
                "`item_features` (env.item_features) is needed to evaluate a Policy on a "
                "dataset without 'action_context'"
            )
    context = dataset["context"]
    _check_item_features(item_features, context, "context")
    n, k = slates.n_rounds, slates.len_list
    if np.shape(context)[0] != n:
        raise ValueError(
            f"`dataset['context']` must have one row per slate ({n}), got {np.shape(context)}"
        )
    actions = np.asarray(dataset["action"]).reshape(n, k)
    joint = np.empty(n, dtype=np.float64)
    cascade = np.empty((n, k), dtype=np.float64)
    item_position: NDArray[np.float64] | None = np.empty((n, k), dtype=np.float64)
    for rows in policy_chunks(policy, item_features, n, chunk_size):
        part = policy.slate_probabilities(context[rows], actions[rows])
        joint[rows] = part.propensities
        assert part.cascade_propensities is not None  # slate size > 1
        cascade[rows] = part.cascade_propensities
        if part.item_position_propensities is None:
            item_position = None
        elif item_position is not None:
            item_position[rows] = part.item_position_propensities
    return SlateProbabilities(joint, cascade, item_position)


# -------------------------------------------------------------------------- estimates


def _terms(
    slates: _Slates,
    weights: NDArray[np.float64],
    past: NDArray[np.float64] | None,
    gamma: float,
) -> NDArray[np.float64]:
    """Each trajectory's term ``Σ_t γ^t W_{t−1} Σ_j w_{t,j} r_{t,j}``, float64 ``(n,)``.

    Args:
        slates: The dataset's layout and rewards.
        weights: ``w_{s,j}``, ``(n_rounds, k)`` or ``(n_rounds, 1)``.
        past: The joint ratios ``ρ_s`` ``(n_rounds,)``; None at one step.
        gamma: The discount.
    """
    n, horizon = slates.n_trajectories, slates.horizon
    per_slate = (weights * slates.rewards).sum(axis=1).reshape(n, horizon)
    if past is not None and horizon > 1:
        before = np.ones((n, horizon))
        np.cumprod(past.reshape(n, horizon)[:, :-1], axis=1, out=before[:, 1:])
        per_slate *= before
    return per_slate @ (gamma ** np.arange(horizon, dtype=np.float64))


def _estimator_terms(
    dataset: Mapping[str, Any],
    slates: _Slates,
    evaluation: tuple[Any, Any, Any],
    estimator: str,
    gamma: float,
) -> NDArray[np.float64]:
    key, field = _KEYS[estimator], _FIELDS[estimator]
    behaviour = _behaviour(dataset, key, slates, estimator)
    target = _evaluation(evaluation, estimator, field, slates)
    ratios = target / behaviour
    past = None
    if slates.horizon > 1:
        past = ratios
        if field != 0:
            past = _evaluation(evaluation, estimator, 0, slates, past=True) / _behaviour(
                dataset, "pscore", slates, estimator, past=True
            )
    return _terms(slates, ratios[:, np.newaxis] if field == 0 else ratios, past, gamma)


def slate_trajectory_values(
    dataset: Mapping[str, Any],
    evaluation: Policy | SlateProbabilities | tuple[Any, Any, Any],
    estimator: str = "rips",
    *,
    gamma: float = 1.0,
    item_features: NDArray[np.floating] | None = None,
    chunk_size: int = _DEFAULT_CHUNK_ROWS,
) -> NDArray[np.float64]:
    """Each trajectory's term ``V_i`` of a slate estimate; their mean is the estimate.

    Args:
        dataset: A slate dataset (``slate_id``, ``position``, ``action``, ``reward``, the
            estimator's behaviour propensities, ``pscore`` too over several steps;
            ``context`` when ``evaluation`` is a Policy). An Open Bandit Pipeline
            feedback dict works (one step per slate).
        evaluation: The evaluation policy: a Policy (see
            :func:`evaluation_slate_probabilities`), or its probabilities of the logged
            slates as a :class:`~recgym.population.policies.SlateProbabilities` (or a
            tuple) ``(joint, cascade, item_position)``: joint ``(n_rounds,)``, the others
            ``(n_rounds, k)``, each also accepted flat ``(n_rounds · k,)`` as OBP's
            ``evaluation_policy_pscore*``; None for those not given.
        estimator: One of :data:`SLATE_ESTIMATORS`.
        gamma: Discount factor in ``[0, 1]``.
        item_features: The item table, for a Policy; default ``dataset["action_context"]``.
        chunk_size: Slates per call of a Policy.

    Returns:
        numpy.ndarray: float64 ``(n_trajectories,)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument has a wrong value or shape, or the estimator's
            propensities are missing (``"IIPS needs the behaviour policy's item-position
            propensities, …"``).
    """
    estimator = check_choice(estimator, "estimator", SLATE_ESTIMATORS)
    gamma = check_probability(gamma, "gamma")
    slates = _check_slates(dataset)
    arrays = _resolve_evaluation(dataset, evaluation, item_features, chunk_size)
    return _estimator_terms(dataset, slates, arrays, estimator, gamma)


def slate_estimates(
    dataset: Mapping[str, Any],
    evaluation: Policy | SlateProbabilities | tuple[Any, Any, Any],
    *,
    estimators: Sequence[str] | None = None,
    gamma: float = 1.0,
    confidence: float = 0.95,
    item_features: NDArray[np.floating] | None = None,
    chunk_size: int = _DEFAULT_CHUNK_ROWS,
) -> dict[str, SlateEstimate]:
    """Slate IPS estimates of an evaluation policy's value, with confidence intervals.

    Args:
        dataset: A slate dataset (see :func:`slate_trajectory_values`).
        evaluation: A Policy (its probabilities are computed once for every estimator)
            or its probabilities of the logged slates (see :func:`slate_trajectory_values`).
        estimators: Names from :data:`SLATE_ESTIMATORS`; a named estimator whose
            propensities are missing raises. None: every estimator whose propensities
            both the dataset and the evaluation policy give (IIPS is left out for
            softmax policies).
        gamma: Discount factor in ``[0, 1]``.
        confidence: Level of the Student-t intervals, in ``(0, 1)``.
        item_features: The item table, for a Policy; default ``dataset["action_context"]``.
        chunk_size: Slates per call of a Policy.

    Returns:
        dict: estimator name → :class:`SlateEstimate`, in the order asked (default
        ``"sips"``, ``"iips"``, ``"rips"``).

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument has a wrong value or shape, or a named estimator's
            propensities are missing.
    """
    gamma = check_probability(gamma, "gamma")
    if (
        isinstance(confidence, (bool, np.bool_))
        or not isinstance(confidence, (int, float))
        or not 0 < confidence < 1
    ):
        raise ValueError(f"`confidence` must be a float in (0, 1), got {confidence!r}")
    slates = _check_slates(dataset)
    arrays = _resolve_evaluation(dataset, evaluation, item_features, chunk_size)
    if estimators is None:
        names = [
            name
            for name in SLATE_ESTIMATORS
            if dataset.get(_KEYS[name]) is not None and arrays[_FIELDS[name]] is not None
        ]
    else:
        if isinstance(estimators, str):
            raise TypeError(f"`estimators` must be a list of names, got {estimators!r}")
        names = [check_choice(name, "estimators", SLATE_ESTIMATORS) for name in estimators]
    return {
        name: _student_t(_estimator_terms(dataset, slates, arrays, name, gamma), confidence)
        for name in names
    }


def _student_t(terms: NDArray[np.float64], confidence: float) -> SlateEstimate:
    """The mean of ``terms`` and its Student-t interval."""
    n = len(terms)
    mean = float(terms.mean())
    if n < 2:
        return SlateEstimate(mean, np.nan, np.nan, np.nan, n)
    from scipy.stats import t as student  # imported on first use

    error = float(terms.std(ddof=1) / np.sqrt(n))
    half = float(student.ppf((1 + confidence) / 2, n - 1)) * error
    return SlateEstimate(mean, mean - half, mean + half, error, n)
