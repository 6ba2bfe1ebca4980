"""recgym.wrappers without the RL libraries: the same-step translation and the d3rlpy arrays."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import recgym
from recgym import RECVectorEnv
from recgym.engagement import Churn
from recgym.population import PopulationEnv, collect_logged_dataset
from recgym.wrappers.autoreset import SameStepPopulation, SameStepVector
from recgym.wrappers.d3rlpy import mdp_arrays, to_mdp_dataset

NOISY = {"obs_std": 0.2, "reward_std": 0.3, "random_state": 5}


def manual_same_step(env, actions_per_step, seed):
    """SB3's view of a NEXT_STEP vector env, built by hand: drop the autoreset steps."""
    obs, _ = env.reset(seed=seed)
    out = []
    for actions in actions_per_step:
        obs_t, rewards, terminated, truncated, _ = env.step(actions)
        dones = terminated | truncated
        terminal = None
        if dones.any():
            assert dones.all()
            terminal = obs_t.copy()
            obs_t, zero, t2, tr2, _ = env.step(np.zeros_like(actions))  # actions ignored
            assert not zero.any() and not t2.any() and not tr2.any()
        out.append((obs_t.copy(), rewards.copy(), dones.copy(), truncated & ~terminated, terminal))
    return obs, out


def action_sequence(n, steps, n_items, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n_items, size=n) for _ in range(steps)]


# --- the same-step translation ------------------------------------------------------------


@pytest.mark.parametrize("max_episode_steps", [None, 4])
def test_vector_translation_equals_a_manual_rollout(max_episode_steps):
    n, steps = 5, 27  # 10-step episodes (or truncation at 4): several ends
    actions = action_sequence(n, steps, 5)
    make = lambda: RECVectorEnv(n, max_episode_steps=max_episode_steps, **NOISY)  # noqa: E731
    first, expected = manual_same_step(make(), actions, seed=3)
    core = SameStepVector(make())
    obs, infos = core.reset(seed=3)
    assert np.array_equal(obs, first) and infos == [{}] * n
    ends = 0
    for a, (obs_t, rewards, dones, time_limit, terminal) in zip(actions, expected):
        got_obs, got_rewards, got_dones, got_infos = core.step(a)
        assert np.array_equal(got_obs, obs_t)
        assert got_rewards.dtype == np.float32
        assert np.array_equal(got_rewards, rewards.astype(np.float32))
        assert got_dones.dtype == np.bool_ and np.array_equal(got_dones, dones)
        assert len(got_infos) == n
        if terminal is None:
            assert all(info == {} for info in got_infos)
            continue
        ends += 1
        for i, info in enumerate(got_infos):
            assert set(info) == {"terminal_observation", "TimeLimit.truncated"}
            assert np.array_equal(info["terminal_observation"], terminal[i])
            assert info["TimeLimit.truncated"] is bool(time_limit[i])
    assert ends == (2 if max_episode_steps is None else 6)
    assert any(t[3].any() for t in expected) is (max_episode_steps is not None)


def test_vector_translation_through_make_vec_and_with_slates():
    env = gym.make_vec("RECEnv-v0", num_envs=3, slate_size=2, step_per_episode=3)
    core = SameStepVector(env)
    core.reset(seed=0)
    slates = np.array([[0, 1], [2, 3], [4, 0]])
    for step in range(7):
        _, _, dones, infos = core.step(slates)
        assert dones.all() == (step % 3 == 2)
        assert ("terminal_observation" in infos[0]) == dones.all()


def test_vector_translation_copies_the_requested_info_keys():
    core = SameStepVector(RECVectorEnv(3, step_per_episode=2, random_state=0), ("user_id",))
    _, infos = core.reset(seed=0)
    users = [info["user_id"] for info in infos]
    assert all(isinstance(user, np.integer) for user in users)
    _, _, _, infos = core.step(np.zeros(3, dtype=np.int64))
    assert [info["user_id"] for info in infos] == users
    _, _, dones, infos = core.step(np.zeros(3, dtype=np.int64))
    assert dones.all() and [info["user_id"] for info in infos] == users  # the ended users
    assert set(infos[0]) == {"terminal_observation", "TimeLimit.truncated", "user_id"}


