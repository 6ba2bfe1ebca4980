"""The single-user Gymnasium environment ``RECEnv`` / ``"RECEnv-v0"``."""

from __future__ import annotations

import pickle
import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence

import recgym
from recgym import RECEnv, UserModel
from recgym.errors import ResetNeeded

NOISY = {"obs_std": 0.3, "reward_std": 0.3}


def make_env(**kwargs):
    """A raw ``RECEnv`` with fixed feature tables (``random_state=0`` unless given)."""
    return RECEnv(**{"random_state": 0, **kwargs})


def rollout(env, actions, *, seed=None, options=None):
    """Reset once, then step through ``actions``; return every returned value."""
    return [env.reset(seed=seed, options=options)] + [env.step(action) for action in actions]


def assert_same_rollout(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert data_equivalence(x, y, exact=True), (x, y)


# --- Gymnasium's own checker --------------------------------------------------------------

CHECK_ENV_CONFIGS = {
    "default": {},
    "binary": {"reward_type": "binary"},
    "noisy": NOISY,
    "binary-obs-noise": {"reward_type": "binary", "obs_std": 0.3},
    "row": {"feature_normalization": "row"},
    "row-noisy": {"feature_normalization": "row", **NOISY},
    "spectral-given-features": {
        "user_feature_vector": np.random.default_rng(0).normal(size=(100, 5)),
        "item_feature_vector": np.random.default_rng(1).normal(size=(5, 5)),
    },
    "two-steps-many-items": {"step_per_episode": 2, "n_items": 100, "n_users": 3},
    "alpha-instance": {"UserModel": UserModel(5, 5, reward_std=0.3, alpha=0.25), **NOISY},
    "render-ansi": {"render_mode": "ansi"},
}


@pytest.mark.parametrize("config", list(CHECK_ENV_CONFIGS))
def test_check_env_passes_without_warnings(config):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make("RECEnv-v0", **CHECK_ENV_CONFIGS[config])
        check_env(env.unwrapped)


@pytest.mark.parametrize("reward_type", ["continuous", "binary"])
@pytest.mark.parametrize("form", ["class", "instance"])
def test_check_env_with_readme_custom_model(customized_user_model, form, reward_type):
    model = customized_user_model
    if form == "instance":
        model = customized_user_model(5, 5, reward_type=reward_type, reward_std=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make("RECEnv-v0", UserModel=model, reward_type=reward_type, **NOISY)
        check_env(env.unwrapped)


@pytest.mark.parametrize("kwargs", [{}, {"n_items": 100}])
def test_make_reset_and_step_without_warnings(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make("RECEnv-v0", **kwargs)
        assert isinstance(env.unwrapped, RECEnv)
        assert env.spec.max_episode_steps is None
        assert env.unwrapped.random_state == 12345
        obs, _ = env.reset(seed=0)
        assert obs in env.observation_space
        terminated = truncated = False
        steps = 0
        while not (terminated or truncated):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            steps += 1
        assert steps == 10
        assert env.action_space == gym.spaces.Discrete(kwargs.get("n_items", 5))
        env.close()


def test_spaces():
    env = RECEnv(user_feature_dim=3, item_feature_dim=3, n_items=7)
    assert env.observation_space == gym.spaces.Box(-1.0, 1.0, (3,), np.float64)
    assert env.action_space == gym.spaces.Discrete(7)
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float64
    assert obs.shape == (3,)


# --- determinism and seeding --------------------------------------------------------------


def test_same_seed_same_actions_identical_over_several_episodes():
    actions = np.random.default_rng(0).integers(0, 5, 10).tolist()
    envs = [gym.make("RECEnv-v0", reward_type="continuous", **NOISY) for _ in range(2)]
    runs = [[], []]
    for run, env in zip(runs, envs):
        run.append(env.reset(seed=42))
        for episode in range(4):
            if episode:
                run.append(env.reset())
            run.extend(env.step(action) for action in actions)
    assert_same_rollout(*runs)
    rewards = [step[1] for step in runs[0] if len(step) == 5]
    assert len(set(rewards)) == len(rewards)  # the noise is on


def test_binary_rewards_are_deterministic_given_seed():
    actions = [0, 1, 2, 3, 4] * 4
    a = rollout(make_env(reward_type="binary", step_per_episode=20), actions, seed=5)
    b = rollout(make_env(reward_type="binary", step_per_episode=20), actions, seed=5)
    assert_same_rollout(a, b)


def test_different_seeds_differ():
    actions = [0, 1, 2] * 3
    opts = {"user_id": 3}  # the same user: only the noise can differ
    a = rollout(make_env(**NOISY), actions, seed=1, options=opts)
    b = rollout(make_env(**NOISY), actions, seed=2, options=opts)
    assert not np.array_equal(a[0][0], b[0][0])
    assert [s[1] for s in a[1:]] != [s[1] for s in b[1:]]


def test_reset_seed_reseeds_the_reward_noise():
    env = RECEnv(reward_std=0.5, random_state=0)
    actions = [1, 4, 0, 2]
    first = rollout(env, actions, seed=0)
    env.step(3)  # consume more noise before reseeding
    second = rollout(env, actions, seed=0)
    assert_same_rollout(first, second)


def test_random_state_makes_unseeded_resets_reproducible():
    actions = [0, 1, 2, 3, 4]
    a = rollout(make_env(random_state=7, **NOISY), actions)
    b = rollout(make_env(random_state=7, **NOISY), actions)
    assert_same_rollout(a, b)


def test_random_state_none_is_allowed():
    env = RECEnv(random_state=None, **NOISY)
    assert env.random_state is None
    obs, _ = env.reset()
    assert obs in env.observation_space
    obs, reward, *_ = env.step(0)
    assert obs in env.observation_space
    assert np.isfinite(reward)


# --- the step contract --------------------------------------------------------------------


@pytest.mark.parametrize("step_per_episode", [1, 3, 10])
def test_episode_terminates_after_step_per_episode_steps(step_per_episode):
    env = RECEnv(step_per_episode=step_per_episode, **NOISY)
    env.reset(seed=0)
    for t in range(1, step_per_episode + 1):
        _, reward, terminated, truncated, info = env.step(t % 5)
        assert type(terminated) is bool
        assert truncated is False
        assert type(reward) is float
        assert terminated is (t == step_per_episode)
    # the terminal step returned the terminal observation, not a new user's
    assert info["user_id"] == env.user_id
    with pytest.raises(ResetNeeded):
        env.step(0)
    env.reset()
    env.step(0)


def test_info_holds_fresh_copies():
    env = make_env(**NOISY)
    obs0, info0 = env.reset(seed=0)
    assert set(info0) == {"user_id", "state"}
    assert type(info0["user_id"]) is int
    obs1, _, _, _, info1 = env.step(1)
    obs2, _, _, _, info2 = env.step(2)
    returned = [obs0, obs1, obs2, info0["state"], info1["state"], info2["state"]]
    for i, x in enumerate(returned):
        for y in returned[i + 1 :]:
            assert not np.shares_memory(x, y)
        assert not np.shares_memory(x, env.user_feature_vector)
        assert not np.shares_memory(x, env._population.states)
    assert info0 is not info1


def test_mutating_returned_arrays_does_not_affect_the_env():
    actions = [3, 1, 4, 1, 0, 2]
    control = rollout(make_env(**NOISY), actions, seed=9)
    env = make_env(**NOISY)
    obs, info = env.reset(seed=9)
    mutated = [(obs.copy(), {"user_id": info["user_id"], "state": info["state"].copy()})]
    obs[:] = 0.5
    info["state"][:] = 7.0
    for action in actions:
        step = env.step(action)
        mutated.append((step[0].copy(), *step[1:4], {**step[4], "state": step[4]["state"].copy()}))
        step[0][:] = -0.5
        step[4]["state"][:] = 7.0
    assert_same_rollout(control, mutated)


def test_state_property_is_a_copy():
    env = RECEnv()
    env.reset(seed=0)
    state = env.state
    state[:] = 9.0
    assert not np.array_equal(env.state, state)


def test_reward_is_computed_on_the_state_before_the_transition():
    env = RECEnv()
    _, info = env.reset(seed=0)
    before = info["state"]
    _, reward, _, _, info = env.step(2)
    items = env.item_feature_vector
    assert reward == pytest.approx(before @ items[2], abs=1e-15)
    assert reward != pytest.approx(info["state"] @ items[2])


def test_binary_env_rewards_are_zero_or_one():
    env = RECEnv(reward_type="binary", step_per_episode=200)
    env.reset(seed=0)
    rewards = {env.step(i % 5)[1] for i in range(200)}
    assert rewards == {0.0, 1.0}
    assert env.reward_range == (0.0, 1.0)


def test_options_user_id_picks_the_user():
    env = RECEnv()
    for user_id in (0, 57, np.int64(99)):
        obs, info = env.reset(options={"user_id": user_id})
        assert info["user_id"] == user_id
        assert type(info["user_id"]) is int
        np.testing.assert_array_equal(obs, env.user_feature_vector[user_id])
        np.testing.assert_array_equal(info["state"], env.user_feature_vector[user_id])


def test_unknown_option_keys_are_ignored():
    a = rollout(make_env(**NOISY), [0, 1], seed=3)
    b = rollout(make_env(**NOISY), [0, 1], seed=3, options={"foo": 1, "user_id": None})
    assert_same_rollout(a, b)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"obs_std": 0, "reward_std": 0},
        {"obs_std": np.int64(0), "reward_std": np.float32(0.5)},
        {"obs_std": 1, "reward_std": np.int32(1)},
        {"n_items": np.int64(7), "n_users": np.int32(4), "step_per_episode": np.uint8(3)},
        {"random_state": np.int64(3)},
    ],
)
def test_numpy_and_integer_scalars_are_accepted(kwargs):
    env = RECEnv(**kwargs)
    for name, value in kwargs.items():
        assert getattr(env, name) == value
        assert type(getattr(env, name)) in (int, float)
    env.reset(seed=0)
    env.step(0)


