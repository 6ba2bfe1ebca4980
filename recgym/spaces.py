"""``Slate``: the action space of a slate of distinct items.

A slate of ``k`` items out of ``n_items`` is a :class:`gymnasium.spaces.MultiDiscrete`
``[n_items] * k`` whose members never repeat an item. :class:`Slate` is that
``MultiDiscrete`` (so every library that handles ``MultiDiscrete`` handles it) with a
``sample`` that draws ``k`` distinct items and a ``contains`` that rejects repeats. A
batch of slates (a vector environment's action space) is a :class:`Slate` of shape
``(num_envs, k)``, each row a slate.

Example:
    >>> from recgym.spaces import Slate
    >>> space = Slate(n_items=10, slate_size=3, seed=0)
    >>> slate = space.sample()
    >>> slate.shape, len(set(slate.tolist())) == 3, space.contains(slate)
    ((3,), True, True)
    >>> space.contains(np.array([1, 1, 2]))
    False
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np
from gymnasium.spaces import Discrete, MultiDiscrete
from gymnasium.vector.utils import batch_space
from numpy.typing import NDArray

from recgym._validation import check_positive_int

if TYPE_CHECKING:
    from recgym.config import PopulationConfig

__all__ = ["Slate", "action_space_of"]


class Slate(MultiDiscrete):
    """``k`` distinct items out of ``n_items``: a ``MultiDiscrete([n_items] * k)`` without repeats.

    Args:
        n_items: Number of items ``n``.
        slate_size: Items per slate ``k``, at most ``n_items``.
        batch: If given, a batch of that many slates: shape ``(batch, k)``.
        seed: Seed of :meth:`sample`'s generator.

    Raises:
        TypeError: If an argument is not an integer.
        ValueError: If ``slate_size > n_items`` or an argument is not positive.
    """

    def __init__(
        self,
        n_items: int,
        slate_size: int,
        *,
        batch: int | None = None,
        seed: int | np.random.Generator | None = None,
    ):
        n_items = check_positive_int(n_items, "n_items")
        slate_size = check_positive_int(slate_size, "slate_size")
        if slate_size > n_items:
            raise ValueError(f"`slate_size` must be at most n_items ({n_items}), got {slate_size}")
        shape = (slate_size,) if batch is None else (check_positive_int(batch, "batch"), slate_size)
        self.n_items = n_items
        self.slate_size = slate_size
        super().__init__(np.full(shape, n_items, dtype=np.int64), dtype=np.int64, seed=seed)

    def sample(
        self,
        mask: Any = None,
        probability: Any = None,
    ) -> NDArray[np.int64]:
        """Draw slates of distinct items, uniformly (each row independently).

        Args:
            mask: Not supported (a slate's positions are not independent).
            probability: Not supported.

        Raises:
            ValueError: If ``mask`` or ``probability`` is given.
        """
        if mask is not None or probability is not None:
            raise ValueError("Slate.sample takes no `mask` or `probability`")
        rows = self.shape[0] if len(self.shape) == 2 else 1
        # The k smallest of n uniform keys: a uniformly random ordered k-subset per row.
        keys = self.np_random.random((rows, self.n_items))
        slates = np.argpartition(keys, self.slate_size - 1, axis=1)[:, : self.slate_size]
        order = np.argsort(np.take_along_axis(keys, slates, axis=1), axis=1)
        slates = np.take_along_axis(slates, order, axis=1).astype(np.int64)
        return slates.reshape(self.shape)

    def contains(self, x: Any) -> bool:
        """Whether ``x`` is a slate (or batch of slates) of this space with no repeat."""
        if not super().contains(x):
            return False
        rows = np.sort(np.asarray(x).reshape(-1, self.slate_size), axis=1)
        return bool(not (rows[:, 1:] == rows[:, :-1]).any())

    def __repr__(self) -> str:
        batch = "" if len(self.shape) == 1 else f", batch={self.shape[0]}"
        return f"Slate(n_items={self.n_items}, slate_size={self.slate_size}{batch})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Slate)
            and self.shape == other.shape
            and (self.n_items == other.n_items)
        )


@batch_space.register(Slate)
def _batch_slates(space: Slate, n: int = 1) -> Slate:
    """Gymnasium's ``batch_space`` of a slate: ``n`` independent slates, shape ``(n, k)``."""
    if len(space.shape) != 1:
        raise ValueError(f"cannot batch a batch of slates {space!r}")
    return Slate(space.n_items, space.slate_size, batch=n, seed=copy.deepcopy(space.np_random))


def action_space_of(config: PopulationConfig) -> Discrete | Slate:
    """One user's action space: ``Discrete(n_items)`` at slate size 1, else a :class:`Slate`."""
    if config.slate_size == 1:
        return Discrete(config.n_items)
    return Slate(config.n_items, config.slate_size)