def test_population_translation_equals_a_manual_rollout():
    n, steps = 6, 23
    actions = action_sequence(n, steps, 5, seed=1)
    manual = PopulationEnv(n_users=n, max_cycles=None, **NOISY)
    first, _ = manual.reset_batch(seed=2)
    expected = []
    for a in actions:
        obs, rewards, terminated, truncated, _ = manual.step_batch(a)
        terminal = None
        if terminated.all():
            terminal = obs
            obs, _ = manual.reset_batch()
        expected.append((obs, rewards, terminated | truncated, terminal))
    core = SameStepPopulation(PopulationEnv(n_users=n, **NOISY))
    obs, infos = core.reset(seed=2)
    assert np.array_equal(obs, first) and len(infos) == n
    for a, (obs_t, rewards, dones, terminal) in zip(actions, expected):
        got_obs, got_rewards, got_dones, got_infos = core.step(a)
        assert np.array_equal(got_obs, obs_t)
        assert np.array_equal(got_rewards, rewards.astype(np.float32))
        assert np.array_equal(got_dones, dones)
        if terminal is not None:
            assert all(
                np.array_equal(info["terminal_observation"], terminal[i])
                and info["TimeLimit.truncated"] is False
                for i, info in enumerate(got_infos)
            )


def test_population_translation_marks_max_cycles_as_a_time_limit():
    core = SameStepPopulation(PopulationEnv(n_users=2, max_cycles=3, random_state=0))
    core.reset(seed=0)
    for _ in range(2):
        assert not core.step(np.zeros(2, dtype=np.int64))[2].any()
    _, _, dones, infos = core.step(np.zeros(2, dtype=np.int64))
    assert dones.all() and all(info["TimeLimit.truncated"] is True for info in infos)


def test_the_translation_refuses_what_it_cannot_translate():
    with pytest.raises(TypeError, match=re.escape("`env` must be a gymnasium VectorEnv")):
        SameStepVector(recgym.RECEnv())
    with pytest.raises(TypeError, match=re.escape("`env` must be a PopulationEnv, got RECEnv")):
        SameStepPopulation(recgym.RECEnv())
    message = (
        "SameStepVector needs sub-environments that end together; with churn users leave one by one"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        SameStepVector(RECVectorEnv(2, churn=Churn(0.1)))
    with pytest.raises(ValueError, match=re.escape("SameStepPopulation needs sub-environments")):
        SameStepPopulation(PopulationEnv(n_users=2, churn=Churn(0.1)))

    same_step = RECVectorEnv(2)
    # gymnasium >= 1.1 has the enum; 1.0 (d3rlpy's pin) does not.
    mode = getattr(getattr(gym.vector, "AutoresetMode", None), "SAME_STEP", "SameStep")
    same_step.metadata = {**same_step.metadata, "autoreset_mode": mode}
    with pytest.raises(
        ValueError, match=re.escape("must autoreset in NEXT_STEP mode, got 'SameStep'")
    ):
        SameStepVector(same_step)


class _OneByOne(RECVectorEnv):
    """Pretends that sub-environment 0 ends alone (what churn would do)."""

    def step(self, actions):
        obs, rewards, terminated, truncated, info = super().step(actions)
        terminated = terminated.copy()
        terminated[0] = True
        return obs, rewards, terminated, truncated, info


def test_sub_environments_ending_one_by_one_fail_loudly():
    core = SameStepVector(_OneByOne(3))
    core.reset(seed=0)
    message = "sub-environments [0] ended but [1, 2] did not; the same-step translation needs"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        core.step(np.zeros(3, dtype=np.int64))


def test_render_and_close_pass_through():
    core = SameStepVector(RECVectorEnv(2, render_mode="rgb_array"))
    core.reset(seed=0)
    frames = core.render()
    assert len(frames) == 2 and frames[0].shape == (256, 256, 3)
    core.close()
    population = SameStepPopulation(PopulationEnv(n_users=4, render_mode="rgb_array"))
    population.reset(seed=0)
    assert population.render().shape == (256, 256, 3)
    population.close()


# --- d3rlpy's arrays -----------------------------------------------------------------------


def logged(n_users=20, n_items=6, horizon=4, n_trajectories=40, policy="greedy"):
    env = PopulationEnv(n_users=n_users, n_items=n_items, step_per_episode=horizon, random_state=0)
    return collect_logged_dataset(env, policy, n_trajectories, seed=0)


def test_mdp_arrays_keep_every_step_and_the_full_action_size():
    dataset = logged()
    top = dataset["n_actions"] - 1
    keep = dataset["action"] != top
    # Make sure the top item was never logged: d3rlpy's default would then forget it.
    dataset = {**dataset, "action": np.where(keep, dataset["action"], 0)}
    assert dataset["action"].max() < top
    arrays = mdp_arrays(dataset)
    assert arrays["action_size"] == dataset["n_actions"] == 6
    size, horizon = dataset["size"], dataset["step_per_trajectory"]
    assert arrays["observations"].dtype == np.float32
    assert arrays["observations"].shape == (size, dataset["state_dim"])
    assert arrays["actions"].dtype == np.int64 and arrays["rewards"].dtype == np.float32
    assert arrays["timeouts"] is None
    terminals = arrays["terminals"]
    assert terminals.dtype == np.float32 and terminals.shape == (size,)
    # One terminal per trajectory, on its last row, the very last row included: d3rlpy
    # makes n_trajectories terminated episodes and keeps all `size` transitions.
    assert np.flatnonzero(terminals).tolist() == list(range(horizon - 1, size, horizon))
    assert np.array_equal(arrays["rewards"], dataset["reward"].astype(np.float32))
    assert d3rlpy_transition_count(terminals, np.zeros(size)) == size


def d3rlpy_transition_count(terminals, timeouts):
    """d3rlpy 2.x's count: a terminated episode keeps every step, a timed-out one all
    but its last, rows after the last flag none (EpisodeGenerator, Episode)."""
    count, start = 0, 0
    for row in np.flatnonzero(np.logical_or(terminals, timeouts)):
        length = row - start + 1
        count += length if terminals[row] else length - 1
        start = row + 1
    return count


def test_mdp_arrays_timeouts_form_is_offered_and_drops_the_last_steps():
    dataset = logged()
    arrays = mdp_arrays(dataset, timeouts=True)
    assert not arrays["terminals"].any()
    assert arrays["timeouts"].sum() == dataset["n_trajectories"]
    dropped = dataset["size"] - d3rlpy_transition_count(arrays["terminals"], arrays["timeouts"])
    assert dropped == dataset["n_trajectories"]


def test_mdp_arrays_checks_its_input():
    dataset = logged()
    with pytest.raises(ValueError, match=re.escape("`dataset['action']` must lie in [0, 3)")):
        mdp_arrays(dataset, action_size=3)
    with pytest.raises(
        ValueError, match=re.escape("must hold n_trajectories · step_per_trajectory")
    ):
        mdp_arrays({**dataset, "size": 7})
    with pytest.raises(ValueError, match=re.escape("`dataset['reward']` must have size=160")):
        mdp_arrays({**dataset, "reward": dataset["reward"][:-1]})
    with pytest.raises(ValueError, match=re.escape("`dataset['action']` must be one integer item")):
        mdp_arrays({**dataset, "action": dataset["action"].astype(float)})
    with pytest.raises(KeyError):
        mdp_arrays({key: value for key, value in dataset.items() if key != "done"})


def test_to_mdp_dataset_without_d3rlpy_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "d3rlpy", None)
    monkeypatch.setitem(sys.modules, "d3rlpy.dataset", None)
    monkeypatch.setitem(sys.modules, "d3rlpy.constants", None)
    with pytest.raises(ImportError, match=re.escape("to_mdp_dataset needs d3rlpy")):
        to_mdp_dataset(logged())


