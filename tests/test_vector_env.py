"""RECVectorEnv against the native-vector-env checklist of api_conventions.md §2.8.

Gymnasium has no ``check_env`` for vector environments, so these tests are the checker.
"""

from __future__ import annotations

import pickle
import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from gymnasium.vector import VectorEnv
from gymnasium.vector.utils import batch_space
from gymnasium.wrappers.vector import DictInfoToList, NormalizeReward, RecordEpisodeStatistics

from recgym import RECVectorEnv
from recgym.errors import ResetNeeded

try:
    from gymnasium.vector import AutoresetMode
except ImportError:  # Gymnasium 1.0.0, the declared minimum
    AutoresetMode = None

N = 6
GYMNASIUM_1_0 = AutoresetMode is None
needs_autoreset_modes = pytest.mark.skipif(
    GYMNASIUM_1_0,
    reason="Gymnasium 1.0 has no AutoresetMode and its vector envs set no 'autoreset_mode' "
    "metadata; next-step autoreset is its only convention",
)


def make(**kwargs):
    return RECVectorEnv(**{"num_envs": N, "n_items": 7, "random_state": 0, **kwargs})


def test_metadata_declares_next_step_autoreset():
    if GYMNASIUM_1_0:  # no enum, and nothing reads the key: the enum's value, for people
        assert make().metadata["autoreset_mode"] == "NextStep"
    else:  # Gymnasium >= 1.1's wrappers and make_vec require the enum member itself
        assert RECVectorEnv.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
        assert make().metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP


def test_class_metadata_and_spaces():
    env = make(user_feature_dim=3, item_feature_dim=3)
    assert isinstance(env, VectorEnv)
    assert env.num_envs == N
    assert env.single_observation_space == gym.spaces.Box(-1, 1, (3,), np.float64)
    assert env.single_action_space == gym.spaces.Discrete(7)
    assert env.observation_space == batch_space(env.single_observation_space, N)
    assert env.action_space == batch_space(env.single_action_space, N)


def test_reset_is_seeded():
    env = make(n_users=1000, obs_std=0.1)
    obs, info = env.reset(seed=1)
    again, info_again = env.reset(seed=1)
    assert data_equivalence((obs, info), (again, info_again), exact=True)
    other, other_info = env.reset(seed=2)
    assert not np.array_equal(obs, other)
    assert not np.array_equal(info["user_id"], other_info["user_id"])
    # The first unseeded reset uses random_state; a twin env repeats it.
    assert data_equivalence(make(n_users=1000).reset(), make(n_users=1000).reset(), exact=True)


def test_returned_types_shapes_and_dtypes():
    env = make(obs_std=0.1, reward_std=0.1)
    obs, info = env.reset(seed=0)
    stepped = False  # the reset and every autoreset step show no item: no choice, no item
    for _ in range(12):
        assert obs.dtype == env.observation_space.dtype == np.float64
        assert obs in env.observation_space
        keys = {"user_id", "_user_id", "state", "_state"}
        assert set(info) == (keys | {"choice", "_choice", "item", "_item"} if stepped else keys)
        assert info["user_id"].shape == (N,)
        assert info["state"].shape == (N, 5)
        for mask in (info["_user_id"], info["_state"]):
            assert mask.dtype == np.bool_
            assert mask.all()
        obs, rewards, terminations, truncations, info = env.step(env.action_space.sample())
        stepped = "choice" in info
        assert rewards.shape == terminations.shape == truncations.shape == (N,)
        assert rewards.dtype == np.float64
        assert terminations.dtype == truncations.dtype == np.bool_