@pytest.mark.parametrize(
    "action", [2, np.int64(2), np.int32(2), np.uint8(2), np.array(2), np.array([2])]
)
def test_integer_action_forms_are_equivalent(action):
    a = rollout(make_env(**NOISY), [2], seed=0)
    b = rollout(make_env(**NOISY), [action], seed=0)
    assert_same_rollout(a, b)


def test_custom_model_instance_is_copied(customized_user_model):
    model = customized_user_model(5, 5, reward_std=0.3)
    env = RECEnv(UserModel=model, reward_std=0.3)
    assert env.user_model is not model
    assert isinstance(env.user_model, customized_user_model)


def test_readme_custom_model_class_matches_builtin_model(customized_user_model):
    # The README's model computes the built-in continuous model with single-user code.
    actions = [0, 4, 4, 2, 1, 3, 0, 0, 2, 2]
    a = rollout(make_env(reward_std=0.2), actions, seed=11)
    b = rollout(make_env(UserModel=customized_user_model, reward_std=0.2), actions, seed=11)
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            if isinstance(u, dict):
                assert u["user_id"] == v["user_id"]
                np.testing.assert_allclose(u["state"], v["state"], rtol=0, atol=1e-12)
            else:
                np.testing.assert_allclose(u, v, rtol=0, atol=1e-12)


