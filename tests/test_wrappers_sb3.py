"""recgym with Stable-Baselines3: its default entry points, its env checker, the adapters.

Skipped when stable-baselines3 is not installed (``pip install "recgym[sb3]"``).
"""

from __future__ import annotations

import re
import warnings

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("stable_baselines3")

from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import (
    DummyVecEnv,
    VecEnv,
    VecMonitor,
    VecNormalize,
)
from stable_baselines3.common.vec_env.util import dict_to_obs, obs_space_info

import recgym
from recgym import RECEnv, RECVectorEnv
from recgym.population import PopulationEnv
from recgym.wrappers.sb3 import PopulationVecEnv, VectorEnvAdapter

NOISY = {"obs_std": 0.2, "reward_std": 0.3, "random_state": 5}
FRAME = (256, 256, 3)


@pytest.fixture(autouse=True)
def one_torch_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- SB3's default entry points -------------------------------------------------------------


def test_sb3_check_env_passes_on_recenv():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make("RECEnv-v0").unwrapped)
        check_env(gym.make("RECEnv-v0", render_mode="rgb_array").unwrapped)


def test_ppo_with_the_env_id_builds_a_rendering_env():
    model = PPO("MlpPolicy", "RECEnv-v0", n_steps=16, batch_size=16, n_epochs=1, device="cpu")
    venv = model.get_env()
    assert venv.render_mode == "rgb_array"  # SB3 passed render_mode="rgb_array"
    model.learn(16)
    assert venv.render().shape == FRAME  # one env: its frame


def test_make_vec_env_renders_a_tiled_frame():
    venv = make_vec_env("RECEnv-v0", n_envs=8, seed=0)
    venv.reset()
    venv.step(np.zeros(8, dtype=np.int64))
    frame = venv.render()
    assert frame.dtype == np.uint8 and frame.shape == (3 * 256, 3 * 256, 3)


def test_vec_video_recorder_writes_a_video(tmp_path):
    pytest.importorskip("moviepy")
    from stable_baselines3.common.vec_env import VecVideoRecorder

    for venv in (
        make_vec_env("RECEnv-v0", n_envs=2, seed=0),
        VectorEnvAdapter(gym.make_vec("RECEnv-v0", num_envs=2, render_mode="rgb_array")),
        PopulationVecEnv(PopulationEnv(n_users=50, render_mode="rgb_array")),
    ):
        recorder = VecVideoRecorder(
            venv, str(tmp_path), record_video_trigger=lambda step: step == 0, video_length=12
        )
        recorder.reset()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # moviepy's own deprecation warnings
            for _ in range(13):
                recorder.step(np.zeros(recorder.num_envs, dtype=np.int64))
            recorder.close()
    videos = sorted(tmp_path.glob("*.mp4"))
    assert len(videos) == 1  # the same name each time: the last one
    assert videos[0].stat().st_size > 0


# --- the adapters against SB3's VecEnv contract ---------------------------------------------


def test_adapter_equals_sb3_dummy_vec_env_over_recenv():
    # RECVectorEnv(num_envs=1) is RECEnv, autoreset included: SB3's own DummyVecEnv over
    # RECEnv and the adapter over RECVectorEnv must return the same numbers.
    dummy = DummyVecEnv([lambda: RECEnv(**NOISY)])
    adapter = VectorEnvAdapter(RECVectorEnv(1, **NOISY))
    for venv in (dummy, adapter):
        venv.seed(11)
    obs_a, obs_b = dummy.reset(), adapter.reset()
    assert np.array_equal(obs_a, obs_b)
    rng = np.random.default_rng(0)
    for _ in range(35):
        actions = rng.integers(0, 5, size=1)
        a, b = dummy.step(actions), adapter.step(actions)
        assert np.array_equal(a[0], b[0])
        assert np.array_equal(a[1], b[1]) and a[1].dtype == b[1].dtype == np.float32
        assert np.array_equal(a[2], b[2])
        if a[2][0]:
            assert np.array_equal(a[3][0]["terminal_observation"], b[3][0]["terminal_observation"])
            assert a[3][0]["TimeLimit.truncated"] is b[3][0]["TimeLimit.truncated"] is False


