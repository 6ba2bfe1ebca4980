"""Exact equivalence between recgym's representations of the same users.

Same seed and same actions must give bit-for-bit the same numbers:

* the dict API and the array API of one PopulationEnv;
* a population of one and the single-user RECEnv;
* RECVectorEnv(num_envs=1) and RECEnv, autoreset step included (the pattern of
  Gymnasium's ``test_cartpole_vector_equiv``).

All of them call the same batched kernels (api_conventions.md §3.3), so ``==`` is the
right comparison, never ``allclose``.
"""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit

from recgym import RECEnv, RECVectorEnv
from recgym.population import PopulationEnv

NOISY = {"obs_std": 0.2, "reward_std": 0.5}


@pytest.mark.parametrize("n_users", [1, 7, 64])
@pytest.mark.parametrize(
    "settings",
    [NOISY, {**NOISY, "dtype": np.float32}, {"reward_type": "binary", "obs_std": 0.2}],
    ids=["noisy", "noisy-float32", "binary"],
)
def test_dict_api_equals_array_api(n_users, settings):
    kwargs = {"n_users": n_users, "n_items": 9, "step_per_episode": 4, "random_state": 3}
    by_dict = PopulationEnv(**kwargs, **settings)
    by_array = PopulationEnv(**kwargs, **settings)
    agents = by_dict.possible_agents
    rng = np.random.default_rng(0)
    for episode in range(3):
        seed = 17 if episode == 0 else None
        obs, infos = by_dict.reset(seed=seed)
        obs_batch, info_batch = by_array.reset_batch(seed=seed)
        assert list(obs) == list(infos) == agents
        assert np.array_equal(np.stack(list(obs.values())), obs_batch)
        assert [info["user_id"] for info in infos.values()] == info_batch["user_id"].tolist()
        assert np.array_equal(np.stack([i["state"] for i in infos.values()]), info_batch["state"])
        while by_dict.agents:
            actions = rng.integers(9, size=n_users)
            obs, rewards, terminations, truncations, infos = by_dict.step(
                dict(zip(by_dict.agents, actions.tolist()))
            )
            batch = by_array.step_batch(actions)
            assert np.array_equal(np.stack(list(obs.values())), batch[0])
            assert batch[0].dtype == obs["user_0"].dtype
            assert list(rewards.values()) == batch[1].tolist()
            assert list(terminations.values()) == batch[2].tolist()
            assert list(truncations.values()) == batch[3].tolist()
            assert [info["user_id"] for info in infos.values()] == batch[4]["user_id"].tolist()
            assert np.array_equal(np.stack([i["state"] for i in infos.values()]), batch[4]["state"])
        assert batch[2].all()
        assert np.array_equal(by_dict.state(), by_array.state())


@pytest.mark.parametrize(
    "settings",
    [{}, NOISY, {"reward_type": "binary", "obs_std": 0.2}, {**NOISY, "alpha": 0.3}],
    ids=["default", "noisy", "binary", "custom-alpha"],
)
def test_population_of_one_equals_rec_env(settings):
    settings = dict(settings)
    alpha = settings.pop("alpha", None)
    kwargs = {"n_users": 1, "n_items": 8, "step_per_episode": 5, "random_state": 4, **settings}
    single = RECEnv(**kwargs)
    population = PopulationEnv(**kwargs)
    if alpha is not None:
        single.user_model.alpha = population.user_model.alpha = alpha
    assert np.array_equal(single.item_feature_vector, population.item_features)
    assert single.observation_space == population.observation_space("user_0")
    assert single.action_space == population.action_space("user_0")
    rng = np.random.default_rng(1)
    for episode in range(3):
        seed = 99 if episode == 0 else None
        obs, info = single.reset(seed=seed)
        obs_p, info_p = population.reset(seed=seed)
        assert np.array_equal(obs, obs_p["user_0"])
        assert info["user_id"] == info_p["user_0"]["user_id"] == 0
        assert np.array_equal(info["state"], info_p["user_0"]["state"])
        terminated = False
        while not terminated:
            action = int(rng.integers(8))
            obs, reward, terminated, truncated, info = single.step(action)
            obs_p, reward_p, term_p, trunc_p, info_p = population.step({"user_0": action})
            assert np.array_equal(obs, obs_p["user_0"])
            assert reward == reward_p["user_0"]
            assert type(reward) is type(reward_p["user_0"]) is float
            assert (terminated, truncated) == (term_p["user_0"], trunc_p["user_0"])
            assert np.array_equal(info["state"], info_p["user_0"]["state"])
            assert np.array_equal(single.state, population.state()[0])
        assert population.agents == []


@pytest.mark.parametrize("max_episode_steps", [None, 3])
@pytest.mark.parametrize(
    "settings",
    [{}, NOISY, {"reward_type": "binary", "obs_std": 0.2}],
    ids=["default", "noisy", "binary"],
)
def test_vector_env_of_one_equals_rec_env(settings, max_episode_steps):
    kwargs = {"n_users": 20, "n_items": 6, "step_per_episode": 4, "random_state": 5, **settings}
    single = RECEnv(**kwargs)
    if max_episode_steps is not None:
        single = TimeLimit(single, max_episode_steps)
    vector = RECVectorEnv(num_envs=1, max_episode_steps=max_episode_steps, **kwargs)
    assert vector.single_observation_space == single.observation_space
    assert vector.single_action_space == single.action_space

    obs, info = single.reset(seed=123)
    vobs, vinfo = vector.reset(seed=123)
    assert np.array_equal(vobs[0], obs)
    assert vinfo["user_id"].tolist() == [info["user_id"]]
    assert np.array_equal(vinfo["state"][0], info["state"])

    rng = np.random.default_rng(2)
    episodes = 0
    for _ in range(25):
        action = int(rng.integers(6))
        obs, reward, terminated, truncated, info = single.step(action)
        vobs, vreward, vterminated, vtruncated, vinfo = vector.step(np.array([action]))
        assert np.array_equal(vobs[0], obs)
        assert vreward.tolist() == [reward]
        assert vterminated.tolist() == [terminated]
        assert vtruncated.tolist() == [truncated]
        assert vinfo["user_id"].tolist() == [info["user_id"]]
        assert np.array_equal(vinfo["state"][0], info["state"])

        if terminated or truncated:
            episodes += 1
            # NEXT_STEP autoreset: the vector env ignores this action and starts a new
            # user, exactly as the single env's next reset().
            obs, info = single.reset()
            vobs, vreward, vterminated, vtruncated, vinfo = vector.step(np.array([action]))
            assert np.array_equal(vobs[0], obs)
            assert vreward.tolist() == [0.0]
            assert vterminated.tolist() == vtruncated.tolist() == [False]
            assert vinfo["user_id"].tolist() == [info["user_id"]]
            assert np.array_equal(vinfo["state"][0], info["state"])
    assert episodes >= 4
