"""Linear contextual bandits, one per user: LinUCB and linear Thompson sampling.

Every user ``i`` has its own ridge regression of the reward on the item features,
``r ≈ v_jᵀθᵢ`` (the environment's reward is ``⟨sᵢ, v_j⟩`` plus noise, so ``θᵢ`` estimates
the user's preference)::

    Aᵢ = λI + Σ v vᵀ        bᵢ = Σ r v        θ̂ᵢ = Aᵢ⁻¹ bᵢ

over the items the user consumed. The policy keeps ``Aᵢ⁻¹`` ``(N, d, d)``, ``bᵢ`` and
``θ̂ᵢ`` ``(N, d)`` as arrays and updates every user at once: each user consumes at most
one item per step, a rank-one change of ``Aᵢ``, so ``Aᵢ⁻¹`` is updated by the
Sherman–Morrison formula ``A⁻¹ ← A⁻¹ − (A⁻¹v)(A⁻¹v)ᵀ / (1 + vᵀA⁻¹v)`` — ``O(N d²)`` per
step instead of the ``O(N d³)`` of re-inverting or re-solving, and exactly symmetric by
construction (``A⁻¹v`` times itself). Its rounding drift is negligible for the horizons of
the papers: the smallest eigenvalue of ``A⁻¹`` stays above ``1 / (λ + Σ‖v‖²)``.

**What is learned** (:meth:`~.base.Policy.update`): the reward of the item each user
consumed, as one observation ``(v_consumed, r)``; at slate size 1 with the default
``"consume"`` choice model, the item shown. At ``k > 1`` the shown items the user did not
consume teach nothing — not a 0-reward observation: "not consumed" mixes dislike, the
choice model's outside option and, with churn, absence (an absent user's
``consumed`` is −1), and a 0 would pull ``θ̂`` toward 0 for reasons that are not the
reward's. A user who consumed nothing learns nothing.

**Prior** (``observation_prior=True``): the ridge shrinks ``θᵢ`` toward the user's
current observation ``oᵢ`` instead of 0 — the posterior mean under the prior
``θᵢ ~ N(oᵢ, σ²/λ I)`` — ``θ̂ᵢ = Aᵢ⁻¹(bᵢ + λoᵢ)``, with the observation of each
:meth:`act` call. With the default (False) the policy ignores the observations.

**Users who change** (:meth:`~.base.Policy.forget`): their ``Aᵢ⁻¹``, ``bᵢ``, ``θ̂ᵢ``
restart at ``I/λ``, 0, 0.

Memory: ``(d² + 2d)`` float64 per user (``d = 20``: 3.5 kB; 10⁵ users: 354 MB).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import (
    check_bool,
    check_memory,
    check_nonnegative_float,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from recgym.population.policies.base import Decision, _Deterministic, _Inputs
from recgym.population.policies.ranking import _RankingPolicy
from recgym.population.policies.slates import SlateProbabilities

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from recgym.population.policies.scoring import _ScoringOptions

__all__ = ["LinearThompsonPolicy", "LinearUcbPolicy"]


class _LinearBandit(_RankingPolicy):
    """Per-user ridge regressions of the reward on the item features (see the module).

    Args:
        regularization: Ridge penalty ``λ > 0`` (the prior precision).
        observation_prior: Shrink toward the current observation instead of 0.
        exclude_consumed: Recommend to each user only items it has not consumed yet.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one chunk of scores.
    """

    def __init__(
        self,
        regularization: float = 1.0,
        observation_prior: bool = False,
        *,
        exclude_consumed: bool = False,
        **options: Unpack[_ScoringOptions],
    ) -> None:
        super().__init__(exclude_consumed=exclude_consumed, **options)
        self.regularization = check_positive_float(regularization, "regularization")
        self.observation_prior = check_bool(observation_prior, "observation_prior")

    def _on_reset(self) -> None:
        super()._on_reset()
        n, d = self._n_users, self._item_table.shape[1]
        check_memory(8 * n * (d * d + 2 * d), "n_users", n, "the bandits' per-user matrices")
        self._covariance = np.empty((n, d, d))
        self._targets = np.empty((n, d))
        self._estimates = np.empty((n, d))
        self._restart(slice(None))

    def _restart(self, rows: Any) -> None:
        """``A⁻¹ = I/λ``, ``b = θ̂ = 0`` for ``rows``."""
        d = self._covariance.shape[1]
        self._covariance[rows] = np.eye(d) / self.regularization
        self._targets[rows] = 0.0
        self._estimates[rows] = 0.0

    @property
    def estimates(self) -> NDArray[np.float64]:
        """Copy of the ridge estimates ``θ̂ᵢ = Aᵢ⁻¹bᵢ`` (no observation prior), ``(N, d)``."""
        self._require_reset("estimates")
        return self._estimates.copy()

    @property
    def inverse_gram(self) -> NDArray[np.float64]:
        """Copy of the matrices ``Aᵢ⁻¹``, float64 ``(N, d, d)``."""
        self._require_reset("inverse_gram")
        return self._covariance.copy()

    def _learn(self, rewards: NDArray[np.float64], consumed: NDArray[np.int64]) -> None:
        """One Sherman–Morrison step for every user who consumed an item."""
        self._remember(consumed)
        chose = consumed >= 0
        users: Any = np.flatnonzero(chose)
        if not users.size:
            return
        if 2 * users.size >= self._n_users:
            # Most users: update every row in place (no gathered copies); a user who
            # consumed nothing gets v = 0, which changes nothing: A⁻¹ − 0, b + 0.
            users = slice(None)
            features = np.where(chose[:, np.newaxis], self._item_table[consumed.clip(0)], 0.0)
        else:
            features = self._item_table[consumed[users]]
        covariance = self._covariance[users]
        direction = np.matmul(covariance, features[:, :, np.newaxis])[..., 0]
        denominator = 1.0 + np.vecdot(features, direction)
        outer = direction[:, :, np.newaxis] * direction[:, np.newaxis, :]
        covariance -= outer / denominator[:, np.newaxis, np.newaxis]
        self._covariance[users] = covariance
        targets = self._targets[users] + rewards[users, np.newaxis] * features
        self._targets[users] = targets
        self._estimates[users] = np.matmul(covariance, targets[:, :, np.newaxis])[..., 0]

    def _forget(self, rows: NDArray[np.int64]) -> None:
        super()._forget(rows)
        self._restart(rows)

    def _means(self, observations: NDArray[Any]) -> NDArray[np.float64]:
        """The posterior means ``(N, d)``: ``θ̂``, or ``A⁻¹(b + λo)`` with the observation prior."""
        if not self.observation_prior:
            return self._estimates
        prior = self.regularization * np.asarray(observations, dtype=np.float64)
        return self._estimates + np.matmul(self._covariance, prior[:, :, np.newaxis])[..., 0]

    def _top_by(self, rows: NDArray[np.float64], inputs: _Inputs) -> NDArray[np.int64]:
        """Each user's top ``k`` candidates by ``v_jᵀ rowsᵢ``, ties to the lowest index."""
        columns = self._candidate_columns(inputs.candidates)
        table = np.ascontiguousarray(self._item_table[columns].T)

        def score(chunk: slice, _: NDArray[np.int64]) -> NDArray[np.float64]:
            return rows[chunk] @ table

        return self._rank(columns, score, 16)


