"""Builders of worlds: user populations, item catalogues and social graphs.

Pure numpy/scipy (no gymnasium or pettingzoo), so that a world can be built, saved and
inspected without an environment. Three families:

* **Populations** (:class:`Users`): unit preference vectors with integer group labels —
  :func:`grouped_users` (von Mises–Fisher clusters), :func:`majority_minority`
  (Mansoury et al. 2020) and :func:`leaning_users` (Kalimeris et al. 2021).
* **Catalogues** (:class:`Catalogue`): unit item vectors with class labels —
  :func:`item_classes` and :func:`balanced_catalogue`.
* **Social graphs**: symmetric ``scipy.sparse.csr_array`` adjacency matrices built in
  O(n + edges) time and memory — :func:`erdos_renyi`, :func:`stochastic_block_model`,
  :func:`barabasi_albert` — plus :func:`as_adjacency` (scipy.sparse or networkx input)
  and :func:`row_normalize`.

Conventions shared by every builder:

* ``rng`` is a ``numpy.random.Generator``, an integer seed or ``None``, turned into a
  generator with ``numpy.random.default_rng`` (SPEC 7). A given generator is used, and
  advanced, in place; numpy's global random state is never touched. The same seed gives
  the same world, bit for bit, on the same numpy version.
* Group labels are ``int64`` in ``0 .. g-1`` and come in **contiguous blocks**: every
  member of group 0 first, then group 1, and so on (``groups`` is sorted).
* Features are float64 unit rows. They survive ``feature_normalization="row"``
  unchanged; the environments' default ``"spectral"`` normalisation would rescale them.
* Graph adjacency matrices hold float64 ones (weights, for :func:`as_adjacency`), have
  sorted column indices, no explicit zeros and no self loops; generated graphs are
  symmetric (undirected).

Example:
    >>> from recgym.worlds import grouped_users, stochastic_block_model
    >>> users = grouped_users([3, 2], kappa=20.0, dim=4, rng=0)
    >>> users.features.shape, users.groups.tolist()
    ((5, 4), [0, 0, 0, 1, 1])
    >>> graph = stochastic_block_model(users.groups, p_in=1.0, p_out=0.0, rng=0)
    >>> graph.toarray().astype(int)
    array([[0, 1, 1, 0, 0],
           [1, 0, 1, 0, 0],
           [1, 1, 0, 0, 0],
           [0, 0, 0, 0, 1],
           [0, 0, 0, 1, 0]])
"""

from __future__ import annotations

import copy
import heapq
import math
import numbers
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.special import expit

from recgym._validation import (
    check_array,
    check_bool,
    check_float_in_range,
    check_nonnegative_float,
    check_nonnegative_int,
    check_positive_int,
    check_probability,
)

__all__ = [
    "Catalogue",
    "Users",
    "as_adjacency",
    "balanced_catalogue",
    "barabasi_albert",
    "erdos_renyi",
    "grouped_users",
    "item_classes",
    "leaning_users",
    "majority_minority",
    "per_group",
    "row_normalize",
    "stochastic_block_model",
    "von_mises_fisher",
]

#: What ``rng`` may be (SPEC 7).
RNGLike = np.random.Generator | int | None


# --------------------------------------------------------------------------- validation


def _as_generator(rng: Any) -> np.random.Generator:
    """``numpy.random.default_rng(rng)`` for a Generator, a non-negative int seed or None."""
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    message = (
        f"`rng` must be a numpy.random.Generator, a non-negative integer seed or None, got {rng!r}"
    )
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
        raise TypeError(message)
    if rng < 0:
        raise ValueError(message)
    return np.random.default_rng(int(rng))


def _rng_description(rng: Any) -> int | str | None:
    """How ``rng`` appears in a world's description (JSON: a seed, None or a type name)."""
    if rng is None:
        return None
    if isinstance(rng, np.random.Generator):
        return f"Generator({type(rng.bit_generator).__name__})"
    return int(rng)


def _check_sizes(sizes: Any, name: str = "sizes") -> list[int]:
    """A non-empty list/tuple/1-D integer array of positive group sizes, as Python ints."""
    message = f"`{name}` must be a non-empty list of positive integers, got {sizes!r}"
    if isinstance(sizes, np.ndarray):
        if sizes.ndim != 1 or sizes.dtype == np.bool_ or not np.issubdtype(sizes.dtype, np.integer):
            raise TypeError(message)
        sizes = sizes.tolist()
    if not isinstance(sizes, (list, tuple)):
        raise TypeError(message)
    if any(isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) for s in sizes):
        raise TypeError(message)
    if not sizes or any(s < 1 for s in sizes):
        raise ValueError(message)
    return [int(s) for s in sizes]


def _check_directions(value: Any, name: str, shape: tuple[int | None, ...]) -> NDArray[np.float64]:
    """Rows of a real array (shape ``shape``) scaled to unit length; zero rows rejected."""
    array = np.array(check_array(value, name, shape), dtype=np.float64, ndmin=2)
    scale = np.abs(array).max(axis=1) if array.shape[1] else np.zeros(array.shape[0])
    if not np.all(scale > 0):
        index = int(np.flatnonzero(~(scale > 0))[0])
        if len(shape) == 1:
            raise ValueError(f"`{name}` must be a non-zero vector, got {array[0].tolist()}")
        raise ValueError(f"`{name}` must have non-zero rows, got a zero row at index {index}")
    array /= scale[:, np.newaxis]  # no underflow or overflow in the norm
    return array / np.linalg.norm(array, axis=1, keepdims=True)


def _check_dim(value: Any, minimum: int, name: str = "dim") -> int:
    dim = check_positive_int(value, name)
    if dim < minimum:
        raise ValueError(f"`{name}` must be at least {minimum}, got {dim}")
    return dim


# ---------------------------------------------------------------------- result types


def _read_only(array: NDArray[Any]) -> NDArray[Any]:
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False, repr=False)
class _Labelled:
    """Unit feature rows with contiguous integer group labels and the groups' centres."""

    features: NDArray[np.float64]
    groups: NDArray[np.int64]
    centers: NDArray[np.float64]
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Read-only views: the object is frozen, and an array handed in stays writable.
        for name in ("features", "groups", "centers"):
            object.__setattr__(self, name, _read_only(getattr(self, name).view()))
        object.__setattr__(self, "parameters", MappingProxyType(dict(self.parameters)))

    @property
    def group_sizes(self) -> NDArray[np.int64]:
        """``(n_groups,)`` int64: how many rows carry each label."""
        return np.bincount(self.groups, minlength=len(self.centers)).astype(np.int64)

    def describe(self) -> dict[str, Any]:
        """A JSON-serialisable description: the builder's parameters and the result's shape.

        Returns:
            dict: ``{"builder", "parameters", "n", "dim", "group_sizes", "centers"}``; a
            fresh copy (editing it does not change this object).
        """
        arguments = {k: v for k, v in self.parameters.items() if k != "builder"}
        return {
            "builder": self.parameters.get("builder"),
            "parameters": copy.deepcopy(arguments),
            "n": int(self.features.shape[0]),
            "dim": int(self.features.shape[1]),
            "group_sizes": self.group_sizes.tolist(),
            "centers": self.centers.tolist(),
        }

    def __repr__(self) -> str:
        n, dim = self.features.shape
        return (
            f"{type(self).__name__}(builder={self.parameters.get('builder')!r}, n={n}, "
            f"dim={dim}, group_sizes={self.group_sizes.tolist()})"
        )


