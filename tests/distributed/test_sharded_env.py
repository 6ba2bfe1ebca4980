"""ShardedPopulationEnv: 1, 2 and 3 Ray actors give exactly the single-process numbers.

Skipped where Ray is not installed. Populations of 40 users in blocks of 8 (five blocks;
two shards hold 24 and 16 users, three 16, 16 and 8). Every actor is a process that takes
about half a second to start, so the environments several tests use are built once
(``sharded``).
"""

from __future__ import annotations

import pickle
import re
import sys
import threading

import numpy as np
import pytest

pytest.importorskip("ray")

import ray

from recgym import UserModel, worlds
from recgym.catalogue import CatalogueChange
from recgym.choice import Cascade, MultinomialLogit, PositionBased
from recgym.distributed import ShardedPopulationEnv
from recgym.engagement import Churn, Satiation
from recgym.errors import ResetNeeded
from recgym.population import PopulationEnv, collect_logged_dataset, make_policy, simulate
from recgym.population.seeds import run_seeds

# The custom models below are sent to the actors by value (Ray's workers cannot import
# this module by name).
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = pytest.mark.usefixtures("ray_session")

N, BLOCK, ITEMS, DIM = 40, 8, 12, 4
GROUPS = np.repeat([0, 1, 2, 3], N // 4)
BASE = {
    "n_users": N,
    "n_items": ITEMS,
    "user_feature_dim": DIM,
    "item_feature_dim": DIM,
    "step_per_episode": 8,
    "random_state": 3,
    "block_size": BLOCK,
}

#: Every stage that draws or keeps state per user, each in some configuration: noise,
#: float32, binary rewards, slates with each kind of choice model, consumption memory,
#: groups (per-user parameters), idiosyncratic utilities, satiation, churn with returns,
#: a changing catalogue; and the plain step.
CONFIGURATIONS = {
    "plain": {},
    "noise float32 mnl": {
        "obs_std": 0.1,
        "reward_std": 0.2,
        "dtype": np.float32,
        "slate_size": 2,
        "choice_model": MultinomialLogit(temperature=0.5),
    },
    "groups pbm idiosyncratic": {
        "UserModel": UserModel(
            DIM, DIM, reward_std=0.1, alpha=worlds.per_group([0.5, 1.0, 0.0, 2.0], GROUPS)
        ),
        "reward_std": 0.1,
        "user_groups": GROUPS,
        "slate_size": 3,
        "choice_model": PositionBased(temperature=worlds.per_group([0.2, 1.0, 5.0, 1.0], GROUPS)),
        "idiosyncratic_std": 0.5,
    },
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

#: The sharded environments several tests use, built once (each test resets them).
SHARED = {("groups pbm idiosyncratic", 2), ("everything", 2), ("everything", 3)}


def arguments(name, **overrides):
    return {**BASE, **CONFIGURATIONS[name], **overrides}


@pytest.fixture(scope="module")
def sharded():
    """``sharded(name, n_shards)``: a sharded environment of a configuration.

    Those of :data:`SHARED` are built once for the module and closed at its end; the
    others are new, for the test to close.
    """
    built = {}

    def make(name, n_shards):
        if (name, n_shards) not in SHARED:
            return ShardedPopulationEnv(n_shards=n_shards, **arguments(name))
        if (name, n_shards) not in built:
            built[name, n_shards] = ShardedPopulationEnv(n_shards=n_shards, **arguments(name))
        return built[name, n_shards]

    yield make
    for env in built.values():
        env.close()


def random_actions(rng, info, slate_size):
    """A valid action for every user: distinct available items."""
    available = info.get("available")
    items = np.arange(ITEMS) if available is None else np.flatnonzero(available)
    slates = np.stack([rng.choice(items, size=slate_size, replace=False) for _ in range(N)])
    return slates[:, 0].copy() if slate_size == 1 else slates


def assert_identical(expected, got, where=""):
    """Same structure, dtypes and bits, and the same writeability (snapshots stay read-only)."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and expected.keys() == got.keys(), where
        for key in expected:
            assert_identical(expected[key], got[key], f"{where}[{key!r}]")
    elif isinstance(expected, (tuple, list)):
        assert type(got) is type(expected) and len(got) == len(expected), where
        for index, (a, b) in enumerate(zip(expected, got)):
            assert_identical(a, b, f"{where}[{index}]")
    elif isinstance(expected, np.ndarray):
        assert isinstance(got, np.ndarray), where
        assert expected.dtype == got.dtype and expected.shape == got.shape, where
        assert np.array_equal(expected, got), where
        assert expected.flags.writeable == got.flags.writeable, where
    else:
        assert type(expected) is type(got) and expected == got, where


def run_lockstep(single, envs, steps=8):
    """Step one process and the sharded environments on the same actions; compare everything."""
    rng = np.random.default_rng(0)
    k = single.config.slate_size
    for episode, seed in enumerate((11, None)):  # the second reset continues the streams
        expected = single.reset_batch(seed=seed)
        for env in envs:
            assert_identical(expected, env.reset_batch(seed=seed), f"reset {episode}")
        for t in range(steps):
            actions = random_actions(rng, expected[-1], k)
            expected = single.step_batch(actions)
            for env in envs:
                assert_identical(expected, env.step_batch(actions), f"step {episode}.{t}")
    for env in envs:
        assert_identical(single.state(), env.state())
        assert_identical(single.checkpoint(), env.checkpoint())


# --- shard invariance ------------------------------------------------------------------------


@pytest.mark.parametrize("name", CONFIGURATIONS)
def test_one_two_and_three_actors_equal_one_process_bit_for_bit(name, sharded):
    envs = {n_shards: sharded(name, n_shards) for n_shards in (1, 2, 3)}
    try:
        bounds = [env.shard_bounds for env in envs.values()]
        assert bounds == [[0, N], [0, 24, N], [0, 16, 32, N]]
        run_lockstep(PopulationEnv(**arguments(name)), list(envs.values()))
    finally:
        for n_shards, env in envs.items():
            if (name, n_shards) not in SHARED:
                env.close()


def test_the_configurations_exercise_their_stages():
    # The comparisons are not vacuous: users leave and return, some slates are left
    # unconsumed, items arrive (one process, the same seeds and actions).
    env = PopulationEnv(**arguments("everything"))
    info = env.reset_batch(seed=11)[-1]
    rng = np.random.default_rng(0)
    left = returned = unconsumed = 0
    for _ in range(8):
        info = env.step_batch(random_actions(rng, info, 3))[-1]
        left, returned = left + info["left"].sum(), returned + info["returned"].sum()
        unconsumed += (info["item"] == -1).sum()
    assert left and returned and unconsumed
    assert env.checkpoint()["population"]["next_item"] > 8


def test_the_numba_engine_shards_like_one_process():
    pytest.importorskip("numba")
    kwargs = arguments("everything", engine="numba")
    env = ShardedPopulationEnv(n_shards=2, **kwargs)
    try:
        run_lockstep(PopulationEnv(**kwargs), [env])
    finally:
        env.close()


def test_reset_options_and_the_dict_api_match_one_process(sharded):
    single, env = PopulationEnv(**arguments("everything")), sharded("everything", 3)
    options = {"states": np.random.default_rng(1).uniform(-0.5, 0.5, (N, DIM))}
    assert_identical(
        single.reset_batch(seed=2, options=options), env.reset_batch(seed=2, options=options)
    )
    assert_identical(single.reset(seed=4), env.reset(seed=4))
    rng = np.random.default_rng(5)
    steps = 0
    while single.agents:  # users leave, and come back under new names (churn)
        available = np.flatnonzero(single.checkpoint()["population"]["available"])
        actions = {agent: rng.choice(available, 3, replace=False) for agent in single.agents}
        assert_identical(single.step(actions), env.step(actions))
        assert single.agents == env.agents
        steps += 1
    assert steps == BASE["step_per_episode"]


@pytest.mark.parametrize("name", ["groups pbm idiosyncratic", "everything"])
def test_simulate_run_seeds_and_logged_datasets_equal_one_process(name, sharded):
    single, env = PopulationEnv(**arguments(name)), sharded(name, 2)
    k = single.config.slate_size
    popular = make_policy("most_popular", slate_size=k)
    assert simulate(env, popular, seed=3, every=2) == simulate(single, popular, seed=3, every=2)
    behavior = make_policy("random", slate_size=k)
    expected = collect_logged_dataset(single, behavior, 3 * N, seed=5)
    assert_identical(expected, collect_logged_dataset(env, behavior, 3 * N, seed=5))
    greedy = make_policy("greedy", slate_size=k)
    expected = run_seeds(single, greedy, seeds=2, base_seed=7)
    assert run_seeds(env, greedy, seeds=2, base_seed=7).histories == expected.histories


def test_checkpoints_restore_across_process_and_shard_counts(tmp_path, sharded):
    single = PopulationEnv(**arguments("everything"))
    two, three = sharded("everything", 2), sharded("everything", 3)
    rng = np.random.default_rng(0)
    info = two.reset_batch(seed=8)[-1]
    for _ in range(3):
        info = two.step_batch(random_actions(rng, info, 3))[-1]
    two.save_checkpoint(tmp_path / "two.npz")
    single.load_checkpoint(tmp_path / "two.npz")  # a sharded checkpoint, in one process
    three.restore(two.checkpoint())  # and with another number of shards
    for _ in range(4):
        actions = random_actions(rng, info, 3)
        expected = single.step_batch(actions)
        assert_identical(expected, two.step_batch(actions))
        assert_identical(expected, three.step_batch(actions))
        info = expected[-1]
    two.restore(single.checkpoint())  # and back: one process's checkpoint, sharded
    assert_identical(single.checkpoint(), two.checkpoint())


def test_pettingzoo_parallel_api_test_passes(sharded):
    from pettingzoo.test import parallel_api_test

    env = sharded("groups pbm idiosyncratic", 2)
    try:
        parallel_api_test(env, num_cycles=BASE["step_per_episode"] + 3)
    finally:
        env.max_cycles = None  # parallel_api_test sets it


# --- refusals, errors, lifetime --------------------------------------------------------------


class DrawlessModel(UserModel):
    """A model whose batch_step takes no per-block draws: its numbers depend on the split."""

    def batch_step(self, states, actions, item_feature_vector, user_ids=None):
        return super().batch_step(states, actions, item_feature_vector, user_ids=user_ids)


class LockedModel(UserModel):
    """A model holding a lock: it cannot be pickled to the actors."""

    def __post_init__(self):
        super().__post_init__()
        self.lock = threading.Lock()


class FailingModel(UserModel):
    """Returns a NaN reward for pool user 20 (in the second of three shards)."""

    def batch_step(self, states, actions, item_feature_vector, user_ids=None, **extra):
        rewards, new_states = super().batch_step(
            states, actions, item_feature_vector, user_ids=user_ids, **extra
        )
        return np.where(user_ids == 20, np.nan, rewards), new_states


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"social_graph": worlds.erdos_renyi(N, 3, rng=0), "social_weight": 0.5}, ValueError,
         "`social_graph` cannot be sharded: each user's preference moves toward their "
         "neighbours', who may live in another shard; run this population in one process "
         "(recgym.population.PopulationEnv), got a social graph of 40 users"),
        ({"UserModel": DrawlessModel}, ValueError,
         "`UserModel` cannot be sharded: DrawlessModel.batch_step takes no `reward_draws`, so "
         "its random numbers would come from its own `random_`, one generator consumed in "
         "slot order, and depend on the split; use recgym.UserModel, or accept "
         "`reward_draws`"),
        ({"UserModel": LockedModel}, TypeError,
         "`UserModel` cannot be sent to the Ray actors: LockedModel does not pickle "
         "(TypeError: cannot pickle '_thread.lock' object)"),
        ({"n_shards": 6}, ValueError,
         "`n_shards` must lie in [1, 5] (a shard holds whole blocks of 8 slots; 40 slots make "
         "5), got 6"),
        ({"n_shards": 0}, ValueError, "`n_shards` must be a positive integer, got 0"),
        ({"n_shards": 2.0}, TypeError, "`n_shards` must be a positive integer, got 2.0"),
        ({"actor_options": [("num_cpus", 1)]}, TypeError,
         "`actor_options` must be None or a dict of Ray actor options (e.g. {'num_cpus': 1}), "
         "got [('num_cpus', 1)]"),
    ],
    ids=["social graph", "model without draws", "unpicklable model", "too many shards",
         "no shard", "float shards", "options list"],
)  # fmt: skip
def test_what_cannot_be_sharded_is_refused_at_construction(overrides, error, message):
    # Refused before any actor starts (these tests take milliseconds).
    with pytest.raises(error, match=re.escape(message)):
        ShardedPopulationEnv(**{**BASE, "n_shards": 2, **overrides})


def test_errors_reach_the_driver_as_one_process_raises_them(sharded):
    single, env = PopulationEnv(**arguments("everything")), sharded("everything", 3)
    messages = []
    for each in (single, env):  # checked on the driver, before any shard moves
        info = each.reset_batch(seed=1)[-1]
        actions = random_actions(np.random.default_rng(0), info, 3)
        actions[7, 1] = np.flatnonzero(~info["available"])[0]
        with pytest.raises(ValueError, match="which is not available") as caught:
            each.step_batch(actions)
        messages.append(str(caught.value))
        with pytest.raises(ValueError, match=re.escape("`actions` must lie in [0, 12)")):
            each.step_batch(np.full((N, 3), ITEMS))
    assert messages[0] == messages[1]
    # Raised inside an actor: the model's own ValueError, not Ray's RayTaskError.
    failing = {**BASE, "UserModel": FailingModel, "reward_std": 0.1}
    messages = []
    for each in (PopulationEnv(**failing), ShardedPopulationEnv(n_shards=3, **failing)):
        with pytest.raises(ResetNeeded, match=re.escape("Cannot call `step` before `reset`")):
            each.step_batch(np.zeros(N, dtype=np.int64))
        each.reset_batch(seed=0)
        with pytest.raises(ValueError) as caught:
            each.step_batch(np.zeros(N, dtype=np.int64))
        each.close()
        assert type(caught.value) is ValueError
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith(
        "`FailingModel.batch_step` returned a reward that is not finite for user 20: "
    )


def test_a_shard_that_cannot_be_built_raises_its_error_when_asked_if_ready():
    # Ray reports an exception of an actor's constructor as "actor died", without the
    # exception: the worker keeps it for `ready`, which the driver calls at construction.
    from recgym.config import PopulationConfig
    from recgym.distributed._worker import ShardWorker

    config = PopulationConfig.from_arguments(**BASE)
    worker = ShardWorker(config, N, 4, N, np.float64)  # not block-aligned
    with pytest.raises(ValueError, match=re.escape("a shard must hold whole blocks")):
        worker.ready()
    assert ShardWorker(config, N, 8, N, np.float64).ready() == 32


def test_close_stops_the_actors_and_pickling_is_refused():
    env = ShardedPopulationEnv(n_shards=2, **BASE)
    env.reset_batch(seed=0)
    message = "a ShardedPopulationEnv cannot be pickled: its users live in Ray actors"
    with pytest.raises(TypeError, match=re.escape(message)):
        pickle.dumps(env)
    workers = list(env._shards.workers)
    env.close()
    env.close()  # any number of times
    for worker in workers:
        with pytest.raises(ray.exceptions.RayActorError):
            ray.get(worker.ready.remote())
    closed = "the sharded population is closed: its Ray actors were released by `close()`"
    with pytest.raises(RuntimeError, match=re.escape(closed)):
        env.reset_batch(seed=0)
