"""Registration of recgym's environments with Gymnasium and PettingZoo."""

from __future__ import annotations

import gymnasium

__all__ = ["register_envs"]


def register_envs() -> None:
    """Register ``"RECEnv-v0"`` with Gymnasium (idempotent).

    The keyword defaults are the original's (``random_state=12345``); the spec is
    deterministic given a seed, and has no ``max_episode_steps`` because episodes end by
    themselves after ``step_per_episode`` steps.
    """
    if "RECEnv-v0" not in gymnasium.registry:
        gymnasium.register(
            id="RECEnv-v0",
            entry_point="recgym.rec_env:RECEnv",
            kwargs={"random_state": 12345},
        )
