"""Choice models: which item of a shown slate each user consumes, or none.

The first stage of the response pipeline (see ``DESIGN.md``). Per step, for all users at
once, the caller shows a slate of ``k`` items to each of ``n`` users and computes the
utilities ``u[i, j] = ⟨s_i, v_{slate[i, j]}⟩`` (plus optional terms), a float array of shape
``(n, k)``. A choice model turns them into

* exact probabilities, :meth:`ChoiceModel.probabilities`: float64 ``(n, k + 1)``, column
  ``j < k`` for slate position ``j`` and column ``k`` for "no choice";
* one sampled choice per user, :meth:`ChoiceModel.choose`: int64 ``(n,)``, a position in
  ``[0, k)`` or ``-1`` for none, drawn from the caller's seeded generator.

Conventions shared by every model:

* ``available`` (optional bool ``(n, k)``): an unavailable position (an item the user has
  already consumed, a padding slot …) gets probability exactly 0 and is never chosen. A
  user with nothing available (and no other outcome) chooses none.
* Every numeric parameter may be a Python float or a float array of shape ``(n_users,)``
  over the user pool; rows then take ``param[user_ids]``, so ``user_ids`` (int ``(n,)``,
  the pool ids of the rows) is required. :meth:`ChoiceModel.check` validates the
  parameters against the slate size and the pool once, when an environment is built.
* Sampling is exact inverse-CDF sampling from the very numbers :meth:`probabilities`
  returns, with one uniform per user (``rng.random(n)``); models with ``draws = False``
  (:class:`Consume`) draw nothing.

Models (names as in :data:`CHOICE_MODELS`, built by :func:`make_choice_model`):

============  =========================  ==================================================
name          class                      choice rule
============  =========================  ==================================================
``consume``   :class:`Consume`           position 0 (the behaviour of a one-item slate)
``mnl``       :class:`MultinomialLogit`  conditional logit with a null item (RecSim)
``cascade``   :class:`Cascade`           top-down scan, first attractive item (Craswell)
``pbm``       :class:`PositionBased`     position-based click model, topmost click
============  =========================  ==================================================

The arrays are computed position-major (one contiguous row of ``n`` values per slate
position), so every pass over the data is a contiguous, vectorised numpy operation; loops
run over the ``k`` positions only, never over users.

This module is pure numpy and scipy; it knows nothing of Gymnasium or PettingZoo.

Example:
    >>> import numpy as np
    >>> from recgym.choice import make_choice_model
    >>> model = make_choice_model("mnl")
    >>> utilities = np.array([[0.0, np.log(2.0)]])
    >>> model.probabilities(utilities)
    array([[0.25, 0.5 , 0.25]])
    >>> model.choose(utilities, np.random.default_rng(0)).shape
    (1,)
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeAlias

import numpy as np
from numpy.typing import NDArray

from recgym._validation import (
    check_float_vector,
    check_generator,
    check_parameter,
    check_positive_int,
)

__all__ = [
    "CHOICE_MODELS",
    "Cascade",
    "ChoiceModel",
    "Consume",
    "MultinomialLogit",
    "PositionBased",
    "make_choice_model",
]

#: A model parameter: one float for every user, or a float64 array ``(n_users,)``.
Parameter: TypeAlias = "float | NDArray[np.float64]"

_Accept = Callable[[Any], Any]


# --------------------------------------------------------------------------- validation


def _positive_finite(x: Any) -> Any:
    return np.isfinite(x) & (x > 0)


def _finite(x: Any) -> Any:
    return np.isfinite(x)


def _finite_or_minus_inf(x: Any) -> Any:
    return ~np.isnan(x) & (x < np.inf)


def _unit_interval(x: Any) -> Any:
    return (x >= 0) & (x <= 1)


def _check_utilities(utilities: Any) -> NDArray[np.floating[Any]]:
    """Check ``utilities``: a float32/float64 ndarray ``(n, k)``, ``k >= 1``, all finite."""
    if not isinstance(utilities, np.ndarray):
        raise TypeError(f"`utilities` must be a numpy array, got {type(utilities).__name__}")
    if utilities.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"`utilities` must be a float32 or float64 array, got dtype {utilities.dtype}"
        )
    if utilities.ndim != 2 or utilities.shape[1] == 0:
        raise ValueError(f"`utilities` must have shape (n, k) with k >= 1, got {utilities.shape}")
    # Two reductions without temporaries; NaN propagates through max.
    if utilities.size and not (np.isfinite(utilities.max()) and np.isfinite(utilities.min())):
        raise ValueError("`utilities` must hold finite values, got NaN or inf")
    return utilities


def _check_available(available: Any, shape: tuple[int, ...]) -> NDArray[np.bool_] | None:
    """Check ``available``: None or a bool ndarray of the utilities' shape."""
    if available is None:
        return None
    if not isinstance(available, np.ndarray):
        raise TypeError(
            f"`available` must be a boolean numpy array or None, got {type(available).__name__}"
        )
    if available.dtype != np.bool_:
        raise TypeError(f"`available` must be a boolean array, got dtype {available.dtype}")
    if available.shape != shape:
        raise ValueError(
            f"`available` must have the shape of `utilities` {shape}, got {available.shape}"
        )
    return available


