"""Implicit-feedback matrix factorisation trained on consumption (weighted ALS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_positive_float, check_positive_int
from recgym.population.policies.als import _ridge_rows
from recgym.population.policies.ranking import ScoreFunction
from recgym.population.policies.retrained import _requires_fit, _RetrainedPolicy

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from recgym.population.policies.scoring import _ScoringOptions

__all__ = ["ImplicitFactorizationPolicy"]


class ImplicitFactorizationPolicy(_RetrainedPolicy):
    """Matrix factorisation of what users consumed: the MF recommender of the feedback-loop papers.

    The recommender of Chaney, Stewart & Engelhardt (2018) and Mansoury et al. (2020)
    trained on the data its own recommendations produced. It never looks at the
    observations or the rewards: it learns only which user consumed which item
    (``update(..., consumed=...)``), and at ``k > 1`` a shown item that was not consumed
    is *unobserved*, like every item never shown — in implicit feedback there are no
    negative observations, only the absence of consumption.

    **Model** (Hu, Koren & Volinsky 2008, "Collaborative filtering for implicit feedback
    datasets"). With ``c_ui`` the number of times user ``u`` consumed item ``i``, the
    preference ``p_ui = 1[c_ui > 0]`` and the confidence ``w_ui = 1 + α·c_ui``, rank-``r``
    factors ``X (N, r)``, ``Y (n_items, r)`` minimise, over *every* (user, item) pair::

        Σ_{u,i} w_ui (p_ui − x_uᵀ y_i)² + λ (‖X‖² + ‖Y‖²)

    by weighted alternating least squares, in closed form: each half-sweep solves, for
    every user (resp. item), ``(YᵀY + Σ_{i: c_ui>0} α c_ui y_i y_iᵀ + λI) x_u =
    Σ_{i: c_ui>0} (1 + α c_ui) y_i`` — Hu et al.'s ``YᵀY`` trick keeps the work at
    ``O(nnz · r² + (N + n_items) · r³)``; the systems are solved batched, chunk by chunk,
    by the same ALS kernel as :class:`~recgym.population.policies.CollaborativeFilteringPolicy`.
    ``Y`` starts from ``N(0, 0.1²)`` drawn from the reset generator at the first fit
    (``n_items · r`` normals, the policy's only draws besides its uniform phase) and is
    warm-started at later fits; ``X`` is solved from ``Y`` at each fit. Scores are
    ``x_uᵀ y_i``.

    **How it differs from** :class:`~recgym.population.policies.CollaborativeFilteringPolicy`:
    both log what was consumed (the same log) and fit by ALS, but collaborative filtering
    regresses the observed *rewards* of the consumed pairs only (unobserved pairs are
    missing, ε-greedy on the predicted reward), while this model regresses *consumption
    itself* over every pair (unconsumed pairs are zeros of low confidence), ignores
    rewards, and is deterministic once fitted: Chaney et al.'s setting, where what a user
    consumed is all the platform records.

    **Schedule** (see :mod:`~recgym.population.policies.retrained`): uniformly random for
    the first ``warmup_steps`` steps (default ``retrain_every``), then refitted on the
    whole log every ``retrain_every`` steps, or never again with ``retrain_every=None``
    (Chaney's "trained once after a random start"). Before the first fit: propensity
    ``1 / n`` (ordered slates: joint ``(n − k)! / n!``, cascade ``Π_{l ≤ j} 1 / (n − l)``,
    item-position ``1 / n``) with ``n`` the user's candidates. Once fitted: each user's top
    ``k`` by ``x_uᵀ y_i``, descending, deterministic (propensity 1); ties to the item
    consumed most often (in the log of the last fit), then to the lowest index — a user
    who had consumed nothing by the last fit has ``x_u = 0`` and gets the most popular
    items.

    *Availability*: the candidates are the available items (their count ``n`` in the
    uniform phase); the log learns from every consumed item. *``exclude_consumed=True``*:
    each user's candidates are the available items it has not consumed yet, so ``n``
    differs per user; ``ValueError`` if fewer than ``k`` remain. *Users who change*
    (:meth:`forget`): their log entries and factors are dropped (they get the most popular
    items until the next fit); ``Y`` stays.

    Args:
        rank: Number of latent factors ``r``.
        alpha: Confidence slope ``α > 0``: a consumed pair weighs ``1 + α·c_ui``, an
            unconsumed one 1.
        regularization: Ridge penalty ``λ > 0``.
        als_iterations: Alternating sweeps (users then items) per fit.
        retrain_every: Steps between fits after the first; None: train once.
        warmup_steps: Steps of uniform recommendations before the first fit; default
            ``retrain_every``.
        exclude_consumed: Recommend to each user only items it has not consumed yet.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one chunk of scores or of ALS systems.

    Example:
        >>> import numpy as np
        >>> policy = ImplicitFactorizationPolicy(rank=2, retrain_every=None, warmup_steps=1)
        >>> policy.reset(np.eye(3), n_users=2, rng=np.random.default_rng(0))
        >>> policy.act(np.zeros((2, 3))).propensities  # uniform before the fit
        array([0.33333333, 0.33333333])
        >>> policy.update(np.array([0, 2]), np.zeros(2))  # user 0 consumed 0, user 1 item 2
        >>> policy.is_fitted, policy.act(np.zeros((2, 3))).propensities
        (True, array([1., 1.]))
    """

    name = "implicit_factorization"

    def __init__(
        self,
        rank: int = 10,
        alpha: float = 10.0,
        regularization: float = 0.1,
        als_iterations: int = 10,
        *,
        retrain_every: int | None = 10,
        warmup_steps: int | None = None,
        exclude_consumed: bool = False,
        **options: Unpack[_ScoringOptions],
    ) -> None:
        super().__init__(
            retrain_every=retrain_every,
            warmup_steps=warmup_steps,
            exclude_consumed=exclude_consumed,
            **options,
        )
        self.rank = check_positive_int(rank, "rank")
        self.alpha = check_positive_float(alpha, "alpha")
        self.regularization = check_positive_float(regularization, "regularization")
        self.als_iterations = check_positive_int(als_iterations, "als_iterations")

    def _clear_model(self) -> None:
        self._user_factors: NDArray[np.float64] | None = None
        self._item_factors: NDArray[np.float64] | None = None

    @property
    @_requires_fit
    def user_factors(self) -> NDArray[np.float64]:
        """Copy of the user factors ``X``, float64 ``(N, rank)``."""
        return self._factors()[0].copy()

    @property
    @_requires_fit
    def item_factors(self) -> NDArray[np.float64]:
        """Copy of the item factors ``Y``, float64 ``(n_items, rank)``."""
        return self._factors()[1].copy()

    @_requires_fit
    def predicted_preferences(self) -> NDArray[np.float64]:
        """The model's scores ``X Yᵀ`` for every (user, item), ``(N, n_items)``.

        For inspection on small problems: the array is not chunked.
        """
        users, items = self._factors()
        return users @ items.T

    def _factors(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The fitted ``(X, Y)``, for a caller that checked the fit."""
        assert self._user_factors is not None and self._item_factors is not None
        return self._user_factors, self._item_factors

    def _train(self, counts: Any) -> None:
        """Weighted ALS on the counts ``C``: confidence ``1 + αC``, preference ``1[C > 0]``."""
        if self._item_factors is None:
            self._item_factors = self._generator.normal(scale=0.1, size=(self.n_items, self.rank))
        confidence = counts.copy()  # α·C: the weights beyond 1 of the consumed pairs
        confidence.data *= self.alpha
        targets = confidence.copy()  # (1 + α·C)·p: the right-hand sides' weights
        targets.data += 1.0
        confidence_t, targets_t = confidence.T.tocsr(), targets.T.tocsr()
        ridge = self.regularization * np.eye(self.rank)
        items = self._item_factors
        for _ in range(self.als_iterations):
            users = _ridge_rows(
                confidence, targets @ items, items, items.T @ items + ridge, self.max_chunk_bytes
            )
            items = _ridge_rows(
                confidence_t,
                targets_t @ users,
                users,
                users.T @ users + ridge,
                self.max_chunk_bytes,
            )
        self._user_factors, self._item_factors = users, items

    def _forget_users(self, rows: NDArray[np.int64]) -> None:
        assert self._user_factors is not None
        self._user_factors[rows] = 0.0

    def _scores(self, columns: NDArray[np.int64]) -> tuple[ScoreFunction, int]:
        assert self._user_factors is not None and self._item_factors is not None
        users, table = self._user_factors, np.ascontiguousarray(self._item_factors[columns].T)

        def score(rows: slice, _: NDArray[np.int64]) -> NDArray[np.float64]:
            return users[rows] @ table

        return score, 16
