"""Preference-space metrics: homogenisation, mean squared cosine, polarisation, bimodality, drift.

Every metric reads the users' preference *directions* ``ûᵢ = uᵢ / ‖uᵢ‖``. The states are
validated and normalised once into a :class:`_Preferences`, whose shared quantities (unit
rows, their sum, the ``d × d`` Gram matrices) are computed on first use; each public
function is a thin wrapper that builds one and calls its kernel, and
:func:`~recgym.population.metrics.compute_metrics` feeds every kernel from one shared
:class:`_Preferences` per array — so both give bit-identical values.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_choice
from recgym.population.metrics._checks import _check_pair, _check_states
from recgym.population.metrics._metric import Metric

#: This module's entries of :data:`~recgym.population.metrics.METRICS`, in registry order.
ENTRIES: dict[str, Metric] = {}


def _declare(
    name: str,
    function: Callable[..., float],
    kernel: Callable[..., float],
    description: str,
    inputs: tuple[str, ...] = ("states",),
    default: bool = True,
    *,
    unit: str,
    definition: str,
    bounds: tuple[float, float],
) -> None:
    """Enter a preference metric in :data:`ENTRIES`, with its kernel on shared data.

    ``ENTRIES[name] = Metric(function, inputs, description, kernel=kernel, default=default,
    unit=unit, definition=definition, bounds=bounds)``: every preference metric reads
    ``states`` (and maybe ``initial_states``), has a kernel on their shared
    :class:`_Preferences` and, but for ``bimodality``, is recorded by default.
    """
    ENTRIES[name] = Metric(
        function,
        inputs,
        description,
        kernel=kernel,
        default=default,
        unit=unit,
        definition=definition,
        bounds=bounds,
    )


#: The distances :func:`preference_drift` can measure.
DRIFT_KINDS = ("angle", "cosine", "euclidean")


def _unit_rows_nonzero(states: NDArray[np.float64]) -> tuple[NDArray[np.float64], bool]:
    """:func:`_unit_rows` and whether every row is known to be non-zero (fast path)."""
    squared = np.vecdot(states, states)
    if squared.size and np.isfinite(squared).all() and squared.min() > 1e-290:
        # The common case: one pass. Every row has a non-zero entry, so a non-zero unit row.
        return states / np.sqrt(squared)[:, np.newaxis], True
    scale = np.max(np.abs(states), axis=1, keepdims=True) if states.size else states[:, :1]
    scaled = states / np.where(scale > 0, scale, 1.0)  # avoids overflow in the norm
    norms = np.linalg.norm(scaled, axis=1, keepdims=True)
    return scaled / np.where(norms > 0, norms, 1.0), False


def _unit_rows(states: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rows scaled to unit length; zero rows stay zero. O(N d)."""
    return _unit_rows_nonzero(states)[0]


def _row_norms(rows: NDArray[np.float64]) -> NDArray[np.float64]:
    """``np.linalg.norm(rows, axis=1)``, bit for bit, without its per-row reduction.

    For fewer than 8 columns numpy sums a row's squares left to right, which column
    by column additions reproduce in a few vectorised passes; wider rows use numpy.
    """
    d = rows.shape[1]
    if d >= 8 or rows.shape[0] == 0:
        return np.linalg.norm(rows, axis=1)
    squares = rows * rows
    total = squares[:, 0].copy()
    for j in range(1, d):
        total += squares[:, j]
    return np.sqrt(total, out=total)