# --- render, close, pickle, wrappers ------------------------------------------------------


def test_render_ansi_returns_text():
    env = RECEnv(render_mode="ansi")
    assert env.render() == "RECEnv: not reset yet"
    _, info = env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str)
    assert f"user {info['user_id']:>6}" in text
    assert "step 0/10" in text
    env.step(0)
    assert "step 1/10" in env.render()


def test_render_human_prints(capsys):
    env = RECEnv(render_mode="human")
    env.reset(seed=0)
    assert env.render() is None
    assert "RECEnv step 0/10" in capsys.readouterr().out
    env.step(0)  # human mode renders every step
    assert "RECEnv step 1/10" in capsys.readouterr().out


def test_render_without_mode_warns():
    env = RECEnv()
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="without specifying any render mode"):
        assert env.render() is None


def test_close_twice():
    env = gym.make("RECEnv-v0")
    env.reset(seed=0)
    env.close()
    env.close()
    RECEnv().close()


def test_pickle_round_trip_continues_identically():
    env = make_env(**NOISY)
    env.reset(seed=0)
    env.step(1)
    clone = pickle.loads(pickle.dumps(env))
    actions = [2, 0, 4, 3, 1, 1, 2, 0]
    a = [env.step(x) for x in actions] + [env.reset()]
    b = [clone.step(x) for x in actions] + [clone.reset()]
    assert_same_rollout(a, b)


