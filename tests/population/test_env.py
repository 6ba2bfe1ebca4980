"""PopulationEnv: determinism, agent lifecycle, types, aliasing, options, registry, errors.

These are the checks PettingZoo's own helpers leave out (api_conventions.md §1.6, §1.8).
"""

from __future__ import annotations

import pickle
import re

import numpy as np
import pettingzoo
import pytest
from gymnasium.utils.env_checker import data_equivalence
from pettingzoo import AECEnv, ParallelEnv

from recgym.errors import ResetNeeded
from recgym.population import PerUserFallbackWarning, PopulationEnv

#: Configurations whose runs draw no random number after construction.
NOISELESS = {"default", "row-normalised"}


def rollout(env, seed, episodes=3):
    """Every return of ``episodes`` episodes, the first reset seeded, actions from a fixed rng."""
    rng = np.random.default_rng(2024)
    returns = []
    for episode in range(episodes):
        returns.append(env.reset(seed=seed) if episode == 0 else env.reset())
        while env.agents:
            items = rng.integers(env.n_items, size=len(env.agents)).tolist()
            returns.append(env.step(dict(zip(env.agents, items))))
    return returns


def rollout_batch(env, seed, episodes=3):
    """:func:`rollout` through the array API."""
    rng = np.random.default_rng(2024)
    returns = []
    for episode in range(episodes):
        returns.append(env.reset_batch(seed=seed) if episode == 0 else env.reset_batch())
        returns.extend(
            env.step_batch(rng.integers(env.n_items, size=env.n_users))
            for _ in range(env.step_per_episode)
        )
    return returns


# --- determinism --------------------------------------------------------------------


def test_same_seed_same_run_over_several_episodes(config_name, population_kwargs, make_population):
    kwargs = population_kwargs(config_name, 8, step_per_episode=4)
    first, second = make_population(**kwargs), make_population(**kwargs)
    assert data_equivalence(rollout(first, seed=3), rollout(second, seed=3), exact=True)

    third = make_population(**kwargs)
    same = data_equivalence(rollout(first, seed=3), rollout(third, seed=4), exact=True)
    # Without noise the seed has nothing to decide: the runs are equal; otherwise they differ.
    assert same is (config_name in NOISELESS)


def test_same_seed_same_run_through_the_array_api(population_kwargs):
    kwargs = population_kwargs("noisy", 16, step_per_episode=4)
    first, second = PopulationEnv(**kwargs), PopulationEnv(**kwargs)
    assert data_equivalence(rollout_batch(first, 5), rollout_batch(second, 5), exact=True)
    assert not data_equivalence(rollout_batch(first, 5), rollout_batch(second, 6), exact=True)


def test_reseeding_one_env_repeats_its_run(population_kwargs):
    env = PopulationEnv(**population_kwargs("noisy", 8, step_per_episode=3))
    assert data_equivalence(rollout(env, seed=11), rollout(env, seed=11), exact=True)


def test_first_unseeded_reset_uses_random_state(population_kwargs):
    kwargs = population_kwargs("noisy", 8)
    assert data_equivalence(
        PopulationEnv(**kwargs).reset(), PopulationEnv(**kwargs).reset(seed=7), exact=True
    )


def test_features_come_from_random_state():
    same = [PopulationEnv(n_users=4, random_state=1) for _ in range(2)]
    assert np.array_equal(same[0].user_features, same[1].user_features)
    assert np.array_equal(same[0].item_features, same[1].item_features)
    # random_state=None draws the features from OS entropy: two such envs differ.
    fresh = [PopulationEnv(n_users=4, random_state=None) for _ in range(2)]
    assert not np.array_equal(fresh[0].user_features, fresh[1].user_features)


# --- agents and lifecycle -----------------------------------------------------------


def test_agents_before_during_and_after_an_episode():
    env = PopulationEnv(n_users=3, step_per_episode=2, random_state=0)
    assert isinstance(env, ParallelEnv)
    assert env.possible_agents == ["user_0", "user_1", "user_2"]
    assert env.agents == []
    assert (env.num_agents, env.max_num_agents) == (0, 3)

    obs, infos = env.reset(seed=0)
    assert env.agents == env.possible_agents
    assert env.agents is not env.possible_agents
    assert list(obs) == list(infos) == env.agents
    assert env.num_agents == 3

    actions = dict.fromkeys(env.agents, 1)
    returns = env.step(actions)
    assert all(list(d) == env.possible_agents for d in returns)
    assert env.agents == env.possible_agents

    # The last step still reports every agent, then nobody is left.
    _, _, terminations, truncations, _ = returns = env.step(actions)
    assert all(list(d) == env.possible_agents for d in returns)
    assert all(terminations.values())
    assert not any(truncations.values())
    assert env.agents == []
    assert env.num_agents == 0

    env.reset()
    assert env.agents == env.possible_agents


