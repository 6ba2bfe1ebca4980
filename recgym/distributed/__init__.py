"""Populations sharded over Ray actors (the optional extra ``recgym[ray]``).

:class:`ShardedPopulationEnv` is a :class:`~recgym.population.PopulationEnv` whose users
are split into block-aligned shards, each stepped by one Ray actor, behind the same
``reset_batch`` / ``step_batch`` (and PettingZoo) API, with bit-for-bit the
single-process numbers. :class:`~recgym.distributed.population.ShardedPopulation` is
its core. ``import recgym`` never imports this package (nor Ray); see
``docs/scaling.md``.
"""

from __future__ import annotations

try:
    import ray  # noqa: F401  (the extra's dependency, checked once here)
except ImportError as error:  # pragma: no cover - exercised where Ray is missing
    raise ImportError(
        "recgym.distributed needs Ray, the optional extra recgym[ray]: "
        f"pip install 'recgym[ray]' ({error})"
    ) from error

from recgym.distributed.env import ShardedPopulationEnv
from recgym.distributed.population import ShardedPopulation

__all__ = ["ShardedPopulation", "ShardedPopulationEnv"]
