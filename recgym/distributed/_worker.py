"""One shard of a population, as the object a Ray actor holds.

:class:`ShardWorker` is plain Python (no Ray import): :mod:`recgym.distributed.population`
turns it into an actor class with ``ray.remote``. It holds one
:meth:`~recgym.core.Population.shard` — the block-aligned slots ``[start, stop)`` of the
whole population — and answers the driver's calls with :class:`ShardResult`: the arrays
the driver mirrors, for its rows only. Every argument it receives is already the shard's
part (its rows of the actions, of the user ids, of the states), validated by the driver.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from recgym.config import PopulationConfig
from recgym.core import Population

__all__ = ["ShardResult", "ShardWorker"]


class ShardResult(NamedTuple):
    """What a shard returns after a reset or a step: its rows of the driver's mirrors.

    Attributes:
        observations: ``(m, d)`` of the population's dtype; None when the driver
            computes them itself (no observation noise: they are the clipped states).
        rewards: ``(m,)`` after a step, None after a reset.
        states: ``(m, d)`` the true states after the call.
        choices: int64 ``(m,)`` slate positions consumed (-1: none); None before the
            first step and in the plain step (the driver knows them: position 0).
        items: int64 ``(m,)`` items consumed (-1: none); None as ``choices``.
        active: With churn, bool ``(m,)`` who is present; else None.
        left: With churn, after a step, bool ``(m,)`` who left in it.
        returned: With churn, after a step, bool ``(m,)`` who came back in it.
        visits: With churn, int64 ``(m,)`` returns so far.
        available: With a changing catalogue, bool ``(n_items,)`` (the first shard
            only: every shard replicates the catalogue's draws); else None.
        next_item: The catalogue's next arriving item (0 without a catalogue).
    """

    observations: NDArray[Any] | None
    rewards: NDArray[Any] | None
    states: NDArray[Any]
    choices: NDArray[np.int64] | None
    items: NDArray[np.int64] | None
    active: NDArray[np.bool_] | None
    left: NDArray[np.bool_] | None
    returned: NDArray[np.bool_] | None
    visits: NDArray[np.int64] | None
    available: NDArray[np.bool_] | None
    next_item: int


class ShardWorker:
    """The slots ``[start, stop)`` of a population of ``total_slots``, stepped in place.

    Args:
        config: The whole population's configuration, with ``engine`` resolved to the
            whole population's (``"numpy"`` or ``"numba"``: a shard must not pick its
            own by its smaller size, or its numbers could differ in the last bit).
        total_slots: Slots of the whole population.
        start: First slot, a multiple of ``config.block_size``.
        stop: End of the range, a multiple of ``config.block_size`` or ``total_slots``.
        dtype: float64 or float32.
    """

    def __init__(
        self, config: PopulationConfig, total_slots: int, start: int, stop: int, dtype: Any
    ):
        # An error here is kept and raised by `ready`: Ray reports an exception of an
        # actor's constructor as a bare "actor died", and one of a call as itself.
        self.error: Exception | None = None
        self.stepping = self.stepping_cpu = 0.0  # seconds in Population.step (benchmarks)
        try:
            self.population = Population.shard(config, total_slots, start, stop, dtype)
        except Exception as error:  # e.g. engine="numba" on a node without numba
            self.error = error
            return
        self.first = start == 0
        self.observed = config.obs_std > 0.0  # without noise the driver clips the states
        self.plain = self.population._plain

    def ready(self) -> int:
        """The shard's number of slots, once built; the constructor's exception if it failed.

        Raises:
            Exception: Whatever building the shard raised (the driver raises it as itself).
        """
        if self.error is not None:
            raise self.error
        return self.population.n_slots

    def seed(self, seed: np.random.SeedSequence) -> None:
        """Seed the shard's blocks from the whole population's root sequence."""
        self.population.seed(seed)

    def reset(self, user_ids: NDArray[np.int64]) -> ShardResult:
        """Put the pool users ``user_ids`` ``(m,)`` into the slots; their first observations."""
        observations = self.population.reset(np.array(user_ids, dtype=np.int64))
        return self._result(observations, None)

    def set_states(self, states: NDArray[Any]) -> None:
        """Replace the true states by ``states`` ``(m, d)``."""
        self.population.set_states(states)

    def observe(self, slots: NDArray[np.intp] | None = None) -> NDArray[Any]:
        """Observations of the slots ``slots`` (local, sorted; None: all), ``(m, d)``."""
        return self.population.observe(slots)

    def step(self, actions: NDArray[np.int64]) -> ShardResult:
        """Step the shard on its rows of the validated actions, ``(m,)`` or ``(m, k)``."""
        start, cpu = time.perf_counter(), time.process_time()
        observations, rewards = self.population.step(actions)
        self.stepping += time.perf_counter() - start
        self.stepping_cpu += time.process_time() - cpu
        return self._result(observations, rewards)

    def step_seconds(self) -> tuple[float, float]:
        """Wall-clock and CPU seconds spent in the population's steps so far (benchmarks)."""
        return self.stepping, self.stepping_cpu

    def sample_users(self, slots: NDArray[np.intp] | None = None) -> NDArray[np.int64]:
        """One pool user per slot of ``slots`` (local, sorted; None: all), int64."""
        return self.population.sample_users(slots)

    def reset_slots(self, slots: NDArray[np.intp], user_ids: NDArray[np.int64]) -> ShardResult:
        """Start the pool users ``user_ids`` in the local slots ``slots``."""
        self.population.reset_slots(slots, np.array(user_ids, dtype=np.int64))
        return self._result(None, None)

    def utilities(self, slates: NDArray[np.int64], rows: NDArray[np.intp] | None) -> NDArray[Any]:
        """Utilities of the slates of the local slots ``rows`` (None: all), ``(m, k)``."""
        return self.population.utilities(slates, rows)

    def snapshot(self) -> dict[str, Any]:
        """The shard's snapshot (:meth:`recgym.core.Population.snapshot`)."""
        return self.population.snapshot()

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Check and load a snapshot of this shard's slots and blocks."""
        population = self.population
        population.load_snapshot(population.check_snapshot(snapshot))

    def _result(
        self, observations: NDArray[Any] | None, rewards: NDArray[Any] | None
    ) -> ShardResult:
        population = self.population
        stepped = rewards is not None
        return ShardResult(
            observations=observations if self.observed else None,
            rewards=rewards,
            states=population.current_states(),
            choices=None if self.plain or not stepped else population.choices,
            items=None if self.plain or not stepped else population.consumed_items,
            active=population.active,
            left=population.left,
            returned=population.returned,
            visits=population.visits,
            available=population.available if self.first else None,
            next_item=population.next_item,
        )
