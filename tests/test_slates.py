"""Slates and choice in every environment: the response pipeline of the core.

slate ``(n, k)`` → choice model → reward and dynamics of the consumed item → observation.
The choice models' own probabilities are tested in ``test_choice.py``; here the
environments: what a user consumes follows the model's probabilities, a user who chooses
nothing gets reward 0 and does not move, consumed items are never consumed again with
``repeat_consumption=False``, and every representation (dict, array, ``RECEnv``, vector)
gives the same numbers at ``k > 1`` too.
"""

from __future__ import annotations

import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from pettingzoo.test import parallel_api_test, parallel_seed_test
from scipy.stats import chisquare

import recgym  # noqa: F401 - registers RECEnv-v0
from recgym import RECEnv, RECVectorEnv, UserModel
from recgym.choice import Cascade, MultinomialLogit, PositionBased
from recgym.population import PopulationEnv
from recgym.spaces import Slate

CHOICES = {
    "consume": "consume",
    "mnl": MultinomialLogit(temperature=0.3),
    "cascade": Cascade(temperature=0.3, bias=0.2),
    "pbm": PositionBased(examination=np.array([0.9, 0.6, 0.4, 0.3]), temperature=0.3),
}


def population(**kwargs):
    arguments = {
        "n_users": 50, "n_items": 12, "step_per_episode": 6, "random_state": 2,
        "feature_normalization": "row", "slate_size": 3, **kwargs,
    }  # fmt: skip
    return PopulationEnv(**arguments)


def random_slates(rng, n, k, n_items):
    return np.argsort(rng.random((n, n_items)), axis=1)[:, :k]


@pytest.mark.parametrize("name", list(CHOICES))
def test_consumption_follows_the_choice_probabilities(name):
    # Identical users shown the same slate: the choice counts follow probabilities().
    n, k = 40_000, 4
    states = np.tile(np.array([[0.6, 0.8, 0.0]]), (n, 1))
    items = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.6, 0.8, 0.0],
                      [-1.0, 0.0, 0.0]])  # fmt: skip
    env = PopulationEnv(
        n_users=n, n_items=5, user_feature_dim=3, item_feature_dim=3, slate_size=k,
        choice_model=CHOICES[name], user_feature_vector=states, item_feature_vector=items,
        feature_normalization="row", random_state=0,
    )  # fmt: skip
    env.reset_batch(seed=11)
    slate = np.array([3, 0, 4, 1])
    utilities = env._population.utilities(np.tile(slate, (n, 1)))
    expected = env._population.choice_model.probabilities(utilities[:1])[0]
    _, rewards, _, _, info = env.step_batch(np.tile(slate, (n, 1)))
    counts = np.bincount(np.where(info["choice"] < 0, k, info["choice"]), minlength=k + 1)
    positive = expected > 0
    assert counts[~positive].sum() == 0
    if positive.sum() > 1:
        assert chisquare(counts[positive], n * expected[positive]).pvalue > 1e-3
    consumed = info["choice"] >= 0
    assert np.array_equal(info["item"][consumed], slate[info["choice"][consumed]])
    assert (info["item"][~consumed] == -1).all()
    assert (rewards[~consumed] == 0).all()
    assert np.allclose(rewards[consumed], items[info["item"][consumed]] @ states[0])


def test_users_who_choose_nothing_get_zero_reward_and_do_not_move():
    env = population(choice_model=MultinomialLogit(temperature=0.05, no_choice_utility=0.5))
    _, info = env.reset_batch(seed=3)
    before = info["state"].copy()
    rng = np.random.default_rng(0)
    _, rewards, _, _, info = env.step_batch(random_slates(rng, 50, 3, 12))
    none = info["choice"] == -1
    assert 0 < none.sum() < 50
    assert (rewards[none] == 0).all()
    assert np.array_equal(info["state"][none], before[none])
    assert not np.isclose(info["state"][~none], before[~none]).all(axis=1).any()


