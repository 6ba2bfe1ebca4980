"""Reliability, round two: every class of failure an independent attack found, fixed as a class.

1. custom user-model output is checked where it enters;
2. a model's dtype never leaks into a float32 environment (nor its checkpoints);
3. dict and array actions of mixed or odd types fail clearly or work exactly;
4. sizes that cannot fit are refused before anything is allocated;
5. hostile or malformed files fail with the loaders' one message template;
6. (resume: see tests of ``recgym study``);
7. edge values are refused instead of silently reinterpreted.

Plus property-based fuzzing of the dict and array action APIs and of model outputs:
whatever goes in, either the step is exactly right or a ``TypeError``/``ValueError``
names the problem.
"""

from __future__ import annotations

import contextlib
import json
import re
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recgym import BaseUserModel, RECEnv, RECVectorEnv, UserModel
from recgym.checkpoint import read_checkpoint, write_checkpoint
from recgym.population import History, PopulationEnv, simulate


def raises(error, message):
    return pytest.raises(error, match=re.escape(message))


# ----------------------------------------------------------------- 1. model outputs


class SingleUser(BaseUserModel):
    """A single-user model whose methods return ``REWARD`` and ``STATE(state)``."""

    REWARD = 0.1

    def __init__(self, **kwargs):
        self.random_ = np.random.default_rng(0)

    def reward_function(self, state, action, item_feature_vector):
        return self.REWARD

    def user_preference_dynamics(self, state, action, item_feature_vector, alpha=1.0):
        return self.STATE(state)


def single(reward=0.1, state=lambda s: s):
    return type("Custom", (SingleUser,), {"REWARD": reward, "STATE": staticmethod(state)})


class Batched(BaseUserModel):
    """A batched model whose ``batch_step`` returns ``OUTPUT(states)``."""

    def __init__(self, **kwargs):
        self.random_ = np.random.default_rng(0)

    def batch_reward_function(self, states, actions, item_feature_vector):
        raise AssertionError("batch_step is overridden")

    def batch_user_preference_dynamics(self, states, actions, item_feature_vector):
        raise AssertionError("batch_step is overridden")

    def batch_step(self, states, actions, item_feature_vector):
        return type(self).OUTPUT(states)


def batched(output):
    return type("Custom", (Batched,), {"OUTPUT": staticmethod(output)})


def step_with(model, n_users=4, **kwargs):
    env = PopulationEnv(n_users=n_users, n_items=3, random_state=0, UserModel=model, **kwargs)
    env.reset_batch(seed=0)
    return env.step_batch(np.zeros(n_users, dtype=np.int64))


@pytest.mark.parametrize(
    ("model", "error", "message"),
    [
        (single(state=lambda s: None), TypeError,
         "`Custom.user_preference_dynamics` returned None for user 0 (a missing `return`?)"),
        (single(reward=None), TypeError, "`Custom.reward_function` returned None for user 0"),
        (single(reward="0.25"), TypeError,
         "`Custom.reward_function` must return a real number, got '0.25' for user 0"),
        (single(state=lambda s: list(s)), TypeError,
         "`Custom.user_preference_dynamics` must return the new state as a numpy array of "
         "real numbers, got [np.float64("),
        (single(state=lambda s: s[:2]), ValueError,
         "`Custom.user_preference_dynamics` must return a state of shape (5,), got shape (2,) "
         "for user 0"),
        (single(state=lambda s: s * np.nan), ValueError,
         "`Custom.batch_step` returned a state not finite for user 0: [nan, nan"),
        (single(state=lambda s: s * 100), ValueError,
         "`Custom.batch_step` returned a state outside [-1, 1] for user 0: ["),
        (batched(lambda s: (np.float64(0.5), s)), TypeError,
         "`Custom.batch_step` must return numpy arrays of shape (4,) (rewards) and (4, 5) (new "
         "states), got float64 and shape (4, 5)"),
        (batched(lambda s: (np.zeros(4, dtype=object), s)), TypeError,
         "`Custom.batch_step` must return rewards of real numbers, got dtype object"),
        (batched(lambda s: (np.array(["1"] * 4), s)), TypeError,
         "`Custom.batch_step` must return rewards of real numbers, got dtype <U1"),
        (batched(lambda s: (np.array([0, 0, np.inf, 0]), s)), ValueError,
         "`Custom.batch_step` returned a reward that is not finite for user 2: np.float64(inf)"),
        (batched(lambda s: (np.zeros(4), np.full(s.shape, 0.5)[:, :1])), ValueError,
         "`Custom.batch_step` must return numpy arrays of shape (4,) (rewards) and (4, 5) (new "
         "states), got shape (4,) and shape (4, 1)"),
        (batched(lambda s: (np.zeros(4), np.ma.masked_array(s))), TypeError,
         "`Custom.batch_step` must return numpy arrays"),
    ],
    ids=["state-None", "reward-None", "reward-str", "state-list", "state-shape", "state-nan",
         "state-outside", "scalar-reward", "object-rewards", "str-rewards", "inf-reward",
         "state-width", "masked-states"],
)  # fmt: skip
def test_custom_model_outputs_are_checked_where_they_enter(model, error, message):
    fallback = issubclass(model, SingleUser)  # a single-user model warns it runs per user
    warned = pytest.warns(UserWarning) if fallback else contextlib.nullcontext()
    with warned, raises(error, message):
        step_with(model)


