"""recgym: simulate how recommendations change people, one user or a whole population.

``import recgym`` registers ``"RECEnv-v0"`` with Gymnasium and
``"recgym/Population-v0"`` with PettingZoo.
"""

from __future__ import annotations

from recgym.rec_env import RECEnv
from recgym.registration import register_envs
from recgym.user_model import BaseUserModel, UserModel
from recgym.vector_env import RECVectorEnv

__version__ = "0.2.0.dev0"

__all__ = ["BaseUserModel", "RECEnv", "RECVectorEnv", "UserModel", "__version__"]

register_envs()