@pytest.mark.parametrize("k", [1, 4])
def test_make_max_episode_steps_truncates(k):
    env = gym.make("RECEnv-v0", max_episode_steps=k)
    env.reset(seed=0)
    for t in range(1, k + 1):
        _, _, terminated, truncated, _ = env.step(0)
        assert terminated is False
        assert truncated is (t == k)


def test_registered_with_original_defaults():
    spec = gym.spec("RECEnv-v0")
    assert spec.kwargs == {"random_state": 12345}
    assert spec.entry_point == "recgym.rec_env:RECEnv"
    recgym.registration.register_envs()  # idempotent: no "Overriding environment" warning


# --- bad input: one test per case, message pinned ------------------------------------------


def test_step_before_reset_raises():
    env = RECEnv()
    msg = (
        "Cannot call `step` before `reset` or after the episode ended "
        "(step_per_episode=10); call `reset` first"
    )
    with pytest.raises(ResetNeeded, match=re.escape(msg)):
        env.step(0)


def test_step_after_the_end_raises():
    env = RECEnv(step_per_episode=2)
    env.reset(seed=0)
    env.step(0)
    env.step(0)
    msg = "after the episode ended (step_per_episode=2); call `reset` first"
    with pytest.raises(ResetNeeded, match=re.escape(msg)):
        env.step(0)


def test_reset_needed_is_a_value_error_and_gymnasiums_reset_needed():
    assert issubclass(ResetNeeded, ValueError)
    assert issubclass(ResetNeeded, gym.error.ResetNeeded)
    env = gym.make("RECEnv-v0", step_per_episode=1)
    with pytest.raises(gym.error.ResetNeeded):  # OrderEnforcing, before the first reset
        env.step(0)
    env.reset(seed=0)
    env.step(0)
    with pytest.raises(ValueError, match=re.escape("after the episode ended")):
        env.step(0)


BAD_ACTIONS = [
    pytest.param(5, ValueError, "`action` must lie in [0, 5), got 5", id="too-large"),
    pytest.param(-1, ValueError, "`action` must lie in [0, 5), got -1", id="negative"),
    pytest.param(
        np.int64(7), ValueError, "`action` must lie in [0, 5), got np.int64(7)", id="np-too-large"
    ),
    pytest.param(1.0, TypeError, "`action` must be an integer item index, got 1.0", id="float"),
    pytest.param(True, TypeError, "`action` must be an integer item index, got True", id="bool"),
    pytest.param(
        np.array(1.0),
        TypeError,
        "`action` must be an integer item index, got array(1.)",
        id="float-array",
    ),
    pytest.param(
        np.array([1, 2]),
        TypeError,
        "`action` must be an integer item index, got array([1, 2])",
        id="wrong-shape",
    ),
    pytest.param(
        np.array([[1]]),
        TypeError,
        "`action` must be an integer item index, got array([[1]])",
        id="2d-array",
    ),
    pytest.param("1", TypeError, "`action` must be an integer item index, got '1'", id="string"),
    pytest.param(None, TypeError, "`action` must be an integer item index, got None", id="none"),
]