def test_a_single_user_model_in_rec_env_is_named_too():
    env = RECEnv(UserModel=single(state=lambda s: None))
    env.reset(seed=0)
    with raises(TypeError, "`Custom.user_preference_dynamics` returned None for user"):
        env.step(0)


def test_the_builtin_model_is_not_charged_the_checks():
    env = PopulationEnv(n_users=3, random_state=0)
    env.reset_batch(seed=0)
    population = env._population
    assert type(population.user_model) is UserModel  # the unchecked fast path


# ------------------------------------------------------------------- 2. dtype drift


def test_a_float64_model_in_a_float32_environment_stays_in_the_space_and_checkpoints():
    model = batched(lambda s: (np.zeros(len(s), dtype=np.float64), s.astype(np.float64)))
    env = PopulationEnv(n_users=4, random_state=0, UserModel=model, dtype=np.float32)
    env.reset_batch(seed=0)
    obs, rewards, _, _, info = env.step_batch(np.zeros(4, dtype=np.int64))
    assert obs.dtype == rewards.dtype == info["state"].dtype == np.float32
    twin = PopulationEnv(n_users=4, random_state=0, UserModel=model, dtype=np.float32)
    twin.restore(env.checkpoint())  # the states kept the environment's dtype
    a, b = env.step_batch(np.ones(4, np.int64)), twin.step_batch(np.ones(4, np.int64))
    assert all(np.array_equal(x, y) for x, y in zip(a[:4], b[:4]))


# ------------------------------------------------------------------ 3. action types


def dict_env(**kwargs):
    env = PopulationEnv(n_users=3, n_items=5, random_state=0, **kwargs)
    env.reset(seed=0)
    return env


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ([0, True, 2], TypeError,
         "`actions` values must be integer items in [0, 5), got [user_1: True]"),
        ([0, np.bool_(True), 2], TypeError,
         "`actions` values must be integer items in [0, 5), got [user_1: np.True_]"),
        ([2**70, 1, 2], ValueError,
         "`actions` values must be integer items in [0, 5), got [user_0: 1180591620717411303424]"),
        ([np.uint64(2**64 - 1), 1, 2], ValueError,
         "`actions` values must be integer items in [0, 5), got [user_0: np.uint64("),
        ([np.ma.masked_array(1, mask=True), 1, 2], TypeError,
         "`actions` values must be integer items in [0, 5), got [user_0: masked_array("),
        ([1.0, 1, 2], TypeError,
         "`actions` values must be integer items in [0, 5), got [user_0: 1.0]"),
        ([-1, 1, 2], ValueError,
         "`actions` values must be integer items in [0, 5), got [user_0: -1]"),
    ],
    ids=["bool", "numpy-bool", "huge", "huge-uint64", "masked", "float", "negative"],
)  # fmt: skip
def test_odd_dict_actions_are_refused_by_agent(values, error, message):
    env = dict_env()
    with raises(error, message):
        env.step(dict(zip(env.agents, values)))


def test_mixed_numpy_integer_types_work_exactly():
    env, twin = dict_env(), dict_env()
    mixed = {"user_0": np.int64(1), "user_1": np.uint64(4), "user_2": np.int8(2)}
    plain = {"user_0": 1, "user_1": 4, "user_2": 2}
    assert env.step(mixed)[1] == twin.step(plain)[1]


def test_masked_arrays_are_refused_by_the_array_api():
    env = PopulationEnv(n_users=3, n_items=5, random_state=0)
    env.reset_batch(seed=0)
    masked = np.ma.masked_array([0, 9, 1], mask=[False, True, False])
    with raises(TypeError, "`actions` must be a plain numpy array, got a masked array"):
        env.step_batch(masked)