def _check_user_ids(user_ids: Any, n: int) -> NDArray[np.integer[Any]] | None:
    """Check ``user_ids``: None or an integer ndarray ``(n,)`` (its range is checked later)."""
    if user_ids is None:
        return None
    if not isinstance(user_ids, np.ndarray):
        raise TypeError(
            f"`user_ids` must be an integer numpy array or None, got {type(user_ids).__name__}"
        )
    if not np.issubdtype(user_ids.dtype, np.integer):
        raise TypeError(f"`user_ids` must be an integer array, got dtype {user_ids.dtype}")
    if user_ids.shape != (n,):
        raise ValueError(f"`user_ids` must have shape ({n},), one per row, got {user_ids.shape}")
    return user_ids


# ------------------------------------------------------------------------------ kernels

#: Users per chunk are chosen so that a chunk's position-major work array, ``k + 1`` rows
#: of float64, takes about this many bytes: it stays in the CPU cache from the copy of
#: the utilities to the sampling, and no ``(n, k + 1)`` temporary is ever allocated
#: (at n = 10⁶, k = 10, ``MultinomialLogit.choose`` takes half the time it takes on
#: whole arrays).
_CHUNK_BYTES = 2**19


def _chunks(n: int, k: int) -> Iterator[slice]:
    """Consecutive slices of rows covering ``range(n)``, :data:`_CHUNK_BYTES` of work each."""
    rows = max(1, _CHUNK_BYTES // (8 * (k + 1)))
    for start in range(0, n, rows):
        yield slice(start, min(start + rows, n))


def _inverse_cdf(
    probabilities: NDArray[np.float64], uniforms: NDArray[np.float64], out: NDArray[np.int64]
) -> None:
    """Sample one outcome per user by inverse CDF; overwrites ``probabilities`` and ``uniforms``.

    User ``i`` chooses the first outcome ``j`` whose cumulative probability
    ``c_j = p_0 + … + p_j`` (summed in position order) exceeds ``uniforms[i] · c_k``, the
    row's own final cumulative value (not 1, which rounding may miss). As ``uniforms < 1``,
    ``u · c_k < c_k`` exactly, so the target lies below the end and the last outcome needs
    no test; the chosen outcome has ``c_{j−1} <= target < c_j``, hence ``p_j > 0``: an
    outcome of probability 0 is never chosen, rounding included.

    Args:
        probabilities: float64 ``(k + 1, n)``, position-major, rows ``0 … k − 1`` the
            slate positions and row ``k`` "no choice"; every column has a positive total.
            Overwritten by the cumulative sums.
        uniforms: float64 ``(n,)`` in ``[0, 1)``. Overwritten by the targets.
        out: int64 ``(n,)``, receives the position in ``[0, k)``, or ``-1`` for no choice.
    """
    k = probabilities.shape[0] - 1
    for j in range(1, k + 1):
        probabilities[j] += probabilities[j - 1]
    target = np.multiply(uniforms, probabilities[k], out=uniforms)
    out.fill(0)
    below = np.empty(len(target), dtype=np.bool_)
    for j in range(k):
        np.less_equal(probabilities[j], target, out=below)
        out += below
    out[out == k] = -1


def _first_success(
    attraction: NDArray[np.float64],
    continuation: Parameter = 1.0,
    available: NDArray[np.bool_] | None = None,
) -> None:
    """Turn per-position success probabilities into top-down first-success probabilities.

    In place: rows ``0 … k − 1`` of ``attraction`` hold ``a_j`` on entry and
    ``P(j) = a_j Π_{l<j} (1 − a_l) · c^{m_j}`` on exit, where ``m_j`` is the number of
    available positions above ``j`` (every position when ``available`` is None); row
    ``k`` receives ``P(none)``, computed directly as the mass that was abandoned or went
    past the last position (non-negative, and the row sums to 1 to rounding).

    Args:
        attraction: float64 ``(k + 1, n)``; rows ``0 … k − 1`` in ``[0, 1]``, already 0 at
            unavailable positions.
        continuation: ``c``, a float or float64 ``(n,)`` in ``[0, 1]``.
        available: Position-major bool ``(k, n)`` or None; an unavailable position costs
            no continuation.
    """
    k, n = attraction.shape[0] - 1, attraction.shape[1]
    reach = np.ones(n)  # the probability of examining the current position
    none = attraction[k]
    none.fill(0.0)
    abandons = not (isinstance(continuation, float) and continuation == 1.0)
    leave = 1.0 - continuation
    abandon = np.empty(n)
    for j in range(k):
        row = attraction[j]
        np.multiply(row, reach, out=row)  # P(j) = reach · a_j
        reach -= row  # reach · (1 − a_j) up to rounding; never negative: reach · a_j <= reach
        if abandons and j < k - 1:  # after the last position, leaving or not is the same
            np.multiply(reach, leave, out=abandon)
            if available is not None:
                abandon *= available[j]
            none += abandon
            reach -= abandon
    none += reach


# --------------------------------------------------------------------------------- API


class ChoiceModel(ABC):
    """Base class of choice models.

    A subclass sets :attr:`name` (its registry name) and implements
    :meth:`probabilities`; the default :meth:`choose` samples from them by inverse CDF.
    A subclass whose numeric parameters may be per-user arrays lists their attribute
    names in ``_per_user``, so that :meth:`check` validates them and
    :meth:`_row_parameters` looks them up for the rows.

    Attributes:
        name: The registry name, a key of :data:`CHOICE_MODELS` for built-in models.
        draws: Whether :meth:`choose` consumes random numbers (one uniform per user).
    """

    name: ClassVar[str]
    draws: ClassVar[bool] = True
    _per_user: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        arguments = ", ".join(f"{field}={getattr(self, field)!r}" for field in self._fields())
        return f"{type(self).__name__}({arguments})"

    def _fields(self) -> tuple[str, ...]:
        """Constructor arguments, in order, shown by ``repr``."""
        return self._per_user

    def check(self, slate_size: int, n_users: int) -> None:
        """Validate the parameters against the slate size and the user pool.

        Called once when an environment is built, so that a mismatch fails early rather
        than at the first step.

        Args:
            slate_size: ``k``, the number of items shown to each user per step.
            n_users: The size of the user pool that ``user_ids`` index.

        Raises:
            TypeError: If ``slate_size`` or ``n_users`` is not an integer.
            ValueError: If either is smaller than 1, or a per-user parameter array does
                not have exactly ``n_users`` entries.
        """
        check_positive_int(slate_size, "slate_size")
        n_users = check_positive_int(n_users, "n_users")
        for field in self._per_user:
            value = getattr(self, field)
            if isinstance(value, np.ndarray) and value.shape != (n_users,):
                raise ValueError(
                    f"`{field}` must have one entry per user, shape ({n_users},), got {value.shape}"
                )

    @abstractmethod
    def probabilities(
        self,
        utilities: NDArray[np.floating[Any]],
        *,
        available: NDArray[np.bool_] | None = None,
        user_ids: NDArray[np.integer[Any]] | None = None,
    ) -> NDArray[np.float64]:
        """Exact choice probabilities of every user.

        Args:
            utilities: float32 or float64 array ``(n, k)``, finite: the utility of the
                item at each slate position.
            available: Optional bool array ``(n, k)``; ``False`` marks a position that
                must not be chosen.
            user_ids: Optional int array ``(n,)``: the pool ids of the rows, required
                when a parameter is a per-user array.

        Returns:
            numpy.ndarray: float64 ``(n, k + 1)``, C-ordered; column ``j < k`` is the
            probability of consuming position ``j``, column ``k`` that of consuming
            nothing. Rows sum to 1 (to rounding) and are exactly 0 on unavailable
            positions.

        Raises:
            TypeError: If an argument has the wrong type or dtype.
            ValueError: If an argument has the wrong shape, ``utilities`` holds NaN or
                inf, or ``user_ids`` is missing or out of range for a per-user parameter.
        """

    def choose(
        self,
        utilities: NDArray[np.floating[Any]],
        rng: np.random.Generator,
        *,
        available: NDArray[np.bool_] | None = None,
        user_ids: NDArray[np.integer[Any]] | None = None,
    ) -> NDArray[np.int64]:
        """Sample which position each user consumes.

        The default implementation is exact inverse-CDF sampling from
        :meth:`probabilities` with one uniform per user, ``rng.random(n)``, in row
        order: user ``i`` takes the first outcome whose cumulative probability exceeds
        ``u_i`` times the row's total, so an outcome of probability 0 is never chosen.

        Args:
            utilities: float32 or float64 array ``(n, k)``, finite.
            rng: The generator to draw from (models with ``draws = False`` draw nothing).
            available: Optional bool array ``(n, k)`` of choosable positions.
            user_ids: Optional int array ``(n,)``: the pool ids of the rows.

        Returns:
            numpy.ndarray: int64 ``(n,)``: the chosen position in ``[0, k)``, or ``-1``
            for no choice.

        Raises:
            TypeError: If an argument has the wrong type or dtype.
            ValueError: As :meth:`probabilities`; also if :meth:`probabilities` of a
                custom model returns the wrong shape or a row of total 0.
        """
        rng = check_generator(rng)
        n, k = _check_utilities(utilities).shape
        probabilities = self.probabilities(utilities, available=available, user_ids=user_ids)
        if not isinstance(probabilities, np.ndarray) or probabilities.shape != (n, k + 1):
            raise ValueError(
                f"`{type(self).__name__}.probabilities` must return an array of shape "
                f"({n}, {k + 1}), got {getattr(probabilities, 'shape', probabilities)!r}"
            )
        position_major = np.array(probabilities.T, dtype=np.float64, order="C")
        if n and not (position_major.sum(axis=0) > 0).all():
            raise ValueError(f"`{type(self).__name__}.probabilities` returned a row that sums to 0")
        chosen = np.empty(n, dtype=np.int64)
        _inverse_cdf(position_major, rng.random(int(n)), chosen)
        return chosen

    def _row_parameters(self, user_ids: NDArray[np.integer[Any]] | None) -> dict[str, Parameter]:
        """The parameters of the rows: each float as is, each per-user array at ``user_ids``.

        Raises:
            ValueError: If a parameter is a per-user array and ``user_ids`` is None or
                holds an id outside the array.
        """
        parameters: dict[str, Parameter] = {}
        bounds: tuple[int, int] | None = None
        for field in self._per_user:
            value = getattr(self, field)
            if isinstance(value, np.ndarray):
                if user_ids is None:
                    raise ValueError(f"`user_ids` must be given when `{field}` is a per-user array")
                if bounds is None:
                    bounds = (int(user_ids.min()), int(user_ids.max())) if len(user_ids) else (0, 0)
                low, high = bounds
                if len(user_ids) and (low < 0 or high >= len(value)):
                    raise ValueError(
                        f"`user_ids` must lie in [0, {len(value)}) (the length of `{field}`), "
                        f"got {low if low < 0 else high}"
                    )
                value = value[user_ids]
            parameters[field] = value
        return parameters


class _PositionMajor(ChoiceModel):
    """A model computed position-major, in cache-sized chunks of users.

    A subclass implements :meth:`_fill`, which writes the probabilities of a chunk of
    users into a ``(k + 1, chunk)`` work array (a contiguous row per outcome).
    :meth:`probabilities` transposes each chunk into the ``(n, k + 1)`` result;
    :meth:`choose` samples from the same numbers where they are, so that both give the
    same probabilities to the last bit.
    """

    @abstractmethod
    def _fill(
        self,
        utilities: NDArray[np.floating[Any]],
        available: NDArray[np.bool_] | None,
        parameters: Mapping[str, Parameter],
        out: NDArray[np.float64],
    ) -> None:
        """Write the probabilities of the rows of ``utilities`` into ``out``.

        Args:
            utilities: float32 or float64 ``(c, k)``, validated.
            available: bool ``(c, k)`` or None.
            parameters: The rows' parameters, floats or float64 arrays ``(c,)``.
            out: float64 ``(k + 1, c)``, position-major, to be overwritten entirely.
        """

    def _validate(
        self, utilities: Any, available: Any, user_ids: Any
    ) -> tuple[NDArray[np.floating[Any]], NDArray[np.bool_] | None, dict[str, Parameter]]:
        """Check the inputs; return the utilities, the mask and the rows' parameters."""
        utilities = _check_utilities(utilities)
        available = _check_available(available, utilities.shape)
        user_ids = _check_user_ids(user_ids, utilities.shape[0])
        self._check_slate_size(utilities.shape[1])
        return utilities, available, self._row_parameters(user_ids)

    def _check_slate_size(self, k: int) -> None:
        """Raise ``ValueError`` if a per-position parameter does not cover ``k`` positions."""

    def _iter_probabilities(
        self,
        utilities: NDArray[np.floating[Any]],
        available: NDArray[np.bool_] | None,
        parameters: Mapping[str, Parameter],
    ) -> Iterator[tuple[slice, NDArray[np.float64]]]:
        """Yield ``(rows, probabilities)`` chunk by chunk, for validated inputs.

        The position-major ``(k + 1, len(rows))`` array is a reused buffer that the
        caller may overwrite.
        """
        n, k = utilities.shape
        work: NDArray[np.float64] | None = None
        for rows in _chunks(n, k):
            if work is None:
                work = np.empty((k + 1, rows.stop - rows.start))
            out = work[:, : rows.stop - rows.start]
            chunk = {
                name: value if isinstance(value, float) else value[rows]
                for name, value in parameters.items()
            }
            self._fill(utilities[rows], None if available is None else available[rows], chunk, out)
            yield rows, out

    def probabilities(
        self,
        utilities: NDArray[np.floating[Any]],
        *,
        available: NDArray[np.bool_] | None = None,
        user_ids: NDArray[np.integer[Any]] | None = None,
    ) -> NDArray[np.float64]:
        """See :meth:`ChoiceModel.probabilities`."""
        utilities, available, parameters = self._validate(utilities, available, user_ids)
        n, k = utilities.shape
        result = np.empty((n, k + 1))
        for rows, out in self._iter_probabilities(utilities, available, parameters):
            result[rows] = out.T
        return result

    def choose(
        self,
        utilities: NDArray[np.floating[Any]],
        rng: np.random.Generator,
        *,
        available: NDArray[np.bool_] | None = None,
        user_ids: NDArray[np.integer[Any]] | None = None,
    ) -> NDArray[np.int64]:
        """See :meth:`ChoiceModel.choose`."""
        rng = check_generator(rng)
        utilities, available, parameters = self._validate(utilities, available, user_ids)
        n = int(utilities.shape[0])
        uniforms = rng.random(n)
        chosen = np.empty(n, dtype=np.int64)
        for rows, out in self._iter_probabilities(utilities, available, parameters):
            _inverse_cdf(out, uniforms[rows], chosen[rows])
        return chosen


class Consume(_PositionMajor):
    """The user consumes the item at position 0, if it is available, else nothing.

    ``P(0) = 1`` when position 0 is available, otherwise ``P(none) = 1``; the utilities
    are ignored (but still validated) and no random number is drawn. With a slate of one
    item this is the behaviour of the original RECGym: the user consumes what is shown.
    """

    name = "consume"
    draws = False

    def _fill(
        self,
        utilities: NDArray[np.floating[Any]],
        available: NDArray[np.bool_] | None,
        parameters: Mapping[str, Parameter],
        out: NDArray[np.float64],
    ) -> None:
        k = utilities.shape[1]
        out.fill(0.0)
        if available is None:
            out[0] = 1.0
        else:
            out[0] = available[:, 0]
            np.subtract(1.0, out[0], out=out[k])

    def choose(
        self,
        utilities: NDArray[np.floating[Any]],
        rng: np.random.Generator,
        *,
        available: NDArray[np.bool_] | None = None,
        user_ids: NDArray[np.integer[Any]] | None = None,
    ) -> NDArray[np.int64]:
        """Position 0 for every user whose position 0 is available, else ``-1``; draws nothing.

        See :meth:`ChoiceModel.choose` for the arguments.
        """
        check_generator(rng)
        utilities, available, _ = self._validate(utilities, available, user_ids)
        if available is None:
            return np.zeros(utilities.shape[0], dtype=np.int64)
        return np.where(available[:, 0], 0, -1).astype(np.int64, copy=False)


class MultinomialLogit(_PositionMajor):
    """Conditional (multinomial) logit with a null item, as in RecSim.

    Each shown item competes with an outside option, "no choice", of utility ``u₀``::

        P(j)    = exp(u_j / τ) / Z        for available positions j
        P(none) = exp(u₀ / τ) / Z,        Z = exp(u₀ / τ) + Σ_{available l} exp(u_l / τ)

    computed stably as ``exp((u − m) / τ)`` with ``m`` the row maximum over the available
    positions and the null item, so any finite utilities and any ``τ > 0`` are safe (no
    overflow; weights far below the maximum underflow to exactly 0). ``u₀ = -inf`` removes
    the null item: the user always consumes something available (and nothing only when
    nothing is available).

    Args:
        temperature: ``τ``, a positive finite float or a per-user float array
            ``(n_users,)``. Small ``τ`` approaches choosing the best item.
        no_choice_utility: ``u₀``, a finite float or ``-inf``, or a per-user array of
            them.

    Raises:
        TypeError: If a parameter is not a real number or a real-valued array.
        ValueError: If a parameter is out of range (or an array is not 1-D).

    References:
        Ie, Hsu, Mladenov, Jain, Narvekar, Wang, Wu & Boutilier (2019). RecSim: A
        Configurable Simulation Platform for Recommender Systems. arXiv:1909.04847.
        RecSim's ``MultinomialLogitChoiceModel`` appends ``no_click_mass`` to the logits:
        it is ``u₀`` here with ``τ = 1`` (RecSim's default there is ``-inf``, no null
        item; here it is 0).
    """

    name = "mnl"
    _per_user = ("temperature", "no_choice_utility")

    def __init__(self, temperature: Parameter = 1.0, no_choice_utility: Parameter = 0.0) -> None:
        self.temperature = check_parameter(
            temperature, "temperature", "a positive finite float", _positive_finite
        )
        self.no_choice_utility = check_parameter(
            no_choice_utility, "no_choice_utility", "a finite float or -inf", _finite_or_minus_inf
        )

    def _fill(
        self,
        utilities: NDArray[np.floating[Any]],
        available: NDArray[np.bool_] | None,
        parameters: Mapping[str, Parameter],
        out: NDArray[np.float64],
    ) -> None:
        temperature = parameters["temperature"]
        k = utilities.shape[1]
        _copy_utilities(utilities, available, out[:k])
        out[k] = parameters["no_choice_utility"]
        shift = out.max(axis=0)
        # A row with nothing available and u₀ = -inf has every weight 0 below; it takes
        # "none" with probability 1.
        empty = np.flatnonzero(shift == -np.inf) if available is not None else None
        if empty is not None and len(empty):
            shift[empty] = 0.0
        with np.errstate(over="ignore"):  # u − m or (u − m) / τ below -1.8e308: exp → 0
            out -= shift
            if not (isinstance(temperature, float) and temperature == 1.0):
                out /= temperature
        np.exp(out, out=out)
        if empty is not None and len(empty):
            out[k, empty] = 1.0
        out /= out.sum(axis=0)  # >= 1: the maximum has weight exp(0)


class Cascade(_PositionMajor):
    """The cascade model: the user scans from the top and takes the first attractive item.

    Position ``j`` attracts with probability ``a_j = sigmoid((u_j − b) / τ)``; after
    passing over an item the user goes on to the next position with probability ``c``
    (the continuation) and otherwise leaves with nothing. The first attractive item is
    consumed::

        P(j)    = a_j · Π_{l<j} (1 − a_l) · c^j
        P(none) = 1 − Σ_j P(j)

    ``c = 1`` is the classic cascade of Craswell et al. (the user examines every
    position until the first click); ``c < 1`` adds abandonment after a non-click (the
    ``α₁`` of the click chain model, here the same at every position).
    An **unavailable position is skipped**: it neither attracts nor costs a
    continuation, as if it were absent from the slate (the products above run over
    available positions and ``c`` is raised to the number of available positions above
    ``j``). ``P(none)`` is computed directly as the abandoned mass plus the mass that
    reached the end of the slate, so it is never negative.

    RecSim's ``CascadeChoiceModel`` has an ``attention_prob`` that multiplies every
    position's click probability (a user who ignores an item still goes on); that is
    :class:`PositionBased` with a constant examination, not this continuation.

    Args:
        temperature: ``τ``, a positive finite float or a per-user array ``(n_users,)``.
        bias: ``b``, the utility at which an item attracts with probability ½; a finite
            float or a per-user array.
        continuation: ``c`` in ``[0, 1]``, a float or a per-user array. ``0`` means the
            user looks at the first available position only.

    Raises:
        TypeError: If a parameter is not a real number or a real-valued array.
        ValueError: If a parameter is out of range (or an array is not 1-D).

    References:
        Craswell, Zoeter, Taylor & Ramsey (2008). An experimental comparison of click
        position-bias models. WSDM. Guo, Liu, Kannan, Minka, Taylor, Wang & Faloutsos
        (2009). Click chain model in web search. WWW (continuation after a non-click).
        Chuklin, Markov & de Rijke (2015). Click Models for Web Search, ch. 3.
    """

    name = "cascade"
    _per_user = ("temperature", "bias", "continuation")

    def __init__(
        self, temperature: Parameter = 1.0, bias: Parameter = 0.0, continuation: Parameter = 1.0
    ) -> None:
        self.temperature = check_parameter(
            temperature, "temperature", "a positive finite float", _positive_finite
        )
        self.bias = check_parameter(bias, "bias", "a finite float", _finite)
        self.continuation = check_parameter(
            continuation, "continuation", "a float in [0, 1]", _unit_interval
        )

    def _fill(
        self,
        utilities: NDArray[np.floating[Any]],
        available: NDArray[np.bool_] | None,
        parameters: Mapping[str, Parameter],
        out: NDArray[np.float64],
    ) -> None:
        continuation = parameters["continuation"]
        abandons = not (isinstance(continuation, float) and continuation == 1.0)
        position_available = _attractions(
            utilities, available, parameters, out, mask=abandons and available is not None
        )
        _first_success(out, continuation, position_available)


class PositionBased(_PositionMajor):
    """The position-based click model (PBM), restricted to one consumption per step.

    Position ``j`` is examined with probability ``e_j``, independently of the other
    positions and of the items; an examined item attracts with probability
    ``a_j = sigmoid((u_j − b) / τ)``; a click needs both. The PBM proper lets a user
    click several items; here at most one item is consumed per step, so the user
    consumes the **topmost** examined-and-attracted item::

        P(j)    = e_j a_j · Π_{l<j} (1 − e_l a_l)
        P(none) = Π_l (1 − e_l a_l)

    Relation to the cascade, honestly: restricted to one consumption, this *is*
    :class:`Cascade` (continuation 1) run on the effective attractions ``e_j a_j`` — the
    same algebra, another parameterisation. Here the position effect ``e_j`` is a fixed
    factor of position ``j``'s click probability; the cascade's continuation ``c``
    instead discounts everything below each non-click, compounding as ``c^j``. The
    multi-click PBM's marginal click rates ``e_j a_j`` hold here only at the top
    position; lower positions are shadowed by clicks above them. With a constant ``e``
    this is RecSim's ``CascadeChoiceModel`` with ``attention_prob = e``.
    An unavailable position has ``a_j = 0`` (it is never consumed and shadows nothing);
    the examination probabilities stay attached to positions, not shifted.

    Args:
        examination: ``e``, a 1-D array of probabilities in ``[0, 1]`` for the slate
            positions from the top (a list or tuple is accepted), possibly longer than
            the slate (the first ``k`` entries are used); ``None`` (default) means
            ``e_j = 1 / (j + 1)``.
        temperature: ``τ``, a positive finite float or a per-user array ``(n_users,)``.
        bias: ``b``, a finite float or a per-user array.

    Raises:
        TypeError: If a parameter is not a real number or real-valued array.
        ValueError: If a parameter is out of range (or an array has the wrong shape).

    References:
        Richardson, Dominowska & Ragno (2007). Predicting clicks: estimating the
        click-through rate for new ads. WWW. Chuklin, Markov & de Rijke (2015). Click
        Models for Web Search, ch. 3 (the PBM and the cascade model). Morgan & Claypool.
    """

    name = "pbm"
    _per_user = ("temperature", "bias")

    def __init__(
        self,
        examination: NDArray[np.floating[Any]] | list[float] | tuple[float, ...] | None = None,
        temperature: Parameter = 1.0,
        bias: Parameter = 0.0,
    ) -> None:
        self.examination = _check_examination(examination)
        self.temperature = check_parameter(
            temperature, "temperature", "a positive finite float", _positive_finite
        )
        self.bias = check_parameter(bias, "bias", "a finite float", _finite)

    def _fields(self) -> tuple[str, ...]:
        return ("examination", "temperature", "bias")

    def check(self, slate_size: int, n_users: int) -> None:
        """See :meth:`ChoiceModel.check`; also requires ``len(examination) >= slate_size``."""
        super().check(slate_size, n_users)
        self._examination(int(slate_size))

    def _check_slate_size(self, k: int) -> None:
        self._examination(k)

    def _examination(self, k: int) -> NDArray[np.float64]:
        """The examination probabilities of the first ``k`` positions, float64 ``(k,)``."""
        if self.examination is None:
            return 1.0 / np.arange(1.0, k + 1.0)
        if len(self.examination) < k:
            raise ValueError(
                f"`examination` must have at least slate_size = {k} entries, "
                f"got {len(self.examination)}"
            )
        return self.examination[:k]

    def _fill(
        self,
        utilities: NDArray[np.floating[Any]],
        available: NDArray[np.bool_] | None,
        parameters: Mapping[str, Parameter],
        out: NDArray[np.float64],
    ) -> None:
        k = utilities.shape[1]
        _attractions(utilities, available, parameters, out)
        out[:k] *= self._examination(k)[:, np.newaxis]
        _first_success(out)


def _check_examination(value: Any) -> NDArray[np.float64] | None:
    """Return the examination probabilities as a read-only float64 array, or None."""
    if value is None:
        return None
    description = "None or a 1-D array of probabilities in [0, 1]"
    if isinstance(value, (list, tuple)):
        if not all(
            isinstance(entry, numbers.Real) and not isinstance(entry, (bool, np.bool_))
            for entry in value
        ):
            raise TypeError(f"`examination` must be {description}, got {value!r}")
        value = np.array(value, dtype=np.float64)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"`examination` must be {description}, got {value!r}")
    return check_float_vector(
        value, "examination", description, _unit_interval, "probabilities in [0, 1]"
    )