def test_returned_types_dtypes_and_spaces(config_name, population_kwargs, make_population):
    env = make_population(**population_kwargs(config_name, 5, step_per_episode=2))
    space = env.observation_space("user_0")
    obs, infos = env.reset(seed=1)
    for _ in range(2):
        for agent in env.agents:
            assert type(obs[agent]) is np.ndarray
            assert obs[agent].dtype == space.dtype == env.dtype
            assert obs[agent] in space
            assert isinstance(infos[agent], dict)
            assert type(infos[agent]["user_id"]) is int
            assert infos[agent]["state"].dtype == env.dtype
        obs, rewards, terminations, truncations, infos = env.step(dict.fromkeys(env.agents, 0))
        assert all(type(reward) is float for reward in rewards.values())
        assert all(type(flag) is bool for flag in terminations.values())
        assert all(type(flag) is bool for flag in truncations.values())
    assert env.state() in env.state_space
    assert env.state().dtype == env.state_space.dtype


def test_infos_are_new_dicts():
    env = PopulationEnv(n_users=4, random_state=0)
    _, infos = env.reset(seed=0)
    _, _, _, _, next_infos = env.step(dict.fromkeys(env.agents, 0))
    ids = {id(info) for info in (*infos.values(), *next_infos.values())}
    assert len(ids) == 8
    next_infos["user_0"]["extra"] = 1  # RLlib mutates returned dicts; nothing else sees it
    assert "extra" not in env.step(dict.fromkeys(env.agents, 0))[4]["user_0"]


def test_returned_arrays_never_alias_each_other_or_the_env():
    env = PopulationEnv(n_users=4, n_items=3, obs_std=0.1, random_state=0)
    obs, infos = env.reset(seed=0)
    arrays = [*obs.values(), *(info["state"] for info in infos.values())]
    for _ in range(3):
        obs, _, _, _, infos = env.step(dict.fromkeys(env.agents, 2))
        new = [*obs.values(), *(info["state"] for info in infos.values())]
        assert not any(np.shares_memory(a, b) for a in arrays for b in new)
        arrays = new
    obs_batch, _, _, _, info_batch = env.step_batch(np.zeros(4, dtype=np.int64))
    state = env.state()
    assert not np.shares_memory(state, env.state())
    assert not np.shares_memory(state, info_batch["state"])
    assert not np.shares_memory(obs_batch, info_batch["state"])

    # Infos are read-only snapshots (the env never writes into them again); everything
    # else returned is a writable array of its own. Neither can change the env.
    expected = env.state()
    snapshots = [info_batch["state"], info_batch["user_id"], *(i["state"] for i in infos.values())]
    for array in snapshots:
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0
    for array in (*obs.values(), obs_batch, state):
        array[...] = 0
    assert np.array_equal(env.state(), expected)
    env.step_batch(np.ones(4, dtype=np.int64))
    assert not np.shares_memory(env.state(), info_batch["state"])
    assert not np.array_equal(env.state(), info_batch["state"])  # the snapshot kept its values


def test_spaces_are_shared_objects_and_unknown_agents_are_refused():
    env = PopulationEnv(n_users=3, n_items=4, user_feature_dim=2, item_feature_dim=2)
    assert env.observation_space("user_1") is env.observation_space("user_1")
    assert env.observation_space("user_0") is env.observation_space("user_2")
    assert env.action_space("user_0") is env.action_space("user_2")
    assert env.observation_space("user_0").shape == (2,)
    assert env.action_space("user_0").n == 4
    assert env.state_space.shape == (3, 2)
    assert env.state_space is env.state_space  # built once, on first use
    message = "unknown agent 'user_3'; agents are 'user_0' … 'user_2'"
    for method in (env.observation_space, env.action_space):
        with pytest.raises(KeyError, match=re.escape(message)):
            method("user_3")


def test_float32_halves_the_arrays():
    env = PopulationEnv(n_users=4, dtype=np.float32, obs_std=0.1, reward_std=0.1)
    obs, _ = env.reset_batch(seed=0)
    obs, rewards, _, _, infos = env.step_batch(np.zeros(4, dtype=np.int64))
    assert obs.dtype == rewards.dtype == infos["state"].dtype == np.float32
    assert env.observation_space("user_0").dtype == env.state_space.dtype == np.float32


# --- reset options ------------------------------------------------------------------


