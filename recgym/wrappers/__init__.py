"""Adapters to the RL libraries people already use (optional dependencies).

Each submodule imports its library when it is imported itself, never before:
``import recgym`` does not import this package, and ``import recgym.wrappers`` imports
no RL library.

* :mod:`recgym.wrappers.sb3` — Stable-Baselines3 ``VecEnv`` adapters over
  :class:`recgym.RECVectorEnv` (:class:`~recgym.wrappers.sb3.VectorEnvAdapter`) and over
  :class:`recgym.population.PopulationEnv`'s array API
  (:class:`~recgym.wrappers.sb3.PopulationVecEnv`); needs ``stable-baselines3``
  (``pip install "recgym[sb3]"``).
* :mod:`recgym.wrappers.d3rlpy` — a logged dataset as a d3rlpy ``MDPDataset``
  (:func:`~recgym.wrappers.d3rlpy.to_mdp_dataset`) and the same arrays without d3rlpy
  (:func:`~recgym.wrappers.d3rlpy.mdp_arrays`); needs ``d3rlpy`` for the former
  (``pip install "recgym[d3rlpy]"``).
* :mod:`recgym.wrappers.autoreset` — the numpy core of the SB3 adapters (the
  NEXT_STEP → same-step autoreset translation), usable without Stable-Baselines3.

See ``docs/rl_libraries.md`` for recipes with SB3, RLlib, d3rlpy, SCOPE-RL and a
hand-written loop.
"""

from __future__ import annotations

__all__: list[str] = []