def _directions(states: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit rows of the users whose state is not the zero vector."""
    return _Preferences(states).directions


class _Preferences:
    """Validated states and the quantities the preference metrics share, each computed once.

    :func:`compute_metrics` builds one per array and feeds every preference metric from
    it; each public metric builds its own, so both give bit-identical values. ``gram``
    and ``directions_gram`` are ``d × d`` second-moment (unnormalised) matrices.
    """

    def __init__(self, states: NDArray[np.float64]):
        self.states = states
        self.units, self.all_nonzero = _unit_rows_nonzero(states)
        self._gram: NDArray[np.float64] | None = None
        self._directions: NDArray[np.float64] | None = None
        self._directions_gram: NDArray[np.float64] | None = None
        self._total: NDArray[np.float64] | None = None
        self._mean: NDArray[np.float64] | None = None

    @classmethod
    def check(cls, value: Any, name: str = "states") -> _Preferences:
        """Validate ``value`` as :func:`_check_states` does (same errors), then wrap it."""
        return cls(_check_states(value, name))

    @property
    def nonzero(self) -> NDArray[np.bool_]:
        """Which rows are not the zero vector."""
        if self.all_nonzero:
            return np.ones(self.units.shape[0], dtype=np.bool_)
        return np.any(self.units != 0, axis=1)

    @property
    def total(self) -> NDArray[np.float64]:
        """``Σᵢ ûᵢ`` over all unit rows."""
        if self._total is None:
            self._total = self.units.sum(axis=0)
        return self._total

    @property
    def mean(self) -> NDArray[np.float64]:
        """The mean direction (mean of the non-zero unit rows; NaN if there are none)."""
        if self._mean is None:
            if self.all_nonzero:  # what ndarray.mean computes: the sum, then a division
                self._mean = self.total / self.units.shape[0]
            else:
                self._mean = self.directions.mean(axis=0)
        return self._mean

    @property
    def gram(self) -> NDArray[np.float64]:
        """``ÛᵀÛ`` over all unit rows (zero rows included)."""
        if self._gram is None:
            self._gram = self.units.T @ self.units
        return self._gram

    @property
    def directions(self) -> NDArray[np.float64]:
        """Unit rows of the non-zero states."""
        if self._directions is None:
            self._directions = self.units if self.all_nonzero else self.units[self.nonzero]
        return self._directions

    @property
    def directions_gram(self) -> NDArray[np.float64]:
        """``ÛᵀÛ`` over the directions (the non-zero unit rows)."""
        if self._directions_gram is None:
            if self.all_nonzero:
                self._directions_gram = self.gram
            else:
                self._directions_gram = self.directions.T @ self.directions
        return self._directions_gram


def _mean_over_pairs(everyone: Any, self_pairs: Any, n: int, signed: bool) -> float:
    """The mean over the ``N (N − 1)`` ordered pairs of distinct users of a pairwise term.

    Args:
        everyone: The term summed over all ``N²`` ordered pairs, self-pairs included.
        self_pairs: The term summed over the ``N`` self-pairs.
        n: ``N``.
        signed: The term is a cosine, whose mean is at least ``−1/(N − 1)``; else a
            squared cosine, whose mean is at least 0.

    Returns:
        float: The mean, clipped to its range (rounding only); ``nan`` when ``N < 2``.
    """
    if n < 2:
        return math.nan
    value = (everyone - self_pairs) / (n * (n - 1))
    return float(np.clip(value, -1.0 / (n - 1) if signed else 0.0, 1.0))


def homogenization(states: NDArray[Any]) -> float:
    """Mean pairwise cosine similarity of the users' preference vectors.

    Definition, over the ``N (N − 1)`` ordered pairs of distinct users::

        H = 1 / (N (N − 1)) · Σ_{i ≠ j} cos(uᵢ, uⱼ)
          = (‖Σᵢ ûᵢ‖² − Σᵢ ‖ûᵢ‖²) / (N (N − 1)),     ûᵢ = uᵢ / ‖uᵢ‖.

    A zero state has no direction (``ûᵢ = 0``): its cosine with everyone is 0 and it
    still counts in ``N``. ``H = 1`` for identical users, ``≈ 0`` for an isotropic
    population and ``−1/(N − 1)`` (its minimum) for two equal antipodal poles.

    This is the pairwise-cosine form of the homogenisation of user profiles studied in
    feedback-loop simulations (Chaney, Stewart & Engelhardt 2018; Mansoury et al. 2020);
    Chaney's behavioural version is :func:`jaccard_nearest_neighbors`.

    Args:
        states: Real array of shape ``(n_users, dim)``.

    Returns:
        float: ``H`` in ``[−1/(N − 1), 1]``; ``nan`` when ``N < 2``.

    Raises:
        TypeError: If ``states`` is not a real numpy array.
        ValueError: If ``states`` is not 2-D, has ``dim == 0`` or holds NaN or inf.

    Cost:
        O(N d) time (one pass for the unit rows, one for their sum); one ``(N, d)``
        float64 temporary.
    """
    return _homogenization(_Preferences.check(states))


def _homogenization(prefs: _Preferences) -> float:
    """The body of :func:`homogenization` on shared, validated data."""
    units, total = prefs.units, prefs.total
    return _mean_over_pairs(total @ total, np.einsum("ij,ij->", units, units), len(units), True)


_declare(
    "homogenization",
    homogenization,
    _homogenization,
    "mean pairwise cosine of preferences",
    unit="cosine, unitless",
    bounds=(-1.0, 1.0),
    definition=(
        "mean cosine over the ordered pairs of distinct users, "
        "`H = Σ_{i≠j} cos(uᵢ, uⱼ) / (N(N − 1))`; range `[−1/(N − 1), 1]`: 1 for identical "
        "users, ≈ 0 for an isotropic population or for two equal antipodal poles."
    ),
)


def polarization(states: NDArray[Any]) -> float:
    """Polarisation index: collapse onto one axis, split between its two ends.

    With ``ûᵢ`` the directions of the ``m`` users with a non-zero state, ``M = (1/m) Σ
    ûᵢûᵢᵀ`` their ``d × d`` second-moment matrix (trace 1) and ``λ₁`` its largest
    eigenvalue::

        S = (d λ₁ − 1) / (d − 1)      axial (nematic) order; S = 1 when d = 1
        P = ‖(1/m) Σᵢ ûᵢ‖             polar order (length of the mean direction)
        Π = S · (1 − P²)

    ``S`` is the order parameter of a nematic liquid crystal (de Gennes & Prost 1993)
    for ``d`` dimensions: 0 for an isotropic population (``λ₁ = 1/d``) and 1 exactly
    when every user lies on one axis ``±e`` — the two-pole limit of the geometric
    opinion dynamics of Hązła et al. (2019) and Gaitonde, Kleinberg & Tardos (2021),
    which Dean & Morgenstern (2022) show under mass-media recommendations. ``S`` alone
    is also 1 for a consensus (one pole), so it is multiplied by ``1 − P²``, which is 0
    when everyone points the same way (``P = 1``) and 1 when the mean direction
    cancels. Hence ``Π ≈ 1`` for two antipodal poles of equal mass, ``Π = 4q(1 − q)``
    for poles holding fractions ``q`` and ``1 − q``, ``Π = 0`` for a consensus and
    ``Π ≈ 0`` for an isotropic population (``S ≈ 0``). A single spread-out cluster
    stays low because its ``P`` is close to 1.

    Args:
        states: Real array of shape ``(n_users, dim)``.

    Returns:
        float: ``Π`` in ``[0, 1]``; ``nan`` when every state is the zero vector.

    Raises:
        TypeError: If ``states`` is not a real numpy array.
        ValueError: If ``states`` is not 2-D, has ``dim == 0`` or holds NaN or inf.

    Cost:
        O(N d²) for the ``d × d`` second-moment matrix, O(d³) for its eigenvalues;
        one ``(N, d)`` temporary.
    """
    return _polarization(_Preferences.check(states))


def _polarization(prefs: _Preferences) -> float:
    """The body of :func:`polarization` on shared, validated data."""
    units = prefs.directions
    m, d = units.shape
    if m == 0:
        return math.nan
    largest = np.linalg.eigvalsh(prefs.directions_gram / m)[-1]
    axial = 1.0 if d == 1 else (d * largest - 1.0) / (d - 1)
    mean = prefs.mean
    value = np.clip(axial, 0.0, 1.0) * (1.0 - min(float(mean @ mean), 1.0))
    return float(value)


_declare(
    "polarization",
    polarization,
    _polarization,
    "polarisation index S·(1 − P²)",
    unit="unitless, 0–1",
    bounds=(0.0, 1.0),
    definition=(
        "axis collapse times balance between the axis' two ends, `Π = S · (1 − P²)`, with "
        "`S = (d λ₁ − 1) / (d − 1)` (λ₁ the largest eigenvalue of the users' second-moment "
        "matrix of directions) and `P = ‖(1/m) Σᵢ ûᵢ‖`; range `[0, 1]`: 1 for two antipodal "
        "poles of equal mass, 0 for a consensus, ≈ 0 for an isotropic population."
    ),
)


def mean_squared_cosine(states: NDArray[Any]) -> float:
    """Mean squared pairwise cosine similarity: how close users are to one common axis.

    Definition, over ordered pairs of distinct users, with ``Û`` the ``(N, d)`` matrix of
    unit rows (zero states give zero rows, so cosines with them are 0)::

        C₂ = 1 / (N (N − 1)) · Σ_{i ≠ j} cos²(uᵢ, uⱼ)
           = (‖ÛᵀÛ‖_F² − Σᵢ ‖ûᵢ‖⁴) / (N (N − 1)),

    since ``Σᵢⱼ ⟨ûᵢ, ûⱼ⟩² = ‖ÛÛᵀ‖_F² = ‖ÛᵀÛ‖_F²`` (a ``d × d`` matrix).

    This is the quantity driven to 1 in the polarisation theorems of Hązła, Jin, Mossel &
    Ramnarayan (2019) and Gaitonde, Kleinberg & Tardos (2021), where ``|⟨uᵢ, uⱼ⟩| → 1``
    for all pairs, the setting Dean & Morgenstern (2022) take as the mass-media baseline.
    It cannot tell consensus from polarisation: one pole and two antipodal poles both
    give ``C₂ = 1``. An isotropic population gives ``E[C₂] = 1/d``. Use
    :func:`polarization` to separate the cases.

    Args:
        states: Real array of shape ``(n_users, dim)``.

    Returns:
        float: ``C₂`` in ``[0, 1]``; ``nan`` when ``N < 2``.

    Raises:
        TypeError: If ``states`` is not a real numpy array.
        ValueError: If ``states`` is not 2-D, has ``dim == 0`` or holds NaN or inf.

    Cost:
        O(N d²) time for the ``d × d`` Gram matrix ``ÛᵀÛ``; one ``(N, d)`` temporary.
    """
    return _mean_squared_cosine(_Preferences.check(states))


def _mean_squared_cosine(prefs: _Preferences) -> float:
    """The body of :func:`mean_squared_cosine` on shared, validated data."""
    units, gram = prefs.units, prefs.gram
    self_terms = np.sum(np.einsum("ij,ij->i", units, units) ** 2)
    return _mean_over_pairs(np.sum(gram * gram), self_terms, len(units), False)


_declare(
    "mean_squared_cosine",
    mean_squared_cosine,
    _mean_squared_cosine,
    "mean pairwise squared cosine (axis collapse)",
    unit="cos², unitless",
    bounds=(0.0, 1.0),
    definition=(
        "mean squared cosine over the ordered pairs of distinct users, "
        "`C₂ = Σ_{i≠j} cos²(uᵢ, uⱼ) / (N(N − 1))`; range `[0, 1]`: `1/d` in expectation for "
        "an isotropic population, 1 when every user lies on one axis (one pole or two)."
    ),
)


def bimodality_coefficient(states: NDArray[Any]) -> float:
    """Sarle's bimodality coefficient of the users' positions on the principal axis.

    The directions ``ûᵢ`` of the ``m`` users with a non-zero state are projected on the
    leading eigenvector ``e`` of their ``d × d`` covariance matrix, ``pᵢ = ⟨ûᵢ − ū, e⟩``,
    and with the bias-corrected sample skewness ``G₁`` and excess kurtosis ``G₂`` of
    ``p``::

        BC = (G₁² + 1) / (G₂ + 3 (m − 1)² / ((m − 2)(m − 3)))

    (SAS Institute 1990; Pfister et al. 2013, *Frontiers in Psychology* 4:700).
    ``BC > 5/9`` (the value of a uniform distribution) suggests two modes; two equal
    point masses give ``(m − 2)(m − 3) / ((m − 1)(m + 1)) → 1``. Bimodality of
    opinions along one dimension is the classic polarisation signal of DiMaggio, Evans
    & Bryson (1996). Caveat: in low ``d`` the projection of an *isotropic* population is
    itself bimodal (``d = 2`` gives the arcsine law, ``BC → 2/3``), so read ``BC`` together
    with :func:`polarization`.

    Args:
        states: Real array of shape ``(n_users, dim)``.

    Returns:
        float: ``BC`` in ``(0, 1)``; ``nan`` when fewer than 4 users have a non-zero
        state or all projections are equal (spread below ``1e-12``: a perfect
        consensus, where modality is undefined).

    Raises:
        TypeError: If ``states`` is not a real numpy array.
        ValueError: If ``states`` is not 2-D, has ``dim == 0`` or holds NaN or inf.

    Cost:
        O(N d²) for the covariance matrix, O(d³) for its leading eigenvector, O(N d)
        for the projections and their moments; one ``(N, d)`` temporary.
    """
    return _bimodality_coefficient(_Preferences.check(states))


def _bimodality_coefficient(prefs: _Preferences) -> float:
    """The body of :func:`bimodality_coefficient` on shared, validated data."""
    units = prefs.directions
    m = units.shape[0]
    if m < 4:
        return math.nan
    mean = prefs.mean
    covariance = prefs.directions_gram / m - np.outer(mean, mean)
    axis = np.linalg.eigh(covariance)[1][:, -1]
    projection = units @ axis
    deviation = projection - projection.mean()
    squared = deviation * deviation
    m2 = np.mean(squared)
    if m2 <= 1e-24:
        return math.nan
    # Products, not deviation**3 and **4: numpy's power calls pow() per element (10x slower).
    skew = np.mean(squared * deviation) / m2**1.5
    excess = np.mean(squared * squared) / m2**2 - 3.0
    skew_corrected = skew * math.sqrt(m * (m - 1)) / (m - 2)
    excess_corrected = ((m + 1) * excess + 6.0) * (m - 1) / ((m - 2) * (m - 3))
    denominator = excess_corrected + 3.0 * (m - 1) ** 2 / ((m - 2) * (m - 3))
    return float((skew_corrected**2 + 1.0) / denominator)


_declare(
    "bimodality",
    bimodality_coefficient,
    _bimodality_coefficient,
    "bimodality coefficient on the principal axis",
    default=False,
    unit="unitless, 0–1",
    bounds=(0.0, 1.0),
    definition=(
        "Sarle's coefficient of the directions projected on their principal axis, "
        "`BC = (G₁² + 1) / (G₂ + 3(m − 1)² / ((m − 2)(m − 3)))`; `BC > 5/9` suggests two "
        "modes."
    ),
)


def preference_drift_per_user(
    states: NDArray[Any], initial_states: NDArray[Any], *, kind: str = "angle"
) -> NDArray[np.float64]:
    """How far each user's preference direction has moved from its initial direction.

    With unit vectors ``ûᵢ`` (now) and ``ûᵢ⁰`` (initially), ``kind`` selects:

    * ``"angle"`` (default): the great-circle angle in radians, in ``[0, π]``, computed
      as ``2·atan2(‖û − û⁰‖, ‖û + û⁰‖)``, accurate for tiny and near-antipodal moves;
    * ``"cosine"``: ``1 − cos(uᵢ, uᵢ⁰)``, in ``[0, 2]``;
    * ``"euclidean"``: ``‖ûᵢ − ûᵢ⁰‖``, in ``[0, 2]`` (the chord of the angle).

    A zero state has no direction; its cosine with anything is 0, so ``"angle"`` gives
    ``π/2`` and ``"cosine"`` gives 1 (``"euclidean"`` measures from the zero vector).

    This is the per-user degeneracy ``‖μ_t − μ_0‖`` of Jiang et al. (2019) and the taste
    shift between the initial and current profile of Mansoury et al. (2020), measured on
    directions because recgym's states live on (or are projected to) the unit sphere.

    Args:
        states: Current states, real array of shape ``(n_users, dim)``.
        initial_states: Initial states, real array of the same shape.
        kind: One of :data:`DRIFT_KINDS`.

    Returns:
        numpy.ndarray: float64 array of shape ``(n_users,)``.

    Raises:
        TypeError: If an array is not a real numpy array or ``kind`` is not a string.
        ValueError: On a wrong shape, NaN or inf, or an unknown ``kind``.

    Cost:
        O(N d) time and memory.
    """
    kind = check_choice(kind, "kind", DRIFT_KINDS)
    current, initial = _check_pair(states, initial_states)
    return _preference_drift_per_user(_Preferences(current), _Preferences(initial), kind)


def _check_initial(current: _Preferences, initial: _Preferences) -> None:
    """The shape check of :func:`_check_pair` on already validated arrays."""
    if initial.states.shape != current.states.shape:
        raise ValueError(
            f"`initial_states` must have the shape of `states` {current.states.shape}, "
            f"got {initial.states.shape}"
        )


#: Rows per block in :func:`_preference_drift_per_user` (320 KiB temporaries at d = 5).
_DRIFT_BLOCK = 8192


def _preference_drift_per_user(
    current: _Preferences, initial: _Preferences, kind: str
) -> NDArray[np.float64]:
    """The body of :func:`preference_drift_per_user` on shared, validated data."""
    now, then = current.units, initial.units
    if kind == "cosine":  # clip rounding only: 1 − cos of equal directions may be −2e-16
        return np.clip(1.0 - np.einsum("ij,ij->i", now, then), 0.0, 2.0)
    n = now.shape[0]
    out = np.empty(n, dtype=np.float64)
    # Row blocks that stay in cache; every value is computed per row, so the same bits.
    for start in range(0, n, _DRIFT_BLOCK):
        rows = slice(start, start + _DRIFT_BLOCK)
        difference = _row_norms(now[rows] - then[rows])
        if kind == "euclidean":
            out[rows] = difference
        else:
            np.arctan2(difference, _row_norms(now[rows] + then[rows]), out=out[rows])
            out[rows] *= 2.0
    if kind == "euclidean":
        return out
    angle = out
    if current.all_nonzero or initial.all_nonzero:
        return angle  # no user is the zero vector both times
    both_zero = ~current.nonzero & ~initial.nonzero
    return np.where(both_zero, np.pi / 2, angle)


def preference_drift(
    states: NDArray[Any], initial_states: NDArray[Any], *, kind: str = "angle"
) -> float:
    """Mean over users of :func:`preference_drift_per_user`.

    Args:
        states: Current states, real array of shape ``(n_users, dim)``.
        initial_states: Initial states, real array of the same shape.
        kind: ``"angle"`` (radians, default), ``"cosine"`` (``1 − cos``) or
            ``"euclidean"`` (distance of the unit vectors).

    Returns:
        float: The mean drift; ``nan`` when ``n_users == 0``.

    Raises:
        TypeError: If an array is not a real numpy array or ``kind`` is not a string.
        ValueError: On a wrong shape, NaN or inf, or an unknown ``kind``.

    Cost:
        O(N d) time and memory.
    """
    drift = preference_drift_per_user(states, initial_states, kind=kind)
    return float(drift.mean()) if drift.size else math.nan


def _preference_drift(current: _Preferences, initial: _Preferences) -> float:
    """:func:`preference_drift` (``kind="angle"``) on shared, validated data."""
    drift = _preference_drift_per_user(current, initial, "angle")
    return float(drift.mean()) if drift.size else math.nan


_declare(
    "drift",
    preference_drift,
    _preference_drift,
    "mean angle from the initial preference",
    inputs=("states", "initial_states"),
    unit="rad",
    bounds=(0.0, math.pi),
    definition=(
        "mean over users of the great-circle angle between the current and the initial "
        "preference, `2·atan2(‖û − û⁰‖, ‖û + û⁰‖)`; range `[0, π]`: 0 at the start, "
        "≈ π/2 when nothing of the start is left (in high dimension)."
    ),
)