def _copy_utilities(
    utilities: NDArray[np.floating[Any]],
    available: NDArray[np.bool_] | None,
    out: NDArray[np.float64],
) -> None:
    """Copy ``utilities`` ``(c, k)`` transposed into ``out`` ``(k, c)``, -inf where unavailable.

    The mask is applied in the utilities' own row-major layout, which is cheaper than
    transposing it (a strided pass over single bytes).
    """
    out[...] = (utilities if available is None else np.where(available, utilities, -np.inf)).T


def _attractions(
    utilities: NDArray[np.floating[Any]],
    available: NDArray[np.bool_] | None,
    parameters: Mapping[str, Parameter],
    out: NDArray[np.float64],
    *,
    mask: bool = False,
) -> NDArray[np.bool_] | None:
    """Write ``a_j = sigmoid((u_j − b) / τ)``, 0 where unavailable, into rows ``0 … k − 1``.

    Args:
        utilities: float32 or float64 ``(c, k)``.
        available: bool ``(c, k)`` or None.
        parameters: ``temperature`` and ``bias`` of the rows, floats or arrays ``(c,)``.
        out: float64 ``(k + 1, c)``, position-major; row ``k`` is left untouched.
        mask: Whether to return ``available`` transposed (contiguous bool ``(k, c)``).

    Returns:
        The transposed mask if ``mask`` is true and ``available`` is given, else None.
    """
    temperature, bias = parameters["temperature"], parameters["bias"]
    k = utilities.shape[1]
    attraction = out[:k]
    _copy_utilities(utilities, available, attraction)  # sigmoid(-inf) = 0 where unavailable
    position_available = attraction > -np.inf if mask and available is not None else None
    with np.errstate(over="ignore"):  # ±inf after the division is sigmoid's 0 or 1
        if not (isinstance(bias, float) and bias == 0.0):
            attraction -= bias
        if not (isinstance(temperature, float) and temperature == 1.0):
            attraction /= temperature
    from scipy.special import expit  # imported on first use: 0.13 s

    expit(attraction, out=attraction)
    return position_available