@pytest.mark.parametrize("name", ["consume", "mnl", "cascade", "pbm"])
def test_no_item_is_consumed_twice_without_repeat_consumption(name):
    env = population(
        choice_model=CHOICES[name], repeat_consumption=False, step_per_episode=40, n_items=8
    )
    env.reset_batch(seed=1)
    rng = np.random.default_rng(1)
    consumed = [set() for _ in range(50)]
    total = 0
    for _ in range(40):
        _, _, _, _, info = env.step_batch(random_slates(rng, 50, 3, 8))
        for user, item in enumerate(info["item"].tolist()):
            if item >= 0:
                assert item not in consumed[user]
                consumed[user].add(item)
                total += 1
    assert total > 100
    assert max(len(items) for items in consumed) <= 8


def test_consumption_memory_restarts_with_the_episode():
    env = population(repeat_consumption=False, n_items=3, slate_size=1, step_per_episode=4)
    env.reset_batch(seed=0)
    actions = np.zeros(50, dtype=np.int64)
    assert (env.step_batch(actions)[4]["item"] == 0).all()
    assert (env.step_batch(actions)[4]["item"] == -1).all()  # item 0 was consumed
    env.reset_batch()
    assert (env.step_batch(actions)[4]["item"] == 0).all()


def test_k1_consume_at_position_zero_of_a_wider_slate_equals_the_plain_step():
    plain, wide = population(slate_size=1), population(slate_size=4)
    plain.reset_batch(seed=5)
    wide.reset_batch(seed=5)
    rng = np.random.default_rng(2)
    for _ in range(6):
        slates = random_slates(rng, 50, 4, 12)
        a, b = plain.step_batch(slates[:, 0].copy()), wide.step_batch(slates)
        for x, y in zip(a[:4], b[:4]):
            assert np.array_equal(x, y)
        assert np.array_equal(a[4]["state"], b[4]["state"])
        assert np.array_equal(b[4]["item"], slates[:, 0]) and (b[4]["choice"] == 0).all()


@pytest.mark.parametrize(
    "settings",
    [
        {"choice_model": "mnl"},
        {"choice_model": "cascade", "repeat_consumption": False, "obs_std": 0.2},
        {"choice_model": "pbm", "idiosyncratic_std": 0.3, "reward_std": 0.1},
        {"choice_model": "mnl", "reward_type": "binary", "dtype": np.float32},
    ],
    ids=["mnl", "cascade-no-repeat", "pbm-idiosyncratic", "mnl-binary-float32"],
)
def test_dict_api_equals_array_api_with_slates(settings):
    by_dict, by_array = population(**settings), population(**settings)
    rng = np.random.default_rng(0)
    for episode in range(2):
        seed = 9 if episode == 0 else None
        by_dict.reset(seed=seed)
        by_array.reset_batch(seed=seed)
        while by_dict.agents:
            slates = random_slates(rng, 50, 3, 12)
            obs, rewards, _, _, infos = by_dict.step(dict(zip(by_dict.agents, slates)))
            batch = by_array.step_batch(slates)
            assert np.array_equal(np.stack(list(obs.values())), batch[0])
            assert list(rewards.values()) == batch[1].tolist()
            assert [i["choice"] for i in infos.values()] == batch[4]["choice"].tolist()
            assert [i["item"] for i in infos.values()] == batch[4]["item"].tolist()