def test_next_step_autoreset_sequence():
    # Every user ends deterministically after step_per_episode=3 steps.
    env = make(step_per_episode=3, obs_std=0.1, reward_std=0.1)
    obs, info = env.reset(seed=0)
    actions = np.zeros(N, dtype=np.int64)
    for step in range(1, 4):
        obs, rewards, terminations, truncations, info = env.step(actions)
        assert terminations.tolist() == [step == 3] * N
        assert not truncations.any()
        assert rewards.any()
    final_users = info["user_id"]

    # The next step ignores the actions, draws new users, reward 0, flags False.
    twin = pickle.loads(pickle.dumps(env))
    obs, rewards, terminations, truncations, info = env.step(actions)
    other = twin.step(np.full(N, 6))
    assert data_equivalence((obs, rewards, terminations, truncations, info), other, exact=True)
    assert rewards.tolist() == [0.0] * N
    assert not terminations.any()
    assert not truncations.any()
    assert not np.array_equal(info["user_id"], final_users)  # fresh draws from 100 users
    assert np.array_equal(info["state"], env.config.user_features[info["user_id"]])

    # And the new episode runs normally.
    obs, rewards, terminations, truncations, info = env.step(actions)
    assert rewards.any()
    assert not terminations.any()


def test_max_episode_steps_truncates_then_autoresets():
    env = make(step_per_episode=10, max_episode_steps=2)
    env.reset(seed=0)
    actions = np.ones(N, dtype=np.int64)
    flags = [env.step(actions)[2:4] for _ in range(5)]
    assert [truncated.all() for _, truncated in flags] == [False, True, False, False, True]
    assert not any(terminated.any() for terminated, _ in flags)


def test_returned_arrays_never_alias_each_other_or_the_env():
    env, twin = make(obs_std=0.1, step_per_episode=2), make(obs_std=0.1, step_per_episode=2)
    returned = []
    for vector in (env, twin):
        obs, info = vector.reset(seed=0)
        if vector is env:
            returned += [obs, *info.values()]
    actions = np.arange(N) % 7
    for _ in range(5):  # crosses two autoresets
        step = env.step(actions)
        twin.step(actions)
        arrays = [step[0], step[1], step[2], step[3], *step[4].values()]
        for new in arrays:
            assert not any(np.shares_memory(new, old) for old in returned)
        returned += arrays
    # Scribbling over everything returned changes nothing for the env.
    for array in returned:
        array[...] = 0
    for _ in range(3):
        assert data_equivalence(env.step(actions), twin.step(actions), exact=True)


def test_make_vec_returns_the_native_vector_env():
    env = gym.make_vec("RECEnv-v0", num_envs=5, n_items=9)
    assert type(env) is RECVectorEnv
    assert env.num_envs == 5
    assert env.spec.id == "RECEnv-v0"
    assert env.spec.kwargs["num_envs"] == 5
    assert env.config.random_state == 12345  # the registered default
    assert env.max_episode_steps is None  # the spec sets none
    assert gym.make_vec("RECEnv-v0", num_envs=2, max_episode_steps=3).max_episode_steps == 3