@dataclass(frozen=True, eq=False, repr=False)
class Users(_Labelled):
    """A population of users: what the population builders return.

    Attributes:
        features: ``(n_users, dim)`` float64, unit rows: the initial preference vectors.
            Pass as ``user_feature_vector=`` (with ``feature_normalization="row"`` to keep
            them unit length).
        groups: ``(n_users,)`` int64 labels in ``0 .. g-1``, sorted (contiguous blocks).
            Pass as ``user_groups=``.
        centers: ``(g, dim)`` float64, unit rows: each group's mean direction (the axis
            a group leans toward, for :func:`leaning_users`).
        parameters: The builder's name and arguments (JSON values); see :meth:`describe`.

    The arrays are read-only; copy them to edit.
    """


@dataclass(frozen=True, eq=False, repr=False)
class Catalogue(_Labelled):
    """An item catalogue: what the catalogue builders return.

    Attributes:
        features: ``(n_items, dim)`` float64, unit rows. Pass as ``item_feature_vector=``.
        groups: ``(n_items,)`` int64 class labels in ``0 .. g-1``, sorted.
        centers: ``(g, dim)`` float64, unit rows: each class's centre direction.
        parameters: The builder's name and arguments (JSON values); see :meth:`describe`.

    The arrays are read-only; copy them to edit.
    """


def _labels(sizes: Sequence[int]) -> NDArray[np.int64]:
    return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)