@pytest.mark.parametrize("choice", ["mnl", "cascade", "pbm"])
def test_population_of_one_equals_rec_env_and_vector_env_of_one_with_slates(choice):
    kwargs = {
        "n_users": 1, "n_items": 10, "step_per_episode": 5, "random_state": 4, "slate_size": 3,
        "choice_model": choice, "obs_std": 0.1, "reward_std": 0.2, "repeat_consumption": False,
    }  # fmt: skip
    single, group, vector = RECEnv(**kwargs), PopulationEnv(**kwargs), RECVectorEnv(1, **kwargs)
    assert single.action_space == group.action_space("user_0")
    rng = np.random.default_rng(1)
    obs, info = single.reset(seed=7)
    group_obs, _ = group.reset_batch(seed=7)
    vector_obs, _ = vector.reset(seed=7)
    assert np.array_equal(obs, group_obs[0]) and np.array_equal(obs, vector_obs[0])
    for _ in range(5):
        slate = random_slates(rng, 1, 3, 10)
        obs, reward, terminated, _, info = single.step(slate[0])
        group_step = group.step_batch(slate)
        vector_step = vector.step(slate)
        for other in (group_step, vector_step):
            assert np.array_equal(obs, other[0][0])
            assert reward == other[1][0]
            assert terminated == other[2][0]
            assert info["choice"] == other[4]["choice"][0]
            assert info["item"] == other[4]["item"][0]


