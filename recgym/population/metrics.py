"""Filter-bubble metrics: homogenisation, polarisation, drift, exposure concentration.

Pure numpy/scipy functions over arrays, cheap enough to call at every step of a rollout.
None is quadratic in the number of users: pairwise averages go through identities on
sums and ``d × d`` moment matrices, item statistics through ``np.bincount`` and sorting,
nearest neighbours through a k-d tree, set overlaps through sparse matrices. No function
builds a dense ``n_users × n_items`` array.

Conventions shared by every function:

* **Shapes.** ``states`` and ``initial_states`` are real arrays of shape
  ``(n_users, dim)`` (``n_users`` is written ``N`` and ``dim`` is written ``d`` in the
  costs); item ``counts`` have shape ``(n_items,)``; action arrays are integer item
  indices of shape ``(N,)`` (one step) or ``(T, N)`` (a history, users on the last axis).
* **Directions only.** Preference metrics use the unit vectors ``ûᵢ = uᵢ / ‖uᵢ‖``; they
  do not depend on the length of a state. A zero state has no direction: it stays the
  zero vector, so **any cosine involving a zero vector is 0**. Axis-based metrics
  (:func:`polarization`, :func:`bimodality_coefficient`) leave zero states out.
* **Undefined → NaN.** A value that is undefined for the data (a pairwise mean over
  fewer than two users, the Gini of an all-zero count vector, …) is ``math.nan``, never
  an exception, so a runner can record it at every step. Malformed *input* raises a
  ``TypeError`` or ``ValueError`` naming the argument and showing the bad value.
* **Groups.** Every metric is split by a user-group label array with :func:`by_group`
  (per-user arrays, users on axis 0) or, for item statistics, with
  :func:`item_counts_by_group`.
* **Runner.** :data:`METRICS` maps names to :class:`Metric` objects with one keyword
  calling convention and :func:`compute_metrics` evaluates several at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.spatial import KDTree

from recgym._validation import check_bool, check_choice, check_positive_int

__all__ = [
    "DRIFT_KINDS",
    "METRICS",
    "Metric",
    "bimodality_coefficient",
    "by_group",
    "compute_metrics",
    "coverage",
    "entropy",
    "gini",
    "homogenization",
    "item_counts",
    "item_counts_by_group",
    "jaccard_nearest_neighbors",
    "mean_squared_cosine",
    "nearest_neighbors",
    "polarization",
    "preference_drift",
    "preference_drift_per_user",
    "top_k_share",
    "user_item_matrix",
]

#: The distances :func:`preference_drift` can measure.
DRIFT_KINDS = ("angle", "cosine", "euclidean")

_STATES_SHAPE = "(n_users, dim)"


# --------------------------------------------------------------------------- validation


def _first_bad(mask: NDArray[np.bool_]) -> int | tuple[int, ...]:
    """Index of the first True entry of ``mask``: an int in 1-D, else a tuple."""
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return index[0] if len(index) == 1 else index


def _check_real(value: Any, name: str, ndim: int, shape_doc: str) -> NDArray[Any]:
    """Check that ``value`` is a finite real ndarray with ``ndim`` dimensions."""
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"`{name}` must be a numpy array of shape {shape_doc}, got {type(value).__name__}"
        )
    if value.dtype == np.bool_ or not (
        np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)
    ):
        raise TypeError(f"`{name}` must hold real numbers, got dtype {value.dtype}")
    if value.ndim != ndim:
        raise ValueError(
            f"`{name}` must be a {ndim}-D array of shape {shape_doc}, got shape {value.shape}"
        )
    finite = np.isfinite(value)
    if not finite.all():
        index = _first_bad(~finite)
        raise ValueError(
            f"`{name}` must hold finite values, got {value[index].item()!r} at index {index}"
        )
    return value


def _check_states(value: Any, name: str = "states") -> NDArray[np.float64]:
    """Return ``value`` as a float64 ``(n_users, dim)`` array with ``dim >= 1``."""
    states = _check_real(value, name, 2, _STATES_SHAPE)
    if states.shape[1] == 0:
        raise ValueError(
            f"`{name}` must be a 2-D array of shape {_STATES_SHAPE} with dim >= 1, "
            f"got shape {states.shape}"
        )
    return states.astype(np.float64, copy=False)


def _check_pair(states: Any, initial_states: Any) -> tuple[NDArray[np.float64], ...]:
    """Validate ``states`` and ``initial_states`` and check that their shapes agree."""
    current = _check_states(states)
    initial = _check_states(initial_states, "initial_states")
    if initial.shape != current.shape:
        raise ValueError(
            f"`initial_states` must have the shape of `states` {current.shape}, got {initial.shape}"
        )
    return current, initial


def _check_counts(value: Any, name: str = "counts") -> NDArray[np.float64]:
    """Return ``value`` as a float64 ``(n_items,)`` array of non-negative counts."""
    counts = _check_real(value, name, 1, "(n_items,)")
    if counts.size == 0:
        raise ValueError(f"`{name}` must hold at least one item, got shape {counts.shape}")
    negative = counts < 0
    if negative.any():
        index = _first_bad(negative)
        raise ValueError(
            f"`{name}` must be non-negative, got {counts[index].item()!r} at index {index}"
        )
    counts = counts.astype(np.float64, copy=False)
    with np.errstate(over="ignore"):
        overflows = not math.isfinite(counts.sum() * counts.size)
    # Every count metric is scale-invariant: rescale counts whose sums would overflow
    # (and only those, so that ordinary counts keep their exact arithmetic).
    return counts / counts.max() if overflows else counts


def _check_actions(value: Any, n_items: int | None, name: str = "actions") -> NDArray[np.int64]:
    """Return ``value`` as an int64 ``(N,)`` or ``(T, N)`` array of item indices.

    With ``n_items=None`` only non-negativity is checked.
    """
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"`{name}` must be a numpy integer array of shape (n_users,) or (T, n_users), "
            f"got {type(value).__name__}"
        )
    if value.dtype == np.bool_ or not np.issubdtype(value.dtype, np.integer):
        raise TypeError(f"`{name}` must hold integer item indices, got dtype {value.dtype}")
    if value.ndim not in (1, 2):
        raise ValueError(
            f"`{name}` must be a 1-D or 2-D array of shape (n_users,) or (T, n_users), "
            f"got shape {value.shape}"
        )
    out_of_range = value < 0 if n_items is None else (value < 0) | (value >= n_items)
    if out_of_range.any():
        index = _first_bad(out_of_range)
        allowed = ">= 0" if n_items is None else f"in [0, {n_items})"
        raise ValueError(
            f"`{name}` must hold item indices {allowed}, "
            f"got {value[index].item()!r} at index {index}"
        )
    return value.astype(np.int64, copy=False)


def _check_mask(mask: Any, shape: tuple[int, ...]) -> NDArray[np.bool_]:
    """Check an optional boolean ``mask`` with the shape of the actions."""
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        kind = type(mask).__name__ if not isinstance(mask, np.ndarray) else mask.dtype
        raise TypeError(f"`mask` must be a boolean numpy array, got {kind}")
    if mask.shape != shape:
        raise ValueError(f"`mask` must have the shape of `actions` {shape}, got {mask.shape}")
    return mask


def _unique_groups(groups: Any, n: int | None = None) -> tuple[NDArray[Any], NDArray[np.intp]]:
    """Check ``groups`` (see :func:`_check_groups`); return its sorted labels and inverse."""
    labels = _check_groups(groups, n)
    try:
        unique, inverse = np.unique(labels, return_inverse=True)
    except TypeError:  # labels that cannot be sorted, e.g. a mix of str and int
        kinds = sorted({type(label).__name__ for label in labels.tolist()})
        raise TypeError(
            f"`groups` must hold labels of one sortable type, got labels of types {kinds}"
        ) from None
    return unique, inverse.reshape(-1)


def _check_groups(groups: Any, n: int | None = None) -> NDArray[Any]:
    """Check a 1-D label array (of length ``n`` when given) without NaN labels."""
    if not isinstance(groups, np.ndarray):
        raise TypeError(
            f"`groups` must be a 1-D numpy array of user-group labels, got {type(groups).__name__}"
        )
    if groups.ndim != 1 or (n is not None and groups.shape[0] != n):
        expected = "(n_users,)" if n is None else f"({n},)"
        raise ValueError(f"`groups` must be a 1-D array of shape {expected}, got {groups.shape}")
    if np.issubdtype(groups.dtype, np.floating) and np.isnan(groups).any():
        index = _first_bad(np.isnan(groups))
        raise ValueError(f"`groups` must not hold NaN labels, got nan at index {index}")
    return groups


def _label(value: Any) -> Hashable:
    """A numpy scalar label as the matching Python scalar (``np.int64(3)`` → ``3``)."""
    return value.item() if isinstance(value, np.generic) else value


# ------------------------------------------------------------------------ preference space


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
        O(N d) time, one ``(N, d)`` float64 temporary.
    """
    return _homogenization(_Preferences.check(states))


