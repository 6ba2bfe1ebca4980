"""A changing catalogue: items arrive and retire while users are stepped.

The item table of an environment is its *largest* catalogue, ``n_items`` rows drawn
(or given) up front, and the action spaces are sized to it. With
:class:`CatalogueChange`, only some of those items are *available* at a time:

* at reset, the first ``initial_items`` rows are available and the rest are waiting;
* after every step, each available item retires with probability ``retirement_rate``
  (a geometric lifetime of mean ``1 / retirement_rate`` steps), and
  ``Poisson(arrival_rate)`` waiting items arrive, in table order — new items come from
  the same distribution as the catalogue because they are rows of the same table;
* a retired item never returns; when no item is left waiting, arrivals stop; and at
  least a slate's worth of items stays available (see :meth:`CatalogueChange.change`).

The availability mask, bool ``(n_items,)``, is in the step's info (``"available"``);
recommending an unavailable item is a ``ValueError`` that names it, and the built-in
policies never do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_nonnegative_float, check_positive_int, check_probability

__all__ = ["CatalogueChange"]


@dataclass(frozen=True)
class CatalogueChange:
    """Items arriving at a rate and retiring, within a table of ``n_items`` items.

    Args:
        initial_items: Items available at reset (the first rows of the table), at most
            ``n_items`` (checked when the environment is built).
        arrival_rate: Mean number of items arriving per step (Poisson), ``>= 0``.
        retirement_rate: Each available item's probability of retiring per step, in
            ``[0, 1]``.

    Raises:
        TypeError: If an argument is of the wrong kind.
        ValueError: If an argument is out of range.
    """

    initial_items: int
    arrival_rate: float = 0.0
    retirement_rate: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "initial_items", check_positive_int(self.initial_items, "initial_items")
        )
        object.__setattr__(
            self, "arrival_rate", check_nonnegative_float(self.arrival_rate, "arrival_rate")
        )
        object.__setattr__(
            self, "retirement_rate", check_probability(self.retirement_rate, "retirement_rate")
        )

    def check(self, n_items: int, slate_size: int) -> None:
        """Check against the table and the slate: ``slate_size <= initial_items <= n_items``.

        Raises:
            ValueError: Otherwise.
        """
        if self.initial_items > n_items:
            raise ValueError(
                f"`initial_items` must be at most n_items ({n_items}), got {self.initial_items}"
            )
        if self.initial_items < slate_size:
            raise ValueError(
                f"`initial_items` must be at least slate_size ({slate_size}), "
                f"got {self.initial_items}"
            )

    def initial(self, n_items: int) -> tuple[NDArray[np.bool_], int]:
        """The availability at reset and the next waiting row."""
        available = np.zeros(n_items, dtype=np.bool_)
        available[: self.initial_items] = True
        return available, self.initial_items

    def change(
        self,
        available: NDArray[np.bool_],
        waiting: int,
        rng: np.random.Generator,
        minimum: int = 1,
    ) -> int:
        """One step of retirements then arrivals, in place; returns the next waiting row.

        Retirements never leave fewer than ``minimum`` items (a slate's worth) available:
        if they would, the retiring items of lowest index stay. Draws ``n_items``
        uniforms if ``retirement_rate > 0`` and one Poisson count if ``arrival_rate > 0``;
        nothing otherwise.
        """
        if self.retirement_rate > 0.0:
            retiring = available & (rng.random(len(available)) < self.retirement_rate)
            short = minimum - (int(available.sum()) - int(retiring.sum()))
            if short > 0:
                retiring[np.flatnonzero(retiring)[:short]] = False
            available &= ~retiring
        if self.arrival_rate > 0.0:
            arriving = min(int(rng.poisson(self.arrival_rate)), len(available) - waiting)
            available[waiting : waiting + arriving] = True
            waiting += arriving
        return waiting
