"""Recommenders retrained from the consumption log on a schedule: warm-up, then every few steps.

:class:`_RetrainedPolicy` is the base of the implicit-feedback factorisation and of
item-kNN, the batch recommenders of the feedback-loop papers (Chaney et al. 2018;
Mansoury et al. 2020). They learn only which user consumed which item
(:meth:`~.base.Policy.update`'s ``consumed``), logged in sparse counts
(:class:`~.interactions._InteractionLog`), and their model is refitted on the whole log
at scheduled steps:

- the first fit follows step ``warmup_steps`` (default ``retrain_every``); before it the
  policy recommends uniformly at random (exact propensities) — Chaney et al.'s random
  start-up;
- later fits follow every ``retrain_every``-th step after it; ``retrain_every=None``
  trains once, after the warm-up (Chaney et al.'s "trained once" schedule).

A fit on an empty log (nobody consumed anything yet) leaves the policy as it was. Once
fitted, the policy is deterministic: each user's top ``k`` items by the model's score,
ties to the item consumed most often (over all users, in the log of the last fit), then
to the lowest index — so a user the model knows nothing about gets the most popular
items.
"""

from __future__ import annotations

import functools
import inspect
from abc import abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_positive_int
from recgym.population.policies.base import Decision, _Deterministic, _Inputs
from recgym.population.policies.interactions import _InteractionLog
from recgym.population.policies.ranking import ScoreFunction, _RankingPolicy
from recgym.population.policies.slates import SlateProbabilities, _Candidates

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from recgym.population.policies.scoring import _ScoringOptions

__all__: list[str] = []


_Policy = TypeVar("_Policy", bound="_RetrainedPolicy")
_Value = TypeVar("_Value")

#: The ``Raises`` section of every reader of the fitted model (see :func:`_requires_fit`).
_FIT_ERRORS = """

Raises:
    recgym.errors.ResetNeeded: If called before :meth:`reset`.
    ValueError: If the model has not been fitted yet."""


def _requires_fit(method: Callable[[_Policy], _Value]) -> Callable[[_Policy], _Value]:
    """Decorate a method (or property getter) that reads the fitted model.

    The method runs only after :meth:`_RetrainedPolicy._require_fitted` (under the
    method's name), and its docstring gains the ``Raises`` section of those errors.
    """
    name = method.__name__

    @functools.wraps(method)
    def checked(self: _Policy) -> _Value:
        self._require_fitted(name)
        return method(self)

    checked.__doc__ = inspect.cleandoc(method.__doc__ or "") + _FIT_ERRORS
    return checked


class _RetrainedPolicy(_RankingPolicy, _Deterministic):
    """Uniform until the first fit, then the deterministic top ``k`` of a model of the log.

    Subclasses fit their model in :meth:`_train` and score with :meth:`_scores`, and
    drop a user's part of it in :meth:`_forget_users`.

    Args:
        retrain_every: Steps between fits after the first; None: train once.
        warmup_steps: Steps of uniformly random recommendations before the first fit;
            default ``retrain_every``.
        exclude_consumed: Recommend to each user only items it has not consumed yet.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one chunk of scores.

    Raises:
        TypeError: If ``retrain_every`` or ``warmup_steps`` is not an integer or None.
        ValueError: If one is not positive, or both are None.
    """

    def __init__(
        self,
        *,
        retrain_every: int | None = 10,
        warmup_steps: int | None = None,
        exclude_consumed: bool = False,
        **options: Unpack[_ScoringOptions],
    ) -> None:
        super().__init__(exclude_consumed=exclude_consumed, **options)
        if retrain_every is None and warmup_steps is None:
            raise ValueError(
                "`warmup_steps` must be a positive integer when `retrain_every` is None (the "
                "model is trained once, after the warm-up), got None"
            )
        self.retrain_every = (
            None if retrain_every is None else check_positive_int(retrain_every, "retrain_every")
        )
        self.warmup_steps = check_positive_int(
            retrain_every if warmup_steps is None else warmup_steps, "warmup_steps"
        )
        self._popularity: NDArray[np.float64] | None = None

    def _on_reset(self) -> None:
        super()._on_reset()
        self._steps = 0
        self._log = _InteractionLog(self._n_users, self.n_items, rewards=False)
        self._popularity = None
        self._clear_model()

    @property
    def is_fitted(self) -> bool:
        """Whether the model has been fitted at least once since :meth:`reset`."""
        return self._popularity is not None

    @property
    def steps(self) -> int:
        """Calls of :meth:`update` since :meth:`reset`."""
        return self._steps

    def _require_fitted(self, method: str) -> None:
        """Raise ``ResetNeeded`` before :meth:`reset`, ``ValueError`` before the first fit."""
        self._require_reset(method)
        if not self.is_fitted:
            raise ValueError(
                f"{type(self).__name__} has not been fitted yet: its first fit follows "
                f"update() number `warmup_steps` = {self.warmup_steps} with some consumption, "
                f"got {self._steps} update() calls since reset()"
            )

    def _learn(self, rewards: NDArray[np.float64], consumed: NDArray[np.int64]) -> None:
        """Log the consumed items; fit when the schedule says so."""
        self._remember(consumed)
        self._steps += 1
        if self.retrain_every is not None or self._steps <= self.warmup_steps:
            self._log.add(consumed, rewards)  # a model trained once needs no later log
        if self._due():
            self._fit()

    def _due(self) -> bool:
        steps, warmup, every = self._steps, self.warmup_steps, self.retrain_every
        if steps == warmup:
            return True
        return every is not None and steps > warmup and (steps - warmup) % every == 0

    def _fit(self) -> None:
        self._log.merge()
        counts = self._log.counts
        if counts.nnz == 0:  # nobody consumed anything yet: nothing to learn from
            return
        self._popularity = np.asarray(counts.sum(axis=0), dtype=np.float64)
        self._train(counts)

    def _forget(self, rows: NDArray[np.int64]) -> None:
        super()._forget(rows)
        self._log.forget(rows)
        if self.is_fitted:
            self._forget_users(rows)

    @abstractmethod
    def _clear_model(self) -> None:
        """Drop the model (at :meth:`reset`)."""

    @abstractmethod
    def _train(self, counts: Any) -> None:
        """Fit the model to the log's counts, CSR ``(N, n_items)`` float64."""

    @abstractmethod
    def _forget_users(self, rows: NDArray[np.int64]) -> None:
        """Make the fitted model know nothing about the users in ``rows``."""

    @abstractmethod
    def _scores(self, columns: NDArray[np.int64]) -> tuple[ScoreFunction, int]:
        """The score function of the fitted model for ``columns``, and its bytes per score."""

    def _ranked_columns(self, candidates: _Candidates) -> NDArray[np.int64]:
        """The candidates, most consumed first, then by index: the order ties go in."""
        assert self._popularity is not None
        columns = self._candidate_columns(candidates)
        return columns[np.argsort(-self._popularity[columns], kind="stable")]

    def _choose(self, inputs: _Inputs) -> NDArray[np.int64]:
        columns = self._ranked_columns(inputs.candidates)
        score, bytes_per_score = self._scores(columns)
        return self._rank(columns, score, bytes_per_score)

    def _decide(self, inputs: _Inputs) -> Decision:
        if not self.is_fitted:
            return self._uniform_left(inputs.candidates)
        return super()._decide(inputs)

    def _exact(self, inputs: _Inputs, actions: NDArray[np.int64]) -> SlateProbabilities:
        if not self.is_fitted:
            return self._uniform_left_exact(inputs.candidates, actions)
        return super()._exact(inputs, actions)
