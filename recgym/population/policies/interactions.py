"""What users consumed, as the learning policies remember it.

:class:`_InteractionLog` is the log of the policies trained on consumption
(collaborative filtering, the implicit-feedback factorisation, item-kNN): each step's
consumed ``(user, item[, reward])`` triples are buffered and merged, when the policy
retrains, into ``scipy.sparse`` matrices ``(N, n_items)`` of counts (and reward sums).
:class:`_ConsumedItems` is the per-user memory of ``exclude_consumed``: one bit per user
and item, updated every step, as the population core keeps its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

__all__: list[str] = []

#: A buffered step: the users who consumed (None: every user, in order), their items and,
#: for a log with rewards, their rewards.
_Pending = tuple[NDArray[np.int64] | None, NDArray[np.int64], NDArray[np.float64] | None]


def _zero_rows(matrix: sp.csr_array, rows: NDArray[np.int64]) -> sp.csr_array:
    """``matrix`` (CSR) with the given rows emptied, as a new CSR array."""
    keep = np.ones(matrix.shape[0], dtype=np.bool_)
    keep[rows] = False
    entry_rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    data = np.where(keep[entry_rows], matrix.data, 0.0)
    emptied = sp.csr_array((data, matrix.indices.copy(), matrix.indptr.copy()), shape=matrix.shape)
    emptied.eliminate_zeros()
    return emptied


class _InteractionLog:
    """The consumed (user, item) pairs of every step so far, as sparse count matrices.

    :meth:`add` buffers a step (no sparse work); :meth:`merge` folds the buffered steps
    into :attr:`counts`, the number of times each user consumed each item, and, for a log
    with rewards, :attr:`sums`, the sum of their rewards: both CSR ``(N, n_items)``
    float64, with at most one entry per distinct pair.

    Args:
        n_users: Rows ``N``.
        n_items: Columns.
        rewards: Whether to keep the reward sums.
    """

    def __init__(self, n_users: int, n_items: int, *, rewards: bool) -> None:
        self.shape = (n_users, n_items)
        self.pending: list[_Pending] = []
        self.counts = sp.csr_array(self.shape, dtype=np.float64)
        self.sums = sp.csr_array(self.shape, dtype=np.float64) if rewards else None

    def add(self, consumed: NDArray[np.int64], rewards: NDArray[np.float64]) -> None:
        """Buffer one step: each user's consumed item (-1 for none) and reward, ``(N,)``."""
        keep = self.sums is not None
        if (consumed >= 0).all():
            self.pending.append((None, consumed.copy(), rewards.copy() if keep else None))
        else:
            users = np.flatnonzero(consumed >= 0)
            self.pending.append((users, consumed[users], rewards[users] if keep else None))

    def merge(self) -> None:
        """Add the buffered steps to :attr:`counts` (and :attr:`sums`)."""
        if not self.pending:
            return
        every_user = np.arange(self.shape[0])
        users = np.concatenate(
            [every_user if logged is None else logged for logged, _, _ in self.pending]
        )
        items = np.concatenate([items for _, items, _ in self.pending])
        self.counts += sp.coo_array((np.ones(len(items)), (users, items)), shape=self.shape).tocsr()
        if self.sums is not None:
            rewards = np.concatenate(
                [rewards for _, _, rewards in self.pending if rewards is not None]
            )
            self.sums += sp.coo_array((rewards, (users, items)), shape=self.shape).tocsr()
        self.pending.clear()

    def forget(self, rows: NDArray[np.int64]) -> None:
        """Drop everything logged about the users in ``rows`` (buffered steps included)."""
        self.merge()
        self.counts = _zero_rows(self.counts, rows)
        if self.sums is not None:
            self.sums = _zero_rows(self.sums, rows)


#: Set bits of every byte value (a popcount table).
_BITS_SET = np.array([bin(byte).count("1") for byte in range(256)], dtype=np.int64)


class _ConsumedItems:
    """Which items each user has consumed: ``⌈n_items / 8⌉`` bytes per user.

    Item ``j`` of user ``i`` is bit ``7 − j mod 8`` of byte ``j // 8`` of row ``i`` (the
    layout of ``numpy.packbits``), as in the population core's consumption memory.

    Args:
        n_users: Rows ``N``.
        n_items: Items.
    """

    def __init__(self, n_users: int, n_items: int) -> None:
        self.n_items = n_items
        self.bits = np.zeros((n_users, -(-n_items // 8)), dtype=np.uint8)

    def add(self, consumed: NDArray[np.int64]) -> None:
        """Record each user's consumed item, int64 ``(N,)`` (-1: none)."""
        users = np.flatnonzero(consumed >= 0)
        items = consumed[users]
        self.bits[users, items >> 3] |= (0x80 >> (items & 7)).astype(np.uint8)

    def forget(self, rows: NDArray[np.int64]) -> None:
        """Clear the memory of the users in ``rows``."""
        self.bits[rows] = 0

    def rows(self, chunk: slice) -> NDArray[np.bool_]:
        """Whether each user of ``chunk`` consumed each item, bool ``(len, n_items)``."""
        unpacked = np.unpackbits(self.bits[chunk], axis=1, count=self.n_items)
        return unpacked.view(np.bool_)

    def holds(self, items: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Whether user ``i`` consumed ``items[i, …]``: items ``(N,)`` or ``(N, k)``, bool alike."""
        users = np.arange(len(items)).reshape((-1,) + (1,) * (items.ndim - 1))
        return (self.bits[users, items >> 3] & (0x80 >> (items & 7))) != 0

    def left(self, available: NDArray[np.bool_] | None) -> NDArray[np.int64]:
        """Per user, the available items it has not consumed, int64 ``(N,)``."""
        if available is None:
            return self.n_items - _BITS_SET[self.bits].sum(axis=1)
        mask = np.packbits(available)
        return int(np.count_nonzero(available)) - _BITS_SET[self.bits & mask].sum(axis=1)

    def check_left(self, available: NDArray[np.bool_] | None, slate_size: int) -> NDArray[Any]:
        """:meth:`left`; a ``ValueError`` names the first user with fewer than ``slate_size``."""
        left = self.left(available)
        short = np.flatnonzero(left < slate_size)
        if short.size:
            raise ValueError(_too_few_left(int(short[0]), int(left[short[0]]), slate_size))
        return left


def _too_few_left(user: int, left: int, slate_size: int) -> str:
    """The message of a user left with too few items by ``exclude_consumed``."""
    return (
        f"`exclude_consumed` leaves user {user} {left} item(s) it has not consumed among the "
        f"available ones, fewer than slate_size ({slate_size}): use a larger catalogue, "
        "fewer steps or exclude_consumed=False"
    )