def test_adapter_is_an_sb3_vec_env_with_its_helpers():
    adapter = VectorEnvAdapter(gym.make_vec("RECEnv-v0", num_envs=4, n_items=7))
    assert isinstance(adapter, VecEnv)
    assert adapter.num_envs == 4
    assert adapter.observation_space == gym.spaces.Box(-1, 1, (5,), np.float64)
    assert adapter.action_space == gym.spaces.Discrete(7)
    keys, shapes, dtypes = obs_space_info(adapter.observation_space)
    assert keys == [None] and shapes[None] == (5,) and dtypes[None] == np.float64
    obs = adapter.reset()
    assert np.array_equal(dict_to_obs(adapter.observation_space, {None: obs}), obs)
    assert adapter.get_attr("render_mode") == [None] * 4
    assert adapter.get_attr("num_envs", indices=[1, 3]) == [4, 4]
    assert adapter.get_attr("num_envs", indices=2) == [4]
    adapter.set_attr("custom", 3)
    assert adapter.env.custom == 3
    assert adapter.env_method("close", indices=[0, 1]) == [None, None]
    assert adapter.env_is_wrapped(Monitor) == [False] * 4
    assert adapter.env_is_wrapped(RECVectorEnv) == [True] * 4
    assert adapter.seed(5) == [5, 6, 7, 8]
    first = adapter.reset()
    adapter.seed(5)
    assert np.array_equal(adapter.reset(), first)  # the seed is used at the next reset
    with pytest.raises(RuntimeError, match=re.escape("call `step_async(actions)` before")):
        adapter.step_wait()
    adapter.close()


def test_vec_monitor_reports_the_episodes_of_a_manual_rollout():
    n = 3
    monitor = VecMonitor(VectorEnvAdapter(RECVectorEnv(n, **NOISY)))
    monitor.seed(4)
    monitor.reset()
    manual = RECVectorEnv(n, **NOISY)
    manual.reset(seed=4)
    returns = np.zeros(n)
    episodes = []
    rng = np.random.default_rng(1)
    for step in range(25):
        actions = rng.integers(0, 5, size=n)
        _, _, dones, infos = monitor.step(actions)
        _, rewards, terminated, _, _ = manual.step(actions)
        returns += rewards.astype(np.float32)
        if terminated.all():
            manual.step(np.zeros(n, dtype=np.int64))  # the autoreset step SB3 never sees
            episodes.append(returns.copy())
            returns[:] = 0
        assert dones.all() == (step % 10 == 9)
        if dones.all():
            stats = [info["episode"] for info in infos]
            assert [s["l"] for s in stats] == [10] * n
            np.testing.assert_allclose([s["r"] for s in stats], episodes[-1], rtol=1e-5)
    assert monitor.episode_count == 2 * n


def test_vec_normalize_and_the_population_adapter():
    venv = VecNormalize(PopulationVecEnv(PopulationEnv(n_users=16, step_per_episode=3)))
    venv.reset()
    for _ in range(4):
        obs, rewards, _, _ = venv.step(np.zeros(16, dtype=np.int64))
    assert obs.shape == (16, 5) and rewards.shape == (16,)


def test_ppo_collects_a_rollout_on_both_adapters():
    for venv in (
        VecMonitor(VectorEnvAdapter(gym.make_vec("RECEnv-v0", num_envs=8))),
        VecMonitor(PopulationVecEnv(PopulationEnv(n_users=8, step_per_episode=5))),
    ):
        model = PPO("MlpPolicy", venv, n_steps=16, batch_size=64, n_epochs=1, device="cpu")
        model.learn(128)
        assert model.num_timesteps == 128
        assert len(model.ep_info_buffer) > 0


def test_adapter_renders_through_sb3():
    adapter = VectorEnvAdapter(gym.make_vec("RECEnv-v0", num_envs=4, render_mode="rgb_array"))
    adapter.reset()
    assert adapter.render_mode == "rgb_array"
    assert len(adapter.get_images()) == 4
    assert adapter.render().shape == (512, 512, 3)
    population = PopulationVecEnv(PopulationEnv(n_users=30, render_mode="rgb_array"))
    population.reset()
    assert population.render().shape == FRAME  # the population's one frame
    silent = VectorEnvAdapter(gym.make_vec("RECEnv-v0", num_envs=2))
    with pytest.warns(UserWarning, match="assumes it is `rgb_array`"):
        assert silent.get_images() == [None, None]


def test_population_adapter_spaces_and_seed():
    env = PopulationEnv(n_users=5, n_items=9, dtype=np.float32)
    venv = PopulationVecEnv(env)
    assert venv.num_envs == 5
    assert venv.observation_space.dtype == np.float32
    assert venv.action_space == gym.spaces.Discrete(9)
    venv.seed(3)
    first = venv.reset()
    venv.seed(3)
    assert np.array_equal(venv.reset(), first)
    assert recgym.RECEnv is RECEnv