def test_per_user_alpha_in_all_three_environments():
    alpha = np.linspace(0.0, 2.0, 20)
    kwargs = {"n_users": 20, "n_items": 6, "step_per_episode": 3, "random_state": 0,
              "UserModel": UserModel(5, 5, alpha=alpha)}  # fmt: skip
    group = PopulationEnv(**kwargs)
    _, info = group.reset_batch(seed=0)
    before = info["state"].copy()
    _, _, _, _, info = group.step_batch(np.zeros(20, dtype=np.int64))
    direction = before / np.linalg.norm(before, axis=1, keepdims=True)
    assert np.allclose(info["state"][0], direction[0])  # alpha = 0: no move (normalised)
    assert not np.allclose(info["state"][-1], direction[-1])
    for user in (0, 7, 19):  # RECEnv steps the same user with that user's alpha
        single = RECEnv(**kwargs)
        single.reset(seed=0, options={"user_id": user})
        _, _, _, _, single_info = single.step(0)
        assert np.array_equal(single_info["state"], info["state"][user])
    vector = RECVectorEnv(64, **kwargs)
    _, vector_info = vector.reset(seed=0)
    _, _, _, _, moved = vector.step(np.zeros(64, dtype=np.int64))
    users = vector_info["user_id"]
    expected = UserModel(5, 5, alpha=alpha).batch_step(
        vector_info["state"], np.zeros(64, dtype=np.int64), group.item_features, user_ids=users
    )[1]
    assert np.array_equal(moved["state"], expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"slate_size": 3, "choice_model": "mnl"},
        {"slate_size": 4, "choice_model": "cascade", "repeat_consumption": False},
        {"slate_size": 2, "choice_model": "pbm", "idiosyncratic_std": 0.5, "obs_std": 0.1},
    ],
    ids=["mnl", "cascade", "pbm"],
)
def test_gymnasium_check_env_at_k_above_one(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make("RECEnv-v0", n_items=10, **kwargs)
        check_env(env.unwrapped, skip_render_check=True)
        assert isinstance(env.action_space, Slate)
        assert isinstance(env.action_space, gym.spaces.MultiDiscrete)


@pytest.mark.parametrize("n_users", [1, 8])
@pytest.mark.parametrize(
    "kwargs",
    [{"slate_size": 3, "choice_model": "mnl", "repeat_consumption": False},
     {"slate_size": 2, "choice_model": "cascade", "obs_std": 0.2}],
    ids=["mnl-no-repeat", "cascade"],
)  # fmt: skip
def test_pettingzoo_battery_at_k_above_one(n_users, kwargs):
    def make(**extra):
        return PopulationEnv(n_users=n_users, n_items=9, random_state=1, **kwargs, **extra)

    parallel_api_test(make(), num_cycles=30)
    parallel_seed_test(lambda: make())


def test_vector_env_at_k_above_one_batches_slates_and_autoresets():
    env = gym.make_vec("RECEnv-v0", num_envs=6, n_items=8, slate_size=3, choice_model="mnl",
                       step_per_episode=2)  # fmt: skip
    assert env.action_space.shape == (6, 3)
    assert isinstance(env.single_action_space, Slate)
    assert env.action_space.contains(env.action_space.sample())
    env.reset(seed=0)
    for step in range(6):
        _, rewards, terminations, _, info = env.step(env.action_space.sample())
        if step % 3 == 2:  # the autoreset step shows nothing
            assert "choice" not in info and (rewards == 0).all()
        else:
            assert info["_choice"].all() and info["item"].shape == (6,)
        assert terminations.all() == (step % 3 == 1)


def test_checkpoint_continues_bit_for_bit_with_consumption_memory_and_choice_stream():
    kwargs = {"choice_model": "mnl", "repeat_consumption": False, "obs_std": 0.1}
    env, twin = population(**kwargs), population(**kwargs)
    env.reset_batch(seed=4)
    rng = np.random.default_rng(3)
    for _ in range(2):
        env.step_batch(random_slates(rng, 50, 3, 12))
    checkpoint = env.checkpoint()
    assert checkpoint["population"]["consumed"].shape == (50, 2)
    assert set(checkpoint["population"]["generators"]) == {
        "user_rng", "obs_rng", "reward_rng", "choice_rng", "user_model"
    }  # fmt: skip
    twin.restore(checkpoint)
    for _ in range(4):
        slates = random_slates(rng, 50, 3, 12)
        a, b = env.step_batch(slates), twin.step_batch(slates)
        for x, y in zip(a[:4], b[:4]):
            assert np.array_equal(x, y)
        assert np.array_equal(a[4]["item"], b[4]["item"])


def test_the_default_checkpoint_holds_no_new_entry():
    env = PopulationEnv(n_users=4)
    env.reset_batch(seed=0)
    checkpoint = env.checkpoint()
    assert "consumed" not in checkpoint["population"]
    generators = checkpoint["population"]["generators"]
    assert set(generators) == {"user_rng", "obs_rng", "reward_rng", "user_model"}
    assert checkpoint["population"]["blocks"] == {"block_size": 2**16, "first_slot": 0}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda env: env.step_batch(np.array([[0, 1, 0]] * 50)), ValueError,
         "`actions` must not repeat an item within a slate: user 0 has item 0 at positions 0 "
         "and 2"),
        (lambda env: env.step_batch(np.array([[0, 1, 2]] * 49 + [[0, 1, 12]])), ValueError,
         "`actions` must lie in [0, 12), got 12 for user 49 at position 2"),
        (lambda env: env.step_batch(np.zeros((50, 2), dtype=np.int64)), ValueError,
         "`actions` must have shape (50, 3) (one slate of 3 items per user), got (50, 2)"),
        (lambda env: env.step_batch(np.zeros(50, dtype=np.int64)), ValueError,
         "`actions` must have shape (50, 3) (one slate of 3 items per user), got (50,)"),
        (lambda env: env.step({a: np.array([0, 0, 1]) for a in env.agents}), ValueError,
         "`actions` values must be slates of 3 distinct integer items in [0, 12), got "
         "[user_0: array([0, 0, 1])"),
    ],
    ids=["repeat", "range", "width", "flat", "dict-repeat"],
)  # fmt: skip
def test_bad_slates_name_the_user_and_the_position(call, error, message):
    env = population()
    env.reset(seed=0)
    with pytest.raises(error, match=re.escape(message)):
        call(env)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"slate_size": 13}, ValueError, "`slate_size` must be at most n_items (12), got 13"),
        ({"slate_size": 0}, ValueError, "`slate_size` must be a positive integer, got 0"),
        ({"choice_model": "logit"}, ValueError, "`choice_model` must be a ChoiceModel or one of"),
        ({"repeat_consumption": 0}, TypeError, "`repeat_consumption` must be a bool, got 0"),
        ({"idiosyncratic_std": -1.0}, ValueError,
         "`idiosyncratic_std` must be a non-negative finite float, got -1.0"),
        ({"choice_model": MultinomialLogit(temperature=np.ones(3))}, ValueError,
         "`temperature` must have one entry per user, shape (50,), got (3,)"),
        ({"UserModel": UserModel(5, 5, alpha=np.ones(4))}, ValueError,
         "`alpha` must have one value per user of the pool, shape (50,), got shape (4,)"),
    ],
    ids=["k-too-large", "k-zero", "choice-name", "repeat-int", "std-negative",
         "per-user-temperature", "per-user-alpha"],
)  # fmt: skip
def test_bad_pipeline_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        population(**kwargs)