# ------------------------------------------------------------------------- 4. sizes


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PopulationEnv(n_users=10**12), "`n_users` = 1000000000000 needs 80,000.0 GB "
         "for the user pool; this machine has"),
        (lambda: PopulationEnv(n_items=10**12), "`n_items` = 1000000000000 needs 80,000.0 GB "
         "for the item table"),
        (lambda: RECVectorEnv(10**11), "`num_envs` = 100000000000 needs 19,200.0 GB for the "
         "users' states"),
        (lambda: simulate(PopulationEnv(n_users=10, step_per_episode=10**10), "random"),
         "`steps` = 10000000000 needs"),
    ],
    ids=["users", "items", "num_envs", "steps"],
)  # fmt: skip
def test_sizes_that_cannot_fit_are_refused_before_allocation(make, message):
    with raises(ValueError, message):
        make()


# ------------------------------------------------------------------- 5. hostile files


def test_a_deeply_nested_header_is_refused(tmp_path):
    path = tmp_path / "nested.npz"
    np.savez(path, header=np.array('{"a": ' * 100_000 + "1" + "}" * 100_000))
    with raises(ValueError, "cannot load a History file from"):
        History.load(path)


def test_a_member_declaring_a_huge_shape_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.npz"
    header = np.lib.format.header_data_from_array_1_0(np.zeros(3))
    header["shape"] = (10**12,)
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("rewards.npy", "w") as member:
            np.lib.format.write_array_header_1_0(member, header)
            member.write(np.zeros(3).tobytes())
        with archive.open("header.npy", "w") as member:
            np.lib.format.write_array(
                member, np.array('{"format": "recgym.History", "version": 1}')
            )
    with raises(ValueError, "entry 'rewards.npy' declares 8,000,000,000,000 bytes of data but "
                            "stores 152"):  # fmt: skip
        History.load(path)


def saved_history(tmp_path, **replace):
    env = PopulationEnv(n_users=5, n_items=4, step_per_episode=3, random_state=0)
    history = simulate(env, "random", seed=0)
    path = history.save(tmp_path / "h.npz")
    with np.load(path) as data:
        contents = {name: data[name] for name in data.files}
    contents.update(replace)
    np.savez(path, **contents)
    return path


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        ({"rewards": np.zeros((3, 2))}, "`rewards` must be a 1-D float array, got dtype float64 "
         "and shape (3, 2)"),
        ({"steps": np.array([0, 2, 1, 3])}, "`steps` must increase from 0 or more"),
        ({"exposure": np.array([-1, 0, 0, 0])}, "`exposure` and `consumption` must be "
         "non-negative counts"),
        ({"final_states": np.full((5, 5), np.nan)}, "`final_states` must be finite"),
        ({"metric:gini": np.zeros(2)}, "metric 'gini' must be a float array of shape (4,)"),
        ({"initial_states": np.array(["a"] * 5)}, "`initial_states` must be a 2-D float array"),
    ],
    ids=["rewards-2d", "steps-order", "negative-counts", "nan-states", "metric-length",
         "string-states"],
)  # fmt: skip
def test_history_fields_are_validated_on_load(tmp_path, replace, message):
    with raises(ValueError, message):
        History.load(saved_history(tmp_path, **replace))


def test_a_checkpoint_with_a_string_observation_is_refused(tmp_path):
    env = PopulationEnv(n_users=3, render_mode="ansi", random_state=0)
    env.reset_batch(seed=0)
    checkpoint = env.checkpoint()
    checkpoint["environment_state"]["last_obs"] = np.array(["x"] * 3)
    path = write_checkpoint(checkpoint, tmp_path / "c.npz")
    with raises(ValueError, "environment_state['last_obs'] must be a finite float array, got an "
                            "array of dtype <U1"):  # fmt: skip
        env.restore(read_checkpoint(path))


def test_a_checkpoint_holding_users_but_unseeded_is_refused():
    env = PopulationEnv(n_users=3, random_state=0)
    env.reset_batch(seed=0)
    checkpoint = env.checkpoint()
    checkpoint["population"]["seeded"] = False
    checkpoint["population"]["generators"] = {"user_model": None}
    with raises(ValueError, "checkpoint entry population['seeded'] is False, but the "
                            "population holds users"):  # fmt: skip
        PopulationEnv(n_users=3, random_state=0).restore(checkpoint)


# -------------------------------------------------------------------- 7. edge values


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: PopulationEnv(dtype=None), ValueError,
         "`dtype` must be numpy.float32 or numpy.float64, got None"),
        (lambda: PopulationEnv(reward_std=1e300, dtype=np.float32), ValueError,
         "`reward_std` must be at most 5.32e+36 for float32 numbers (its noise would overflow "
         "to inf), got 1e+300"),
        (lambda: PopulationEnv(obs_std=1e307), ValueError, "`obs_std` must be at most"),
    ],
    ids=["dtype-None", "reward-std-float32", "obs-std"],
)  # fmt: skip
def test_edge_values_are_refused(make, error, message):
    with raises(error, message):
        make()