def test_unknown_reset_options_are_ignored():
    env = PopulationEnv(n_users=3, random_state=0)
    assert data_equivalence(
        env.reset(seed=0, options={"unknown": 1}), env.reset(seed=0), exact=True
    )


def test_reset_option_states_sets_the_true_preferences():
    env = PopulationEnv(n_users=3, user_feature_dim=2, item_feature_dim=2, random_state=0)
    states = np.array([[1.0, 0.0], [0.0, -1.0], [0.6, 0.8]])
    obs, info = env.reset_batch(seed=0, options={"states": states})
    assert np.array_equal(env.state(), states)
    assert np.array_equal(obs, states)  # no observation noise
    assert np.array_equal(info["state"], states)
    states[0, 0] = 0.5  # the env keeps its own copy
    assert env.state()[0, 0] == 1.0


def test_bad_reset_options_are_refused_and_change_nothing():
    env = PopulationEnv(n_users=3, obs_std=0.1, random_state=0)
    env.reset(seed=0)
    env.step(dict.fromkeys(env.agents, 0))
    before = env.state()
    with pytest.raises(ValueError, match=re.escape("`options['states']` must have shape (3, 5)")):
        env.reset(seed=1, options={"states": np.zeros((2, 5))})
    with pytest.raises(TypeError, match=re.escape("`options['states']` must be a numpy array")):
        env.reset(options={"states": [[0.0] * 5] * 3})
    with pytest.raises(ValueError, match=re.escape("`options['states']` must hold finite")):
        env.reset(options={"states": np.full((3, 5), np.nan)})
    assert env.t == 1
    assert np.array_equal(env.state(), before)
    env.step(dict.fromkeys(env.agents, 0))  # the episode goes on


def test_bad_seeds_are_refused():
    env = PopulationEnv(n_users=2)
    message = "`seed` must be a non-negative integer or None, got "
    with pytest.raises(ValueError, match=re.escape(message + "-1")):
        env.reset(seed=-1)
    with pytest.raises(TypeError, match=re.escape(message + "1.5")):
        env.reset_batch(seed=1.5)


# --- registry, max_cycles, AEC, rendering, pickling --------------------------------


@pytest.mark.parametrize("max_cycles", [1, 3])
def test_registry_parallel_env_truncates_at_max_cycles(max_cycles):
    env = pettingzoo.make(
        "parallel", "recgym/Population-v0", max_cycles=max_cycles, n_users=4, random_state=0
    )
    assert isinstance(env, PopulationEnv)
    assert env.max_cycles == max_cycles
    env.reset(seed=0)
    for step in range(1, max_cycles + 1):
        _, _, terminations, truncations, _ = env.step(dict.fromkeys(env.agents, 0))
        assert all(truncations.values()) is (step == max_cycles)
        assert not any(terminations.values())
    assert env.agents == []
    with pytest.raises(ResetNeeded, match=re.escape(f"max_cycles={max_cycles}")):
        env.step({})


def test_registry_max_cycles_minus_one_omits_it():
    env = pettingzoo.make("parallel", "recgym/Population-v0", max_cycles=-1, n_users=2)
    assert env.max_cycles is None
    env.reset(seed=0)
    steps = 0
    while env.agents:
        _, _, terminations, truncations, _ = env.step(dict.fromkeys(env.agents, 0))
        steps += 1
    assert steps == env.step_per_episode
    assert all(terminations.values())
    assert not any(truncations.values())


def test_registry_aec_env_runs_an_episode():
    env = pettingzoo.make("aec", "recgym/Population-v0", n_users=3, random_state=0)
    assert isinstance(env, AECEnv)
    assert isinstance(env.unwrapped, PopulationEnv)
    env.reset(seed=0)
    turns = 0
    for _agent in env.agent_iter():
        _, _, terminated, truncated, _ = env.last()
        env.step(None if terminated or truncated else 0)
        turns += 1
    assert turns == 3 * (env.unwrapped.step_per_episode + 1)


def test_render_modes(capsys):
    env = PopulationEnv(n_users=7, render_mode="ansi", random_state=0)
    assert env.render() == "PopulationEnv: not reset yet"
    env.reset(seed=0)
    text = env.render()
    assert text.startswith("PopulationEnv step 0/10: 7 users\n")
    assert text.count("\n") == 5  # the first five users
    env.step(dict.fromkeys(env.agents, 0))
    assert "mean reward" in env.render()

    human = PopulationEnv(n_users=2, render_mode="human", random_state=0)
    human.reset(seed=0)
    human.step(dict.fromkeys(human.agents, 0))  # "human" prints on every step
    assert "PopulationEnv step 1/10: 2 users" in capsys.readouterr().out
    assert human.render() is None

    silent = PopulationEnv(n_users=2)
    with pytest.warns(UserWarning, match="without specifying any render mode"):
        assert silent.render() is None
    silent.close()
    silent.close()