def _balanced_sizes(n: int, g: int) -> list[int]:
    """``g`` sizes summing to ``n``, the first ``n % g`` one larger than the rest."""
    return [n // g + (k < n % g) for k in range(g)]


# -------------------------------------------------------------------- von Mises–Fisher


def _row_norms(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Euclidean norms of the rows (no overflow guard: entries here are O(1))."""
    return np.sqrt(np.vecdot(x, x))


def _uniform_sphere(size: int, dim: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """``size`` points uniform on the unit sphere of R^dim (normalised standard normals)."""
    x = rng.standard_normal((size, dim))
    norms = _row_norms(x)
    bad = np.flatnonzero(norms == 0)  # probability zero; redrawn rather than divided by 0
    while bad.size:
        x[bad] = rng.standard_normal((bad.size, dim))
        norms[bad] = _row_norms(x[bad])
        bad = bad[norms[bad] == 0]
    return x / norms[:, np.newaxis]


def _wood_cosines(
    kappa: float, dm1: int, size: int, rng: np.random.Generator
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cosines ``w = ⟨x, μ⟩`` of vMF draws by Wood (1994)'s rejection sampler, and ``1 - w²``.

    Wood's proposal: ``Z ~ Beta(m, m)`` with ``m = (d-1)/2``, ``w = (1 - (1+b)Z) / (1 -
    (1-b)Z)``, ``b = (d-1) / (2κ + √(4κ² + (d-1)²))``; accept when ``κ(w - x0) + (d-1)
    log((1+b) / (2D)) ≥ log U``, ``x0 = (1-b)/(1+b)``, ``D = 1 - (1-b)Z``, ``U ~ U(0, 1)``
    (the usual criterion ``κw + (d-1) log(1 - x0 w) - c ≥ log U`` rewritten without
    cancellation, with ``1 - x0 = 2b/(1+b)``; so are ``1 - w = 2bZ/D`` and
    ``1 - w² = 4bZ(1-Z)/D²``). Every round draws exactly as many proposals as are still
    missing, so no draw is wasted.
    """
    b = dm1 / (2.0 * kappa + math.hypot(2.0 * kappa, dm1))
    w = np.empty(size)
    one_minus_w2 = np.empty(size)
    filled = 0
    while filled < size:
        missing = size - filled
        z = rng.beta(dm1 / 2.0, dm1 / 2.0, size=missing)
        log_u = np.log(rng.random(missing))
        d = 1.0 - (1.0 - b) * z
        one_minus_w = 2.0 * b * z / d
        log_ratio = kappa * (2.0 * b / (1.0 + b) - one_minus_w) + dm1 * np.log(
            (1.0 + b) / (2.0 * d)
        )
        accept = log_ratio >= log_u
        count = int(accept.sum())
        w[filled : filled + count] = 1.0 - one_minus_w[accept]
        one_minus_w2[filled : filled + count] = (4.0 * b * z * (1.0 - z) / (d * d))[accept]
        filled += count
    return w, one_minus_w2


def _vmf(
    mean: NDArray[np.float64], kappa: float, size: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """Draw from vMF(mean, kappa) without validation (see :func:`von_mises_fisher`)."""
    dim = mean.shape[0]
    if size == 0:
        return np.empty((0, dim))
    if kappa == 0.0:
        return _uniform_sphere(size, dim, rng)
    if dim == 1:  # the sphere S⁰ = {-1, +1}: P(+μ) = e^κ / (e^κ + e^-κ)
        signs = np.where(rng.random(size) < expit(2.0 * kappa), 1.0, -1.0)
        return signs[:, np.newaxis] * mean
    w, one_minus_w2 = _wood_cosines(kappa, dim - 1, size, rng)
    tangent = _uniform_sphere(size, dim - 1, rng)
    # Around ±e₀, then the Householder reflection H = I - 2uuᵀ/‖u‖² that maps ±e₀ to μ,
    # with the sign chosen so that ‖u‖² = 2 + 2|μ₀| ≥ 2 (no cancellation).
    sign = -1.0 if mean[0] > 0 else 1.0
    x = np.empty((size, dim))
    x[:, 0] = sign * w
    x[:, 1:] = np.sqrt(one_minus_w2)[:, np.newaxis] * tangent
    u = mean.copy()
    u[0] -= sign
    x -= np.outer(x @ u * (2.0 / (u @ u)), u)
    x /= _row_norms(x)[:, np.newaxis]  # unit to the last bit
    return x


def von_mises_fisher(
    mean_direction: NDArray[Any], kappa: float, size: int, rng: RNGLike = None
) -> NDArray[np.float64]:
    """Draw unit vectors from the von Mises–Fisher distribution vMF(μ, κ) on S^(d-1).

    The density on the unit sphere of R^d is ``f(x) ∝ exp(κ ⟨μ, x⟩)``. The mean of a draw
    is ``A_d(κ) μ`` with ``A_d(κ) = I_{d/2}(κ) / I_{d/2-1}(κ)`` (modified Bessel functions
    of the first kind): 0 at ``κ = 0`` (uniform), toward 1 as ``κ`` grows.

    Sampling: Wood (1994), "Simulation of the von Mises Fisher distribution",
    Communications in Statistics — Simulation and Computation 23(1), vectorised: the
    cosine to μ by rejection, a uniform tangent direction, a Householder reflection onto
    μ. ``κ = 0`` draws normalised standard normals (exactly uniform). ``d = 1`` is the
    two-point distribution ``P(+μ) = e^κ / (e^κ + e^-κ)``. recgym's own sampler rather
    than ``scipy.stats.vonmises_fisher`` (scipy ≥ 1.11), so the draws of a seed do not
    depend on the scipy version; the tests check the two agree in distribution.

    Args:
        mean_direction: ``(d,)`` real numpy array, non-zero; scaled to unit length.
        kappa: Concentration, a finite float ``>= 0``. ``κ = ∞`` (every draw equal to μ)
            is rejected: use ``np.tile(mean_direction, (size, 1))``.
        size: Number of draws, an integer ``>= 0``.
        rng: Generator, seed or None (SPEC 7).

    Returns:
        numpy.ndarray: ``(size, d)`` float64, unit rows.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``mean_direction`` is zero or not finite, ``kappa`` is negative or
            not finite, or ``size`` is negative.

    Example:
        >>> import numpy as np
        >>> x = von_mises_fisher(np.array([0.0, 0.0, 1.0]), kappa=50.0, size=1000, rng=0)
        >>> x.shape, bool(np.allclose(np.linalg.norm(x, axis=1), 1.0))
        ((1000, 3), True)
        >>> round(float(x.mean(axis=0)[2]), 2)  # A_3(50) = coth(50) - 1/50 = 0.98
        0.98
    """
    mean = _check_directions(mean_direction, "mean_direction", (None,))[0]
    kappa = check_nonnegative_float(kappa, "kappa")
    size = check_nonnegative_int(size, "size")
    return _vmf(mean, kappa, size, _as_generator(rng))


# ------------------------------------------------------------------------ populations


def _check_kappas(kappa: Any, g: int) -> list[float]:
    """One concentration per group from a float or a length-``g`` list/array of floats."""
    if isinstance(kappa, (list, tuple, np.ndarray)):
        values = np.asarray(kappa).tolist() if isinstance(kappa, np.ndarray) else list(kappa)
        if np.ndim(kappa) != 1 or len(values) != g:
            raise ValueError(f"`kappa` must be a float or a list of {g} floats, got {kappa!r}")
        return [check_nonnegative_float(k, "kappa") for k in values]
    return [check_nonnegative_float(kappa, "kappa")] * g


def _grouped(
    sizes: list[int], centers: NDArray[np.float64], kappas: list[float], rng: np.random.Generator
) -> NDArray[np.float64]:
    return np.concatenate(
        [_vmf(center, k, size, rng) for size, center, k in zip(sizes, centers, kappas)]
    )


def grouped_users(
    sizes: Sequence[int] | NDArray[np.integer],
    centers: NDArray[Any] | None = None,
    kappa: float | Sequence[float] = 10.0,
    dim: int | None = None,
    rng: RNGLike = None,
) -> Users:
    """Groups of users, each a von Mises–Fisher cloud around its own centre.

    User ``i`` of group ``k`` has ``s_i ~ vMF(c_k, κ_k)`` (see :func:`von_mises_fisher`);
    groups are stored in order, so ``groups`` is ``[0]*sizes[0] + [1]*sizes[1] + …``.
    Random centres are uniform on the sphere and independent. Draws: the centres (when
    not given), then the users group by group.

    Args:
        sizes: Group sizes: a non-empty list, tuple or 1-D integer array of positive ints.
        centers: ``(g, dim)`` real array of non-zero group centres (scaled to unit
            length), ``g = len(sizes)``; None draws them uniformly on the sphere.
        kappa: Concentration of every group (float ``>= 0``), or a list of ``g`` floats.
        dim: Feature dimension; required when ``centers`` is None, else inferred from
            ``centers`` (and, when given too, must match it).
        rng: Generator, seed or None (SPEC 7).

    Returns:
        Users: ``features (n, dim)``, ``groups (n,)``, ``centers (g, dim)``, with
        ``n = sum(sizes)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a size is not positive, ``centers`` has the wrong shape or a zero
            row, ``kappa`` is negative, or ``dim`` is missing or disagrees with ``centers``.

    Example:
        >>> import numpy as np
        >>> users = grouped_users([2, 1], centers=np.eye(2), kappa=5.0, rng=1)
        >>> users.groups.tolist(), users.centers.tolist()
        ([0, 0, 1], [[1.0, 0.0], [0.0, 1.0]])
    """
    size_list = _check_sizes(sizes)
    g = len(size_list)
    given_dim = None if dim is None else check_positive_int(dim, "dim")
    if centers is None and given_dim is None:
        raise ValueError("`dim` must be given when `centers` is None, got None")
    given = None if centers is None else _check_directions(centers, "centers", (g, given_dim))
    kappas = _check_kappas(kappa, g)
    generator = _as_generator(rng)
    # given_dim is set whenever given is None (checked above).
    unit_centers = given if given is not None else _uniform_sphere(g, given_dim or 0, generator)
    dim = unit_centers.shape[1]
    features = _grouped(size_list, unit_centers, kappas, generator)
    parameters = {
        "builder": "grouped_users",
        "sizes": size_list,
        "centers": None if given is None else given.tolist(),
        "kappa": kappas if isinstance(kappa, (list, tuple, np.ndarray)) else kappas[0],
        "dim": dim,
        "rng": _rng_description(rng),
    }
    return Users(features, _labels(size_list), unit_centers, parameters)


def majority_minority(
    n_users: int,
    minority_share: float = 0.2,
    dim: int = 5,
    kappa: float = 10.0,
    separation_angle: float = math.pi / 2,
    rng: RNGLike = None,
) -> Users:
    """A majority and a minority whose tastes differ by a given angle.

    The setting of Mansoury et al. (2020), "Feedback Loop and Bias Amplification in
    Recommender Systems" (CIKM): a minority group with different taste, on which a
    feedback loop's bias amplification falls harder. Group 0 (the majority) has
    ``n_users - m`` users, group 1 (the minority) ``m = ⌊minority_share · n_users + ½⌋``,
    each a vMF(κ) cloud (:func:`grouped_users`) around its centre. The majority centre
    ``c₀`` is uniform on the sphere; the minority centre is
    ``c₁ = cos θ · c₀ + sin θ · w`` with ``w`` a uniform unit vector orthogonal to
    ``c₀``, so ``∠(c₀, c₁) = θ = separation_angle`` exactly (up to rounding).

    Args:
        n_users: Total number of users, an integer ``>= 2``.
        minority_share: Share of the minority, a float in (0, 1); ``m`` must round to
            between 1 and ``n_users - 1``.
        dim: Feature dimension, an integer ``>= 2``.
        kappa: Concentration of both groups, a finite float ``>= 0``.
        separation_angle: Angle between the centres in radians, a float in [0, π].
        rng: Generator, seed or None (SPEC 7). Draws: ``c₀``, ``w``, then the users.

    Returns:
        Users: ``groups`` is 0 (majority) then 1 (minority); ``centers`` is ``[c₀, c₁]``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.

    Example:
        >>> import numpy as np
        >>> users = majority_minority(
        ...     10, minority_share=0.3, dim=3, separation_angle=np.pi / 3, rng=0
        ... )
        >>> users.group_sizes.tolist()
        [7, 3]
        >>> round(float(np.degrees(np.arccos(users.centers[0] @ users.centers[1]))), 6)
        60.0
    """
    n_users = check_positive_int(n_users, "n_users")
    share = check_float_in_range(
        minority_share, "minority_share", 0.0, 1.0, include_low=False, include_high=False
    )
    dim = _check_dim(dim, 2)
    kappa = check_nonnegative_float(kappa, "kappa")
    theta = check_float_in_range(separation_angle, "separation_angle", 0.0, math.pi)
    n_minority = math.floor(share * n_users + 0.5)
    if not 1 <= n_minority <= n_users - 1:
        raise ValueError(
            f"`minority_share` * `n_users` must round to a group size in [1, n_users - 1], "
            f"got {share!r} * {n_users} = {share * n_users!r}"
        )
    generator = _as_generator(rng)
    c0 = _uniform_sphere(1, dim, generator)[0]
    w = _uniform_sphere(1, dim, generator)[0]
    w -= (w @ c0) * c0
    while not np.linalg.norm(w) > 1e-8:  # w ∥ c₀: probability zero; redraw
        w = _uniform_sphere(1, dim, generator)[0]
        w -= (w @ c0) * c0
    w /= np.linalg.norm(w)
    c1 = math.cos(theta) * c0 + math.sin(theta) * w
    c1 /= np.linalg.norm(c1)
    centers = np.stack([c0, c1])
    sizes = [n_users - n_minority, n_minority]
    features = _grouped(sizes, centers, [kappa, kappa], generator)
    parameters = {
        "builder": "majority_minority",
        "n_users": n_users,
        "minority_share": share,
        "dim": dim,
        "kappa": kappa,
        "separation_angle": theta,
        "rng": _rng_description(rng),
    }
    return Users(features, _labels(sizes), centers, parameters)


def leaning_users(
    n_users: int, dim: int = 5, n_classes: int = 2, leaning: float = 0.1, rng: RNGLike = None
) -> Users:
    """Users uniform on the sphere, each pushed slightly toward one class axis.

    The initial condition of Kalimeris et al. (2021), "Preference Amplification in
    Recommender Systems" (KDD): users start with only a slight leaning, which the
    feedback loop may amplify. User ``i`` of class ``c`` has

        ``s_i = normalise(u_i + λ e_c)``,  ``u_i`` uniform on S^(d-1), ``λ = leaning``,

    where ``e_c`` is the ``c``-th coordinate axis. Classes are balanced contiguous blocks
    (the first ``n_users % n_classes`` one user larger). ``E⟨s_i, e_k⟩ = 0`` for every
    axis ``k ≠ c`` and ``E⟨s_i, e_c⟩ = E[(t + λ) / √(1 + 2λt + λ²)]`` with
    ``t = ⟨u, e_c⟩`` of density ``∝ (1 - t²)^((d-3)/2)`` on [-1, 1] — about ``λ(d-1)/d``
    for small ``λ``. (If ``u_i = -λ e_c`` exactly, an event of probability zero for
    ``d >= 2``, ``s_i = e_c``.)

    Args:
        n_users: Number of users, an integer ``>= 1``.
        dim: Feature dimension, an integer ``>= n_classes``.
        n_classes: Number of classes (axes ``e_0 … e_{n_classes-1}``), an integer ``>= 1``.
        leaning: ``λ``, a finite float ``>= 0``; 0 gives uniform users.
        rng: Generator, seed or None (SPEC 7). Draws: the ``u_i`` only.

    Returns:
        Users: ``groups`` holds each user's class; ``centers`` the class axes
        ``(n_classes, dim)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.

    Example:
        >>> users = leaning_users(5, dim=3, n_classes=2, leaning=0.5, rng=0)
        >>> users.groups.tolist(), users.centers.tolist()
        ([0, 0, 0, 1, 1], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    """
    n_users = check_positive_int(n_users, "n_users")
    n_classes = check_positive_int(n_classes, "n_classes")
    dim = _check_dim(dim, n_classes)
    leaning = check_nonnegative_float(leaning, "leaning")
    generator = _as_generator(rng)
    sizes = _balanced_sizes(n_users, n_classes)
    groups = _labels(sizes)
    features = _uniform_sphere(n_users, dim, generator)
    features[np.arange(n_users), groups] += leaning
    norms = _row_norms(features)
    zero = norms == 0
    norms[zero] = 1.0
    features /= norms[:, np.newaxis]
    features[np.flatnonzero(zero), groups[zero]] = 1.0
    parameters = {
        "builder": "leaning_users",
        "n_users": n_users,
        "dim": dim,
        "n_classes": n_classes,
        "leaning": leaning,
        "rng": _rng_description(rng),
    }
    return Users(features, groups, np.eye(n_classes, dim), parameters)


# ------------------------------------------------------------------------- catalogues


def item_classes(
    n_items: int,
    n_classes: int,
    dim: int,
    kappa: float = 10.0,
    rng: RNGLike = None,
    axes: bool = True,
) -> Catalogue:
    """Item classes, each a von Mises–Fisher cloud around a class centre.

    Item ``j`` of class ``k`` has ``v_j ~ vMF(c_k, κ)``. With ``axes=True`` the centre of
    class ``k`` is the coordinate axis ``e_k`` (topics as axes, as in the ±eᵢ catalogues
    of Dean & Morgenstern 2022 and the topic models of RecSim/T-RECS); with
    ``axes=False`` the centres are uniform on the sphere. Classes are balanced contiguous
    blocks (the first ``n_items % n_classes`` one item larger).

    Args:
        n_items: Number of items, an integer ``>= n_classes``.
        n_classes: Number of classes, an integer ``>= 1`` (``<= dim`` when ``axes``).
        dim: Feature dimension, an integer ``>= 1``.
        kappa: Concentration of every class, a finite float ``>= 0``.
        rng: Generator, seed or None (SPEC 7). Draws: the centres (``axes=False``),
            then the items class by class.
        axes: Centre the classes on the coordinate axes (True) or at random (False).

    Returns:
        Catalogue: ``features (n_items, dim)``, ``groups (n_items,)``,
        ``centers (n_classes, dim)``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range.

    Example:
        >>> import numpy as np
        >>> items = item_classes(6, n_classes=3, dim=3, kappa=1e6, rng=0)
        >>> items.groups.tolist()
        [0, 0, 1, 1, 2, 2]
        >>> bool(np.allclose(items.features, items.centers[items.groups], atol=0.01))
        True
    """
    n_classes = check_positive_int(n_classes, "n_classes")
    n_items = check_positive_int(n_items, "n_items")
    if n_items < n_classes:
        raise ValueError(f"`n_items` must be at least `n_classes` = {n_classes}, got {n_items}")
    axes = check_bool(axes, "axes")
    dim = _check_dim(dim, n_classes if axes else 1)
    kappa = check_nonnegative_float(kappa, "kappa")
    generator = _as_generator(rng)
    centers = np.eye(n_classes, dim) if axes else _uniform_sphere(n_classes, dim, generator)
    sizes = _balanced_sizes(n_items, n_classes)
    features = _grouped(sizes, centers, [kappa] * n_classes, generator)
    parameters = {
        "builder": "item_classes",
        "n_items": n_items,
        "n_classes": n_classes,
        "dim": dim,
        "kappa": kappa,
        "rng": _rng_description(rng),
        "axes": axes,
    }
    return Catalogue(features, _labels(sizes), centers, parameters)


def balanced_catalogue(dim: int, per_direction: int = 1) -> Catalogue:
    """The ±eᵢ catalogue: every signed coordinate axis, ``per_direction`` times.

    The balanced item set of Dean & Morgenstern (2022), "Preference Dynamics Under
    Personalized Recommendations" (EC): no direction is favoured, so a population's drift
    comes from the policy alone. Class ``k = 2i`` is ``+e_i`` and class ``k = 2i + 1`` is
    ``-e_i`` (``axis = k // 2``, ``sign = 1 - 2 (k % 2)``); items are in class order,
    each class ``per_direction`` consecutive identical rows. Deterministic (no ``rng``).

    Args:
        dim: Feature dimension, an integer ``>= 1``.
        per_direction: Copies of each signed axis, an integer ``>= 1``.

    Returns:
        Catalogue: ``features (2·dim·per_direction, dim)`` with entries in {-1, 0, 1},
        ``groups`` the class ``k`` of each item, ``centers (2·dim, dim)``.

    Raises:
        TypeError: If an argument is not an integer.
        ValueError: If an argument is below 1.

    Example:
        >>> balanced_catalogue(2).features.tolist()
        [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
    """
    dim = check_positive_int(dim, "dim")
    per_direction = check_positive_int(per_direction, "per_direction")
    centers = np.zeros((2 * dim, dim))
    axis = np.arange(dim)
    centers[2 * axis, axis] = 1.0
    centers[2 * axis + 1, axis] = -1.0  # only the -1 entries: no -0.0 elsewhere
    sizes = [per_direction] * (2 * dim)
    parameters = {"builder": "balanced_catalogue", "dim": dim, "per_direction": per_direction}
    return Catalogue(np.repeat(centers, per_direction, axis=0), _labels(sizes), centers, parameters)


# ----------------------------------------------------------------------- social graphs


def _symmetric(rows: NDArray[np.integer], cols: NDArray[np.integer], n: int) -> sp.csr_array:
    """The symmetric 0/1 float64 CSR adjacency of the undirected edges ``(rows, cols)``.

    The edges must be distinct, without self loops, each listed once (in either order).
    """
    index = np.dtype(np.int32 if n <= np.iinfo(np.int32).max else np.int64)
    r: NDArray[np.integer[Any]] = np.concatenate([rows, cols], dtype=index, casting="same_kind")
    c: NDArray[np.integer[Any]] = np.concatenate([cols, rows], dtype=index, casting="same_kind")
    adjacency = sp.coo_array((np.ones(r.size), (r, c)), shape=(n, n)).tocsr()
    adjacency.sum_duplicates()  # no duplicates: sorts the column indices, canonical format
    return adjacency


def _isin_sorted(values: NDArray[np.int64], sorted_keys: NDArray[np.int64]) -> NDArray[np.bool_]:
    if sorted_keys.size == 0:
        return np.zeros(values.shape, dtype=bool)
    position = np.minimum(np.searchsorted(sorted_keys, values), sorted_keys.size - 1)
    return sorted_keys[position] == values


def _sorted_unique(values: NDArray[np.int64]) -> NDArray[np.int64]:
    # np.unique is far slower than sort + mask on large int64 arrays in numpy 2.4.
    values = np.sort(values)
    keep = np.ones(values.shape, dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def _distinct_keys(
    sizes: NDArray[np.int64], counts: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.int64]:
    """For every range ``r``, ``counts[r]`` distinct integers uniform in ``[0, sizes[r])``.

    Returned as sorted keys ``offsets[r] + value`` in the concatenated key space
    (``offsets`` = exclusive cumulative sum of ``sizes``). Per range, the smaller of the
    chosen set and its complement is drawn: uniform draws with replacement, duplicates
    dropped, only the missing number redrawn — the first ``t`` distinct values of an
    i.i.d. uniform sequence, which form a uniform ``t``-subset. A complemented range is
    enumerated (its size is at most twice its count). Time and memory
    O(R + Σ counts) expected.
    """
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    complement = counts > sizes // 2
    target = np.where(complement, sizes - counts, counts)
    missing = target.copy()
    chunks: list[NDArray[np.int64]] = []
    ranges = np.arange(sizes.size)
    while missing.any():
        if sizes.size == 1:
            draws = offsets[0] + rng.integers(0, sizes[0], size=int(missing[0]))
        else:
            owner = np.repeat(ranges, missing)
            draws = offsets[owner] + rng.integers(0, sizes[owner])
        draws = _sorted_unique(draws)
        for chunk in chunks:
            draws = draws[~_isin_sorted(draws, chunk)]
        chunks.append(draws)
        if sizes.size == 1:
            missing[0] -= draws.size
        else:
            owners = np.searchsorted(offsets, draws, side="right") - 1
            missing -= np.bincount(owners, minlength=sizes.size)
    if len(chunks) == 1:
        drawn = chunks[0]
    else:
        drawn = np.sort(np.concatenate(chunks)) if chunks else np.empty(0, dtype=np.int64)
    if not complement.any():
        return drawn
    full = np.flatnonzero(complement)
    lengths = sizes[full]
    starts = np.repeat(offsets[full] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    enumerated = starts + np.arange(int(lengths.sum()), dtype=np.int64)
    kept = enumerated[~_isin_sorted(enumerated, drawn)]
    chosen = drawn[~complement[np.searchsorted(offsets, drawn, side="right") - 1]]
    return np.sort(np.concatenate([chosen, kept]))


def _triangle_pair(k: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The pair ``(i, j)``, ``i > j >= 0``, of index ``k = i(i-1)/2 + j`` (row-major)."""
    i = np.floor((1.0 + np.sqrt(1.0 + 8.0 * k.astype(np.float64))) / 2.0).astype(np.int64)
    j = k - i * (i - 1) // 2
    wrong = np.flatnonzero((j < 0) | (j >= i))  # float rounding (none below n ≈ 10⁷)
    while wrong.size:
        i[wrong] += np.where(j[wrong] < 0, -1, 1)
        j[wrong] = k[wrong] - i[wrong] * (i[wrong] - 1) // 2
        wrong = wrong[(j[wrong] < 0) | (j[wrong] >= i[wrong])]
    return i, j


def _n_pairs(n: int) -> int:
    return n * (n - 1) // 2


def erdos_renyi(n: int, mean_degree: float, rng: RNGLike = None) -> sp.csr_array:
    """The Erdős–Rényi random graph G(n, p), ``p = mean_degree / (n - 1)``.

    Every one of the ``N = n(n-1)/2`` node pairs is an edge independently with
    probability ``p`` (Gilbert 1959; Erdős & Rényi 1959), so degrees are
    Binomial(n - 1, p) with mean ``mean_degree``. Sampled in O(n + edges) time and
    memory, never touching all pairs: the number of edges ``M ~ Binomial(N, p)``, then a
    uniform set of ``M`` distinct pair indices (drawn with replacement, duplicates
    redrawn; the complement when ``M > N/2``), each decoded to a pair by the row-major
    triangular index. (The same law as Batagelj & Brandes (2005)'s geometric skipping.)

    Args:
        n: Number of nodes, an integer ``>= 1``.
        mean_degree: Expected degree, a float in ``[0, n - 1]``.
        rng: Generator, seed or None (SPEC 7).

    Returns:
        scipy.sparse.csr_array: ``(n, n)`` float64 symmetric 0/1 adjacency, no self loops.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``n < 1`` or ``mean_degree`` is outside ``[0, n - 1]``.

    Example:
        >>> graph = erdos_renyi(1000, mean_degree=10.0, rng=0)
        >>> graph.shape, round(graph.nnz / 1000, 1)
        ((1000, 1000), 10.2)
    """
    n = check_positive_int(n, "n")
    mean_degree = check_float_in_range(mean_degree, "mean_degree", 0.0, n - 1)
    generator = _as_generator(rng)
    if n == 1 or mean_degree == 0:
        return sp.csr_array((n, n), dtype=np.float64)
    p = min(mean_degree / (n - 1), 1.0)
    n_pairs = _n_pairs(n)
    count = generator.binomial(n_pairs, p)
    keys = _distinct_keys(np.array([n_pairs]), np.array([count], dtype=np.int64), generator)
    i, j = _triangle_pair(keys)
    return _symmetric(i, j, n)


def _check_groups(groups: Any) -> tuple[NDArray[np.int64], list[int]]:
    """Per-node labels and block sizes from block sizes (list/tuple) or labels (array)."""
    if not isinstance(groups, np.ndarray):
        if not isinstance(groups, (list, tuple)):
            raise TypeError(
                "`groups` must be a list or tuple of block sizes or a 1-D integer numpy "
                f"array of labels, got {type(groups).__name__}"
            )
        sizes = _check_sizes(groups, "groups")
        return _labels(sizes), sizes
    if groups.ndim != 1 or groups.dtype == np.bool_ or not np.issubdtype(groups.dtype, np.integer):
        raise TypeError(
            f"`groups` must be a 1-D integer array of labels, got dtype {groups.dtype} and "
            f"shape {groups.shape}"
        )
    if groups.size == 0:
        raise ValueError("`groups` must label at least one node, got an empty array")
    if groups.min() < 0:
        raise ValueError(f"`groups` must hold labels >= 0, got {int(groups.min())}")
    counts = np.bincount(groups)
    if not counts.all():
        missing = int(np.flatnonzero(counts == 0)[0])
        raise ValueError(
            f"`groups` must use every label 0..{counts.size - 1} (labels, one per node; pass "
            f"block sizes as a list or tuple), got no node with label {missing}"
        )
    return groups.astype(np.int64, copy=False), counts.tolist()


def stochastic_block_model(
    groups: Sequence[int] | NDArray[np.integer],
    p_in: float,
    p_out: float,
    rng: RNGLike = None,
) -> sp.csr_array:
    """A stochastic block model: communities denser inside than between.

    Holland, Laskey & Leinhardt (1983), "Stochastic blockmodels: First steps", Social
    Networks 5(2). Each pair of nodes is an edge independently, with probability
    ``p_in`` if both are in the same block and ``p_out`` otherwise. Per block pair
    ``(a, b)``, ``a <= b``: the edge count ``M_ab ~ Binomial(N_ab, p)`` with
    ``N_aa = s_a(s_a-1)/2`` and ``N_ab = s_a s_b``, then ``M_ab`` distinct pairs uniformly
    (as :func:`erdos_renyi`): O(n + g² + edges) time and memory for ``g`` blocks.

    Args:
        groups: Either a list or tuple of block sizes (blocks are contiguous: nodes
            ``0 .. s_0-1`` form block 0, and so on, as in :func:`grouped_users`), or a
            1-D integer numpy array of per-node labels using every label ``0 .. g-1``
            (e.g. ``Users.groups``; any order).
        p_in: Edge probability inside a block, a float in [0, 1].
        p_out: Edge probability between blocks, a float in [0, 1].
        rng: Generator, seed or None (SPEC 7).

    Returns:
        scipy.sparse.csr_array: ``(n, n)`` float64 symmetric 0/1 adjacency, no self loops.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If a size is not positive, a label is missing or negative, or a
            probability is outside [0, 1].

    Example:
        >>> graph = stochastic_block_model([2, 3], p_in=1.0, p_out=0.0, rng=0)
        >>> graph.sum(axis=1).tolist()
        [1.0, 1.0, 2.0, 2.0, 2.0]
    """
    labels, sizes = _check_groups(groups)
    p_in = check_probability(p_in, "p_in")
    p_out = check_probability(p_out, "p_out")
    generator = _as_generator(rng)
    n, g = labels.size, len(sizes)
    s = np.array(sizes, dtype=np.int64)
    # Ranges of pair indices: the g blocks first (triangular), then the block pairs a < b
    # (rectangular, s_a × s_b), so that sorted keys list every within-block edge first.
    a_out, b_out = np.triu_indices(g, k=1)
    a = np.concatenate([np.arange(g), a_out])
    b = np.concatenate([np.arange(g), b_out])
    pairs = np.concatenate([s * (s - 1) // 2, s[a_out] * s[b_out]])
    probability = np.repeat([p_in, p_out], [g, a_out.size])
    live = (pairs > 0) & (probability > 0)
    a, b, pairs, probability = a[live], b[live], pairs[live], probability[live]
    counts = generator.binomial(pairs, probability) if pairs.size else pairs
    keys = _distinct_keys(pairs, counts, generator)
    offsets = np.concatenate([[0], np.cumsum(pairs)[:-1]])
    owner = np.repeat(np.arange(pairs.size), counts)  # keys are sorted, so grouped by range
    local = keys - offsets[owner]
    n_within = int(counts[a == b].sum())
    block_a, block_b = a[owner], b[owner]
    i, j = _triangle_pair(local[:n_within])
    x, y = np.divmod(local[n_within:], s[block_b[n_within:]])
    starts = np.concatenate([[0], np.cumsum(s)[:-1]])
    rows = starts[block_a] + np.concatenate([i, x])
    cols = starts[block_b] + np.concatenate([j, y])
    if not np.all(labels[1:] >= labels[:-1]):  # labels in any order: block rank -> node
        members = np.argsort(labels, kind="stable")
        rows, cols = members[rows], members[cols]
    return _symmetric(rows, cols, n)


def barabasi_albert(n: int, m: int, rng: RNGLike = None) -> sp.csr_array:
    """A Barabási–Albert preferential-attachment graph.

    Barabási & Albert (1999), "Emergence of scaling in random networks", Science 286.
    The law of ``networkx.barabasi_albert_graph(n, m)``: start from a star on ``m + 1``
    nodes (node 0 joined to nodes ``1 .. m``); each new node ``v = m+1 … n-1`` joins ``m``
    distinct earlier nodes, drawn i.i.d. with probability proportional to their current
    degree (uniformly from the list of edge endpoints, the "repeated nodes" list) until
    ``m`` distinct nodes are found. So ``m (n - m)`` edges, every new node of degree ``>= m``,
    and a power-law tail ``P(k) ~ k⁻³``.

    Vectorised in O(n·m) expected time (Batagelj & Brandes 2005's endpoint-list trick):
    each new edge's first draw is an index into the endpoint list before its node,
    resolved for all edges at once by pointer jumping (an index points either to a
    known source node or to an earlier edge's target); only the rare nodes whose draws
    repeat a node are fixed up in order in Python, with their later-occurring repeats
    redrawn and the new targets propagated to the edges that copied them.

    Args:
        n: Number of nodes, an integer ``>= m + 1``.
        m: Edges per new node, an integer ``>= 1``.
        rng: Generator, seed or None (SPEC 7).

    Returns:
        scipy.sparse.csr_array: ``(n, n)`` float64 symmetric 0/1 adjacency, no self loops.

    Raises:
        TypeError: If an argument is not an integer.
        ValueError: If ``m < 1`` or ``n < m + 1``.

    Example:
        >>> graph = barabasi_albert(100, 2, rng=0)
        >>> graph.nnz // 2, int(graph.sum(axis=1).min())
        (196, 2)
    """
    m = check_positive_int(m, "m")
    n = check_positive_int(n, "n")
    if n < m + 1:
        raise ValueError(f"`n` must be at least `m` + 1 = {m + 1}, got {n}")
    generator = _as_generator(rng)
    targets = _attach(n, m, generator)
    edges = np.arange(targets.size, dtype=np.int64)
    return _symmetric(_edge_source(edges, m), targets, n)


def _edge_source(edges: NDArray[np.integer[Any]], m: int) -> NDArray[np.integer[Any]]:
    """The source node of each edge: 0 for the star's edges, else the new node."""
    return np.where(edges < m, 0, m + 1 + (edges - m) // m)


def _attach(n: int, m: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Targets of the ``m (n - m)`` edges of :func:`barabasi_albert`, edge by edge.

    Edge ``e < m`` is the star's ``(0, e + 1)``; edge ``e >= m`` belongs to node
    ``v = m + 1 + (e - m) // m``, which draws from the endpoint list of the
    ``E_v = m (v - m)`` edges before it: position ``2h`` is the source of edge ``h``,
    ``2h + 1`` its target.
    """
    n_edges = m * (n - m)
    # int32 halves the memory traffic of the random gathers below (ids fit below 2³¹).
    small = np.dtype(np.int32 if 2 * n_edges < np.iinfo(np.int32).max else np.int64)
    targets = np.full(n_edges, -1, dtype=small)
    targets[:m] = np.arange(1, m + 1)
    new = np.arange(m, n_edges, dtype=np.int64)
    node = m + 1 + (new - m) // m
    draws = rng.integers(0, 2 * m * (node - m))  # uniform positions in the endpoint list
    half = (draws >> 1).astype(small)
    odd = (draws & 1).astype(bool)
    del new, node, draws
    targets[m:] = np.where(odd, -1, _edge_source(half, m))
    # Pointer jumping: edge e copies the target of edge parent[e] < e (odd positions).
    parent = np.full(n_edges, -1, dtype=small)
    parent[m:] = np.where(odd, half, -1)
    initial_parent = parent.copy()
    active = np.flatnonzero(parent >= 0).astype(small)
    while active.size:
        up = parent[active]
        up_parent, up_target = parent[up], targets[up]
        done = up_parent < 0
        targets[active[done]] = up_target[done]
        parent[active[done]] = -1
        parent[active[~done]] = up_parent[~done]
        active = active[~done]
    if m > 1:
        _fix_repeats(targets, initial_parent, n, m, rng)
    return targets.astype(np.int64, copy=False)


def _fix_repeats(
    targets: NDArray[np.integer[Any]],
    parent: NDArray[np.integer[Any]],
    n: int,
    m: int,
    rng: np.random.Generator,
) -> None:
    """Make every new node's ``m`` targets distinct, exactly as a sequential sampler would.

    Nodes are fixed in increasing order (a min-heap of nodes with a repeat). When node
    ``v`` is reached, every earlier node is final, so its draws mean what they would in
    the sequential process. Its slots are scanned in order; a slot repeating an earlier
    slot's node is redrawn (uniformly from the endpoint list before ``v``, whose entries
    are all final) until it is new. Together: the first ``m`` distinct nodes of an
    i.i.d. sequence, as networkx's ``_random_subset``. Each redrawn target is copied to
    the later edges that copied it (a forest, through ``parent``), and their nodes are
    rechecked. Repeats are rare past the first nodes, so this loop is short.
    """
    rows = targets[m:].reshape(n - m - 1, m)
    ordered = np.sort(rows, axis=1)
    pending = (np.flatnonzero((ordered[:, 1:] == ordered[:, :-1]).any(axis=1)) + m + 1).tolist()
    if not pending:
        return
    # The edges that copied each edge: a CSR "children" index (a counting sort in C++).
    kids = np.flatnonzero(parent >= 0)
    index = sp.coo_array(
        (np.ones(kids.size, dtype=np.int8), (parent[kids], kids)), shape=(targets.size,) * 2
    ).tocsr()
    copies, first_copy = index.indices, index.indptr
    heapq.heapify(pending)
    done = -1
    while pending:
        v = heapq.heappop(pending)
        if v == done:
            continue
        done = v
        base = m * (v - m)
        values = targets[base : base + m].tolist()
        if len(set(values)) == m:
            continue
        positions = 2 * base
        kept: list[int] = []
        changed: list[int] = []
        for slot, value in enumerate(values):
            while value in kept:
                draw = int(rng.integers(positions))
                h = draw >> 1
                value = int(targets[h]) if draw & 1 else (0 if h < m else m + 1 + (h - m) // m)
                if value not in kept:
                    targets[base + slot] = value
                    changed.append(base + slot)
            kept.append(value)
        touched: set[int] = set()
        stack = changed
        while stack:
            edge = stack.pop()
            children = copies[first_copy[edge] : first_copy[edge + 1]]
            if children.size:
                targets[children] = targets[edge]
                stack.extend(children.tolist())
                touched.update((m + 1 + (children - m) // m).tolist())
        for w in touched:
            start = m * (w - m)
            if len(set(targets[start : start + m].tolist())) < m:
                heapq.heappush(pending, w)


def _canonical(graph: Any, name: str) -> sp.csr_array:
    """A float64 canonical CSR copy of a scipy.sparse matrix/array or networkx graph."""
    if sp.issparse(graph):
        matrix: Any = graph  # any scipy.sparse format (the stubs type formats separately)
        if matrix.dtype.kind not in "biuf":
            raise TypeError(f"`{name}` must hold real weights, got dtype {matrix.dtype}")
        if matrix.ndim != 2:
            raise ValueError(f"`{name}` must be 2-D, got shape {matrix.shape}")
        adjacency = sp.csr_array(matrix, dtype=np.float64, copy=True)
    else:
        nx = sys.modules.get("networkx")  # a networkx graph exists only if networkx is loaded
        if nx is None or not isinstance(graph, nx.Graph):
            raise TypeError(
                f"`{name}` must be a scipy.sparse array or matrix or a networkx graph, got "
                f"{type(graph).__name__}"
            )
        n = graph.number_of_nodes()
        if set(graph.nodes) != set(range(n)):
            odd = next(node for node in graph.nodes if node not in range(n))
            raise ValueError(
                f"`{name}` must have the nodes 0 .. {n - 1} (one per user), got node {odd!r}"
            )
        adjacency = (
            sp.csr_array(nx.to_scipy_sparse_array(graph, nodelist=list(range(n)), dtype=np.float64))
            if n
            else sp.csr_array((0, 0), dtype=np.float64)
        )
    adjacency.sum_duplicates()
    bad = ~np.isfinite(adjacency.data) | (adjacency.data < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        row = int(np.searchsorted(adjacency.indptr, k, side="right") - 1)
        raise ValueError(
            f"`{name}` must hold non-negative finite weights, got {float(adjacency.data[k])!r} at "
            f"({row}, {int(adjacency.indices[k])})"
        )
    adjacency.eliminate_zeros()
    return adjacency


def as_adjacency(graph: Any, n_users: int, name: str = "graph") -> sp.csr_array:
    """Check a social graph and return it as a canonical float64 ``csr_array``.

    Entry ``(i, j)`` is the weight of the edge from user ``i`` to user ``j`` (networkx's
    convention). A directed input stays directed (no symmetrisation); an undirected
    networkx graph gives a symmetric matrix. Duplicate entries are summed, explicit
    zeros dropped, column indices sorted; the result is always a new array.

    Args:
        graph: A scipy.sparse array or matrix (any format), or a networkx ``Graph``,
            ``DiGraph`` or multigraph whose nodes are exactly ``0 .. n_users - 1`` (node
            ``k`` is user ``k``; the ``"weight"`` edge attribute, default 1; parallel
            edges summed). networkx is optional and never imported by recgym: a graph
            object can only exist if the caller imported it.
        n_users: Number of users, an integer ``>= 1``; the shape must be
            ``(n_users, n_users)``.
        name: The argument's name in error messages (``"graph"``).

    Returns:
        scipy.sparse.csr_array: ``(n_users, n_users)`` float64, non-negative finite
        weights, no self loops.

    Raises:
        TypeError: If ``graph`` is neither (a dense numpy array is rejected: wrap it in
            ``scipy.sparse.csr_array``) or ``n_users`` is not an integer.
        ValueError: If the shape differs, a weight is negative, NaN or infinite, a
            networkx node is not in ``0 .. n - 1``, or there are self loops (they are
            **rejected**, not dropped: a self weight changes an influence model's
            meaning; remove them with ``graph.setdiag(0)`` or
            ``networkx.selfloop_edges``).

    Example:
        >>> import scipy.sparse as sp
        >>> a = as_adjacency(sp.coo_array(([2, 1], ([0, 1], [1, 2])), shape=(3, 3)), 3)
        >>> a.toarray()
        array([[0., 2., 0.],
               [0., 0., 1.],
               [0., 0., 0.]])
    """
    n_users = check_positive_int(n_users, "n_users")
    adjacency = _canonical(graph, name)
    if adjacency.shape != (n_users, n_users):
        raise ValueError(
            f"`{name}` must have shape ({n_users}, {n_users}) for `n_users` = {n_users}, "
            f"got {adjacency.shape}"
        )
    loops = np.flatnonzero(adjacency.diagonal())
    if loops.size:
        raise ValueError(
            f"`{name}` must have no self loops, got {loops.size} (the first at node "
            f"{int(loops[0])})"
        )
    return adjacency


def row_normalize(adjacency: Any) -> sp.csr_array:
    """Scale every row of a non-negative adjacency matrix to sum to 1.

    ``W[i, j] = A[i, j] / Σ_k A[i, k]``: row ``i`` becomes a probability distribution over
    ``i``'s neighbours (the averaging matrix of DeGroot-style influence). A row with no
    edges (an isolated node, or a node with no out-edges) stays all zero: its sum is 0,
    not 1, and ``W @ x`` gives 0 there. The sparsity pattern is kept.

    Args:
        adjacency: Square scipy.sparse array or matrix (any format) of non-negative
            finite weights (self loops allowed), e.g. from :func:`as_adjacency`.

    Returns:
        scipy.sparse.csr_array: float64, same shape, rows summing to 1 or all zero.

    Raises:
        TypeError: If ``adjacency`` is not a scipy.sparse array or matrix.
        ValueError: If it is not square, or holds a negative, NaN or infinite weight.

    Example:
        >>> import scipy.sparse as sp
        >>> a = sp.csr_array([[0.0, 1.0, 3.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        >>> row_normalize(a).toarray()
        array([[0.  , 0.25, 0.75],
               [1.  , 0.  , 0.  ],
               [0.  , 0.  , 0.  ]])
    """
    if not sp.issparse(adjacency):
        raise TypeError(
            f"`adjacency` must be a scipy.sparse array or matrix, got {type(adjacency).__name__}"
        )
    normalized = _canonical(adjacency, "adjacency")
    if normalized.shape[0] != normalized.shape[1]:
        raise ValueError(f"`adjacency` must be square, got shape {normalized.shape}")
    rows = np.repeat(np.arange(normalized.shape[0]), np.diff(normalized.indptr))
    sums = np.bincount(rows, weights=normalized.data, minlength=normalized.shape[0])
    normalized.data /= sums[rows]  # every stored entry is > 0, so its row sum is too
    return normalized


def per_group(values: Any, groups: Any, name: str = "values") -> NDArray[np.float64]:
    """One value per user from one value per group: ``values[groups[i]]``.

    For per-group model parameters, e.g. ``UserModel(alpha=per_group([0.5, 2.0],
    users.groups))`` or ``MultinomialLogit(temperature=per_group({0: 1.0, 1: 0.2},
    groups))``.

    Args:
        values: A sequence indexed by the labels ``0 .. g − 1``, or a mapping label → value.
        groups: Integer labels, shape ``(n_users,)`` (e.g. :attr:`Users.groups`).
        name: The argument's name in error messages.

    Returns:
        numpy.ndarray: float64 ``(n_users,)``, read-only.

    Raises:
        TypeError: If ``groups`` is not an integer array or a value is not a number.
        ValueError: If a label has no value.

    Example:
        >>> per_group([0.5, 2.0], np.array([0, 1, 1])).tolist()
        [0.5, 2.0, 2.0]
    """
    if not isinstance(groups, np.ndarray) or not np.issubdtype(groups.dtype, np.integer):
        raise TypeError(f"`groups` must be an integer numpy array, got {type(groups).__name__}")
    labels = np.unique(groups)
    table = dict(values) if isinstance(values, Mapping) else dict(enumerate(values))
    missing = [int(label) for label in labels if int(label) not in table]
    if missing:
        raise ValueError(f"`{name}` has no value for group {missing[0]}")
    lookup = np.zeros(int(labels.max()) + 1 if labels.size else 0, dtype=np.float64)
    for label in labels.tolist():
        value = table[label]
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"`{name}` must hold numbers, got {value!r} for group {label}")
        lookup[label] = float(value)
    result = lookup[groups]
    result.flags.writeable = False
    return result