def test_legacy_mode_takes_float16_tables_like_the_default_mode():
    table = np.random.default_rng(0).uniform(-1, 1, (5, 5)).astype(np.float16)
    env = RECEnv(random_state=0, legacy=True, item_feature_vector=table)
    env.reset(seed=0)
    assert np.isfinite(env.step(0)[1])


# ------------------------------------------------------------------------- fuzzing


action_values = st.one_of(
    st.integers(-3, 7),
    st.integers(-(2**80), 2**80),
    st.booleans(),
    st.floats(allow_nan=True),
    st.sampled_from([np.int8, np.int64, np.uint8, np.uint64, np.int32]).flatmap(
        lambda dtype: st.integers(0, 6).map(dtype)
    ),
    st.integers(0, 6).map(np.array),
    st.integers(0, 6).map(lambda v: np.ma.masked_array(v, mask=v % 2 == 0)),
    st.just(None),
    st.text(max_size=2),
    st.lists(st.integers(0, 4), max_size=2),
)


def _is_valid_item(value, n_items=5):
    if isinstance(value, (bool, np.bool_, np.ma.MaskedArray)):
        return False
    if isinstance(value, np.ndarray):
        return value.shape == () and value.dtype.kind in "iu" and 0 <= int(value) < n_items
    return isinstance(value, (int, np.integer)) and 0 <= int(value) < n_items


@settings(max_examples=150, deadline=None)
@given(values=st.lists(action_values, min_size=3, max_size=3))
def test_fuzz_dict_actions_are_exact_or_refused(values):
    env, reference = dict_env(), dict_env()
    actions = dict(zip(env.agents, values))
    if all(_is_valid_item(v) for v in values):
        _, rewards, *_ = env.step(actions)
        expected = reference.step_batch(np.array([int(v) for v in values]))[1]
        assert list(rewards.values()) == expected.tolist()
    else:
        with pytest.raises((TypeError, ValueError)):
            env.step(actions)


array_dtypes = st.sampled_from(
    [np.int8, np.int64, np.uint16, np.uint64, np.float64, np.bool_, np.complex64, object]
)


@settings(max_examples=150, deadline=None)
@given(
    dtype=array_dtypes,
    shape=st.sampled_from([(3,), (2,), (3, 1), ()]),
    values=st.lists(st.integers(-2, 7), min_size=3, max_size=3),
)
def test_fuzz_array_actions_are_exact_or_refused(dtype, shape, values):
    env = PopulationEnv(n_users=3, n_items=5, random_state=0)
    env.reset_batch(seed=0)
    size = int(np.prod(shape))
    try:
        actions = np.array(values[:size], dtype=dtype).reshape(shape)
    except (OverflowError, ValueError):
        return
    valid = shape == (3,) and np.dtype(dtype).kind in "iu" and all(0 <= v < 5 for v in values)
    if valid:
        env.step_batch(actions)
    else:
        with pytest.raises((TypeError, ValueError)):
            env.step_batch(actions)


@settings(max_examples=100, deadline=None)
@given(
    rewards=st.one_of(
        st.just(None),
        st.floats(allow_nan=True, allow_infinity=True),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=5).map(
            np.array
        ),
        st.sampled_from([np.zeros(4), np.zeros(4, np.float32), np.zeros(4, int), np.ones(4, bool)]),
    ),
    scale=st.sampled_from([0.5, 1.0, 1.5, np.nan, np.inf]),
    width=st.sampled_from([5, 4]),
)
def test_fuzz_model_outputs_are_clean_or_refused(rewards, scale, width):
    def output(states):
        return rewards, (states * scale)[:, :width]

    model = batched(output)
    env = PopulationEnv(n_users=4, n_items=3, random_state=0, UserModel=model)
    env.reset_batch(seed=0)
    try:
        _, out_rewards, _, _, info = env.step_batch(np.zeros(4, dtype=np.int64))
    except (TypeError, ValueError):
        return
    assert out_rewards.dtype == np.float64 and out_rewards.shape == (4,)
    assert np.isfinite(out_rewards).all() and np.isfinite(info["state"]).all()
    assert (np.abs(info["state"]) <= 1 + 1e-12).all()
    assert json.dumps(float(out_rewards.sum()))  # a plain, finite number
