"""Engagement: satiation (boredom with what one just consumed), and users who leave and return.

Both are stages of the core's step (:class:`recgym.core.Population`), batched over users,
with their state kept per user in the core's arrays (and in checkpoints).

**Satiation** (Kunaver & Požrl 2017; the boredom of SARDINE and RecLab): each user carries
a satiation vector ``b_i ∈ R^d``, an exponentially decaying sum of the items they
consumed. It lowers the user's utility for items like those::

    u_ij = ⟨s_i, v_j⟩ − λ·⟨b_i, v_j⟩          (utility seen by the choice model and reward)
    b_i ← γ·b_i + v_consumed                  (every step; only γ·b_i without consumption)

with strength ``λ ≥ 0`` and decay ``γ ∈ [0, 1)``: an item's weight halves after
``log 2 / −log γ`` steps, and consuming the same unit item every step saturates at a
penalty of ``λ / (1 − γ)`` for it (1 with the defaults ``λ = 0.1``, ``γ = 0.9``: as much
as the largest affinity of row-normalised features).

**Churn and return** (the retention settings of KuaiSim and SARDINE): each user's
satisfaction ``m_i`` is an exponential average of their rewards, ``m_i ← (1 − η)·m_i +
η·r_i`` over the steps they are active (a step without consumption counts as reward 0).
After a step, an active user leaves with probability ``sigmoid(κ·(τ − m_i))`` — with the
default ``κ = inf``, exactly when ``m_i < τ`` — and an absent user comes back with
probability ``ρ`` per step (a geometric absence of mean ``1 / ρ`` steps), their
satisfaction restarting at ``m_0``. An absent user is shown nothing, gets no reward and
does not move.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import (
    check_float_in_range,
    check_nonnegative_float,
    check_probability,
)

__all__ = ["Churn", "Satiation"]


def _finite(value: Any, name: str) -> float:
    return check_float_in_range(
        value, name, -math.inf, math.inf, include_low=False, include_high=False
    )


@dataclass(frozen=True)
class Satiation:
    """Satiation: recent consumption of similar items lowers their utility.

    Args:
        strength: ``λ ≥ 0``, the weight of the penalty ``−λ⟨b_i, v_j⟩``.
        decay: ``γ ∈ [0, 1)``, the per-step decay of the satiation vector.

    Raises:
        TypeError: If an argument is not a real number.
        ValueError: If an argument is out of range.
    """

    strength: float = 0.1
    decay: float = 0.9

    def __post_init__(self) -> None:
        object.__setattr__(self, "strength", check_nonnegative_float(self.strength, "strength"))
        decay = check_float_in_range(self.decay, "decay", 0.0, 1.0, include_high=False)
        object.__setattr__(self, "decay", decay)

    def penalties(self, satiation: NDArray[Any], items: NDArray[Any]) -> NDArray[Any]:
        """``λ⟨b_i, v⟩`` for rows of satiation vectors ``(n, d)`` and items ``(n, k, d)``.

        Returns:
            numpy.ndarray: ``(n, k)``.
        """
        return self.strength * np.vecdot(items, satiation[:, np.newaxis, :])

    def update(
        self, satiation: NDArray[Any], consumers: NDArray[np.intp], consumed: NDArray[Any]
    ) -> None:
        """In place: ``b ← γ·b`` for everyone, then ``+ v`` for each consumer's item.

        Args:
            satiation: float ``(n, d)``, modified.
            consumers: Rows that consumed, int ``(m,)``.
            consumed: Their items' features, float ``(m, d)``.
        """
        satiation *= self.decay
        if len(consumers) == len(satiation):  # everyone consumed, in row order
            satiation += consumed
        else:
            satiation[consumers] += consumed


@dataclass(frozen=True)
class Churn:
    """Users leave when their satisfaction falls, and may return after an absence.

    Args:
        threshold: ``τ``: a user's satisfaction below it makes them leave.
        rate: ``η ∈ (0, 1]``, the weight of the newest reward in the satisfaction.
        initial_satisfaction: ``m_0``, the satisfaction at the start and after a return.
        steepness: ``κ > 0``: leave with probability ``sigmoid(κ(τ − m))``; ``inf``
            (default) leaves deterministically when ``m < τ``.
        return_probability: ``ρ ∈ [0, 1]``, each absent user's chance to come back per
            step (0: users who leave are gone for the episode).

    Raises:
        TypeError: If an argument is not a real number.
        ValueError: If an argument is out of range.
    """

    threshold: float
    rate: float = 0.2
    initial_satisfaction: float = 0.0
    steepness: float = math.inf
    return_probability: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "threshold", _finite(self.threshold, "threshold"))
        rate = check_float_in_range(self.rate, "rate", 0.0, 1.0, include_low=False)
        object.__setattr__(self, "rate", rate)
        object.__setattr__(
            self, "initial_satisfaction", _finite(self.initial_satisfaction, "initial_satisfaction")
        )
        steepness = check_float_in_range(
            self.steepness, "steepness", 0.0, math.inf, include_low=False
        )
        object.__setattr__(self, "steepness", steepness)
        object.__setattr__(
            self,
            "return_probability",
            check_probability(self.return_probability, "return_probability"),
        )

    @property
    def draws_to_leave(self) -> bool:
        """Whether leaving is random (a finite steepness): one uniform per active user."""
        return math.isfinite(self.steepness)

    def leave(
        self, satisfaction: NDArray[np.float64], rng: np.random.Generator
    ) -> NDArray[np.bool_]:
        """Who leaves, among users with the given satisfaction ``(m,)`` (bool ``(m,)``).

        Draws ``m`` uniforms from ``rng`` when leaving is random, nothing otherwise.
        """
        uniforms = rng.random(len(satisfaction)) if self.draws_to_leave else None
        return self.leaving(satisfaction, uniforms)

    def leaving(
        self, satisfaction: NDArray[np.float64], uniforms: NDArray[np.float64] | None
    ) -> NDArray[np.bool_]:
        """Who leaves, given one uniform in ``[0, 1)`` per user (None when not random).

        Args:
            satisfaction: float64 ``(m,)``.
            uniforms: float64 ``(m,)`` if :attr:`draws_to_leave`, else ignored.

        Raises:
            ValueError: If leaving is random and ``uniforms`` is None.

        Returns:
            numpy.ndarray: bool ``(m,)``: ``u < sigmoid(κ(τ − m))``, or ``m < τ`` at
            ``κ = inf``.
        """
        if not self.draws_to_leave:
            return satisfaction < self.threshold
        if uniforms is None:
            raise ValueError("`uniforms` must be given when leaving is random (finite steepness)")
        from scipy.special import expit

        return uniforms < expit(self.steepness * (self.threshold - satisfaction))