@pytest.mark.parametrize(("action", "error", "msg"), BAD_ACTIONS)
def test_bad_action_raises(action, error, msg):
    env = RECEnv()
    env.reset(seed=0)
    with pytest.raises(error, match=re.escape(msg)):
        env.step(action)
    env.step(0)  # the rejected action did not advance the episode
    assert env._population.t == 1


def _users(shape):
    return np.random.default_rng(0).uniform(-1, 1, size=shape)


BAD_ARGUMENTS = [
    pytest.param(
        {"item_feature_dim": 3},
        ValueError,
        "`item_feature_dim` must equal `user_feature_dim` for the inner-product UserModel, "
        "got item_feature_dim=3 and user_feature_dim=5",
        id="mismatched-dims",
    ),
    pytest.param(
        {"user_feature_vector": _users((3, 5))},
        ValueError,
        "`user_feature_vector` must have shape (100, 5), got (3, 5)",
        id="user-table-rows",
    ),
    pytest.param(
        {"user_feature_vector": _users((100, 4))},
        ValueError,
        "`user_feature_vector` must have shape (100, 5), got (100, 4)",
        id="user-table-dim",
    ),
    pytest.param(
        {"item_feature_vector": _users((5,))},
        ValueError,
        "`item_feature_vector` must have shape (5, 5), got (5,)",
        id="item-table-1d",
    ),
    pytest.param(
        {"item_feature_vector": _users((6, 5))},
        ValueError,
        "`item_feature_vector` must have shape (5, 5), got (6, 5)",
        id="item-table-rows",
    ),
    pytest.param(
        {"user_feature_vector": _users((100, 5)).tolist()},
        TypeError,
        "`user_feature_vector` must be a numpy array, got list",
        id="user-table-list",
    ),
    pytest.param(
        {"item_feature_vector": _users((5, 5)).tolist()},
        TypeError,
        "`item_feature_vector` must be a numpy array, got list",
        id="item-table-list",
    ),
    pytest.param(
        {"item_feature_vector": np.full((5, 5), np.nan)},
        ValueError,
        "`item_feature_vector` must hold finite values, got NaN or inf",
        id="item-table-nan",
    ),
    pytest.param(
        {"user_feature_vector": np.where(_users((100, 5)) > 0.9, np.inf, 0.1)},
        ValueError,
        "`user_feature_vector` must hold finite values, got NaN or inf",
        id="user-table-inf",
    ),
    pytest.param(
        {"user_feature_vector": _users((100, 5)) > 0},
        TypeError,
        "`user_feature_vector` must hold real numbers, got dtype bool",
        id="user-table-bool",
    ),
    pytest.param(
        {"obs_std": -1},
        ValueError,
        "`obs_std` must be a non-negative finite float, got -1.0",
        id="negative-obs-std",
    ),
    pytest.param(
        {"reward_std": -0.5},
        ValueError,
        "`reward_std` must be a non-negative finite float, got -0.5",
        id="negative-reward-std",
    ),
    pytest.param(
        {"obs_std": float("nan")},
        ValueError,
        "`obs_std` must be a non-negative finite float, got nan",
        id="nan-obs-std",
    ),
    pytest.param(
        {"reward_std": "0.1"},
        TypeError,
        "`reward_std` must be a non-negative float, got '0.1'",
        id="string-reward-std",
    ),
    pytest.param(
        {"reward_type": "discrete"},
        ValueError,
        "`reward_type` must be one of ['continuous', 'binary'], got 'discrete'",
        id="unknown-reward-type",
    ),
    pytest.param(
        {"feature_normalization": "l2"},
        ValueError,
        "`feature_normalization` must be one of ['spectral', 'row'], got 'l2'",
        id="unknown-normalization",
    ),
    pytest.param(
        {"UserModel": dict},
        TypeError,
        "`UserModel` must be a subclass or an instance of recgym.BaseUserModel, got <class 'dict'>",
        id="model-not-subclass",
    ),
    pytest.param(
        {"UserModel": "UserModel"},
        TypeError,
        "`UserModel` must be a subclass or an instance of recgym.BaseUserModel, got 'UserModel'",
        id="model-string",
    ),
    pytest.param(
        {"UserModel": UserModel(4, 4)},
        ValueError,
        "`UserModel.user_feature_dim` (4) does not match the environment's `user_feature_dim` (5)",
        id="model-instance-dims",
    ),
    pytest.param(
        {"UserModel": UserModel(5, 5, reward_type="binary")},
        ValueError,
        "`UserModel.reward_type` ('binary') does not match the environment's "
        "`reward_type` ('continuous')",
        id="model-instance-reward-type",
    ),
    pytest.param(
        {"UserModel": UserModel(5, 5, reward_std=0.1)},
        ValueError,
        "`UserModel.reward_std` (0.1) does not match the environment's `reward_std` (0.0)",
        id="model-instance-reward-std",
    ),
    pytest.param(
        {"n_items": 5.0},
        TypeError,
        "`n_items` must be a positive integer, got 5.0",
        id="float-count",
    ),
    pytest.param(
        {"step_per_episode": True},
        TypeError,
        "`step_per_episode` must be a positive integer, got True",
        id="bool-count",
    ),
    pytest.param(
        {"user_feature_dim": "5"},
        TypeError,
        "`user_feature_dim` must be a positive integer, got '5'",
        id="string-count",
    ),
    pytest.param(
        {"n_users": 0},
        ValueError,
        "`n_users` must be a positive integer, got 0",
        id="zero-count",
    ),
    pytest.param(
        {"random_state": -1},
        ValueError,
        "`random_state` must be a non-negative integer or None, got -1",
        id="negative-seed",
    ),
    pytest.param(
        {"random_state": "a"},
        TypeError,
        "`random_state` must be a non-negative integer or None, got 'a'",
        id="string-seed",
    ),
    pytest.param(
        {"render_mode": "rgb"},
        ValueError,
        "`render_mode` must be one of ['human', 'ansi', 'rgb_array'] or None, got 'rgb'",
        id="bad-render-mode",
    ),
]


