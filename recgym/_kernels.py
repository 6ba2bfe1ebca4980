"""Fused kernels of the population step, compiled by numba (the optional extra ``[fast]``).

One pass over memory per user, in parallel over users (``prange``), writing into buffers
the caller allocates: the numpy step makes one pass per operation instead and allocates
its temporaries. Two kernels:

* :func:`choose`: the utilities of a slate (``⟨s, v_j⟩`` plus the idiosyncratic term and
  the satiation penalty), the choice model's probabilities (consume, multinomial logit,
  cascade, position-based) and the inverse-CDF choice with one given uniform per user;
* :func:`respond`: the consumed item's reward (with its given noise or uniform) and the
  user model's dynamics (biased assimilation with a global or per-user ``α``, social
  pull, normalisation), the satiation and consumption memory, and the observation
  ``clip(s + σε, -1, 1)`` with its given normals.

Every random number is drawn by the caller from the population's per-block numpy
generators (:mod:`recgym._streams`) before a kernel runs, exactly the draws the numpy
path makes, so the two paths see the same numbers; each user's arithmetic is the numpy
path's, in the states' dtype (float32 or float64), but for a few cheaper equivalents.
They agree to rounding — the numpy path sums the ``d`` products of a dot product in
BLAS's order, the kernels in groups of four (:func:`_dot`); the kernels multiply by
reciprocals where numpy divides (a state by its norm, the choice models' utilities by
their temperature and weights by their total), and compute ``exp`` with their own
polynomial (:func:`_exp`, within 2 ulp) — and each is deterministic for a seed whatever
the number of threads: a user's numbers never depend on another user's.

Compiled on first use with ``cache=True`` (in ``__pycache__`` next to this file, or
numba's user-wide cache when that is not writable), never at ``import recgym``: this
module is imported only when an environment runs with ``engine="numba"``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import get_num_threads, njit, prange, types
from numba.core.extending import intrinsic

__all__ = ["CASCADE", "CONSUME", "MNL", "PBM", "choose", "respond", "threads", "valid_slates"]

#: The choice models of :func:`choose`.
CONSUME, MNL, CASCADE, PBM = 0, 1, 2, 3

#: Users per task of :func:`choose`: its ``k + 1`` work values are allocated once per task.
_TASK = 1024


def threads() -> int:
    """The number of threads the kernels run on (``numba.get_num_threads()``)."""
    return int(get_num_threads())


@njit(cache=True, inline="always")
def _dot(a: Any, row: int, b: Any, other: int) -> Any:  # pragma: no cover - compiled
    """``Σ_j a[row, j] b[other, j]`` in the arrays' dtype (``d >= 1``).

    Indexes the rows instead of slicing them (a slice is a new array structure per call,
    which costs more than the five products of ``d = 5``), and adds the products after
    the first in groups of four, which the compiler keeps in registers: the dot products
    of the choice kernel take half the time of a plain loop over an unknown ``d``.
    """
    d = a.shape[1]
    total = a[row, 0] * b[other, 0]
    j = 1
    while j + 4 <= d:
        total += (
            a[row, j] * b[other, j]
            + a[row, j + 1] * b[other, j + 1]
            + a[row, j + 2] * b[other, j + 2]
            + a[row, j + 3] * b[other, j + 3]
        )
        j += 4
    while j < d:
        total += a[row, j] * b[other, j]
        j += 1
    return total


@njit(cache=True, inline="always")
def _expit(x: Any, one: Any) -> Any:  # pragma: no cover - compiled
    """``1 / (1 + exp(−x))`` in ``x``'s dtype: scipy's ``expit``."""
    return one / (one + math.exp(-x))


def _bit_cast(typingctx: Any, bits: Any) -> Any:  # pragma: no cover - compiled
    """The float64 whose IEEE bits are the int64 ``bits`` (a bit cast)."""

    def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
        return builder.bitcast(arguments[0], ir.DoubleType())

    return types.float64(types.int64), codegen


_as_float: Any = intrinsic(_bit_cast)


_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 to 32 bits: k · _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
# 1 / j! for j = 0 … 13: the Taylor polynomial of exp on |r| <= ln(2) / 2, whose
# truncation error (< 4e-18) is far below double rounding.
_C = tuple(1.0 / math.factorial(j) for j in range(14))
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13 = _C


@njit(cache=True, inline="always")
def _exp(x: float) -> float:  # pragma: no cover - compiled
    """``exp(x)`` for float64, within 2 ulp of numpy's, without a library call.

    ``x = k ln 2 + r`` with ``|r| <= ln(2) / 2`` (Cody–Waite), ``exp(r)`` by its Taylor
    polynomial in Estrin's scheme, times ``2^k`` built from its bits in two halves (so
    that results down to the subnormals and up to the overflow come out right):
    ``exp(−inf) = 0``, ``exp(x) = inf`` beyond 709.78. Unlike ``math.exp`` (a call into
    libm per value) loops over it vectorise: the choice models spend most of their time
    here.
    """
    x = x if x > -746.0 else -746.0
    x = x if x < 710.0 else 710.0
    k = np.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    r2 = r * r
    r4 = r2 * r2
    low = (_C0 + _C1 * r + (_C2 + _C3 * r) * r2) + (_C4 + _C5 * r + (_C6 + _C7 * r) * r2) * r4
    high = (_C8 + _C9 * r + (_C10 + _C11 * r) * r2) + (_C12 + _C13 * r) * r4
    p = low + high * (r4 * r4)
    power = np.int64(k)
    half = power >> 1
    return p * _as_float((half + 1023) << 52) * _as_float((power - half + 1023) << 52)


@njit(cache=True, inline="always")
def _parameter(values: Any, user_ids: Any, i: int) -> float:  # pragma: no cover - compiled
    """One value for everyone (``values`` of size 1) or row ``i``'s user's."""
    return values[0] if values.shape[0] == 1 else values[user_ids[i]]


@njit(parallel=True, cache=True)
def choose(
    states: Any,
    slates: Any,
    features: Any,
    active: Any,
    user_ids: Any,
    idiosyncratic: Any,
    satiation: Any,
    strength: Any,
    consumed: Any,
    model: int,
    temperature: Any,
    second: Any,
    third: Any,
    examination: Any,
    uniforms: Any,
    choices: Any,
    items: Any,
    offsets: Any,
) -> None:  # pragma: no cover - compiled
    """Which position of its slate each user consumes, or none.

    Users are taken in tasks of :data:`_TASK`; within a task the probabilities are laid
    out position-major (a row of the task's users per outcome), as the numpy choice
    models do, so the loops over users vectorise.

    Args:
        states: float ``(n, d)``, the current true states.
        slates: int64 ``(n, k)``, distinct items per row.
        features: float ``(n_items, d)``, the item table (states' dtype).
        active: bool ``(n,)`` (absent users choose nothing) or ``(0,)`` for everyone.
        user_ids: int64 ``(n,)``, the rows' pool ids (for per-user parameters).
        idiosyncratic: ``σ·ε`` of each slate position, ``(n, k)`` of the states' dtype,
            or ``(0, 0)``.
        satiation: float ``(n, d)`` satiation vectors, or ``(0, d)``.
        strength: ``λ``, a scalar of the states' dtype.
        consumed: uint8 ``(n, ⌈n_items / 8⌉)`` consumption bits (consumed items are
            unavailable), or ``(0, 0)``.
        model: :data:`CONSUME`, :data:`MNL`, :data:`CASCADE` or :data:`PBM`.
        temperature: float64 ``(1,)`` or ``(n_users,)``: ``τ``.
        second: float64 ``(1,)`` or ``(n_users,)``: MNL's ``u₀``, the bias ``b`` of
            the cascade and the PBM.
        third: float64 ``(1,)`` or ``(n_users,)``: the cascade's continuation ``c``.
        examination: float64 ``(k,)``: the PBM's examination probabilities.
        uniforms: float64 ``(n,)``, one uniform per present user (unused for consume).
        choices: int64 ``(n,)``, receives the position, or −1.
        items: int64 ``(n,)``, receives the consumed item, or −1.
        offsets: ``(n,)`` of the states' dtype, receives the chosen position's utility
            beyond ``⟨s, v⟩`` (when ``idiosyncratic`` or ``satiation`` is given).
    """
    n, k = slates.shape
    has_idio = idiosyncratic.shape[0] > 0
    has_satiation = satiation.shape[0] > 0
    has_memory = consumed.shape[0] > 0
    has_extra = has_idio or has_satiation
    unit_tau = temperature.shape[0] == 1 and temperature[0] == 1.0  # x / 1 == x: skip it
    for task in prange((n + _TASK - 1) // _TASK):
        start = task * _TASK
        m = min(n, start + _TASK) - start
        work = np.empty((k + 1, m))  # position-major: one row of the task's users per outcome
        extra = np.empty((k, m), dtype=states.dtype)
        available = np.empty((k, m), dtype=np.bool_)
        tau = np.empty(m)
        second_ = np.empty(m)
        leave = np.empty(m)
        reach = np.empty(m)
        for r in range(m):
            i = start + r
            tau[r] = _parameter(temperature, user_ids, i)
            second_[r] = _parameter(second, user_ids, i)
            leave[r] = 1.0 - _parameter(third, user_ids, i)
            for j in range(k):
                item = slates[i, j]
                available[j, r] = not (
                    has_memory and (consumed[i, item >> 3] & (0x80 >> (item & 7))) != 0
                )
                if model == CONSUME and not has_extra:
                    continue
                u = _dot(features, item, states, i)
                if has_extra:
                    if has_satiation:
                        penalty = strength * _dot(features, item, satiation, i)
                        e = idiosyncratic[i, j] - penalty if has_idio else -penalty
                    else:
                        e = idiosyncratic[i, j]
                    extra[j, r] = e
                    u = u + e
                work[j, r] = np.float64(u)
        if model == MNL:
            # exp((u − m) / τ) / Z, with m the largest utility among the available
            # positions and the null item (u₀); nothing available and u₀ = −inf: none.
            for r in range(m):
                work[k, r] = second_[r]
                reach[r] = second_[r]  # the shift m
            for j in range(k):
                for r in range(m):
                    if not available[j, r]:
                        work[j, r] = -np.inf
                    reach[r] = max(reach[r], work[j, r])
            for r in range(m):
                if has_memory and reach[r] == -np.inf:
                    reach[r] = 0.0
            if not unit_tau:
                for r in range(m):
                    tau[r] = 1.0 / tau[r]  # products, not divisions, in the loops below
            for j in range(k + 1):
                if unit_tau:
                    for r in range(m):
                        work[j, r] = _exp(work[j, r] - reach[r])
                else:
                    for r in range(m):
                        work[j, r] = _exp((work[j, r] - reach[r]) * tau[r])
            for r in range(m):
                if has_memory and work[k, r] == 0.0 and second_[r] == -np.inf:
                    empty = True
                    for j in range(k):
                        empty = empty and not available[j, r]
                    if empty:
                        work[k, r] = 1.0
                leave[r] = work[0, r]  # the total Z
            for j in range(1, k + 1):
                for r in range(m):
                    leave[r] += work[j, r]
            for r in range(m):
                leave[r] = 1.0 / leave[r]
            for j in range(k + 1):
                for r in range(m):
                    work[j, r] = work[j, r] * leave[r]
        elif model != CONSUME:
            # The cascade and the PBM: attraction a_j = sigmoid((u_j − b) / τ) (times the
            # PBM's examination), then the first success from the top.
            if not unit_tau:
                for r in range(m):
                    tau[r] = 1.0 / tau[r]
            for j in range(k):
                for r in range(m):
                    x = work[j, r] - second_[r]
                    a = 1.0 / (1.0 + _exp(-(x if unit_tau else x * tau[r])))
                    if model == PBM:
                        a = a * examination[j]
                    work[j, r] = a if available[j, r] else 0.0
            for r in range(m):
                reach[r] = 1.0
                second_[r] = 0.0  # P(none)
                if model == PBM:
                    leave[r] = 0.0
            for j in range(k):
                for r in range(m):
                    p = work[j, r] * reach[r]
                    work[j, r] = p
                    reach[r] -= p
                    if j < k - 1 and leave[r] != 0.0:
                        abandon = reach[r] * leave[r]
                        if has_memory and not available[j, r]:
                            abandon = 0.0
                        second_[r] += abandon
                        reach[r] -= abandon
            for r in range(m):
                work[k, r] = second_[r] + reach[r]
        if model != CONSUME:
            # Inverse CDF on the cumulative sums, scaled by their own total.
            for j in range(1, k + 1):
                for r in range(m):
                    work[j, r] += work[j - 1, r]
            for r in range(m):
                reach[r] = uniforms[start + r] * work[k, r]  # the target
        for r in range(m):
            i = start + r
            if active.shape[0] > 0 and not active[i]:
                choices[i] = -1
                items[i] = -1
                continue
            if model == CONSUME:
                choice = 0 if available[0, r] else -1
            else:
                choice = 0
                for j in range(k):
                    if work[j, r] <= reach[r]:
                        choice += 1
                if choice == k:
                    choice = -1
            choices[i] = choice
            items[i] = slates[i, choice] if choice >= 0 else -1
            if has_extra:
                offsets[i] = extra[max(choice, 0), r]


@njit(parallel=True, cache=True)
def respond(
    states: Any,
    items: Any,
    features: Any,
    active: Any,
    user_ids: Any,
    alpha: Any,
    alphas: Any,
    offsets: Any,
    pull: Any,
    reward_mode: int,
    reward_std: Any,
    rewards: Any,
    obs_std: Any,
    obs: Any,
    new_states: Any,
    satiation: Any,
    decay: Any,
    consumed: Any,
    copy: Any,
) -> None:  # pragma: no cover - compiled
    """Reward, dynamics, engagement memory and observation of every user, in one pass.

    Args:
        states: float ``(n, d)``, the current true states (not modified).
        items: int64 ``(n,)``, the consumed item, −1 for none.
        features: float ``(n_items, d)``.
        active: bool ``(n,)`` or ``(0,)`` for everyone (only read with ``pull``).
        user_ids: int64 ``(n,)``, for a per-user ``α``.
        alpha: ``α`` for everyone, a scalar of the states' dtype.
        alphas: float64 ``(n_users,)`` per-user ``α``, or ``(0,)``.
        offsets: ``(n,)`` of the states' dtype, added to the reward's utility, or
            ``(0,)``.
        pull: ``(n, d)`` social pull added before normalising, or ``(0, d)``.
        reward_mode: 0 ``⟨s, v⟩ (+ offset)``; 1 plus ``reward_std`` times the normal
            in ``rewards``; 2 binary, ``u < sigmoid(…)`` with the uniform in ``rewards``.
        reward_std: A scalar of the states' dtype.
        rewards: ``(n,)``: the reward draws of consumers on entry, the rewards on exit
            (0 for users who consume nothing).
        obs_std: A scalar of the states' dtype; 0 draws nothing.
        obs: ``(n, d)``: the observation normals on entry (when ``obs_std > 0``), the
            observations on exit.
        new_states: ``(n, d)``, receives the new states.
        satiation: ``(n, d)`` satiation vectors, updated in place, or ``(0, d)``.
        decay: ``γ``, a scalar of the states' dtype.
        consumed: uint8 consumption bits, updated in place, or ``(0, 0)``.
        copy: int64 ``(n,)`` that receives ``items`` (the step's snapshot of the
            caller's actions), or ``(0,)``.
    """
    n, d = states.shape
    t = states.dtype.type
    one = t(1.0)
    zero = t(0.0)
    per_user = alphas.shape[0] > 0
    unit_alpha = not per_user and alpha == one
    has_offsets = offsets.shape[0] > 0
    has_pull = pull.shape[0] > 0
    has_satiation = satiation.shape[0] > 0
    has_memory = consumed.shape[0] > 0
    noisy = obs_std != zero
    copying = copy.shape[0] > 0
    for task in prange((n + _TASK - 1) // _TASK):
        moved = np.empty(d, dtype=states.dtype)  # one user's new state, before it is stored
        for i in range(task * _TASK, min(n, (task + 1) * _TASK)):
            item = items[i]
            if copying:
                copy[i] = item
            if item >= 0:
                affinity = _dot(states, i, features, item)
                utility = affinity + offsets[i] if has_offsets else affinity
                if reward_mode == 2:
                    rewards[i] = one if rewards[i] < _expit(utility, one) else zero
                elif reward_mode == 1:
                    rewards[i] = utility + reward_std * rewards[i]
                else:
                    rewards[i] = utility
                if per_user:
                    scale = t(alphas[user_ids[i]] * np.float64(affinity))
                elif unit_alpha:
                    scale = affinity
                else:
                    scale = alpha * affinity
                squared = zero
                for j in range(d):
                    x = features[item, j] * scale + states[i, j]
                    if has_pull:
                        x = x + pull[i, j]
                    moved[j] = x
                    squared += x * x
                norm = math.sqrt(squared)
                if norm == zero:
                    norm = one
                inverse = one / norm  # d products instead of d divisions: within an ulp
                for j in range(d):
                    moved[j] = moved[j] * inverse
                if has_memory:
                    consumed[i, item >> 3] |= np.uint8(0x80 >> (item & 7))
            else:
                rewards[i] = zero
                if has_pull and (active.shape[0] == 0 or active[i]):
                    squared = zero
                    for j in range(d):
                        x = states[i, j] + pull[i, j]
                        moved[j] = x
                        squared += x * x
                    norm = math.sqrt(squared)
                    for j in range(d):
                        moved[j] = moved[j] / norm if norm > zero else zero
                else:
                    for j in range(d):
                        moved[j] = states[i, j]
            if has_satiation:
                for j in range(d):
                    b = satiation[i, j] * decay
                    satiation[i, j] = b + features[item, j] if item >= 0 else b
            for j in range(d):
                x = moved[j]
                new_states[i, j] = x
                if noisy:
                    x = obs[i, j] * obs_std + x
                x = x if x > -one else -one
                obs[i, j] = x if x < one else one


#: Catalogues up to this many items are checked for repeats with a table of seen items;
#: larger ones compare each slate's items pairwise.
_SEEN_TABLE = 1 << 16


@njit(parallel=True, cache=True)
def valid_slates(slates: Any, n_items: int) -> bool:  # pragma: no cover - compiled
    """Whether every slate of ``(n, k)`` int64 items is in range and repeats no item.

    The fast path of :func:`recgym._validation.check_slates`: true when every item lies
    in ``[0, n_items)`` and no row holds an item twice. Repeats are found with a table of
    the items seen in the row (cleared after it) when the catalogue is small, else by
    comparing the row's items pairwise.
    """
    n, k = slates.shape
    tasks = (n + _TASK - 1) // _TASK
    good = np.ones(tasks, dtype=np.bool_)
    table = k > 1 and n_items <= _SEEN_TABLE
    for task in prange(tasks):
        seen = np.zeros(n_items if table else 0, dtype=np.bool_)
        ok = True
        for i in range(task * _TASK, min(n, (task + 1) * _TASK)):
            for j in range(k):
                item = slates[i, j]
                if item < 0 or item >= n_items:
                    ok = False
                elif table:
                    if seen[item]:
                        ok = False
                    seen[item] = True
                elif k > 1:
                    for other in range(j):
                        if slates[i, other] == item:
                            ok = False
            if table:
                for j in range(k):
                    item = slates[i, j]
                    if 0 <= item < n_items:
                        seen[item] = False
        good[task] = ok
    return bool(good.all())