def test_the_sb3_module_without_sb3_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)
    monkeypatch.setitem(sys.modules, "stable_baselines3.common.vec_env", None)
    monkeypatch.delitem(sys.modules, "recgym.wrappers.sb3", raising=False)
    message = (
        "recgym.wrappers.sb3 needs stable-baselines3: pip install 'recgym[sb3]' (install "
        "torch's CPU wheel first: see docs/rl_libraries.md)"
    )
    with pytest.raises(ImportError, match=re.escape(message)):
        importlib.import_module("recgym.wrappers.sb3")


def test_to_mdp_dataset_with_d3rlpy_keeps_every_transition():
    pytest.importorskip("d3rlpy")
    dataset = logged()
    dataset = {**dataset, "action": np.minimum(dataset["action"], 3)}  # items 4, 5 unlogged
    mdp = to_mdp_dataset(dataset)
    assert mdp.dataset_info.action_size == 6
    assert len(mdp.episodes) == dataset["n_trajectories"]
    assert mdp.transition_count == dataset["size"]
    rewards = np.concatenate([episode.rewards.ravel() for episode in mdp.episodes])
    assert np.array_equal(rewards, dataset["reward"].astype(np.float32))
    assert all(episode.terminated for episode in mdp.episodes)
    timeouts = to_mdp_dataset(dataset, timeouts=True)
    assert timeouts.transition_count == dataset["size"] - dataset["n_trajectories"]


# --- imports -------------------------------------------------------------------------------


def test_import_recgym_wrappers_loads_no_rl_library():
    code = (
        "import sys, recgym, recgym.wrappers, recgym.wrappers.autoreset, "
        "recgym.wrappers.d3rlpy\n"
        "print(sorted(m for m in ('stable_baselines3', 'd3rlpy', 'ray', 'torch') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