@pytest.mark.parametrize(("kwargs", "error", "msg"), BAD_ARGUMENTS)
def test_bad_constructor_argument_raises(kwargs, error, msg):
    with pytest.raises(error, match=re.escape(msg)):
        RECEnv(**kwargs)


def test_make_with_unsupported_render_mode_raises():
    msg = "`render_mode` must be one of ['human', 'ansi', 'rgb_array'] or None, got 'rgb'"
    with warnings.catch_warnings():
        # gymnasium.make warns about the unknown mode before calling the constructor
        warnings.filterwarnings("ignore", message=".*render_mode.*", category=UserWarning)
        with pytest.raises(ValueError, match=re.escape(msg)):
            gym.make("RECEnv-v0", render_mode="rgb")


BAD_USER_IDS = [
    pytest.param(100, ValueError, "`options['user_id']` must lie in [0, 100), got 100", id="big"),
    pytest.param(-1, ValueError, "`options['user_id']` must lie in [0, 100), got -1", id="neg"),
    pytest.param(1.5, TypeError, "`options['user_id']` must be an integer, got 1.5", id="float"),
    pytest.param(True, TypeError, "`options['user_id']` must be an integer, got True", id="bool"),
    pytest.param("3", TypeError, "`options['user_id']` must be an integer, got '3'", id="str"),
]


@pytest.mark.parametrize(("user_id", "error", "msg"), BAD_USER_IDS)
def test_bad_options_user_id_raises(user_id, error, msg):
    env = RECEnv()
    with pytest.raises(error, match=re.escape(msg)):
        env.reset(options={"user_id": user_id})
