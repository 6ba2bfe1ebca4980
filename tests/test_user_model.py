"""User models: the batched default ``UserModel``, the single-user interface and its fallback."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import expit

from recgym import BaseUserModel, RECEnv, UserModel

SETTINGS = settings(max_examples=50, deadline=None)

dims = st.integers(min_value=1, max_value=8)
alphas = st.floats(min_value=0.0, max_value=4.0)
unit_floats = st.floats(min_value=-1.0, max_value=1.0, allow_nan=False, width=64)


def vectors(d):
    return arrays(np.float64, (d,), elements=unit_floats)


def norm(x):
    return np.sqrt(np.vecdot(x, x))


def step_one(model, state, action, items):
    rewards, states = model.batch_step(state[np.newaxis], np.array([action]), items)
    return rewards[0], states[0]


@dataclass
class SingleUserModel(BaseUserModel):
    """The default continuous model written in the original single-user form only."""

    user_feature_dim: int
    item_feature_dim: int
    reward_type: str = "continuous"
    reward_std: float = 0.0
    random_state: int | None = None

    def __post_init__(self):
        self.random_ = np.random.default_rng(self.random_state)

    def reward_function(self, state, action, item_feature_vector):
        affinity = np.vecdot(state, item_feature_vector[action])
        if self.reward_std > 0.0:
            return affinity + self.reward_std * self.random_.standard_normal()
        return affinity

    def user_preference_dynamics(self, state, action, item_feature_vector, alpha=1.0):
        item = item_feature_vector[action]
        moved = state + item * (alpha * np.vecdot(state, item))
        length = np.sqrt(np.vecdot(moved, moved))
        return moved / length if length != 0.0 else moved


# --- rewards -----------------------------------------------------------------------------


@pytest.mark.parametrize("affinity", [-0.9, -0.2, 0.0, 0.35, 1.0])
def test_binary_reward_mean_matches_sigmoid(affinity):
    n = 20_000
    model = UserModel(2, 2, reward_type="binary", random_state=0)
    states = np.tile([affinity, 0.0], (n, 1))
    items = np.array([[1.0, 0.0]])
    rewards = model.batch_reward_function(states, np.zeros(n, dtype=np.int64), items)
    assert set(np.unique(rewards)) <= {0.0, 1.0}
    p = expit(affinity)
    standard_error = np.sqrt(p * (1 - p) / n)
    assert abs(rewards.mean() - p) < 5 * standard_error


def test_binary_reward_ignores_reward_std():
    model = UserModel(2, 2, reward_type="binary", reward_std=3.0, random_state=0)
    rewards = model.batch_reward_function(np.ones((100, 2)), np.zeros(100, np.int64), np.eye(2))
    assert set(np.unique(rewards)) == {0.0, 1.0}


def test_continuous_reward_noise_has_the_given_std():
    n = 20_000
    model = UserModel(2, 2, reward_std=0.5, random_state=0)
    states = np.tile([0.3, 0.0], (n, 1))
    rewards = model.batch_reward_function(states, np.zeros(n, np.int64), np.eye(2))
    assert abs(rewards.mean() - 0.3) < 5 * 0.5 / np.sqrt(n)
    assert rewards.std() == pytest.approx(0.5, rel=0.05)


def test_noiseless_continuous_reward_draws_nothing():
    model = UserModel(3, 3, random_state=0)
    before = copy.deepcopy(model.random_.bit_generator.state)
    model.batch_step(np.ones((4, 3)), np.zeros(4, np.int64), np.eye(3))
    assert model.random_.bit_generator.state == before


@SETTINGS
@given(d=dims, data=st.data())
def test_reward_is_computed_on_the_pre_transition_state(d, data):
    state = data.draw(vectors(d))
    items = data.draw(arrays(np.float64, (3, d), elements=unit_floats))
    action = data.draw(st.integers(0, 2))
    reward, _ = step_one(UserModel(d, d), state, action, items)
    assert reward == np.vecdot(state, items[action])


# --- preference dynamics (hypothesis) ---------------------------------------------------


@SETTINGS
@given(d=dims, alpha=alphas, data=st.data())
def test_states_have_unit_norm_after_a_step(d, alpha, data):
    state = data.draw(vectors(d))
    assume(norm(state) > 1e-6)
    items = data.draw(arrays(np.float64, (4, d), elements=unit_floats))
    action = data.draw(st.integers(0, 3))
    _, new_state = step_one(UserModel(d, d, alpha=alpha), state, action, items)
    assert norm(new_state) == pytest.approx(1.0, abs=1e-12)


@SETTINGS
@given(
    d=st.integers(min_value=2, max_value=8),
    alpha=st.floats(min_value=0.5, max_value=2.0),
    scale=st.floats(min_value=0.5, max_value=1.0),
    data=st.data(),
)
def test_showing_one_item_drives_the_state_to_its_direction(d, alpha, scale, data):
    state = data.draw(vectors(d))
    direction = data.draw(vectors(d))
    assume(norm(state) > 1e-3 and norm(direction) > 1e-3)
    cosine = np.vecdot(state, direction) / (norm(state) * norm(direction))
    assume(abs(cosine) > 0.05)  # a clear initial sign; the rate does not depend on it
    item = direction / norm(direction) * scale
    model = UserModel(d, d, alpha=alpha)
    states, items, actions = state[np.newaxis], item[np.newaxis], np.zeros(1, np.int64)
    for _ in range(400):  # the off-item part shrinks by 1 + α‖v‖² ≥ 1.125 per step
        states = model.batch_user_preference_dynamics(states, actions, items)
    expected = np.sign(cosine) * item / norm(item)
    np.testing.assert_allclose(states[0], expected, atol=1e-9)


@SETTINGS
@given(d=st.integers(min_value=2, max_value=8), alpha=alphas, data=st.data())
def test_an_orthogonal_item_leaves_the_state_unchanged(d, alpha, data):
    state = data.draw(vectors(d))
    other = data.draw(vectors(d))
    assume(norm(state) > 1e-3)
    item = other - np.vecdot(other, state) / np.vecdot(state, state) * state
    assume(norm(item) > 1e-3)
    _, new_state = step_one(UserModel(d, d, alpha=alpha), state, 0, item[np.newaxis])
    np.testing.assert_allclose(new_state, state / norm(state), atol=1e-12)


@SETTINGS
@given(d=dims, alpha=alphas, data=st.data())
def test_a_zero_state_stays_finite(d, alpha, data):
    items = data.draw(arrays(np.float64, (2, d), elements=unit_floats))
    reward, new_state = step_one(UserModel(d, d, alpha=alpha), np.zeros(d), 1, items)
    assert reward == 0.0
    np.testing.assert_array_equal(new_state, np.zeros(d))


def test_alpha_zero_only_normalises():
    model = UserModel(2, 2, alpha=0.0)
    _, new_state = step_one(model, np.array([0.3, 0.4]), 0, np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(new_state, [0.6, 0.8], atol=1e-15)


# --- batched versus single-user --------------------------------------------------------


@SETTINGS
@given(
    n=st.integers(min_value=1, max_value=12),
    d=dims,
    alpha=alphas,
    reward=st.sampled_from([("continuous", 0.0), ("continuous", 0.7), ("binary", 0.0)]),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_batched_model_equals_per_user_single_user_methods(n, d, alpha, reward, seed, data):
    reward_type, reward_std = reward
    states = data.draw(arrays(np.float64, (n, d), elements=unit_floats))
    items = data.draw(arrays(np.float64, (5, d), elements=unit_floats))
    actions = np.asarray(data.draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
    model = UserModel(d, d, reward_type, reward_std, random_state=seed, alpha=alpha)
    single = copy.deepcopy(model)

    rewards, new_states = model.batch_step(states, actions, items)
    for i in range(n):
        reward_i = single.reward_function(states[i], int(actions[i]), items)
        assert type(reward_i) is float
        assert reward_i == rewards[i]
        state_i = single.user_preference_dynamics(states[i], actions[i], item_feature_vector=items)
        np.testing.assert_array_equal(state_i, new_states[i])

    # the two batched methods called separately agree with batch_step, too
    separate = copy.deepcopy(single)
    separate.random_ = np.random.default_rng(seed)
    model.random_ = np.random.default_rng(seed)
    np.testing.assert_array_equal(
        separate.batch_reward_function(states, actions, items),
        model.batch_step(states, actions, items)[0],
    )
    np.testing.assert_array_equal(
        separate.batch_user_preference_dynamics(states, actions, items), new_states
    )


def test_single_user_alpha_defaults_to_the_models_alpha():
    model = UserModel(2, 2, alpha=0.5)
    state, items = np.array([0.6, 0.8]), np.array([[1.0, 0.0]])
    default = model.user_preference_dynamics(state, 0, items)
    np.testing.assert_array_equal(default, model.user_preference_dynamics(state, 0, items, 0.5))
    other = model.user_preference_dynamics(state, 0, items, alpha=2.0)
    assert not np.array_equal(default, other)
    assert model.alpha == 0.5  # the override did not stick


def test_batched_methods_do_not_modify_their_inputs():
    model = UserModel(3, 3, reward_std=0.1, random_state=0)
    states = np.random.default_rng(0).uniform(-1, 1, (4, 3))
    items = np.random.default_rng(1).uniform(-1, 1, (2, 3))
    actions = np.array([0, 1, 1, 0])
    copies = states.copy(), items.copy(), actions.copy()
    model.batch_step(states, actions, items)
    model.batch_reward_function(states, actions, items)
    model.batch_user_preference_dynamics(states, actions, items)
    for before, after in zip(copies, (states, items, actions)):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_model_keeps_the_dtype(dtype):
    model = UserModel(3, 3, reward_std=0.1, random_state=0)
    states = np.ones((4, 3), dtype=dtype)
    rewards, new_states = model.batch_step(states, np.zeros(4, np.int64), np.eye(3, dtype=dtype))
    assert rewards.dtype == dtype
    assert new_states.dtype == dtype


# --- the per-user fallback ------------------------------------------------------------


def test_is_batched():
    assert UserModel.is_batched()
    assert not SingleUserModel.is_batched()


@SETTINGS
@given(
    n=st.integers(min_value=1, max_value=10),
    d=dims,
    reward_std=st.sampled_from([0.0, 0.4]),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
def test_single_user_model_via_fallback_equals_builtin(n, d, reward_std, seed, data):
    states = data.draw(arrays(np.float64, (n, d), elements=unit_floats))
    items = data.draw(arrays(np.float64, (3, d), elements=unit_floats))
    actions = np.asarray(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    builtin = UserModel(d, d, reward_std=reward_std, random_state=seed)
    fallback = SingleUserModel(d, d, reward_std=reward_std, random_state=seed)
    expected = builtin.batch_step(states, actions, items)
    got = fallback.batch_step(states, actions, items)
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


def test_single_user_model_in_recenv_equals_builtin():
    actions = np.random.default_rng(0).integers(0, 5, 30).tolist()
    runs = []
    for model in (UserModel, SingleUserModel):
        env = RECEnv(UserModel=model, reward_std=0.3, obs_std=0.2, random_state=4)
        out = [env.reset(seed=8)]
        for i, action in enumerate(actions):
            out.append(env.step(action))
            if i % 10 == 9:
                out.append(env.reset())
        runs.append(out)
    for a, b in zip(*runs):
        for x, y in zip(a, b):
            if isinstance(x, dict):
                assert x["user_id"] == y["user_id"]
                np.testing.assert_array_equal(x["state"], y["state"])
            else:
                np.testing.assert_array_equal(x, y)


def test_model_with_neither_form_raises():
    class Nothing(BaseUserModel):
        pass

    msg = (
        "Can't instantiate user model Nothing: it must implement `reward_function` or "
        "`batch_reward_function` and `user_preference_dynamics` or "
        "`batch_user_preference_dynamics`"
    )
    with pytest.raises(TypeError, match=re.escape(msg)):
        Nothing()


def test_model_missing_the_dynamics_raises():
    class RewardOnly(BaseUserModel):
        def reward_function(self, state, action, item_feature_vector):
            return 0.0

    msg = (
        "Can't instantiate user model RewardOnly: it must implement "
        "`user_preference_dynamics` or `batch_user_preference_dynamics`"
    )
    with pytest.raises(TypeError, match=re.escape(msg) + "$"):
        RewardOnly()


# --- UserModel field validation --------------------------------------------------------

BAD_FIELDS = [
    pytest.param(
        {"user_feature_dim": 0},
        ValueError,
        "`user_feature_dim` must be a positive integer, got 0",
        id="zero-dim",
    ),
    pytest.param(
        {"item_feature_dim": 2.0},
        TypeError,
        "`item_feature_dim` must be a positive integer, got 2.0",
        id="float-dim",
    ),
    pytest.param(
        {"item_feature_dim": 3},
        ValueError,
        "`item_feature_dim` must equal `user_feature_dim` for the inner-product UserModel, "
        "got item_feature_dim=3 and user_feature_dim=2",
        id="mismatched-dims",
    ),
    pytest.param(
        {"reward_type": "discrete"},
        ValueError,
        "`reward_type` must be one of ['continuous', 'binary'], got 'discrete'",
        id="reward-type",
    ),
    pytest.param(
        {"reward_std": -1.0},
        ValueError,
        "`reward_std` must be a non-negative finite float, got -1.0",
        id="negative-reward-std",
    ),
    pytest.param(
        {"alpha": -0.1},
        ValueError,
        "`alpha` must be a non-negative finite float, got -0.1",
        id="negative-alpha",
    ),
    pytest.param(
        {"alpha": None},
        TypeError,
        "`alpha` must be a non-negative float, got None",
        id="none-alpha",
    ),
    pytest.param(
        {"random_state": 1.5},
        TypeError,
        "`random_state` must be a non-negative integer or None, got 1.5",
        id="float-seed",
    ),
]


@pytest.mark.parametrize(("fields", "error", "msg"), BAD_FIELDS)
def test_bad_user_model_field_raises(fields, error, msg):
    with pytest.raises(error, match=re.escape(msg)):
        UserModel(**{"user_feature_dim": 2, "item_feature_dim": 2, **fields})


def test_user_model_normalises_scalar_fields():
    model = UserModel(np.int64(3), 3, reward_std=0, random_state=np.int64(5), alpha=1)
    assert type(model.user_feature_dim) is int
    assert type(model.reward_std) is float
    assert type(model.alpha) is float
    assert type(model.random_state) is int