def test_state_before_reset_raises():
    with pytest.raises(ResetNeeded, match=re.escape("Cannot call `state` before `reset`")):
        PopulationEnv(n_users=2).state()


def test_pickle_round_trip_continues_identically():
    env = PopulationEnv(n_users=6, n_items=4, obs_std=0.1, reward_std=0.1, random_state=0)
    env.reset(seed=0)
    env.step(dict.fromkeys(env.agents, 1))
    clone = pickle.loads(pickle.dumps(env))
    actions = np.random.default_rng(0).integers(4, size=(12, 6))
    for step in range(12):
        if step == 9:  # past the end of the episode: both start the next one
            assert data_equivalence(env.reset(), clone.reset(), exact=True)
        assert data_equivalence(
            env.step(dict(zip(env.agents, actions[step].tolist()))),
            clone.step(dict(zip(clone.agents, actions[step].tolist()))),
            exact=True,
        )


# --- errors -------------------------------------------------------------------------

NOT_LIVE = (
    "Cannot call `step` before `reset` or after the episode ended (step_per_episode=2); "
    "call `reset` first"
)


@pytest.fixture
def live_env():
    env = PopulationEnv(n_users=8, n_items=10, step_per_episode=2, random_state=0)
    env.reset(seed=0)
    return env


def test_step_before_reset_and_after_the_end_raises():
    env = PopulationEnv(n_users=2, step_per_episode=2)
    with pytest.raises(ResetNeeded, match=re.escape(NOT_LIVE)):
        env.step({"user_0": 0, "user_1": 0})
    with pytest.raises(ResetNeeded, match=re.escape(NOT_LIVE)):
        env.step_batch(np.zeros(2, dtype=np.int64))
    env.reset(seed=0)
    env.step_batch(np.zeros(2, dtype=np.int64))
    env.step({"user_0": 0, "user_1": 0})
    with pytest.raises(ResetNeeded, match=re.escape(NOT_LIVE)):
        env.step({"user_0": 0, "user_1": 0})
    with pytest.raises(ValueError, match=re.escape(NOT_LIVE)):  # ResetNeeded is a ValueError
        env.step_batch(np.zeros(2, dtype=np.int64))


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (
            {"drop": ["user_3"]},
            ValueError,
            "`actions` must hold one action per live agent: missing live agents ['user_3']",
        ),
        (
            {"add": {"bob": 1}},
            ValueError,
            "`actions` must hold one action per live agent: unknown or finished agents ['bob']",
        ),
        (
            {"drop": ["user_3"], "add": {"user_8": 1}},
            ValueError,
            "`actions` must hold one action per live agent: missing live agents ['user_3']; "
            "unknown or finished agents ['user_8']",
        ),
        (
            {"drop": [f"user_{i}" for i in range(8)]},
            ValueError,
            "missing live agents ['user_0', 'user_1', 'user_2', 'user_3', 'user_4'] and 3 more",
        ),
        (
            {"add": {"user_2": 10}},
            ValueError,
            "`actions` values must be integer items in [0, 10), got [user_2: 10]",
        ),
        (
            {"add": {"user_2": -1, "user_5": 12}},
            ValueError,
            "`actions` values must be integer items in [0, 10), got [user_2: -1, user_5: 12]",
        ),
        (
            {"add": {"user_2": 2.0}},
            TypeError,
            "`actions` values must be integer items in [0, 10), got [user_2: 2.0]",
        ),
        (
            {"add": {"user_2": None}},
            TypeError,
            "`actions` values must be integer items in [0, 10), got [user_2: None]",
        ),
        (
            {"add": {"user_2": "3"}},
            TypeError,
            "`actions` values must be integer items in [0, 10), got [user_2: '3']",
        ),
        (
            {"add": {"user_2": np.array([3])}},
            TypeError,
            "`actions` values must be integer items in [0, 10), got [user_2: array([3])]",
        ),
    ],
)
def test_bad_action_dicts_are_refused(live_env, edit, error, message):
    actions = {agent: 1 for agent in live_env.agents if agent not in edit.get("drop", [])}
    actions.update(edit.get("add", {}))
    with pytest.raises(error, match=re.escape(message)):
        live_env.step(actions)
    assert live_env.t == 0  # nothing moved
    live_env.step(dict.fromkeys(live_env.agents, 1))


