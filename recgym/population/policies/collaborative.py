"""Collaborative filtering: matrix factorisation (ALS) learned from the policy's own log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_positive_float, check_positive_int
from recgym.population.policies.als import _ridge_rows
from recgym.population.policies.greedy import _EpsilonGreedyBase
from recgym.population.policies.interactions import _InteractionLog
from recgym.population.policies.scoring import _ScoringOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["CollaborativeFilteringPolicy"]


class CollaborativeFilteringPolicy(_EpsilonGreedyBase):
    """Matrix factorisation learned online from the population's own interaction log.

    The policy never looks at the observations: like a production recommender it learns
    only from which user was shown which item and what reward followed.

    **Log.** :meth:`update` buffers each step's ``(user, item, reward)`` triples; at every
    refit they are merged into two ``scipy.sparse`` CSR matrices of shape
    ``(N, n_items)``: the count ``C`` of observations and the sum ``S`` of rewards of each
    (user, item) pair. Only pairs that were consumed are stored: at slate size 1 every
    item shown (unless ``consumed`` says otherwise), at ``k > 1`` the item each user
    consumed from its slate (``consumed``, required), nothing for a user who consumed
    nothing. A refit with an empty log leaves the policy as it was.

    **Model.** Scores ``r̂ᵤⱼ = μ + pᵤ·qⱼ`` with ``μ`` the mean observed reward and rank-``k``
    factors ``P (N, k)``, ``Q (n_items, k)``, fitted by alternating least squares on the
    observed rewards only (unobserved pairs are missing, not zero)::

        min Σ_observations (r − μ − pᵤ·qⱼ)² + λ (‖P‖² + ‖Q‖²)

    Each half-sweep solves one ``k × k`` ridge system per user (resp. item) — batched
    ``numpy.linalg.solve``, with the Gram matrices ``Σⱼ Cᵤⱼ qⱼqⱼᵀ`` built by sparse
    products. ``Q`` starts from ``N(0, 0.1²)`` drawn at the first fit and is warm-started
    at later fits. Centring by ``μ`` costs one dimension: rewards ``⟨s, v⟩`` with
    ``d``-dimensional states need ``rank ≥ d + 1`` (with ``rank = d`` the fit is visibly
    worse).

    **Schedule.** The model is refitted in :meth:`update` after every ``refit_every``-th
    step, so :meth:`act` and :meth:`probabilities` never change it. Before the first fit
    the policy is uniformly random (propensity ``1 / n_items``); afterwards it is
    ε-greedy on ``r̂`` (propensity ``(1 − ε)·1[a = argmax r̂ᵤ] + ε / n_items``), ties to
    the lowest index. Because it is trained on data its own recommendations produced, it
    exhibits the algorithmic confounding of Chaney et al. (2018).

    **Slates** (``slate_size = s > 1``): before the first fit a uniformly random ordered
    slate per user; afterwards ε-greedy on the predicted top ``s`` (descending, ties to
    the lowest index) as in :class:`~recgym.population.policies.EpsilonGreedyPolicy`:
    with ``n`` items and the predicted top slate ``g``, joint
    ``(1 − ε)·1[a = g] + ε·(n − s)! / n!``, cascade
    ``(1 − ε)·1[a_≤j = g_≤j] + ε·Π_{l ≤ j} 1 / (n − l)``, item-position
    ``(1 − ε)·1[a_j = g_j] + ε / n``.

    **Availability.** With some items unavailable, both the uniform phase and the
    ε-greedy phase choose among the ``n`` available items only (the predicted top among
    them; ``n`` the available count in every probability above), and an unavailable item
    has probability 0. The log and the fits are as before: every consumed item is learned
    from, and an item keeps its factors while it is unavailable.

    **Users who change** (:meth:`forget`): their entries leave the log and their factors
    are zeroed (predicted ``μ`` for every item) until the next fit.

    **Cost.** A refit takes ``O(als_iterations · (nnz · k² + (N + n_items) · k³))``; the
    user-side systems are solved in chunks within ``max_chunk_bytes``, and scoring is
    chunked as in every scoring policy. The log holds at most one entry per distinct
    (user, item) pair.

    Args:
        rank: Number of latent factors ``k``.
        refit_every: Steps between refits (the first fit follows step ``refit_every``).
        epsilon: Exploration probability in ``[0, 1]`` once fitted.
        regularization: Ridge penalty ``λ > 0``.
        als_iterations: Alternating sweeps (users then items) per refit.
        slate_size: Items per user and step, ``s >= 1``.
        max_chunk_bytes: Memory budget of one scoring or solving chunk.
    """

    name = "collaborative_filtering"

    def __init__(
        self,
        rank: int = 5,
        refit_every: int = 10,
        epsilon: float = 0.1,
        regularization: float = 0.1,
        als_iterations: int = 10,
        **options: Unpack[_ScoringOptions],
    ) -> None:
        super().__init__(epsilon, **options)
        self.rank = check_positive_int(rank, "rank")
        self.refit_every = check_positive_int(refit_every, "refit_every")
        self.regularization = check_positive_float(regularization, "regularization")
        self.als_iterations = check_positive_int(als_iterations, "als_iterations")
        self._user_factors: NDArray[np.float64] | None = None
        self._item_factors: NDArray[np.float64] | None = None

    def _on_reset(self) -> None:
        self._steps = 0
        self._mean = 0.0
        self._log = _InteractionLog(self._n_users, self.n_items, rewards=True)
        self._user_factors = None
        self._item_factors = None

    @property
    def is_fitted(self) -> bool:
        """Whether the model has been fitted at least once since :meth:`reset`."""
        return self._user_factors is not None

    def predicted_rewards(self) -> NDArray[np.float64]:
        """The model's reward prediction ``μ + P Qᵀ`` for every (user, item), ``(N, n_items)``.

        For inspection on small problems: the array is not chunked.

        Raises:
            recgym.errors.ResetNeeded: If called before :meth:`reset`.
            ValueError: If the model has not been fitted yet.
        """
        self._require_reset("predicted_rewards")
        if self._user_factors is None or self._item_factors is None:
            raise ValueError(
                "CollaborativeFilteringPolicy has not been fitted yet: it fits after every "
                f"`refit_every` = {self.refit_every} calls of update(), got "
                f"{self._steps} since reset()"
            )
        return self._mean + self._user_factors @ self._item_factors.T

    def _learn(self, rewards: NDArray[np.float64], consumed: NDArray[np.int64]) -> None:
        """Log the step's consumed items and rewards; refit after every ``refit_every``-th step."""
        self._log.add(consumed, rewards)
        self._steps += 1
        if self._steps % self.refit_every == 0:
            self._fit()

    def _forget(self, rows: NDArray[np.int64]) -> None:
        """Drop the users' log entries; until the next fit they are predicted ``μ``."""
        self._log.forget(rows)
        if self._user_factors is not None:
            self._user_factors[rows] = 0.0

    def _fit(self) -> None:
        log = self._log
        log.merge()
        counts, sums = log.counts, log.sums
        assert sums is not None
        if counts.nnz == 0:  # nobody consumed anything yet: nothing to fit
            return
        self._mean = float(sums.sum() / counts.sum())
        counts_t, sums_t = counts.T.tocsr(), sums.T.tocsr()
        if self._item_factors is None:
            self._item_factors = self._generator.normal(scale=0.1, size=(self.n_items, self.rank))
        items = self._item_factors
        for _ in range(self.als_iterations):
            users = self._ridge_solve(counts, sums, items)
            items = self._ridge_solve(counts_t, sums_t, users)
        self._user_factors, self._item_factors = users, items

    def _ridge_solve(
        self, counts: Any, sums: Any, fixed: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """One ALS half-sweep: the factors of every row given the factors of the columns.

        Row ``r`` solves ``(Σⱼ Cᵣⱼ fⱼfⱼᵀ + λI) xᵣ = Σⱼ (Sᵣⱼ − μCᵣⱼ) fⱼ``
        (:func:`~.als._ridge_rows`).

        Args:
            counts: CSR ``(R, M)`` observation counts.
            sums: CSR ``(R, M)`` reward sums.
            fixed: float64 ``(M, k)`` factors of the columns.

        Returns:
            numpy.ndarray: float64 factors of the rows, shape ``(R, k)``.
        """
        rhs = sums @ fixed - self._mean * (counts @ fixed)
        ridge = self.regularization * np.eye(self.rank)
        return _ridge_rows(counts, rhs, fixed, ridge, self.max_chunk_bytes)

    def _greedy_tables(
        self, observations: NDArray[Any]
    ) -> tuple[NDArray[Any], NDArray[np.float64]] | None:
        """The user and item factors (argmax of the predicted rewards), None before a fit."""
        if self._user_factors is None or self._item_factors is None:
            return None
        return self._user_factors, self._item_factors
