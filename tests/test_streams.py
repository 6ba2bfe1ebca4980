"""Block-organised random streams: the numbers of a slot depend on the seed, its stream and its
block only — not on the number of users, the shards or the threads that compute them."""

from __future__ import annotations

import itertools
import re
import warnings

import numpy as np
import pytest

from recgym import worlds
from recgym._streams import (
    BLOCK_SIZE,
    BlockLayout,
    block_generators,
    child_sequence,
    shard_bounds,
)
from recgym.catalogue import CatalogueChange
from recgym.choice import Cascade, MultinomialLogit, PositionBased
from recgym.config import PopulationConfig
from recgym.core import PerUserFallbackWarning, Population
from recgym.engagement import Churn, Satiation
from recgym.population import PopulationEnv
from recgym.user_model import UserModel

N, BLOCK, ITEMS, DIM = 40, 8, 12, 4  # five blocks of eight slots

GROUPS = np.repeat([0, 1, 2, 3], N // 4)

#: Every stage that draws or keeps state per user, alone and together.
CONFIGURATIONS = {
    "noise": {"obs_std": 0.1, "reward_std": 0.2},
    "binary": {"reward_type": "binary", "obs_std": 0.05},
    "float32": {"obs_std": 0.1, "reward_std": 0.2, "dtype": np.float32},
    "mnl": {"slate_size": 3, "choice_model": "mnl", "obs_std": 0.1, "reward_std": 0.1},
    "cascade": {
        "slate_size": 4,
        "choice_model": Cascade(temperature=0.5, continuation=0.7),
        "reward_type": "binary",
    },
    "pbm": {"slate_size": 3, "choice_model": PositionBased(temperature=0.3), "reward_std": 0.1},
    "memory": {"slate_size": 2, "choice_model": "consume", "repeat_consumption": False},
    "churn": {
        "churn": Churn(threshold=0.05, steepness=8.0, return_probability=0.3),
        "reward_std": 0.3,
        "obs_std": 0.1,
    },
    "satiation": {"satiation": Satiation(strength=0.5), "slate_size": 2, "choice_model": "mnl"},
    "catalogue": {
        "catalogue": CatalogueChange(initial_items=6, arrival_rate=0.5, retirement_rate=0.1),
        "slate_size": 2,
        "choice_model": "cascade",
        "obs_std": 0.1,
    },
    "groups": {
        "UserModel": UserModel(
            DIM, DIM, reward_std=0.1, alpha=worlds.per_group([0.5, 1.0, 0.0, 2.0], GROUPS)
        ),
        "reward_std": 0.1,
        "user_groups": GROUPS,
        "slate_size": 3,
        "choice_model": MultinomialLogit(
            temperature=worlds.per_group([0.2, 1.0, 5.0, 1.0], GROUPS)
        ),
    },
    "idiosyncratic": {"idiosyncratic_std": 0.5, "slate_size": 3, "choice_model": "mnl"},
    "everything": {
        "slate_size": 3,
        "choice_model": Cascade(continuation=0.8),
        "repeat_consumption": False,
        "idiosyncratic_std": 0.3,
        "satiation": Satiation(),
        "churn": Churn(threshold=0.0, steepness=4.0, return_probability=0.5),
        "catalogue": CatalogueChange(initial_items=8, arrival_rate=1.0, retirement_rate=0.05),
        "reward_type": "binary",
        "obs_std": 0.2,
    },
}  # fmt: skip


def make_config(**overrides):
    overrides = dict(overrides)
    overrides.pop("dtype", None)
    arguments = {
        "n_users": N,
        "n_items": ITEMS,
        "user_feature_dim": DIM,
        "item_feature_dim": DIM,
        "step_per_episode": 100,
        "random_state": 3,
        "block_size": BLOCK,
    }
    return PopulationConfig.from_arguments(**{**arguments, **overrides})


def slates_for(rng, available, n, k):
    items = np.flatnonzero(available) if available is not None else np.arange(ITEMS)
    return np.stack([rng.choice(items, size=k, replace=False) for _ in range(n)])


def rows(population):
    """Everything a step leaves per slot, as arrays (None where a stage is off)."""
    return {
        "states": population.states,
        "user_ids": population.user_ids,
        "choices": population.choices,
        "items": population.consumed_items,
        "consumed": population.consumed,
        "satiation": population.satiation,
        "active": population.active,
        "satisfaction": population.satisfaction,
        "visits": population.visits,
        "left": population.left,
        "returned": population.returned,
    }


def concatenated(parts):
    return {
        key: None if parts[0][key] is None else np.concatenate([part[key] for part in parts])
        for key in parts[0]
    }


def assert_same(whole, parts):
    for key, value in concatenated(parts).items():
        if value is None:
            assert whole[key] is None, key
        else:
            assert np.array_equal(whole[key], value), key


def run_sharded(configuration, bounds, steps=25, seed=11):
    """Step the whole population and its shards on the same actions; compare every step."""
    kwargs = CONFIGURATIONS[configuration]
    dtype = kwargs.get("dtype", np.float64)
    config = make_config(**kwargs)
    whole = Population(config, N, dtype)
    shards = [Population.shard(config, N, a, b, dtype) for a, b in itertools.pairwise(bounds)]
    rng = np.random.default_rng(0)
    k = config.slate_size
    for episode in range(2):
        for population in (whole, *shards):
            population.seed(seed + episode)
        obs = whole.reset(np.arange(N))
        assert np.array_equal(
            obs,
            np.concatenate(
                [s.reset(np.arange(s.first_slot, s.first_slot + s.n_slots)) for s in shards]
            ),
        )
        for _ in range(steps):
            actions = slates_for(rng, whole.available, N, k)
            if k == 1:
                actions = actions[:, 0]
            obs, rewards = whole.step(actions)
            results = [s.step(actions[s.first_slot : s.first_slot + s.n_slots]) for s in shards]
            assert np.array_equal(obs, np.concatenate([r[0] for r in results]))
            assert np.array_equal(rewards, np.concatenate([r[1] for r in results]))
            assert_same(rows(whole), [rows(s) for s in shards])
            for shard in shards:  # the catalogue's draws are global: every shard has them
                assert np.array_equal(whole.available, shard.available) or whole.available is None
                assert whole.next_item == shard.next_item
        # New users drawn into the slots, and observations of some slots, from their blocks.
        assert np.array_equal(
            whole.sample_users(), np.concatenate([s.sample_users() for s in shards])
        )
        picked = np.flatnonzero(rng.random(N) < 0.5)
        expected = whole.observe(picked)
        got = []
        for shard in shards:
            start, stop = shard.first_slot, shard.first_slot + shard.n_slots
            got.append(shard.observe(picked[(picked >= start) & (picked < stop)] - start))
        assert np.array_equal(expected, np.concatenate(got))
    return whole


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
@pytest.mark.parametrize("bounds", [(0, 16, N), (0, 8, 24, N)], ids=["2 shards", "3 shards"])
def test_shards_concatenate_to_the_whole_population_bit_for_bit(configuration, bounds):
    whole = run_sharded(configuration, bounds)
    assert whole.t == 25


def test_the_configurations_exercise_their_stages():
    # The comparisons above are not vacuous: the stages really draw and change things.
    churn = run_sharded("churn", (0, 16, N), steps=25)
    assert churn.visits is not None and churn.visits.sum() > 0
    assert churn.active is not None and not churn.active.all()
    catalogue = run_sharded("catalogue", (0, 16, N))
    assert catalogue.available is not None and catalogue.next_item > 6
    mnl = run_sharded("mnl", (0, 16, N))
    assert mnl.choices is not None and (mnl.choices == -1).any() and (mnl.choices > 0).any()


def test_the_slots_of_whole_blocks_do_not_depend_on_the_population_size():
    # A block's generator serves the block's slots in order, so the numbers of a slot
    # depend on how many slots its block holds: the same in every population whose blocks
    # up to it are full (all blocks of a population but its last one are).
    config = make_config(slate_size=3, choice_model="mnl", obs_std=0.1, reward_std=0.2)
    small, large, ragged = Population(config, 16), Population(config, N), Population(config, 20)
    for population in (small, large, ragged):
        population.seed(4)
    assert np.array_equal(small.reset(np.arange(16)), large.reset(np.arange(N))[:16])
    ragged.reset(np.arange(20))
    rng = np.random.default_rng(1)
    for _ in range(10):
        actions = slates_for(rng, None, N, 3)
        a, b = small.step(actions[:16]), large.step(actions)
        assert np.array_equal(a[0], b[0][:16]) and np.array_equal(a[1], b[1][:16])
        assert np.array_equal(small.choices, large.choices[:16])
        c = ragged.step(actions[:20])
        assert np.array_equal(c[0][:16], b[0][:16])
    # Slots 16-19 fill half of their block in `ragged` but all of it in `large`.
    assert not np.array_equal(c[0][16:], b[0][16:20])


def test_block_b_is_seeded_by_the_seed_its_stream_and_b_alone():
    root = np.random.SeedSequence(123)
    generators = block_generators(root, 1, 3, 2)
    expected = np.random.default_rng(np.random.SeedSequence(123, spawn_key=(1, 4)))
    assert np.array_equal(generators[1].random(5), expected.random(5))
    # The same child, whatever the root has spawned before.
    root.spawn(3)
    assert child_sequence(root, 1, 4).spawn_key == (1, 4)
    assert child_sequence(np.random.SeedSequence(5).spawn(1)[0], 2).spawn_key == (0, 2)


def test_each_block_fills_its_rows_from_its_own_generator_whatever_the_threads():
    layout = BlockLayout(16, 20, 8)  # blocks 2, 3, 4 (the last one holds 4 slots)
    assert (layout.first_block, layout.n_blocks) == (2, 3)
    assert layout.bounds.tolist() == [0, 8, 16, 20]
    root = np.random.SeedSequence(9)
    filled = []
    for threads in (1, 2):
        out = np.empty((20, 3))
        layout.fill(block_generators(root, 1, 2, 3), out, "normal", threads=threads)
        filled.append(out)
    assert np.array_equal(filled[0], filled[1])
    expected = [
        np.random.default_rng(np.random.SeedSequence(9, spawn_key=(1, b))).standard_normal((m, 3))
        for b, m in ((2, 8), (3, 8), (4, 4))
    ]
    assert np.array_equal(filled[0], np.concatenate(expected))
    # A subset of slots: each draws from its block, in slot order.
    picked = np.array([1, 2, 9, 17, 19])
    out = layout.fill(block_generators(root, 1, 2, 3), np.empty((5, 3)), "normal", picked)
    first = [np.random.default_rng(np.random.SeedSequence(9, spawn_key=(1, b))) for b in (2, 3, 4)]
    assert np.array_equal(out[:2], first[0].standard_normal((2, 3)))
    assert np.array_equal(out[2:3], first[1].standard_normal((1, 3)))
    assert np.array_equal(out[3:], first[2].standard_normal((2, 3)))
    assert layout.segments(np.array([], dtype=np.int64)) == []


def test_the_default_block_size():
    assert BLOCK_SIZE == 65536
    assert PopulationEnv(n_users=3).config.block_size == BLOCK_SIZE


def test_a_multi_block_checkpoint_continues_bit_for_bit(tmp_path):
    kwargs = {"n_users": N, "n_items": ITEMS, "block_size": BLOCK, "obs_std": 0.1}
    kwargs |= {"reward_std": 0.1, "slate_size": 2, "choice_model": "mnl", "random_state": 0}
    kwargs |= {"churn": Churn(threshold=0.0, steepness=3.0, return_probability=0.2)}
    env, twin = PopulationEnv(**kwargs), PopulationEnv(**kwargs)
    env.reset_batch(seed=2)
    rng = np.random.default_rng(0)
    for _ in range(3):
        env.step_batch(slates_for(rng, None, N, 2))
    checkpoint = env.checkpoint()
    assert len(checkpoint["population"]["generators"]["obs_rng"]) == 5
    assert checkpoint["population"]["blocks"] == {"block_size": BLOCK, "first_slot": 0}
    env.save_checkpoint(tmp_path / "c.npz")
    twin.load_checkpoint(tmp_path / "c.npz")
    for _ in range(5):
        actions = slates_for(rng, None, N, 2)
        a, b = env.step_batch(actions), twin.step_batch(actions)
        for x, y in zip(a[:4], b[:4]):
            assert np.array_equal(x, y)
    other = PopulationEnv(**{**kwargs, "block_size": 16})
    with pytest.raises(
        ValueError, match=re.escape("population['blocks'] must be {'block_size': 16")
    ):
        other.restore(checkpoint)


def test_a_shard_checkpoint_holds_its_blocks_only():
    config = make_config(obs_std=0.1)
    shard = Population.shard(config, N, 16, N)
    shard.seed(0)
    shard.reset(np.arange(16, N))
    snapshot = shard.snapshot()
    assert snapshot["blocks"] == {"block_size": BLOCK, "first_slot": 16}
    assert len(snapshot["generators"]["obs_rng"]) == 3
    twin = Population.shard(config, N, 16, N)
    twin.load_snapshot(twin.check_snapshot(snapshot))
    assert np.array_equal(twin.observe(), shard.observe())
    with pytest.raises(ValueError, match="'first_slot': 0"):
        Population.shard(config, N, 0, 24).check_snapshot(snapshot)


@pytest.mark.parametrize(
    ("start", "stop", "error", "message"),
    [
        (4, N, ValueError, "a shard must hold whole blocks of block_size = 8 slots: it must "
         "start at a multiple of 8 and end at one or at the last slot, got slots [4, 40) of a "
         "population of 40"),
        (0, 12, ValueError, "got slots [0, 12) of a population of 40"),
        (8, 48, ValueError, "`total_slots` must be at least 48 for slots [8, 48) of a "
         "population of 40, got 40"),
        (8, 8, ValueError, "`stop` must be greater than `start` (8), got 8"),
        (-8, 8, ValueError, "`start` must be a non-negative integer, got -8"),
        (0.0, 8, TypeError, "`start` must be a non-negative integer, got 0.0"),
    ],
)  # fmt: skip
def test_a_shard_must_hold_whole_blocks(start, stop, error, message):
    with pytest.raises(error, match=re.escape(message)):
        Population.shard(make_config(), N, start, stop)


def test_a_shard_refuses_social_influence():
    graph = worlds.erdos_renyi(N, 3, rng=0)
    config = make_config(social_graph=graph, social_weight=0.5)
    message = (
        "a population with a `social_graph` cannot be split into shards (slots [0, 16) of "
        "40): each user's preference moves toward their neighbours', who may live in another "
        "shard; run it in one process"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        Population.shard(config, N, 0, 16)
    Population.shard(config, N, 0, N)  # the whole population is no shard


def test_a_shard_refuses_a_user_model_with_its_own_generator(customized_user_model):
    config = make_config(UserModel=customized_user_model)
    message = (
        "CustomizedUserModel cannot be split into shards (slots [8, 40) of 40): its "
        "`batch_step` takes no `reward_draws`, so its random numbers would come from its own "
        "`random_`, one generator consumed in slot order, and depend on the split. Use "
        "recgym.UserModel, or accept `reward_draws`"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        Population.shard(config, N, 8, N)


class DeterministicModel(UserModel):
    """A model that draws nothing may take (and ignore) the per-block draws: it can be sharded."""

    def batch_step(self, states, actions, item_feature_vector, user_ids=None, reward_draws=None):
        items = item_feature_vector[actions]
        return np.vecdot(states, items), states + 0.0


def test_a_model_that_takes_reward_draws_can_be_sharded():
    config = make_config(UserModel=DeterministicModel)
    shard = Population.shard(config, N, 8, 16)
    shard.seed(0)
    shard.reset(np.arange(8, 16))
    shard.step(np.zeros(8, dtype=np.int64))


def test_a_model_with_its_own_generator_draws_the_builtin_models_numbers_in_one_block(
    customized_user_model,
):
    # random_ is seeded as the reward stream's first block: within one block, a model that
    # draws one normal per consumer in slot order from it matches the built-in model.
    results = []
    for model in (UserModel, customized_user_model):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PerUserFallbackWarning)
            env = PopulationEnv(
                n_users=6, n_items=4, reward_std=0.3, UserModel=model, random_state=1
            )
        env.reset_batch(seed=8)
        results.append([env.step_batch(np.array([0, 1, 2, 3, 0, 1]))[1] for _ in range(3)])
    np.testing.assert_allclose(results[0], results[1], rtol=0, atol=1e-12)


def test_shard_bounds_split_whole_blocks_evenly():
    assert shard_bounds(N, 2, BLOCK) == [0, 24, 40]
    assert shard_bounds(N, 5, BLOCK) == [0, 8, 16, 24, 32, 40]
    assert shard_bounds(37, 3, BLOCK) == [0, 16, 32, 37]
    assert shard_bounds(10**6, 3) == [0, 6 * 2**16, 11 * 2**16, 10**6]
    config = make_config()
    for n_shards in range(1, 6):  # every split makes valid shards
        bounds = shard_bounds(N, n_shards, BLOCK)
        assert [Population.shard(config, N, a, b).n_slots for a, b in itertools.pairwise(bounds)]
    message = "`n_shards` must lie in [1, 5] (a shard holds whole blocks of 8 slots; 40 slots "
    with pytest.raises(ValueError, match=re.escape(message + "make 5), got 6")):
        shard_bounds(N, 6, BLOCK)