class LinearUcbPolicy(_LinearBandit, _Deterministic):
    """LinUCB (Li, Chu, Langford & Schapire 2010), one ridge regression per user.

    Scores every candidate item ``j`` for user ``i`` by an upper confidence bound of its
    reward::

        v_jᵀθ̂ᵢ + α·√(v_jᵀ Aᵢ⁻¹ v_j)

    and recommends the top ``k``, descending, ties to the lowest index (see
    :mod:`~recgym.population.policies.linear_bandits` for ``Aᵢ``, ``θ̂ᵢ``, what is
    learned and the optional observation prior). ``α ≥ 0`` sets the exploration: 0 is
    greedy on ``θ̂``; a replication of Jiang et al. (2019) compares values of it.
    Deterministic given what it learned: propensity 1 (cascade ``1[a_≤j = top_≤j]``,
    item-position ``1[a_j = top_j]``). Before any feedback ``θ̂ = 0`` and ``A⁻¹ = I/λ``: the
    items of largest norm first.

    Scoring is chunked over users within ``max_chunk_bytes``: per chunk, the means are one
    matrix product and the widths another, of ``Aᵢ⁻¹`` (flattened, or its upper triangle
    for large catalogues) with the items' products ``v_a v_b`` — ``O(N · n_items · d²)`` per
    step, in BLAS.

    *Availability*: the top ``k`` available items. *``exclude_consumed=True``*: each
    user's top ``k`` among the available items it has not consumed yet.

    Args:
        alpha: Exploration weight ``α ≥ 0`` of the confidence width.
        regularization: Ridge penalty ``λ > 0`` (``A = λI`` before any observation).
        observation_prior: Shrink ``θ`` toward the current observation instead of 0.
        exclude_consumed: Recommend to each user only items it has not consumed yet.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one chunk of scores.
    """

    name = "linear_ucb"

    def __init__(
        self,
        alpha: float = 1.0,
        regularization: float = 1.0,
        observation_prior: bool = False,
        *,
        exclude_consumed: bool = False,
        **options: Unpack[_ScoringOptions],
    ) -> None:
        super().__init__(
            regularization, observation_prior, exclude_consumed=exclude_consumed, **options
        )
        self.alpha = check_nonnegative_float(alpha, "alpha")

    def upper_bounds(self, observations: NDArray[Any]) -> NDArray[np.float64]:
        """The scores ``v_jᵀθ̂ᵢ + α√(v_jᵀAᵢ⁻¹v_j)`` of every item, float64 ``(N, n_items)``.

        For inspection on small problems: the array is not chunked.

        Args:
            observations: ``(N, d)``, used by the observation prior only.

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset`.
        """
        observations = self._check_observations(observations, "upper_bounds")
        return self._bounds_function(self._means(observations), self._item_table)(slice(None))

    def _bounds_function(
        self, means: NDArray[np.float64], items: NDArray[np.float64]
    ) -> Callable[[slice], NDArray[np.float64]]:
        """The upper bounds of the users of a slice of rows for ``items`` ``(c, d)``.

        ``vᵀA⁻¹v`` is one matrix product per chunk: of the rows of ``A⁻¹`` flattened
        ``(m, d²)`` (a view) with the items' flattened outer products ``(d², c)``; or, for
        catalogues larger than ``2d²`` items, where the product dominates, of the gathered
        upper triangles ``(m, d(d+1)/2)`` with the products ``v_a v_b`` (off-diagonal ones
        doubled), about half the work. The means are another product.
        """
        n, d = self._covariance.shape[:2]
        flat = self._covariance.reshape(n, d * d)
        if len(items) > 2 * d * d:
            upper, lower = np.triu_indices(d)
            triangle: NDArray[np.intp] | None = upper * d + lower
            doubled = np.where(upper == lower, 1.0, 2.0)
            products = (items[:, upper] * items[:, lower] * doubled).T
        else:
            triangle = None
            products = (items[:, :, np.newaxis] * items[:, np.newaxis, :]).reshape(-1, d * d).T
        products = np.ascontiguousarray(products)
        columns = np.ascontiguousarray(items.T)

        def bounds(rows: slice) -> NDArray[np.float64]:
            inverse = flat[rows] if triangle is None else np.take(flat[rows], triangle, axis=1)
            widths = inverse @ products
            np.maximum(widths, 0.0, out=widths)  # vᵀA⁻¹v > 0; rounding may leave -1e-17
            np.sqrt(widths, out=widths)
            scores = means[rows] @ columns
            scores += self.alpha * widths
            return scores

        return bounds

    def _choose(self, inputs: _Inputs) -> NDArray[np.int64]:
        columns = self._candidate_columns(inputs.candidates)
        bounds = self._bounds_function(self._means(inputs.observations), self._item_table[columns])

        def score(rows: slice, _: NDArray[np.int64]) -> NDArray[np.float64]:
            return bounds(rows)

        return self._rank(columns, score, 24)


