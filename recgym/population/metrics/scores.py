"""Metrics of the users' scores over the catalogue: Jiang et al.'s degeneracy and collapse.

A user's *score vector* (their true interest in every item, the ``μ_t`` of Jiang,
Chiappa, Lattimore, György & Kohli 2019) is ``μ_t = V s_t``: the affinity ``⟨s_t, vⱼ⟩``
of each item ``j`` of the item table ``V`` ``(n_items, d)``. Jiang et al. call a feedback
loop *degenerate* when ``‖μ_t − μ_0‖₂`` grows without bound (weakly: ``lim sup = ∞``;
strongly: ``lim = ∞``, almost surely); :func:`score_change` measures ``‖μ_t − μ_0‖₂``.
:func:`collapse_time` measures when each user's favourite item — the top of ``μ_t`` —
stops changing.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from recgym.population.metrics._checks import _check_item_features, _check_pair, _check_real
from recgym.population.metrics._metric import Metric, StepData, TrackerContext, scope_rows

#: This module's entries of :data:`~recgym.population.metrics.METRICS`, in registry order.
ENTRIES: dict[str, Metric] = {}

#: Largest block of scores (floats) :func:`_top_items` computes at once.
_SCORE_BLOCK = 1 << 20


# -------------------------------------------------------------------- score change


def score_change_per_user(
    states: NDArray[Any], initial_states: NDArray[Any], item_features: NDArray[Any]
) -> NDArray[np.float64]:
    """Each user's change of score vector ``‖V(s_t − s_0)‖₂`` (Jiang et al. 2019).

    Computed as ``‖R(s_t − s_0)‖₂`` with ``R`` the ``d × d`` triangular factor of
    ``V = QR``: no ``n_users × n_items`` array.

    Args:
        states: Current true preferences ``(n_users, dim)``.
        initial_states: Initial true preferences ``(n_users, dim)``.
        item_features: The item table ``V`` ``(n_items, dim)``.

    Returns:
        numpy.ndarray: float64 ``(n_users,)``, each in ``[0, σ_max(V) ‖s_t − s_0‖]``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On mismatched shapes, NaN or inf.

    Cost:
        O(n_items d² + N d²).
    """
    current, initial = _check_pair(states, initial_states)
    features = _check_item_features(item_features, current.shape[1])
    # R of V = QR, (min(n_items, d), d): ‖Vx‖ = ‖Rx‖ (numpy's stubs miss mode "r").
    factor = cast("NDArray[np.float64]", np.linalg.qr(features, mode="r"))
    return np.linalg.norm((current - initial) @ factor.T, axis=1)


def score_change(
    states: NDArray[Any], initial_states: NDArray[Any], item_features: NDArray[Any]
) -> float:
    """Jiang et al.'s degeneracy, averaged over users: ``(1/N) Σᵢ ‖V(sᵢ,t − sᵢ,₀)‖₂``.

    ``V sᵢ,t`` is user ``i``'s score vector over the items (the affinities ``⟨s, vⱼ⟩``
    the rewards are drawn from); Jiang, Chiappa, Lattimore, György & Kohli (AIES 2019)
    call the loop degenerate when ``‖μ_t − μ_0‖₂`` diverges. Raw states, not directions:
    the scores depend on the length of ``s``. recgym's users stay on the unit sphere, so
    the value is bounded by ``2 σ_max(V)`` and measures how far the loop has moved the
    scores rather than a divergence; it grows with the catalogue like ``√n_items``.

    Args:
        states: Current true preferences ``(n_users, dim)``.
        initial_states: Initial true preferences ``(n_users, dim)``.
        item_features: The item table ``(n_items, dim)``.

    Returns:
        float: ``≥ 0``; ``nan`` without users.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On mismatched shapes, NaN or inf.

    Cost:
        O(n_items d² + N d²).
    """
    changes = score_change_per_user(states, initial_states, item_features)
    return float(changes.mean()) if changes.size else math.nan


ENTRIES["degeneracy"] = Metric(
    score_change,
    ("states", "initial_states", "item_features"),
    "mean change of the users' score vectors ||V(s_t - s_0)||",
    unit="score change, unitless",
    definition=(
        "the mean change of the users' score vectors over the catalogue, `D_t = (1/N) Σ_i "
        "‖V(s_{i,t} − s_{i,0})‖₂` (Jiang et al. 2019); bounded on the unit sphere."
    ),
    bounds=None,
)


# --------------------------------------------------------------------- collapse


def _top_items(states: NDArray[Any], features: NDArray[np.float64]) -> NDArray[np.int64]:
    """``argmax_j ⟨sᵢ, vⱼ⟩`` per user (the lowest index among ties), in blocks of users.

    No block holds more than :data:`_SCORE_BLOCK` scores, so memory stays bounded
    whatever ``n_users × n_items``; time O(N n_items d).
    """
    n = states.shape[0]
    top = np.empty(n, dtype=np.int64)
    rows = max(1, _SCORE_BLOCK // features.shape[0])
    for start in range(0, n, rows):
        block = states[start : start + rows].astype(np.float64, copy=False)
        top[start : start + rows] = np.argmax(block @ features.T, axis=1)
    return top


def collapse_steps(state_history: NDArray[Any], item_features: NDArray[Any]) -> NDArray[np.int64]:
    """Per user, the step from which their favourite item never changes again.

    User ``i``'s favourite item at step ``t`` is ``a_i(t) = argmax_j ⟨sᵢ,t, vⱼ⟩`` (the
    top of the score vector; the lowest index among ties). Over the steps ``0 … T`` of
    ``state_history``, the collapse step is the first ``τᵢ`` with ``a_i(t) = a_i(T)`` for
    every ``t ≥ τᵢ``: 0 if the favourite never changed, ``T`` if it changed at the last
    step (censored at the horizon: a later change would move it).

    Args:
        state_history: True preferences at steps ``0 … T``, ``(T + 1, n_users, dim)``
            (``simulate(record=["states"])``'s ``trajectory["states"]``).
        item_features: The item table ``(n_items, dim)``.

    Returns:
        numpy.ndarray: int64 ``(n_users,)`` in ``[0, T]``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On a wrong shape, NaN or inf.

    Cost:
        O(T N n_items d) time (every score of every step), O(N + 2²⁰) memory.
    """
    history = _check_real(state_history, "state_history", 3, "(T + 1, n_users, dim)")
    if history.shape[0] == 0:
        raise ValueError(
            f"`state_history` must hold at least the initial step, got shape {history.shape}"
        )
    features = _check_item_features(item_features, history.shape[2])
    top = _top_items(history[0], features)
    since = np.zeros(history.shape[1], dtype=np.int64)
    for t in range(1, history.shape[0]):
        top, since = _advance(top, since, _top_items(history[t], features), t)
    return since


def _advance(
    top: NDArray[np.int64], since: NDArray[np.int64], new: NDArray[np.int64], t: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The favourites and the start of their current run after step ``t``."""
    return new, np.where(new != top, t, since)


def collapse_time(state_history: NDArray[Any], item_features: NDArray[Any]) -> float:
    """The mean over users of :func:`collapse_steps`: when favourites stop changing.

    Jiang et al. (2019) define degeneracy by ``‖μ_t − μ_0‖ → ∞``, which bounded
    preferences cannot show; a collapse onto one item shows instead as the user's top
    item locking in. ``(1/N) Σᵢ τᵢ``, with ``τᵢ`` the step from which user ``i``'s
    favourite item stays the same up to the last step.

    Args:
        state_history: True preferences at steps ``0 … T``, ``(T + 1, n_users, dim)``.
        item_features: The item table ``(n_items, dim)``.

    Returns:
        float: In ``[0, T]``; ``nan`` without users.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On a wrong shape, NaN or inf.

    Cost:
        O(T N n_items d).
    """
    steps = collapse_steps(state_history, item_features)
    return float(steps.mean()) if steps.size else math.nan


class _CollapseTracker:
    """The tracker of ``collapse_time``: each user's favourite item and since when.

    At every step it finds each user's favourite item (O(N n_items d), in blocks) and
    restarts the run of those whose favourite changed; at a record it averages the start
    of the current runs over each scope's users present. At the last record the value is
    :func:`collapse_time` of the states of every step.

    Args:
        context: The run: initial states, item features and groups.

    Raises:
        ValueError: If the run has no item features.
    """

    def __init__(self, context: TrackerContext):
        features = context.require("item_features", "collapse_time")
        self.features = _check_item_features(features, context.initial_states.shape[1])
        self.scopes = context.scopes()
        self.top = _top_items(context.initial_states, self.features)
        self.since = np.zeros(context.n_users, dtype=np.int64)
        self.t = 0
        self.active: NDArray[np.bool_] | None = None

    def observe(self, step: StepData) -> None:
        """Find the favourites after this step; restart the runs of those that changed."""
        new = _top_items(step.after("collapse_time"), self.features)
        self.t += 1
        self.top, self.since = _advance(self.top, self.since, new, self.t)
        self.active = step.active

    def values(self) -> dict[Hashable, float]:
        """The mean start of the current favourite's run, per scope (users present)."""
        values: dict[Hashable, float] = {}
        for label, index in self.scopes:
            since = scope_rows(self.since, index, self.active)
            values[label] = float(since.mean()) if since.size else math.nan
        return values


ENTRIES["collapse_time"] = Metric(
    collapse_time,
    ("state_history", "item_features"),
    "mean step from which users' top-scored item stays the same",
    tracker=_CollapseTracker,
    unit="steps",
    definition=(
        "the mean over users of the step `τ_i` from which their top-scored item stays the "
        "same, `collapse_time_T = (1/N) Σ_i τ_i`; censored at the current step."
    ),
    bounds=None,
)
