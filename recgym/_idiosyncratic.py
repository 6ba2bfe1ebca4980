"""Fixed idiosyncratic user × item terms, drawn by a counter-based hash.

A user's taste for an item may hold a fixed random part ``ε[u, i] ~ N(0, 1)`` besides
``⟨s_u, v_i⟩`` (the idiosyncratic term of random-utility models). With millions of users
and items the table ``ε`` cannot be stored, and it must not depend on which users are
stepped together, in which order, or on how many threads or shards run them. So
``ε[u, i]`` is a pure function of ``(key, u, i)``: a counter-based hash (Salmon et al.
2011, "Parallel random numbers: as easy as 1, 2, 3") of the two ids under a 128-bit key,
computed for exactly the pairs that are needed.

The hash is built from the finaliser of SplitMix64 (Steele, Lea & Flood 2014; the
constants of Stafford's "Mix13"), a bijection of 64-bit words with full avalanche, in
numpy ``uint64`` arithmetic (which wraps modulo 2⁶⁴ without warnings)::

    h_u = mix((u ⊕ key_lo) + γ₁)         once per user id
    h_i = mix((i ⊕ key_hi) + γ₂)         once per item id
    h   = mix(mix(h_u ⊕ h_i) + γ₃)       once per pair

(two rounds per pair: the words ``h_u ⊕ h_i`` of the four pairs of two users and two
items xor to zero, a structure that one round might leave visible). For a fixed key and
item every step is a bijection of ``u`` (and for a fixed user, of ``i``), so distinct
users get distinct 64-bit hashes. Of the 64 bits of ``h``, the top one is a sign and the
next 52 give ``v = (m + ½) / 2⁵³ ∈ (0, ½)`` exactly, so ``ε = ±ndtri(v)``
(``scipy.special.ndtri``, the inverse normal CDF): 53 bits in all, the standard normal's
symmetry exact, and the tails computed where ``ndtri`` is accurate (``|ε| < 8.3``).

Platform independence: the 64-bit hashes are identical everywhere (integer arithmetic);
the normals are ``ndtri`` of exactly representable arguments, so they agree wherever
scipy's ``ndtri`` does (IEEE double arithmetic; at most a last-bit difference where a
build contracts operations into fused multiply-adds).

This module is pure numpy and scipy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["idiosyncratic_key", "idiosyncratic_normals"]

_MASK64 = (1 << 64) - 1
# γ: the golden-ratio increment of SplitMix64, and the first 64 bits of the fractional
# parts of √2 (plus 1) and √3 (SHA-512's first two words), so that the three branches
# differ even for key 0.
_GAMMA_USER = 0x9E3779B97F4A7C15
_GAMMA_ITEM = 0x6A09E667F3BCC909
_GAMMA_PAIR = 0xBB67AE8584CAA73B
# SplitMix64's finaliser (Stafford's Mix13).
_MIX_1 = 0xBF58476D1CE4E5B9
_MIX_2 = 0x94D049BB133111EB


def idiosyncratic_key(seed_sequence: np.random.SeedSequence) -> int:
    """Derive the 128-bit hash key from a seed sequence.

    Args:
        seed_sequence: A ``numpy.random.SeedSequence``, e.g. a child of the
            environment's seed reserved for the idiosyncratic terms. It is not advanced
            (``generate_state`` is a pure function of the sequence).

    Returns:
        int: ``state[0] + 2⁶⁴ · state[1]`` for ``state = seed_sequence.generate_state(2,
        np.uint64)``, a Python int in ``[0, 2¹²⁸)``.

    Raises:
        TypeError: If ``seed_sequence`` is not a ``numpy.random.SeedSequence``.

    Example:
        >>> import numpy as np
        >>> key = idiosyncratic_key(np.random.SeedSequence(0))
        >>> key == idiosyncratic_key(np.random.SeedSequence(0)), 0 <= key < 2**128
        (True, True)
    """
    if not isinstance(seed_sequence, np.random.SeedSequence):
        raise TypeError(
            "`seed_sequence` must be a numpy.random.SeedSequence, "
            f"got {type(seed_sequence).__name__}"
        )
    low, high = (int(word) for word in seed_sequence.generate_state(2, np.uint64))
    return low | (high << 64)


def idiosyncratic_normals(
    key: int,
    user_ids: NDArray[np.integer[Any]] | int,
    item_ids: NDArray[np.integer[Any]] | int,
) -> NDArray[np.float64]:
    """Standard normals, one per (user, item) pair, fixed by ``(key, user id, item id)``.

    The two id arrays broadcast against each other, e.g. ``user_ids[:, None]`` of shape
    ``(n, 1)`` with a slate ``item_ids`` of shape ``(n, k)`` gives ``(n, k)``. Each hash
    is computed once per user id and once per item id of the inputs (before
    broadcasting) and once per pair; no ``n_users × n_items`` table is ever built.

    Args:
        key: The hash key, an integer in ``[0, 2¹²⁸)`` (see :func:`idiosyncratic_key`).
        user_ids: Non-negative integer ids (a numpy integer array or an int), any shape.
        item_ids: Non-negative integer ids (a numpy integer array or an int), any shape
            broadcastable with ``user_ids``.

    Returns:
        numpy.ndarray: float64 of the broadcast shape; entry ``[…]`` is a standard
        normal that depends only on ``key`` and the two ids at ``[…]``.

    Raises:
        TypeError: If ``key`` or an id array is not made of integers.
        ValueError: If ``key`` is outside ``[0, 2¹²⁸)``, an id is negative, or the
            shapes do not broadcast.

    Example:
        >>> import numpy as np
        >>> users, slate = np.array([0, 7]), np.array([[3, 1, 4], [1, 5, 9]])
        >>> normals = idiosyncratic_normals(12345, users[:, None], slate)
        >>> normals.shape, bool(normals[0, 1] == idiosyncratic_normals(12345, 0, 1))
        ((2, 3), True)
    """
    key_low, key_high = _check_key(key)
    users, user_shape = _check_ids(user_ids, "user_ids")
    items, item_shape = _check_ids(item_ids, "item_ids")
    try:
        shape = np.broadcast_shapes(user_shape, item_shape)
    except ValueError:
        raise ValueError(
            f"`user_ids` and `item_ids` must broadcast together, got shapes {user_shape} "
            f"and {item_shape}"
        ) from None
    # Hash each id once, at its own shape; then each pair.
    user_hash = _mix(_xor_add(users, key_low, _GAMMA_USER))
    item_hash = _mix(_xor_add(items, key_high, _GAMMA_ITEM))
    pair = _mix(np.bitwise_xor(user_hash, item_hash))
    np.add(pair, np.uint64(_GAMMA_PAIR), out=pair)
    pair = _mix(pair)
    return _to_normal(pair).reshape(shape)


def _check_key(key: Any) -> tuple[int, int]:
    """Split ``key`` into its low and high 64-bit words."""
    if isinstance(key, (bool, np.bool_)) or not isinstance(key, (int, np.integer)):
        raise TypeError(f"`key` must be an integer in [0, 2**128), got {key!r}")
    key = int(key)
    if not 0 <= key < 1 << 128:
        raise ValueError(f"`key` must be an integer in [0, 2**128), got {key!r}")
    return key & _MASK64, key >> 64


def _check_ids(ids: Any, name: str) -> tuple[NDArray[np.uint64], tuple[int, ...]]:
    """Return non-negative integer ids as a uint64 array of at least one dimension.

    Also returns the ids' own shape: a 0-d input becomes shape ``(1,)`` (ufuncs on
    arrays wrap modulo 2⁶⁴ silently, where numpy scalars would warn about overflow), and
    the caller reshapes the result to the broadcast shape.
    """
    if isinstance(ids, (bool, np.bool_)):
        raise TypeError(f"`{name}` must hold non-negative integers, got {ids!r}")
    array = np.asarray(ids) if isinstance(ids, (int, np.integer)) else ids
    if not isinstance(array, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy integer array, got {type(ids).__name__}")
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"`{name}` must hold non-negative integers, got dtype {array.dtype}")
    if array.size and np.issubdtype(array.dtype, np.signedinteger) and array.min() < 0:
        raise ValueError(f"`{name}` must hold non-negative integers, got {int(array.min())!r}")
    return np.array(array, dtype=np.uint64, ndmin=1), array.shape


def _xor_add(ids: NDArray[np.uint64], key: int, gamma: int) -> NDArray[np.uint64]:
    """``(ids ⊕ key) + γ`` modulo 2⁶⁴, in a new array."""
    out = np.bitwise_xor(ids, np.uint64(key))
    np.add(out, np.uint64(gamma), out=out)
    return out


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finaliser, in place on ``x`` (which is returned).

    ``x ^= x >> 30; x *= M1; x ^= x >> 27; x *= M2; x ^= x >> 31`` modulo 2⁶⁴: a
    bijection of 64-bit words.
    """
    shifted = np.empty_like(x)
    np.right_shift(x, np.uint64(30), out=shifted)
    np.bitwise_xor(x, shifted, out=x)
    np.multiply(x, np.uint64(_MIX_1), out=x)
    np.right_shift(x, np.uint64(27), out=shifted)
    np.bitwise_xor(x, shifted, out=x)
    np.multiply(x, np.uint64(_MIX_2), out=x)
    np.right_shift(x, np.uint64(31), out=shifted)
    np.bitwise_xor(x, shifted, out=x)
    return x


def _to_normal(hashes: NDArray[np.uint64]) -> NDArray[np.float64]:
    """Map 64-bit hashes to standard normals with their top 53 bits.

    Bits 62…11 give ``m < 2⁵²`` and ``v = (m + ½) / 2⁵³ ∈ (0, ½)`` (exact in float64);
    bit 63 gives the sign: ``ε = ndtri(v) < 0`` if it is set, ``−ndtri(v)`` if not.
    Conversions go through int64 (vectorised by numpy; uint64 → float64 is not).
    """
    bits = np.left_shift(hashes, np.uint64(1))
    np.right_shift(bits, np.uint64(12), out=bits)
    magnitude = bits.view(np.int64).astype(np.float64)
    magnitude += 0.5
    magnitude *= 2.0**-53
    from scipy.special import ndtri  # imported on first use: 0.13 s

    normals = ndtri(magnitude, out=magnitude)
    # Bit 63 is the sign of the hash read as an int64, kept by the conversion to float.
    sign = hashes.view(np.int64).astype(np.float64)
    return np.copysign(normals, sign, out=normals)