def test_make_vec_sync_mode_agrees_in_spaces():
    native = gym.make_vec("RECEnv-v0", num_envs=3, n_items=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sync = gym.make_vec("RECEnv-v0", num_envs=3, n_items=9, vectorization_mode="sync")
        sync.reset(seed=0)
        sync.step(sync.action_space.sample())
    assert isinstance(sync, gym.vector.SyncVectorEnv)
    for name in ("observation_space", "action_space", "single_observation_space"):
        assert getattr(sync, name) == getattr(native, name)
    assert sync.single_action_space == native.single_action_space
    sync.close()


@needs_autoreset_modes
def test_make_vec_sync_mode_agrees_in_autoreset_mode():
    native = gym.make_vec("RECEnv-v0", num_envs=3, n_items=9)
    sync = gym.make_vec("RECEnv-v0", num_envs=3, n_items=9, vectorization_mode="sync")
    assert sync.metadata["autoreset_mode"] is native.metadata["autoreset_mode"]
    assert native.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    sync.close()


def test_gymnasium_vector_wrappers_run_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = RecordEpisodeStatistics(gym.make_vec("RECEnv-v0", num_envs=4, reward_std=0.1))
        stats.reset(seed=0)
        total = np.zeros(4)
        for _ in range(10):
            _, rewards, terminations, _, info = stats.step(stats.action_space.sample())
            total += rewards
        assert terminations.all()
        assert info["episode"]["l"].tolist() == [10] * 4
        assert np.allclose(info["episode"]["r"], total)

        normalized = NormalizeReward(gym.make_vec("RECEnv-v0", num_envs=4, reward_std=0.1))
        normalized.reset(seed=0)
        for _ in range(12):
            _, rewards, _, _, _ = normalized.step(normalized.action_space.sample())
            assert rewards.shape == (4,)
            assert np.isfinite(rewards).all()

        as_list = DictInfoToList(gym.make_vec("RECEnv-v0", num_envs=4))
        _, infos = as_list.reset(seed=0)
        _, _, _, _, infos = as_list.step(as_list.action_space.sample())
        assert isinstance(infos, list)
        assert len(infos) == 4
        assert set(infos[0]) == {"user_id", "state", "choice", "item"}


def test_pickle_round_trip_continues_identically():
    env = make(obs_std=0.1, reward_std=0.1, step_per_episode=3)
    env.reset(seed=4)
    env.step(np.zeros(N, dtype=np.int64))
    clone = pickle.loads(pickle.dumps(env))
    rng = np.random.default_rng(0)
    for _ in range(8):  # through two autoresets
        actions = rng.integers(7, size=N)
        assert data_equivalence(env.step(actions), clone.step(actions), exact=True)


def test_render():
    env = make(num_envs=2, render_mode="ansi")
    with pytest.raises(ValueError, match=re.escape("Cannot call `render` before `reset`")):
        env.render()
    env.reset(seed=0)
    frames = env.render()
    assert isinstance(frames, tuple)
    assert len(frames) == 2
    assert frames[1].startswith("RECVectorEnv[1] step 0/10\n")
    env.step(np.zeros(2, dtype=np.int64))
    assert "RECVectorEnv[0] step 1/10" in env.render()[0]
    with pytest.warns(UserWarning, match="without specifying any render mode"):
        assert make().render() is None
    message = "`render_mode` must be one of ['ansi', 'rgb_array'] or None"
    with pytest.raises(ValueError, match=re.escape(message)):
        make(render_mode="human")
    env.close()
    env.close()


def test_errors():
    env = make()
    with pytest.raises(ResetNeeded, match=re.escape("Cannot call `step` before `reset`")):
        env.step(np.zeros(N, dtype=np.int64))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=re.escape(f"`actions` must have shape ({N},), got (2,)")):
        env.step(np.zeros(2, dtype=np.int64))
    with pytest.raises(
        TypeError, match=re.escape("`actions` must hold integers, got dtype float64")
    ):
        env.step(np.zeros(N))
    with pytest.raises(TypeError, match=re.escape("`actions` must be a numpy integer array")):
        env.step([0] * N)
    with pytest.raises(ValueError, match=re.escape("`actions` must lie in [0, 7), got [7]")):
        env.step(np.array([0, 0, 0, 0, 0, 7]))
    with pytest.raises(ValueError, match=re.escape("`num_envs` must be a positive integer, got 0")):
        make(num_envs=0)
    with pytest.raises(
        ValueError, match=re.escape("`max_episode_steps` must be a positive integer, got 0")
    ):
        make(max_episode_steps=0)


def test_render_shows_the_noisy_observations_returned():
    env = RECVectorEnv(num_envs=2, obs_std=0.3, random_state=0, render_mode="ansi")
    obs, _ = env.reset(seed=0)
    frames = env.render()
    with np.printoptions(precision=3, suppress=True, floatmode="fixed", sign=" "):
        assert all(f"obs {obs[i]}" in frames[i] for i in range(2))
    obs[...] = 0.0  # the caller's edits do not reach the frames
    assert env.render() == frames