def test_rec_env_slate_action_errors():
    env = RECEnv(slate_size=3, n_items=6)
    env.reset(seed=0)
    with pytest.raises(TypeError, match=re.escape("`action` must be a numpy integer array of "
                                                  "shape (3,) (a slate of 3 distinct items), "
                                                  "got [0, 1, 2]")):  # fmt: skip
        env.step([0, 1, 2])
    with pytest.raises(ValueError, match=re.escape("user 0 has item 1 at positions 0 and 1")):
        env.step(np.array([1, 1, 2]))


def test_legacy_mode_refuses_the_pipeline_arguments():
    with pytest.raises(ValueError, match=re.escape("`slate_size` must keep its default (1) with "
                                                   "legacy=True")):  # fmt: skip
        RECEnv(random_state=0, legacy=True, slate_size=2)
    with pytest.raises(ValueError, match=re.escape("`choice_model` must keep its default")):
        RECEnv(random_state=0, legacy=True, choice_model="mnl")


def test_idiosyncratic_utilities_are_fixed_per_user_and_item_across_episodes():
    env = population(idiosyncratic_std=1.0, choice_model="mnl", slate_size=12)
    env.reset_batch(seed=0)
    slates = np.tile(np.arange(12), (50, 1))
    first = env._population.utilities(slates)
    env.reset_batch(seed=1)
    assert np.array_equal(env._population.utilities(slates), first)  # same users, same terms
    twin = population(idiosyncratic_std=1.0, choice_model="mnl", slate_size=12)
    twin.reset_batch(seed=5)
    assert np.array_equal(twin._population.utilities(slates), first)  # a function of the seed
    other = population(idiosyncratic_std=1.0, choice_model="mnl", slate_size=12, random_state=3)
    other.reset_batch(seed=0)
    plain = np.stack([env.user_features @ env.item_features[j] for j in range(12)], axis=1)
    assert 0.8 < np.std(first - plain) < 1.2  # σ = 1 around ⟨s, v⟩


@settings(max_examples=40, deadline=None)
@given(
    k=st.integers(1, 5),
    n_items=st.integers(5, 9),
    choice=st.sampled_from(["consume", "mnl", "cascade", "pbm"]),
    repeat=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_chosen_positions_are_in_range_items_come_from_the_slate_and_never_repeat(
    k, n_items, choice, repeat, seed
):
    env = PopulationEnv(
        n_users=6, n_items=n_items, slate_size=k, choice_model=choice,
        repeat_consumption=repeat, step_per_episode=8, random_state=seed,
    )  # fmt: skip
    env.reset_batch(seed=seed)
    rng = np.random.default_rng(seed)
    seen = np.zeros((6, n_items), dtype=bool)
    for _ in range(8):
        slates = random_slates(rng, 6, k, n_items)
        _, rewards, _, _, info = env.step_batch(slates if k > 1 else slates[:, 0])
        choice_ = info["choice"]
        assert ((choice_ >= -1) & (choice_ < k)).all()
        chose = choice_ >= 0
        assert np.array_equal(info["item"][chose], slates[chose, choice_[chose]])
        assert (info["item"][~chose] == -1).all() and (rewards[~chose] == 0).all()
        if not repeat:
            assert not seen[chose, info["item"][chose]].any()
        seen[chose, info["item"][chose]] = True