def test_action_dict_accepts_numpy_integers(live_env):
    items = [np.int64(1), np.int32(2), np.uint8(3), np.array(4), 5, 6, 7, 8]
    actions = dict(zip(live_env.agents, items))
    reference = PopulationEnv(n_users=8, n_items=10, step_per_episode=2, random_state=0)
    reference.reset_batch(seed=0)
    expected = reference.step_batch(np.arange(1, 9))
    _, rewards, _, _, _ = live_env.step(actions)
    assert list(rewards.values()) == expected[1].tolist()


def test_actions_must_be_a_dict(live_env):
    message = "`actions` must be a dict mapping agent names to items, got list"
    with pytest.raises(TypeError, match=re.escape(message)):
        live_env.step([1] * 8)


@pytest.mark.parametrize(
    ("actions", "error", "message"),
    [
        (np.zeros(7, dtype=np.int64), ValueError, "`actions` must have shape (8,), got (7,)"),
        (
            np.zeros((8, 1), dtype=np.int64),
            ValueError,
            "`actions` must have shape (8,), got (8, 1)",
        ),
        (np.zeros(8), TypeError, "`actions` must hold integers, got dtype float64"),
        (np.zeros(8, dtype=bool), TypeError, "`actions` must hold integers, got dtype bool"),
        (
            [0] * 8,
            TypeError,
            "`actions` must be a numpy integer array of shape (8,), got list",
        ),
        (
            np.array([0, 0, 0, 10, 0, 0, 0, -2]),
            ValueError,
            "`actions` must lie in [0, 10), got [10, -2] at positions [3, 7]",
        ),
        (
            np.arange(8) + 3,
            ValueError,
            "`actions` must lie in [0, 10), got [10] at positions [7]",
        ),
    ],
)
def test_bad_action_arrays_are_refused(live_env, actions, error, message):
    with pytest.raises(error, match=re.escape(message)):
        live_env.step_batch(actions)
    assert live_env.t == 0
    live_env.step_batch(np.zeros(8, dtype=np.int32))  # any integer dtype is fine


def test_bad_constructor_arguments_are_refused():
    message = "`dtype` must be numpy.float32 or numpy.float64, got "
    with pytest.raises(ValueError, match=re.escape(message + "<class 'numpy.int32'>")):
        PopulationEnv(dtype=np.int32)
    with pytest.raises(ValueError, match=re.escape(message + "'float16'")):
        PopulationEnv(dtype="float16")
    with pytest.raises(ValueError, match=re.escape(message + "'nonsense'")):
        PopulationEnv(dtype="nonsense")
    with pytest.raises(
        ValueError, match=re.escape("`max_cycles` must be a positive integer, got 0")
    ):
        PopulationEnv(max_cycles=0)
    with pytest.raises(
        TypeError, match=re.escape("`max_cycles` must be a positive integer, got 2.0")
    ):
        PopulationEnv(max_cycles=2.0)
    with pytest.raises(ValueError, match=re.escape("`render_mode` must be one of")):
        PopulationEnv(render_mode="rgb")


# --- custom user models -------------------------------------------------------------


def test_batched_custom_model_runs_without_warning(drift_models):
    batched, _ = drift_models
    env = PopulationEnv(n_users=50, UserModel=batched, random_state=0)  # warnings are errors
    env.reset_batch(seed=0)
    obs, rewards, _, _, _ = env.step_batch(np.zeros(50, dtype=np.int64))
    assert obs.shape == (50, 5)
    assert rewards.shape == (50,)


def test_single_user_model_warns_once_and_matches_the_batched_one(drift_models):
    batched, single = drift_models
    kwargs = {"n_users": 20, "n_items": 6, "obs_std": 0.1, "reward_std": 0.3, "random_state": 1}
    with pytest.warns(PerUserFallbackWarning) as record:
        slow = PopulationEnv(UserModel=single, **kwargs)
    assert len(record) == 1
    assert str(record[0].message) == (
        "SingleUserDriftModel implements only single-user methods; recgym runs it through "
        "the per-user fallback (20 Python calls per step). Implement "
        "`batch_reward_function` and `batch_user_preference_dynamics` for the batched "
        "fast path."
    )
    fast = PopulationEnv(UserModel=batched, **kwargs)
    # Stepping warns no more (pytest turns any further warning into an error).
    assert data_equivalence(rollout_batch(slow, 4), rollout_batch(fast, 4), exact=True)
    assert data_equivalence(rollout(slow, 4), rollout(fast, 4), exact=True)


def test_single_user_model_with_one_user_does_not_warn(drift_models):
    _, single = drift_models
    env = PopulationEnv(n_users=1, UserModel=single, random_state=0)
    env.reset(seed=0)
    env.step({"user_0": 0})