#: The registered choice models, name → class (read-only).
CHOICE_MODELS: Mapping[str, type[ChoiceModel]] = MappingProxyType(
    {model.name: model for model in (Consume, MultinomialLogit, Cascade, PositionBased)}
)


def make_choice_model(spec: str | ChoiceModel) -> ChoiceModel:
    """Return the choice model that ``spec`` names.

    Args:
        spec: A key of :data:`CHOICE_MODELS` (the model with its default parameters),
            or a :class:`ChoiceModel` instance, returned as is.

    Returns:
        ChoiceModel: The model.

    Raises:
        TypeError: If ``spec`` is neither a string nor a :class:`ChoiceModel`.
        ValueError: If ``spec`` is a string that is not registered.

    Example:
        >>> make_choice_model("cascade")
        Cascade(temperature=1.0, bias=0.0, continuation=1.0)
    """
    if isinstance(spec, ChoiceModel):
        return spec
    expected = f"a ChoiceModel or one of {list(CHOICE_MODELS)}"
    if not isinstance(spec, str):
        raise TypeError(f"`choice_model` must be {expected}, got {spec!r}")
    if spec not in CHOICE_MODELS:
        raise ValueError(f"`choice_model` must be {expected}, got {spec!r}")
    return CHOICE_MODELS[spec]()