def _homogenization(prefs: _Preferences) -> float:
    """The body of :func:`homogenization` on shared, validated data."""
    units = prefs.units
    n = units.shape[0]
    if n < 2:
        return math.nan
    total = prefs.total
    self_terms = np.einsum("ij,ij->", units, units)
    value = (total @ total - self_terms) / (n * (n - 1))
    return float(np.clip(value, -1.0 / (n - 1), 1.0))  # clip rounding only


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
        O(N d²) time, one ``(N, d)`` temporary.
    """
    return _mean_squared_cosine(_Preferences.check(states))


def _mean_squared_cosine(prefs: _Preferences) -> float:
    """The body of :func:`mean_squared_cosine` on shared, validated data."""
    units = prefs.units
    n = units.shape[0]
    if n < 2:
        return math.nan
    gram = prefs.gram
    self_terms = np.sum(np.einsum("ij,ij->i", units, units) ** 2)
    value = (np.sum(gram * gram) - self_terms) / (n * (n - 1))
    return float(np.clip(value, 0.0, 1.0))  # clip rounding only


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
        O(N d² + d³) time, one ``(N, d)`` temporary.
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
        O(N d² + d³) time, one ``(N, d)`` temporary.
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


# ----------------------------------------------------------------- exposure / consumption


def item_counts(
    actions: NDArray[np.integer[Any]], n_items: int, *, mask: NDArray[np.bool_] | None = None
) -> NDArray[np.int64]:
    """How many times each item occurs in an action array.

    Pass the recommended items to count **exposure**, and ``mask=rewards > 0`` (or a
    click indicator) to count **consumption**.

    Args:
        actions: Integer item indices in ``[0, n_items)``, shape ``(n_users,)`` for one
            step or ``(T, n_users)`` for a history (any orientation is counted alike).
        n_items: Number of items in the catalogue.
        mask: Optional boolean array of the shape of ``actions``; only entries where it is
            True are counted.

    Returns:
        numpy.ndarray: int64 array of shape ``(n_items,)``.

    Raises:
        TypeError: If ``actions`` is not an integer array, ``n_items`` not an integer or
            ``mask`` not a boolean array.
        ValueError: On a wrong shape or an index outside ``[0, n_items)``.

    Cost:
        O(T N + n_items) time (``np.bincount``).
    """
    n_items = check_positive_int(n_items, "n_items")
    items = _check_actions(actions, n_items)
    if mask is not None:
        items = items[_check_mask(mask, items.shape)]
    return np.bincount(items.ravel(), minlength=n_items).astype(np.int64, copy=False)


def item_counts_by_group(
    actions: NDArray[np.integer[Any]],
    groups: NDArray[Any],
    n_items: int,
    *,
    mask: NDArray[np.bool_] | None = None,
) -> dict[Hashable, NDArray[np.int64]]:
    """Item counts of each user group's own actions, in one pass.

    ``{g: gini(c) for g, c in item_counts_by_group(history, groups, n_items).items()}``
    splits any item-count metric by group.

    Args:
        actions: Integer item indices, shape ``(n_users,)`` or ``(T, n_users)``: users on
            the **last** axis.
        groups: Labels of shape ``(n_users,)`` (integers, strings, …; no NaN).
        n_items: Number of items in the catalogue.
        mask: Optional boolean array of the shape of ``actions`` (see :func:`item_counts`).

    Returns:
        dict: Label (as a Python scalar, in sorted order) → int64 counts ``(n_items,)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On a wrong shape or an index outside ``[0, n_items)``.

    Cost:
        O(T N + G n_items) time for G groups, plus O(N log N) to sort the labels.
    """
    n_items = check_positive_int(n_items, "n_items")
    items = _check_actions(actions, n_items)
    labels, inverse = _unique_groups(groups, items.shape[-1])
    keys = np.broadcast_to(inverse.reshape(-1).astype(np.int64), items.shape) * n_items + items
    if mask is not None:
        keys = keys[_check_mask(mask, items.shape)]
    table = np.bincount(keys.ravel(), minlength=len(labels) * n_items)
    table = table.reshape(len(labels), n_items).astype(np.int64, copy=False)
    return {_label(label): table[g] for g, label in enumerate(labels)}


def coverage(counts: NDArray[Any]) -> float:
    """Share of the catalogue that occurs at least once (aggregate diversity).

    ``coverage = |{i : cᵢ > 0}| / n_items`` (Adomavicius & Kwon 2012).

    Args:
        counts: Non-negative item counts, shape ``(n_items,)``.

    Returns:
        float: In ``[0, 1]``; 0 when every count is 0.

    Raises:
        TypeError: If ``counts`` is not a real numpy array.
        ValueError: If it is not 1-D, empty, negative, NaN or inf.

    Cost:
        O(n_items).
    """
    values = _check_counts(counts)
    return float(np.count_nonzero(values) / values.size)


def gini(counts: NDArray[Any]) -> float:
    """Gini coefficient of the item counts: 0 = equal exposure, large = concentrated.

    The textbook (population) Gini over the ``n = n_items`` items, with counts sorted in
    ascending order ``c₍₁₎ ≤ … ≤ c₍ₙ₎``::

        G = Σᵢ (2i − n − 1) c₍ᵢ₎ / (n Σᵢ cᵢ) = Σᵢ Σⱼ |cᵢ − cⱼ| / (2 n Σᵢ cᵢ)

    (Gini 1912; for sales concentration under recommenders, Fleder & Hosanagar 2009).
    ``G = 0`` for equal counts and ``G = (n − 1)/n`` when all counts fall on one item.
    No ``n/(n − 1)`` small-sample correction is applied, so ``G`` equals the Lorenz-curve
    area ratio; multiply by ``n/(n − 1)`` for a maximum of exactly 1.

    Args:
        counts: Non-negative item counts, shape ``(n_items,)``.

    Returns:
        float: In ``[0, (n − 1)/n]``; ``nan`` when every count is 0.

    Raises:
        TypeError: If ``counts`` is not a real numpy array.
        ValueError: If it is not 1-D, empty, negative, NaN or inf.

    Cost:
        O(n_items log n_items) (a sort).
    """
    values = np.sort(_check_counts(counts))
    total = values.sum()
    if total == 0:
        return math.nan
    n = values.size
    weights = 2.0 * np.arange(1, n + 1) - n - 1
    return float(np.clip(weights @ values / (n * total), 0.0, 1.0))


def entropy(counts: NDArray[Any], normalized: bool = True) -> float:
    """Shannon entropy of the item distribution ``pᵢ = cᵢ / Σ c``.

    ``H = −Σ_{pᵢ > 0} pᵢ log pᵢ`` in nats (Shannon 1948). With ``normalized=True``
    (default) it is divided by ``log n_items``, Pielou's (1966) evenness: 1 for equal
    counts, 0 when everything falls on one item. A catalogue of one item is perfectly
    even by convention (1.0), matching ``gini = 0`` and ``coverage = 1``.

    Args:
        counts: Non-negative item counts, shape ``(n_items,)``.
        normalized: Divide by ``log n_items``.

    Returns:
        float: In ``[0, 1]`` if normalised, else in ``[0, log n_items]``; ``nan`` when
        every count is 0.

    Raises:
        TypeError: If ``counts`` is not a real numpy array.
        ValueError: If it is not 1-D, empty, negative, NaN or inf.

    Cost:
        O(n_items).
    """
    normalized = check_bool(normalized, "normalized")
    values = _check_counts(counts)
    total = values.sum()
    if total == 0:
        return math.nan
    p = values[values > 0] / total
    h = max(float(-(p @ np.log(p))), 0.0)
    if not normalized:
        return h
    n = values.size
    return 1.0 if n == 1 else min(h / math.log(n), 1.0)


def top_k_share(counts: NDArray[Any], k: int) -> float:
    """Share of all counts that falls on the ``k`` most frequent items.

    ``CR_k = Σ of the k largest cᵢ / Σᵢ cᵢ``, the concentration ratio of industrial
    economics; Kalimeris et al. (2021) track the exposure mass on the top items. A ``k``
    of at least ``n_items`` gives 1.

    Args:
        counts: Non-negative item counts, shape ``(n_items,)``.
        k: Number of top items, ``>= 1``.

    Returns:
        float: In ``[min(k, n_items)/n_items, 1]``; ``nan`` when every count is 0.

    Raises:
        TypeError: If ``counts`` is not a real numpy array or ``k`` not an integer.
        ValueError: On a bad ``counts`` or ``k < 1``.

    Cost:
        O(n_items) (``np.partition``).
    """
    k = check_positive_int(k, "k")
    values = _check_counts(counts)
    total = values.sum()
    if total == 0:
        return math.nan
    if k >= values.size:
        return 1.0
    top = np.partition(values, values.size - k)[values.size - k :]
    return float(min(top.sum() / total, 1.0))


# ------------------------------------------------------------------- consumed-item overlap


def user_item_matrix(
    actions: NDArray[np.integer[Any]], n_items: int, *, mask: NDArray[np.bool_] | None = None
) -> sp.csr_array:
    """Sparse ``(n_users, n_items)`` matrix of how often each user got each item.

    Args:
        actions: Integer item indices, shape ``(n_users,)`` or ``(T, n_users)``: users on
            the **last** axis.
        n_items: Number of items in the catalogue.
        mask: Optional boolean array of the shape of ``actions``; only entries where it is
            True are counted (e.g. ``rewards > 0`` for consumed items).

    Returns:
        scipy.sparse.csr_array: int64 counts of shape ``(n_users, n_items)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On a wrong shape or an index outside ``[0, n_items)``.

    Cost:
        O(T N) time and memory (one COO → CSR conversion).
    """
    n_items = check_positive_int(n_items, "n_items")
    items = _check_actions(actions, n_items)
    if mask is not None:
        mask = _check_mask(mask, items.shape)
    return _sparse_counts(items, n_items, mask)


def _sparse_counts(
    items: NDArray[np.int64], n_items: int, mask: NDArray[np.bool_] | None
) -> sp.csr_array:
    """The body of :func:`user_item_matrix`, on validated arguments."""
    n_users = items.shape[-1]
    users = np.broadcast_to(np.arange(n_users), items.shape)
    if mask is not None:
        items, users = items[mask], users[mask]
    ones = np.ones(items.size, dtype=np.int64)
    return sp.csr_array((ones, (users.ravel(), items.ravel())), shape=(n_users, n_items))


def _consumed_indicator(consumed: Any, n_users: int) -> sp.csr_array:
    """``consumed`` as a canonical 0/1 CSR matrix of shape ``(n_users, n_items)``."""
    if sp.issparse(consumed):
        matrix = sp.csr_array(consumed, copy=True)
        if matrix.ndim != 2 or matrix.shape[0] != n_users:
            raise ValueError(
                f"`consumed` must have shape (n_users, n_items) with n_users = {n_users}, "
                f"got {matrix.shape}"
            )
        matrix.sum_duplicates()
        data = matrix.data
        if data.dtype != np.bool_ and not (
            np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)
        ):
            raise TypeError(f"`consumed` must hold real counts, got dtype {data.dtype}")
        bad = ~np.isfinite(data) | (data < 0)
        if bad.any():
            raise ValueError(
                f"`consumed` must hold finite non-negative counts, got {data[bad][0].item()!r}"
            )
    elif isinstance(consumed, np.ndarray):
        history = _check_actions(consumed, None, "consumed")
        if history.shape[-1] != n_users:
            raise ValueError(
                "`consumed` must be a scipy.sparse matrix of shape (n_users, n_items) or an "
                f"integer action history of shape (T, n_users) with n_users = {n_users}, "
                f"got shape {history.shape}"
            )
        matrix = _sparse_counts(history, int(history.max()) + 1 if history.size else 1, None)
    else:
        raise TypeError(
            "`consumed` must be a scipy.sparse matrix of shape (n_users, n_items) or a numpy "
            f"integer action history of shape (T, n_users), got {type(consumed).__name__}"
        )
    indicator = sp.csr_array(
        ((matrix.data > 0).astype(np.int64), matrix.indices, matrix.indptr), shape=matrix.shape
    )
    indicator.eliminate_zeros()
    return indicator


def nearest_neighbors(
    states: NDArray[Any], *, users: NDArray[np.integer[Any]] | None = None
) -> NDArray[np.intp]:
    """Each user's nearest other user by preference direction.

    Nearest means the largest cosine similarity, i.e. the smallest Euclidean distance
    between unit vectors (zero states stay at the origin). The self-match is excluded;
    among equidistant users (e.g. exact duplicates) an arbitrary but deterministic one
    is returned, never the user itself.

    Args:
        states: Real array of shape ``(n_users, dim)`` with ``n_users >= 2``.
        users: Optional integer indices ``(m,)`` of the users to find neighbours for
            (their neighbours are still sought among all users); default all users.

    Returns:
        numpy.ndarray: intp array of shape ``(n_users,)`` (or ``(m,)``); entry ``k`` is
        the neighbour of user ``users[k]`` and never that user itself.

    Raises:
        TypeError: If ``states`` is not a real numpy array.
        ValueError: On a wrong shape, NaN or inf, or fewer than 2 users.

    Cost:
        A k-d tree (``scipy.spatial.KDTree``): O(d N log N) to build and, for small
        ``d``, about O(d N log N) to query; queries degrade towards a scan of the tree as
        ``d`` grows (≳ 10: at N = 10⁵, d = 16 each query costs about 2 ms), which is what
        ``users`` is for: m queries cost O(m) tree searches. Memory O(N d); no ``N × N``
        array.
    """
    units = _unit_rows(_check_states(states))
    n = units.shape[0]
    if n < 2:
        raise ValueError(
            f"`states` must have at least 2 rows (users) to pair neighbours, got shape "
            f"{units.shape}"
        )
    queries = np.arange(n) if users is None else _check_users(users, n)
    _, candidates = KDTree(units).query(units[queries], k=2)
    is_self = candidates[:, 0] == queries
    return np.where(is_self, candidates[:, 1], candidates[:, 0]).astype(np.intp)


def _check_users(users: Any, n: int) -> NDArray[np.intp]:
    """Check a subset of user indices: a non-empty 1-D integer array in ``[0, n)``."""
    if not isinstance(users, np.ndarray):
        raise TypeError(f"`users` must be a numpy integer array, got {type(users).__name__}")
    if users.dtype == np.bool_ or not np.issubdtype(users.dtype, np.integer):
        raise TypeError(f"`users` must hold integer user indices, got dtype {users.dtype}")
    if users.ndim != 1 or users.size == 0:
        raise ValueError(f"`users` must be a non-empty 1-D array, got shape {users.shape}")
    bad = (users < 0) | (users >= n)
    if bad.any():
        index = _first_bad(bad)
        raise ValueError(
            f"`users` must hold user indices in [0, {n}), got {users[index].item()!r} "
            f"at index {index}"
        )
    return users.astype(np.intp, copy=False)


def _check_neighbors(neighbors: Any, n: int, queries: NDArray[np.intp]) -> NDArray[np.intp]:
    """Check neighbour indices of ``queries``: shape ``(m,)``, in range, never oneself."""
    m = len(queries)
    if not isinstance(neighbors, np.ndarray):
        raise TypeError(
            f"`neighbors` must be a numpy integer array of shape ({m},), "
            f"got {type(neighbors).__name__}"
        )
    if neighbors.dtype == np.bool_ or not np.issubdtype(neighbors.dtype, np.integer):
        raise TypeError(f"`neighbors` must hold integer user indices, got dtype {neighbors.dtype}")
    if neighbors.shape != (m,):
        raise ValueError(f"`neighbors` must have shape ({m},), got {neighbors.shape}")
    bad = (neighbors < 0) | (neighbors >= n) | (neighbors == queries)
    if bad.any():
        index = _first_bad(bad)
        raise ValueError(
            f"`neighbors` must hold indices of other users in [0, {n}), "
            f"got {neighbors[index].item()!r} at index {index}"
        )
    return neighbors.astype(np.intp, copy=False)


def jaccard_nearest_neighbors(
    states: NDArray[Any],
    consumed: Any,
    *,
    neighbors: NDArray[np.integer[Any]] | None = None,
    users: NDArray[np.integer[Any]] | None = None,
) -> float:
    """Chaney-style homogenisation: consumed-item overlap of nearest-neighbour users.

    Each user ``i`` is paired with its nearest neighbour ``j = nn(i)`` in preference
    space (:func:`nearest_neighbors`; Chaney et al. use the *true, initial* preferences,
    so pass ``initial_states``), and the Jaccard index of their consumed-item sets is
    averaged over users::

        J = mean_i |Aᵢ ∩ A_nn(i)| / |Aᵢ ∪ A_nn(i)|

    (Jaccard 1901; Chaney, Stewart & Engelhardt 2018). Pairs in which neither user has
    consumed anything have an undefined index and are left out of the mean.

    Args:
        states: Real array of shape ``(n_users, dim)`` defining the neighbours.
        consumed: Either a ``scipy.sparse`` matrix of shape ``(n_users, n_items)`` whose
            positive entries mark consumed items (counts or indicators), or a numpy
            integer action history of shape ``(T, n_users)`` or ``(n_users,)`` whose
            entries are the consumed items (see :func:`user_item_matrix`, whose ``mask``
            keeps only clicked items). A dense 2-D array is always read as a history.
        neighbors: Optional precomputed :func:`nearest_neighbors` of ``states`` (shape
            ``(n_users,)``, or ``(m,)`` with ``users``), to skip the tree when the
            neighbours do not change.
        users: Optional integer indices ``(m,)``: average over these users only. A
            uniform random sample of users gives an unbiased estimate of the mean over
            everyone (standard error at most ``0.5 / √m``) for m neighbour searches
            instead of ``n_users``.

    Returns:
        float: In ``[0, 1]``; ``nan`` when ``n_users < 2`` or no pair has consumed
        anything.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: On mismatched shapes, NaN, negative counts or bad neighbour indices.

    Cost:
        The neighbour search of :func:`nearest_neighbors` plus O(nnz) for the sparse
        intersections (``nnz`` = stored entries; O(T N) to convert a history).
    """
    valid_states = _check_states(states)
    n = valid_states.shape[0]
    indicator = _consumed_indicator(consumed, n)
    if n < 2:
        return math.nan
    queries = np.arange(n) if users is None else _check_users(users, n)
    if neighbors is None:
        partner = nearest_neighbors(valid_states, users=users)
    else:
        partner = _check_neighbors(neighbors, n, queries)
    return _jaccard(indicator, queries, partner, everyone=users is None)


def _jaccard(
    indicator: sp.csr_array,
    queries: NDArray[np.intp],
    partner: NDArray[np.intp],
    *,
    everyone: bool = False,
) -> float:
    """The body of :func:`jaccard_nearest_neighbors` on validated data.

    ``indicator`` is a canonical 0/1 CSR matrix without stored zeros (as from
    :func:`_consumed_indicator`); only the rows of ``queries`` and ``partner`` are read.
    ``everyone`` says that ``queries`` is ``arange(n_users)``.
    """
    rows = indicator if everyone else indicator[queries]
    intersection = rows.multiply(indicator[partner]).sum(axis=1)
    sizes = np.diff(indicator.indptr)  # the row sums of a 0/1 matrix without stored zeros
    union = sizes[queries] + sizes[partner] - intersection
    defined = union > 0
    if not defined.any():
        return math.nan
    return float(np.mean(intersection[defined] / union[defined]))


# ---------------------------------------------------------------------------- groups


def by_group(
    metric: Callable[..., Any], groups: NDArray[Any], *arrays: Any, **kwargs: Any
) -> dict[Hashable, Any]:
    """Apply ``metric`` to each user group's rows.

    Calls ``metric(*(a[rows_g] for a in arrays), **kwargs)`` for every label ``g``.
    **Convention:** every positional array is per user with **users on axis 0** —
    states ``(N, d)``, per-user values ``(N,)``, sparse ``(N, n_items)`` matrices (from
    :func:`user_item_matrix`). Keyword arguments are passed unchanged to every call, so
    they must not be per-user data (e.g. do not pass ``neighbors``). Action histories
    ``(T, N)`` have users on the last axis: turn them into a sparse matrix with
    :func:`user_item_matrix`, or count items per group with :func:`item_counts_by_group`.
    Examples: ``by_group(homogenization, g, states)``,
    ``by_group(preference_drift, g, states, initial_states, kind="cosine")``,
    ``by_group(jaccard_nearest_neighbors, g, initial_states, consumed_matrix)``.

    Args:
        metric: Any function of per-user arrays, e.g. one of this module.
        groups: Labels of shape ``(N,)`` (integers, strings, …; no NaN).
        *arrays: Per-user numpy arrays or scipy.sparse matrices, users on axis 0.
        **kwargs: Passed unchanged to ``metric``.

    Returns:
        dict: Label (as a Python scalar, in sorted order) → the metric's value on that
        group's users.

    Raises:
        TypeError: If ``groups`` or an array has the wrong type.
        ValueError: If an array's first axis does not have the length of ``groups``.

    Cost:
        O(N log N) to sort the labels, one row gather per array and group (O(N d) in
        total), plus one call of ``metric`` per group on that group's rows.
    """
    if not callable(metric):
        raise TypeError(f"`metric` must be a function of per-user arrays, got {metric!r}")
    unique, inverse = _unique_groups(groups)
    n = inverse.shape[0]
    rows: list[Any] = []
    for position, array in enumerate(arrays):
        if sp.issparse(array):
            array = sp.csr_array(array)
        elif not isinstance(array, np.ndarray):
            raise TypeError(
                f"`arrays[{position}]` must be a numpy array or a scipy.sparse matrix, "
                f"got {type(array).__name__}"
            )
        if array.ndim == 0 or array.shape[0] != n:
            raise ValueError(
                f"`arrays[{position}]` must have len(groups) = {n} rows along axis 0 "
                f"(users first), got shape {array.shape}"
            )
        rows.append(array)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse, minlength=len(unique)))[:-1]
    return {
        _label(label): metric(*(array[index] for array in rows), **kwargs)
        for label, index in zip(unique, np.split(order, bounds))
    }


# -------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Metric:
    """One entry of :data:`METRICS`: a metric of named population data.

    Call it with keyword data; it takes the inputs it needs and ignores the rest:
    ``METRICS["drift"](states=s, initial_states=s0, counts=c)``.

    Attributes:
        function: Called with the ``inputs`` as positional arguments, in order, and the
            ``optional`` ones that were given as keyword arguments.
        inputs: Names of the required data (see :func:`compute_metrics`).
        optional: Names of optional data.
        description: One line for tables and plot labels.
    """

    function: Callable[..., float]
    inputs: tuple[str, ...]
    description: str
    optional: tuple[str, ...] = ()

    def __call__(self, **data: Any) -> float:
        """Evaluate the metric on the keyword data."""
        missing = [name for name in self.inputs if data.get(name) is None]
        if missing:
            raise ValueError(f"`{missing[0]}` is required by this metric, got None")
        extra = {name: data[name] for name in self.optional if data.get(name) is not None}
        return float(self.function(*(data[name] for name in self.inputs), **extra))


def _top10_share(counts: NDArray[Any]) -> float:
    return top_k_share(counts, 10)


#: The metrics a rollout runner can record, by name. Read-only. Inputs:
#: ``states``/``initial_states`` ``(N, d)``; ``counts`` ``(n_items,)`` exposure *or*
#: consumption counts; ``consumed`` sparse ``(N, n_items)`` or ``(T, N)`` history;
#: optional ``neighbors`` (``nearest_neighbors(initial_states)``).
METRICS: Mapping[str, Metric] = MappingProxyType(
    {
        "homogenization": Metric(
            homogenization, ("states",), "mean pairwise cosine of preferences"
        ),
        "mean_squared_cosine": Metric(
            mean_squared_cosine, ("states",), "mean pairwise squared cosine (axis collapse)"
        ),
        "polarization": Metric(polarization, ("states",), "polarisation index S·(1 − P²)"),
        "bimodality": Metric(
            bimodality_coefficient, ("states",), "bimodality coefficient on the principal axis"
        ),
        "drift": Metric(
            preference_drift, ("states", "initial_states"), "mean angle from initial (rad)"
        ),
        "coverage": Metric(coverage, ("counts",), "share of items with a positive count"),
        "gini": Metric(gini, ("counts",), "Gini coefficient of item counts"),
        "entropy": Metric(entropy, ("counts",), "normalised entropy of item counts"),
        "top10_share": Metric(_top10_share, ("counts",), "share of counts on the top 10 items"),
        "jaccard_nn": Metric(
            jaccard_nearest_neighbors,
            ("initial_states", "consumed"),
            "Jaccard of consumed sets of nearest-neighbour users",
            optional=("neighbors",),
        ),
    }
)


def _metric_names(names: Any, argument: str, kinds: str = "") -> list[str]:
    """``names`` as a list of names of :data:`METRICS`; ``argument`` names it in errors."""
    message = f"`{argument}` must be an iterable of metric names{kinds}"
    if isinstance(names, str):
        raise TypeError(f"{message}, got {names!r}")
    try:
        chosen = list(names)
    except TypeError:
        raise TypeError(f"{message}, got {names!r}") from None
    for name in chosen:
        if not isinstance(name, str):
            raise TypeError(f"`{argument}` must hold names from {sorted(METRICS)}, got {name!r}")
        if name not in METRICS:
            raise ValueError(f"`{argument}` must hold names from {sorted(METRICS)}, got {name!r}")
    return chosen


def compute_metrics(
    names: Iterable[str] | None = None,
    *,
    states: NDArray[Any] | None = None,
    initial_states: NDArray[Any] | None = None,
    counts: NDArray[Any] | None = None,
    consumed: Any = None,
    neighbors: NDArray[np.integer[Any]] | None = None,
) -> dict[str, float]:
    """Evaluate several :data:`METRICS` on one snapshot of a population.

    The runner's calling convention: pass whatever data it has as keywords; with
    ``names=None`` every metric whose inputs are all given is computed. Item metrics
    (``coverage``, ``gini``, ``entropy``, ``top10_share``) read ``counts``: pass the
    exposure counts (recommended items, e.g. a running ``item_counts(actions, n_items)``
    sum) or the consumption counts (items with positive reward,
    ``item_counts(actions, n_items, mask=rewards > 0)``), and call twice to record both.

    Args:
        names: Metric names from :data:`METRICS`, or None for all computable ones.
        states: Current states ``(N, d)``.
        initial_states: Initial states ``(N, d)`` (for ``drift`` and ``jaccard_nn``, whose
            neighbours are taken in the initial preference space).
        counts: Item counts ``(n_items,)``.
        consumed: Consumed items: sparse ``(N, n_items)`` or a ``(T, N)`` history.
        neighbors: Optional ``nearest_neighbors(initial_states)``, computed once per
            rollout so that ``jaccard_nn`` does not rebuild the tree every step.

    Returns:
        dict: Name → float, in the order of ``names`` (or of :data:`METRICS`).

    Raises:
        TypeError: If ``names`` is a string or an input has the wrong type.
        ValueError: On an unknown name, a missing input or malformed data.

    Cost:
        The sum of the chosen metrics' costs: per step O(N d² + d³) for the preference
        metrics, O(n_items log n_items) for the item metrics, O(nnz) plus the neighbour
        search (unless ``neighbors`` is given) for ``jaccard_nn``.
    """
    data = {
        key: value
        for key, value in {
            "states": states,
            "initial_states": initial_states,
            "counts": counts,
            "consumed": consumed,
            "neighbors": neighbors,
        }.items()
        if value is not None
    }
    if names is None:
        chosen = [name for name, m in METRICS.items() if all(k in data for k in m.inputs)]
    else:
        chosen = _metric_names(names, "names", " or None")
    for name in chosen:
        missing = [key for key in METRICS[name].inputs if key not in data]
        if missing:
            raise ValueError(f"`{missing[0]}` is required by metric {name!r}, got None")
    return _evaluate(chosen, data)


#: Preference metrics of :data:`METRICS` evaluated from shared data by :func:`_evaluate`:
#: name → (kernel, whether it also reads ``initial_states``).
_SHARED_KERNELS: Mapping[str, tuple[Callable[..., float], bool]] = MappingProxyType(
    {
        "homogenization": (_homogenization, False),
        "mean_squared_cosine": (_mean_squared_cosine, False),
        "polarization": (_polarization, False),
        "bimodality": (_bimodality_coefficient, False),
        "drift": (_preference_drift, True),
    }
)


def _evaluate(
    chosen: Iterable[str], data: Mapping[str, Any], initial: _Preferences | None = None
) -> dict[str, float]:
    """Evaluate the metrics ``chosen`` (checked names whose inputs are all in ``data``).

    ``states`` and ``initial_states`` are validated and normalised once, when the first
    preference metric needs them, in the order the metrics would check them themselves
    (so the same error is raised first). ``initial`` is an optional precomputed
    :class:`_Preferences` of ``data["initial_states"]`` (a runner keeps it across steps).
    Values are bit-identical to calling each metric of :data:`METRICS` separately.
    """
    current: _Preferences | None = None
    values: dict[str, float] = {}
    for name in chosen:
        shared = _SHARED_KERNELS.get(name)
        if shared is None:
            values[name] = METRICS[name](**data)
            continue
        kernel, needs_initial = shared
        if current is None:
            current = _Preferences.check(data["states"])
        if not needs_initial:
            values[name] = float(kernel(current))
            continue
        if initial is None:
            initial = _Preferences.check(data["initial_states"], "initial_states")
        _check_initial(current, initial)
        values[name] = float(kernel(current, initial))
    return values
