"""Stable-Baselines3 trains on recgym: PPO for one rollout through each route.

Marked ``integration``; skipped where stable-baselines3 is not installed.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecMonitor

import recgym  # noqa: F401 - registers "RECEnv-v0"
from recgym.population import PopulationEnv
from recgym.wrappers.sb3 import PopulationVecEnv, VectorEnvAdapter

pytestmark = pytest.mark.integration
torch.set_num_threads(1)


def test_ppo_one_rollout_with_the_env_id():
    model = PPO("MlpPolicy", "RECEnv-v0", n_steps=32, batch_size=32, n_epochs=1, device="cpu")
    model.learn(32)
    assert model.num_timesteps == 32
    assert model.get_env().render_mode == "rgb_array"


def test_ppo_one_rollout_with_make_vec_env():
    venv = make_vec_env("RECEnv-v0", n_envs=8, seed=0)
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=64, n_epochs=1, device="cpu")
    model.learn(128)
    assert model.num_timesteps == 128 and len(model.ep_info_buffer) == 8


@pytest.mark.parametrize("route", ["vector", "population"])
def test_ppo_one_rollout_through_the_adapters(route):
    if route == "vector":
        venv = VectorEnvAdapter(gym.make_vec("RECEnv-v0", num_envs=64, n_items=10))
    else:
        venv = PopulationVecEnv(PopulationEnv(n_users=64, n_items=10, random_state=0))
    venv = VecMonitor(venv)
    model = PPO("MlpPolicy", venv, n_steps=16, batch_size=256, n_epochs=1, device="cpu", seed=0)
    model.learn(1024)
    assert model.num_timesteps == 1024
    episodes = list(model.ep_info_buffer)
    assert episodes and all(info["l"] == 10 for info in episodes)
    actions, _ = model.predict(venv.reset(), deterministic=True)
    assert actions.shape == (64,) and ((actions >= 0) & (actions < 10)).all()
    assert np.issubdtype(actions.dtype, np.integer)
