"""Registration of recgym's environments with Gymnasium and PettingZoo."""

from __future__ import annotations

import gymnasium
import pettingzoo

__all__ = ["register_envs"]


def register_envs() -> None:
    """Register recgym's environments (idempotent).

    * Gymnasium: ``"RECEnv-v0"`` (``gymnasium.make``) with :class:`recgym.RECVectorEnv`
      as its vector entry point (``gymnasium.make_vec``).
    * PettingZoo: ``"recgym/Population-v0"`` in both registries,
      ``pettingzoo.make("parallel", ...)`` and ``pettingzoo.make("aec", ...)``.

    The keyword defaults are the original's (``random_state=12345``); the spec is
    deterministic given a seed, and has no ``max_episode_steps`` because episodes end by
    themselves after ``step_per_episode`` steps.
    """
    if "RECEnv-v0" not in gymnasium.registry:
        gymnasium.register(
            id="RECEnv-v0",
            entry_point="recgym.rec_env:RECEnv",
            vector_entry_point="recgym.vector_env:RECVectorEnv",
            kwargs={"random_state": 12345},
        )
    for env_type, factory in (("parallel", "parallel_env"), ("aec", "env")):
        registry = (
            pettingzoo.parallel_registry if env_type == "parallel" else pettingzoo.aec_registry
        )
        if "recgym/Population-v0" not in registry:
            pettingzoo.register(
                env_type,
                "recgym/Population-v0",
                entry_point=f"recgym.population.env:{factory}",
                kwargs={"random_state": 12345},  # as RECEnv-v0: the same population each make
            )