class LinearThompsonPolicy(_LinearBandit, _Deterministic):
    """Linear Thompson sampling (Agrawal & Goyal 2013), one posterior per user.

    Each step samples, for every user, ``θ̃ᵢ ~ N(θ̂ᵢ, σ²Aᵢ⁻¹)`` — ``θ̂ᵢ + σ·Lᵢz`` with
    ``LᵢLᵢᵀ = Aᵢ⁻¹`` (a batched Cholesky factorisation) and ``z`` ``N·d`` standard normals
    from the reset generator — and recommends the top ``k`` items by ``v_jᵀθ̃ᵢ``,
    descending, ties to the lowest index (chunked over users). See
    :mod:`~recgym.population.policies.linear_bandits` for ``Aᵢ``, ``θ̂ᵢ``, what is learned
    and the optional observation prior. ``σ = scale ≥ 0`` sets the exploration (a
    replication of Jiang et al. (2019) compares values of it); ``scale = 0`` draws
    nothing and is greedy on ``θ̂``.

    **Propensities.** The probability that a Gaussian sample ranks a given item (slate)
    first is a Gaussian integral over a polyhedral cone of ``R^d`` with no closed form, so
    with ``scale > 0`` this policy does not pretend: :meth:`act` returns NaN propensities
    (NaN cascade propensities at ``k > 1``, no item-position ones),
    :attr:`exact_propensities` is False, :meth:`probabilities` and
    :meth:`slate_probabilities` raise ``NotImplementedError``, and
    :func:`~recgym.population.collect_logged_dataset` refuses it (``simulate`` and
    ``true_policy_value`` run it). :meth:`estimate_probabilities` gives a Monte-Carlo
    estimate with its standard error, from a generator of its own. With ``scale = 0`` it
    is deterministic (propensity 1, exact).

    *Availability*: the top ``k`` available items. *``exclude_consumed=True``*: each
    user's top ``k`` among the available items it has not consumed yet.

    Args:
        scale: Posterior scale ``σ ≥ 0`` (the reward noise's standard deviation in the
            Bayesian reading).
        regularization: Ridge penalty ``λ > 0`` (``A = λI`` before any observation).
        observation_prior: Centre the prior on the current observation instead of 0.
        exclude_consumed: Recommend to each user only items it has not consumed yet.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one chunk of scores.
    """

    name = "linear_thompson"

    def __init__(
        self,
        scale: float = 1.0,
        regularization: float = 1.0,
        observation_prior: bool = False,
        *,
        exclude_consumed: bool = False,
        **options: Unpack[_ScoringOptions],
    ) -> None:
        super().__init__(
            regularization, observation_prior, exclude_consumed=exclude_consumed, **options
        )
        self.scale = check_nonnegative_float(scale, "scale")

    @property
    def exact_propensities(self) -> bool:
        """False with ``scale > 0`` (no closed form, see the class); True with ``scale = 0``."""
        return self.scale == 0.0

    def _sample(self, means: NDArray[np.float64], rng: np.random.Generator) -> NDArray[np.float64]:
        """``θ̃ = θ̂ + σLz`` for every user: ``N·d`` standard normals from ``rng``."""
        factors = np.linalg.cholesky(self._covariance)
        noise = rng.standard_normal(means.shape)
        return means + self.scale * np.matmul(factors, noise[:, :, np.newaxis])[..., 0]

    def _choose(self, inputs: _Inputs) -> NDArray[np.int64]:
        return self._top_by(self._means(inputs.observations), inputs)

    def _decide(self, inputs: _Inputs) -> Decision:
        if self.exact_propensities:
            return super()._decide(inputs)
        sampled = self._sample(self._means(inputs.observations), self._generator)
        actions = self._top_by(sampled, inputs)
        unknown = np.full(self._n_users, np.nan)
        if self.slate_size == 1:
            return Decision(actions, unknown)
        return Decision(actions, unknown, np.full(actions.shape, np.nan), None)

    def _exact(self, inputs: _Inputs, actions: NDArray[np.int64]) -> SlateProbabilities:
        if self.exact_propensities:
            return super()._exact(inputs, actions)
        raise NotImplementedError(
            f"LinearThompsonPolicy has no closed-form probabilities with scale={self.scale!r}: "
            "the probability that a Gaussian sample ranks a slate first is an integral "
            "without closed form, so its propensities are NaN; estimate them with "
            "estimate_probabilities(...), or use scale=0 (deterministic)"
        )

    def estimate_probabilities(
        self,
        observations: NDArray[Any],
        actions: NDArray[np.integer[Any]],
        *,
        samples: int = 1000,
        seed: int = 0,
        available: NDArray[np.bool_] | None = None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """A Monte-Carlo estimate of the probability of ``actions``, with its standard error.

        Draws ``samples`` independent posterior samples for every user from
        ``numpy.random.default_rng(seed)`` — never from the policy's own generator, which
        is left untouched, as is the policy — and counts how often each user's top ``k``
        equals its action (its whole ordered slate). The estimate ``p̂`` is unbiased, with
        standard error ``√(p̂(1 − p̂) / samples)`` (0 when ``p̂`` is 0 or 1: a rare slate
        may be estimated 0). Costs ``samples`` times an :meth:`act`.

        Args:
            observations: ``(N, d)``, as for :meth:`act`.
            actions: Items ``(N,)`` or slates ``(N, k)``, as for :meth:`probabilities`.
            samples: Number of posterior samples, ``>= 1``.
            seed: Seed of the estimate's own generator.
            available: Availability mask, as for :meth:`act`.

        Returns:
            tuple: float64 ``(N,)`` estimates and their standard errors.

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset`.
            TypeError: If an argument has the wrong type.
            ValueError: If an argument has a wrong value.
        """
        observations = self._check_observations(observations, "estimate_probabilities")
        actions = self._check_actions(actions)
        samples = check_positive_int(samples, "samples")
        rng = np.random.default_rng(check_seed(seed, "seed"))
        inputs = _Inputs(observations, None, self._candidates(available))
        means = self._means(observations)
        hits = np.zeros(self._n_users, dtype=np.int64)
        for _ in range(samples):
            drawn = self._top_by(self._sample(means, rng) if self.scale else means, inputs)
            hits += (drawn == actions).reshape(self._n_users, -1).all(axis=1)
        estimate = hits / samples
        return estimate, np.sqrt(estimate * (1.0 - estimate) / samples)
