"""Checkpoint/restore and pickling: a run continues bit for bit after either.

Every environment kind (PopulationEnv in float64 and float32, with noise, binary rewards,
truncation and custom user models; RECEnv, also in legacy mode; RECVectorEnv with its
autoreset) is run, snapshotted mid-episode and at an episode's end, run on, and then the
continuation from the snapshot — restored into the same environment, into a new one,
through a file, or unpickled — must return exactly the same numbers.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
from custom_models import DampedModel, FatigueModel, SingleUserModel
from gymnasium.utils.env_checker import data_equivalence

from recgym import RECEnv, RECVectorEnv
from recgym.checkpoint import read_checkpoint, write_checkpoint
from recgym.errors import ResetNeeded
from recgym.population import PerUserFallbackWarning, PopulationEnv
from recgym.population.history import History
from recgym.population.policies import POLICIES, make_policy

NOISY = {"obs_std": 0.1, "reward_std": 0.1}
SMALL = {"n_items": 4, "step_per_episode": 4, "random_state": 3, "render_mode": "ansi"}

#: name → (environment class, constructor keyword arguments).
CASES = {
    "population": (PopulationEnv, {"n_users": 5, **SMALL, **NOISY}),
    "population-float32-binary": (
        PopulationEnv,
        {"n_users": 5, **SMALL, "dtype": np.float32, "reward_type": "binary", "obs_std": 0.1},
    ),
    "population-max-cycles": (PopulationEnv, {"n_users": 5, **SMALL, **NOISY, "max_cycles": 3}),
    "population-custom-model": (
        PopulationEnv,
        {"n_users": 5, **SMALL, **NOISY, "UserModel": DampedModel},
    ),
    "population-per-user-fallback": (
        PopulationEnv,
        {"n_users": 5, **SMALL, **NOISY, "UserModel": SingleUserModel},
    ),
    "rec-env": (RECEnv, {**SMALL, **NOISY}),
    "rec-env-binary": (RECEnv, {**SMALL, "reward_type": "binary", "obs_std": 0.1}),
    "rec-env-custom-model": (RECEnv, {**SMALL, **NOISY, "UserModel": SingleUserModel}),
    "rec-env-legacy": (RECEnv, {**SMALL, **NOISY, "legacy": True}),
    "rec-env-legacy-custom-model": (
        RECEnv,
        {**SMALL, **NOISY, "legacy": True, "UserModel": SingleUserModel},
    ),
    "vector": (RECVectorEnv, {"num_envs": 3, **SMALL, **NOISY}),
    "vector-truncated": (RECVectorEnv, {"num_envs": 3, **SMALL, **NOISY, "max_episode_steps": 3}),
}


def make(case):
    cls, kwargs = CASES[case]
    if kwargs.get("UserModel") is SingleUserModel and cls is PopulationEnv:
        with pytest.warns(PerUserFallbackWarning):
            return cls(**kwargs)
    return cls(**kwargs)


def slots(env):
    return env.num_envs if isinstance(env, RECVectorEnv) else getattr(env, "n_users", 1)


def reset(env, seed=None):
    if isinstance(env, RECVectorEnv):
        return env.reset(seed=seed)
    if isinstance(env, PopulationEnv):
        return env.reset_batch(seed=seed)
    return env.reset(seed=seed)


def step(env, actions):
    if isinstance(env, RECEnv):
        return env.step(int(actions[0]))
    if isinstance(env, PopulationEnv):
        return env.step_batch(actions)
    return env.step(actions)


def run(env, actions, done=False):
    """Step through ``actions``; a finished episode is reset (unseeded) before the next.

    Returns every return value, what ``render`` shows at the end and whether the last
    step ended an episode. The vector environment resets itself (NEXT_STEP autoreset).
    """
    returns = []
    for row in actions:
        if done and not isinstance(env, RECVectorEnv):
            returns.append(reset(env))
        result = step(env, row)
        returns.append(result)
        done = bool(np.any(result[2]) or np.any(result[3]))
    return returns, env.render(), done


def actions_for(env, count=14, seed=0):
    return np.random.default_rng(seed).integers(env.config.n_items, size=(count, slots(env)))


def assert_identical(a, b):
    assert data_equivalence(a, b, exact=True)


# --- continuation ------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["same", "new", "file", "pickle"])
@pytest.mark.parametrize("steps_before", [6, 8], ids=["mid-episode", "episode-end"])
@pytest.mark.parametrize("case", CASES)
def test_continuation_after_restore_is_bit_for_bit(case, steps_before, where, tmp_path):
    env = make(case)
    actions = actions_for(env)
    reset(env, seed=11)
    _, _, done = run(env, actions[:steps_before])
    snapshot = env.checkpoint()
    blob = pickle.dumps(env)
    expected = run(env, actions[steps_before:], done)

    if where == "same":
        target = env
        target.restore(snapshot)
    elif where == "new":
        target = make(case)
        target.restore(snapshot)
    elif where == "file":
        write_checkpoint(snapshot, tmp_path / "env.npz")
        target = make(case)
        target.load_checkpoint(tmp_path / "env.npz")
    else:
        target = pickle.loads(blob)
    assert_identical(run(target, actions[steps_before:], done), expected)


@pytest.mark.parametrize("case", CASES)
def test_checkpoint_is_a_snapshot_and_can_be_restored_twice(case):
    env = make(case)
    actions = actions_for(env)
    reset(env, seed=2)
    _, _, done = run(env, actions[:3])
    snapshot = env.checkpoint()
    copy = pickle.loads(pickle.dumps(snapshot))
    first = run(env, actions[3:], done)
    assert_identical(snapshot, copy)  # running on did not change the snapshot
    env.restore(snapshot)
    assert_identical(run(env, actions[3:], done), first)
    env.restore(snapshot)
    assert_identical(run(env, actions[3:], done), first)
    assert_identical(snapshot, copy)  # restoring and running did not change it either


@pytest.mark.parametrize("case", CASES)
def test_checkpoint_before_the_first_reset(case):
    # The first unseeded reset uses random_state; a used environment restored to the
    # pre-reset checkpoint of a new one behaves as that new one.
    used = make(case)
    reset(used, seed=99)
    run(used, actions_for(used)[:3])
    new = make(case)
    used.restore(new.checkpoint())
    actions = actions_for(new)
    assert_identical(reset(used), reset(new))
    assert_identical(run(used, actions), run(new, actions))


def test_checkpoint_is_plain_data():
    env = make("population")
    reset(env, seed=0)
    step(env, np.zeros(5, dtype=np.int64))

    def leaves(value):
        if isinstance(value, dict):
            assert all(isinstance(key, str) for key in value)
            for item in value.values():
                yield from leaves(item)
        elif isinstance(value, list):
            for item in value:
                yield from leaves(item)
        else:
            yield value

    kinds = {type(leaf) for leaf in leaves(env.checkpoint())}
    assert kinds <= {np.ndarray, int, float, bool, str, type(None)}, kinds


def test_restored_population_env_has_the_agents_and_state_of_the_original():
    env = make("population")
    env.reset(seed=0)
    env.step(dict.fromkeys(env.agents, 1))
    target = make("population")
    target.restore(env.checkpoint())
    assert target.agents == env.agents
    assert target.num_agents == 5
    np.testing.assert_array_equal(target.state(), env.state())
    assert target.t == env.t == 1
    shuffled = dict(reversed(list(dict.fromkeys(env.agents, 2).items())))
    assert_identical(target.step(shuffled), env.step(dict.fromkeys(env.agents, 2)))

    for _ in range(2):
        env.step(dict.fromkeys(env.agents, 0))
    assert env.agents == []
    target.restore(env.checkpoint())  # a finished episode: no agents, step needs reset
    assert target.agents == []
    with pytest.raises(ResetNeeded):
        target.step({})


def test_rec_env_through_gymnasium_make_is_checkpointed_unwrapped():
    import gymnasium as gym

    env = gym.make("RECEnv-v0", obs_std=0.1, reward_std=0.1)
    env.reset(seed=4)
    env.step(1)
    snapshot = env.unwrapped.checkpoint()
    expected = [env.step(a) for a in (2, 3, 0)]
    env.unwrapped.restore(snapshot)
    assert_identical([env.step(a) for a in (2, 3, 0)], expected)


def test_vector_env_pending_autoreset_is_restored():
    env = make("vector")
    env.reset(seed=0)
    actions = actions_for(env)
    run(env, actions[:4])  # the 4th step ends the episode: the next step autoresets
    target = make("vector")
    target.restore(env.checkpoint())
    obs, rewards, terminated, truncated, _ = target.step(actions[4])
    np.testing.assert_array_equal(rewards, np.zeros(3))  # the autoreset step
    assert not terminated.any() and not truncated.any()
    assert_identical((obs, rewards), env.step(actions[4])[:2])


# --- pickle: also what a checkpoint does not hold -----------------------------------------


def test_pickle_keeps_a_custom_models_own_state():
    env = PopulationEnv(n_users=4, n_items=3, UserModel=FatigueModel, random_state=0, **NOISY)
    env.reset_batch(seed=1)
    actions = np.random.default_rng(0).integers(3, size=(9, 4))
    for row in actions[:4]:
        env.step_batch(row)
    clone = pickle.loads(pickle.dumps(env))
    assert_identical(
        [clone.step_batch(row) for row in actions[4:]], [env.step_batch(row) for row in actions[4:]]
    )


def policy_arguments(name):
    return {"max_share": 0.5} if name == "exposure_capped" else {}


@pytest.mark.parametrize("name", POLICIES)
def test_pickled_policy_and_env_continue_identically(name):
    env = PopulationEnv(n_users=12, n_items=5, step_per_episode=10, random_state=0, **NOISY)
    policy = make_policy(name, **policy_arguments(name))
    obs, info = env.reset_batch(seed=3)
    policy.reset(env.item_features, n_users=12, rng=np.random.default_rng(4))
    states = info["state"]

    def loop(env, policy, obs, states, steps):
        out = []
        for _ in range(steps):
            decision = policy.act(
                obs,
                states=states if policy.needs_state else None,
                utilities=env.utilities if policy.needs_utilities else None,
            )
            obs, rewards, _, _, info = env.step_batch(decision.actions)
            states = info["state"]
            policy.update(decision.actions, rewards)
            # NaN propensities (no closed form: Thompson sampling) compare as -1.
            propensities = np.nan_to_num(decision.propensities, nan=-1.0)
            out.append((decision.actions, propensities, obs, rewards))
        return out, obs, states

    _, obs, states = loop(env, policy, obs, states, 4)
    env_copy, policy_copy = pickle.loads(pickle.dumps((env, policy)))
    expected, *_ = loop(env, policy, obs, states, 6)
    got, *_ = loop(env_copy, policy_copy, obs, states, 6)
    assert_identical(got, expected)


# --- mismatched and foreign checkpoints ----------------------------------------------------


@pytest.fixture
def snapshot():
    env = make("population")
    env.reset_batch(seed=0)
    env.step_batch(np.zeros(5, dtype=np.int64))
    return env.checkpoint()


def modified(snapshot, path, value):
    copy = pickle.loads(pickle.dumps(snapshot))
    *parents, last = path
    node = copy
    for key in parents:
        node = node[key]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return copy


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_users": 6}, "n_users=5 in the checkpoint, 6 here"),
        ({"user_feature_dim": 3, "item_feature_dim": 3}, "item_feature_dim=5 in the checkpoint, 3"),
        ({"n_items": 5}, "n_items=4 in the checkpoint, 5 here"),
        ({"random_state": 4}, "random_state=3 in the checkpoint, 4 here"),
        ({"dtype": np.float32}, "dtype='float64' in the checkpoint, 'float32' here"),
        ({"obs_std": 0.2}, "obs_std=0.1 in the checkpoint, 0.2 here"),
        ({"max_cycles": 2}, "max_cycles=None in the checkpoint, 2 here"),
        ({"UserModel": DampedModel}, "user_model="),
    ],
)
def test_checkpoint_of_other_settings_is_rejected(snapshot, kwargs, message):
    env = PopulationEnv(**{**CASES["population"][1], **kwargs})
    with pytest.raises(ValueError, match=re.escape(message)):
        env.restore(snapshot)


def test_checkpoint_of_other_features_is_rejected(snapshot):
    env = make("population")
    features = env.item_features.copy()
    features[0, 0] += 0.5
    other = PopulationEnv(**{**CASES["population"][1], "item_feature_vector": features})
    with pytest.raises(ValueError, match="features_sha256="):
        other.restore(snapshot)


def test_checkpoint_of_another_environment_kind_is_rejected(snapshot):
    with pytest.raises(ValueError, match="taken from a 'PopulationEnv', not a 'RECEnv'"):
        make("rec-env").restore(snapshot)
    legacy = make("rec-env-legacy")
    reset(legacy, seed=1)
    with pytest.raises(ValueError, match="legacy=True in the checkpoint, False here"):
        make("rec-env").restore(legacy.checkpoint())


@pytest.mark.parametrize("value", [None, [], "checkpoint", {}, {"format": "recgym.History"}])
def test_non_checkpoints_are_rejected(value):
    with pytest.raises(ValueError, match="`checkpoint` must be a recgym checkpoint"):
        make("population").restore(value)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("version",), 2, "has version 2; this recgym reads version 1"),
        (("settings",), None, "has no 'settings' dict"),
        (("settings", "colour"), "blue", "colour is unknown"),
        (("population", "t"), -1, "population['t'] must lie in [0, 4], got -1"),
        (("population", "t"), 5, "population['t'] must lie in [0, 4], got 5"),
        (("population", "t"), 1.0, "population['t'] must be an integer"),
        (("population", "seeded"), 1, "population['seeded'] must be a bool"),
        (
            ("population", "states"),
            np.zeros((4, 5)),
            "population['states'] must be an array of shape (5, 5)",
        ),
        (
            ("population", "states"),
            np.full((5, 5), np.nan),
            "population['states'] holds NaN or inf",
        ),
        (
            ("population", "states"),
            np.zeros((5, 5), np.float32),
            "dtype float64, got shape (5, 5) and dtype float32",
        ),
        (("population", "states"), None, "must be both arrays or both None"),
        (("population", "user_ids"), np.full(5, 5), "population['user_ids'] must lie in [0, 5)"),
        (
            ("population", "generators", "obs_rng"),
            KeyError,
            "must hold ['user_rng', 'obs_rng', 'reward_rng', 'user_model']",
        ),
        (
            ("population", "generators", "obs_rng"),
            [{"kind": "Generator", "state": {"bit_generator": "PCG64"}}],
            "population['generators']['obs_rng'][0] is not a generator state",
        ),
        (
            ("population", "generators", "user_rng"),
            [{"kind": "Dice", "state": {}}],
            "is not a generator state",
        ),
        (
            ("population", "generators", "obs_rng"),
            {"kind": "Generator", "state": {"bit_generator": "PCG64"}},
            "population['generators']['obs_rng'] must be a list of 1 generator states (one "
            "per block of users), got {'kind'",
        ),
        (
            ("population", "generators", "reward_rng"),
            [],
            "population['generators']['reward_rng'] must be a list of 1 generator states (one "
            "per block of users), got 0 entries",
        ),
        (
            ("population", "generators", "reward_rng"),
            [None],
            "population['generators']['reward_rng'] must hold a generator state per block",
        ),
        (
            ("population", "generators", "reward_rng"),
            [{"kind": "RandomState", "state": np.random.RandomState(0).get_state(legacy=False)}],
            "must hold numpy.random.Generator states, got a RandomState",
        ),
        (
            ("population", "blocks"),
            {"block_size": 4096, "first_slot": 0},
            "population['blocks'] must be {'block_size': 65536, 'first_slot': 0} (the blocks "
            "of this population's random streams), got {'block_size': 4096",
        ),
        (
            ("population", "blocks"),
            {"block_size": True, "first_slot": 0},
            "got {'block_size': True",
        ),
        (("population", "blocks"), KeyError, "population['blocks'] must be"),
        (("environment_state",), KeyError, "has no 'environment_state' dict"),
        (("environment_state", "live"), KeyError, "environment_state['live'] is missing"),
        (("environment_state", "live"), "yes", "environment_state['live'] must be a bool"),
        (("environment_state", "last_obs"), [1.0],
         "environment_state['last_obs'] must be a finite float array"),
    ],
)
def test_malformed_checkpoints_are_rejected_and_change_nothing(snapshot, path, value, message):
    env = make("population")
    env.reset_batch(seed=5)
    before = env.checkpoint()
    with pytest.raises(ValueError, match=re.escape(message)):
        env.restore(modified(snapshot, path, value))
    assert_identical(env.checkpoint(), before)


def test_a_model_generator_that_cannot_be_checkpointed_is_a_type_error():
    env = make("population")
    env.reset_batch(seed=0)
    env.user_model.random_ = __import__("random").Random(0)
    with pytest.raises(TypeError, match="pickle the environment instead"):
        env.checkpoint()


# --- files ---------------------------------------------------------------------------------


def test_file_round_trip_is_exact_and_needs_no_pickle(snapshot, tmp_path):
    path = write_checkpoint(snapshot, tmp_path / "c.npz")
    assert path == tmp_path / "c.npz"
    with np.load(path, allow_pickle=False) as archive:
        assert "__recgym_checkpoint__" in archive.files
    assert_identical(read_checkpoint(path), snapshot)
    env = make("population")
    env.reset_batch(seed=0)
    env.step_batch(np.zeros(5, dtype=np.int64))
    assert env.save_checkpoint(tmp_path / "d.npz") == tmp_path / "d.npz"
    assert_identical(read_checkpoint(tmp_path / "d.npz"), snapshot)


def test_legacy_random_state_survives_a_file(tmp_path):
    env = make("rec-env-legacy")
    env.reset(seed=1)
    env.step(0)
    env.save_checkpoint(tmp_path / "legacy.npz")
    target = make("rec-env-legacy")
    target.load_checkpoint(tmp_path / "legacy.npz")
    assert_identical([target.step(a) for a in (1, 2)], [env.step(a) for a in (1, 2)])


def test_unreadable_files_are_rejected(tmp_path, snapshot):
    with pytest.raises(FileNotFoundError, match="no checkpoint file at"):
        read_checkpoint(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="cannot load a checkpoint file from"):
        read_checkpoint(tmp_path / "text.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="cannot load a checkpoint file from"):
        read_checkpoint(tmp_path / "plain.npz")
    history = History(
        policy="random",
        steps=np.zeros(1, dtype=np.int64),
        metrics={},
        rewards=np.zeros(0),
        exposure=np.zeros(2, dtype=np.int64),
        consumption=np.zeros(2, dtype=np.int64),
        initial_states=np.zeros((1, 2)),
        final_states=np.zeros((1, 2)),
    )
    history.save(tmp_path / "history.npz")
    with pytest.raises(ValueError, match="cannot load a checkpoint file from"):
        make("population").load_checkpoint(tmp_path / "history.npz")
    with pytest.raises(TypeError, match=r"`path` must be a str or os\.PathLike, got int"):
        read_checkpoint(3)
    with pytest.raises(TypeError, match=r"`path` must be a str or os\.PathLike, got NoneType"):
        write_checkpoint(snapshot, None)


def test_write_rejects_values_a_file_cannot_hold(snapshot, tmp_path):
    with pytest.raises(TypeError, match="cannot hold a object"):
        write_checkpoint({**snapshot, "extra": object()}, tmp_path / "c.npz")
    with pytest.raises(TypeError, match="object arrays"):
        write_checkpoint({**snapshot, "extra": np.array([None])}, tmp_path / "c.npz")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_leaves_the_old_checkpoint_intact(snapshot, tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    write_checkpoint(snapshot, path)
    before = path.read_bytes()

    def failing_savez(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(KeyboardInterrupt):
        write_checkpoint(snapshot, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]  # no temporary file left behind
    monkeypatch.undo()
    assert_identical(read_checkpoint(Path(path)), snapshot)


@pytest.mark.parametrize("case", ["rec-env", "rec-env-legacy", "vector"])
def test_gymnasium_np_random_is_restored(case):
    # recgym draws nothing from env.np_random, but wrappers and user code may.
    env = make(case)
    reset(env, seed=8)
    env.np_random.random(3)
    target = make(case)
    target.restore(env.checkpoint())
    assert target.np_random_seed == env.np_random_seed == 8
    np.testing.assert_array_equal(target.np_random.random(4), env.np_random.random(4))
