"""Logged datasets: SCOPE-RL's format, exact propensities, estimators, files, errors.

SCOPE-RL is never imported here: its format and estimator values were recorded by
``tests/fixtures/record_scope_rl_fixtures.py`` (run in a scratch environment) into
``tests/fixtures/scope_rl/``.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from recgym import _io
from recgym.population import PopulationEnv
from recgym.population.datasets import (
    LOGGED_DATASET_KEYS,
    collect_logged_dataset,
    load_logged_dataset,
    save_logged_dataset,
)
from recgym.population.ope import (
    ESTIMATORS,
    evaluation_probabilities,
    importance_sampling_estimates,
    rollout_returns,
    trajectory_values,
    true_policy_value,
)
from recgym.population.policies import (
    EpsilonGreedyPolicy,
    GreedyPolicy,
    OracleGreedyPolicy,
    RandomPolicy,
    SoftmaxPolicy,
)
from recgym.population.simulation import simulate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "scope_rl"


def load_fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def small_env(**overrides) -> PopulationEnv:
    kwargs = {"n_users": 3, "n_items": 5, "step_per_episode": 10, "random_state": 12345}
    return PopulationEnv(**(kwargs | overrides))


def python_type(value) -> str:
    return "ndarray" if isinstance(value, np.ndarray) else type(value).__name__


# ----------------------------------------------------------------------- SCOPE-RL format


@pytest.mark.parametrize("fixture", ["obtain_episodes.json", "obtain_episodes_info.json"])
def test_every_key_type_dtype_and_shape_match_scope_rl(fixture):
    recorded = load_fixture(fixture)
    obtain_info = fixture == "obtain_episodes_info.json"
    data = collect_logged_dataset(
        small_env(), EpsilonGreedyPolicy(epsilon=0.3), 3, seed=0, obtain_info=obtain_info
    )
    assert list(data) == recorded["keys"] == list(LOGGED_DATASET_KEYS)
    for key, expected in recorded["dataset"].items():
        value = data[key]
        assert python_type(value) == expected["python_type"], key
        if expected["python_type"] == "ndarray":
            assert value.dtype.str == expected["dtype"], key
            assert list(value.shape) == expected["shape"], key
        elif expected["python_type"] != "dict":
            if key == "behavior_policy":
                assert value == "epsilon_greedy"
            else:
                assert value == expected["value"], key


def test_done_and_terminal_follow_scope_rl():
    recorded = load_fixture("obtain_episodes.json")["dataset"]
    data = collect_logged_dataset(small_env(), EpsilonGreedyPolicy(epsilon=0.3), 3, seed=0)
    # SCOPE-RL: both 1.0 exactly on the last step of every trajectory, 0.0 elsewhere.
    assert data["done"].tolist() == recorded["done"]["values"]
    assert data["terminal"].tolist() == recorded["terminal"]["values"]
    assert recorded["done"]["values"] == recorded["terminal"]["values"]


def test_size_counts_and_metadata_match_scope_rl():
    recorded = load_fixture("obtain_episodes.json")["dataset"]
    data = collect_logged_dataset(small_env(), EpsilonGreedyPolicy(epsilon=0.3), 3, seed=0)
    for key in ("size", "n_trajectories", "step_per_trajectory", "n_actions", "state_dim"):
        assert data[key] == recorded[key]["value"]
    assert data["size"] == data["n_trajectories"] * data["step_per_trajectory"]
    assert data["info"] == recorded["info"]["items"] == {}
    # ε-greedy propensities take the same two values as SCOPE-RL's EpsilonGreedyHead.
    assert set(data["pscore"].tolist()) <= set(recorded["pscore"]["values"])


def test_info_layout_matches_scope_rl_with_state_as_one_array():
    recorded = load_fixture("obtain_episodes_info.json")["dataset"]["info"]["items"]
    data = collect_logged_dataset(
        small_env(), EpsilonGreedyPolicy(epsilon=0.3), 3, seed=0, obtain_info=True
    )
    info = data["info"]
    assert list(info) == list(recorded) == ["user_id", "state"]
    assert info["user_id"].dtype.str == recorded["user_id"]["dtype"]
    assert list(info["user_id"].shape) == recorded["user_id"]["shape"]
    # SCOPE-RL keeps non-numeric info as a list of `size` arrays; recgym stacks it.
    state = recorded["state"]
    assert info["state"].shape == (state["length"], *state["items"][0]["shape"])
    assert info["state"].dtype.str == state["items"][0]["dtype"]


def test_rows_are_trajectory_major_and_info_is_what_step_returned():
    # In SCOPE-RL (noise-free RECEnv) row t+1 observes the state that step t's info
    # reported: the rows of one trajectory are consecutive. The same holds here.
    recorded = load_fixture("obtain_episodes_info.json")["dataset"]
    state = np.array(recorded["state"]["values"])
    info_state = np.array([item["values"] for item in recorded["info"]["items"]["state"]["items"]])
    np.testing.assert_array_equal(state[1:3], info_state[0:2])

    data = collect_logged_dataset(
        small_env(), EpsilonGreedyPolicy(epsilon=0.3), 3, seed=0, obtain_info=True
    )
    horizon = data["step_per_trajectory"]
    steps = np.arange(data["size"]) % horizon
    inner = np.flatnonzero(steps < horizon - 1)
    np.testing.assert_array_equal(data["state"][inner + 1], data["info"]["state"][inner])
    user_ids = data["info"]["user_id"].reshape(-1, horizon)
    np.testing.assert_array_equal(user_ids, np.repeat(np.arange(3)[:, None], horizon, axis=1))


# ---------------------------------------------------------------- estimators vs SCOPE-RL


@pytest.mark.parametrize("gamma", ["1.0", "0.9"])
def test_estimators_equal_scope_rl_on_its_recorded_dataset(gamma):
    recorded = load_fixture("estimators.json")
    inputs = recorded["inputs"]
    horizon = inputs["step_per_trajectory"]
    dataset = {
        "n_trajectories": len(inputs["action"]) // horizon,
        "step_per_trajectory": horizon,
        "action": np.array(inputs["action"]),
        "reward": np.array(inputs["reward"]),
        "pscore": np.array(inputs["pscore"]),
    }
    evaluation = np.array(recorded["evaluation_policy_pscore"])
    estimates = importance_sampling_estimates(dataset, evaluation, gamma=float(gamma))
    assert list(estimates) == list(ESTIMATORS)
    for name, expected in recorded["estimates"][gamma].items():
        # SCOPE-RL adds 1e-10 to the self-normalising mean, hence the tolerance.
        assert estimates[name] == pytest.approx(expected, rel=1e-8), name
        values = trajectory_values(dataset, evaluation, name, gamma=float(gamma))
        assert values.mean() == pytest.approx(estimates[name], rel=1e-12)


# --------------------------------------------------------------------------- collection


def test_first_episode_is_simulate_for_the_same_seed():
    env = PopulationEnv(n_users=40, n_items=8, step_per_episode=4, obs_std=0.1, random_state=1)
    data = collect_logged_dataset(env, SoftmaxPolicy(temperature=0.2), 40, seed=9)
    history = simulate(
        env, SoftmaxPolicy(temperature=0.2), seed=9, metrics=(), record=("actions", "rewards")
    )
    np.testing.assert_array_equal(data["action"].reshape(40, 4).T, history.trajectory["actions"])
    np.testing.assert_array_equal(data["reward"].reshape(40, 4).T, history.trajectory["rewards"])


def test_several_episodes_and_a_partial_last_one():
    env = PopulationEnv(n_users=4, n_items=6, step_per_episode=3, obs_std=0.2, random_state=2)
    data = collect_logged_dataset(env, "random", 10, seed=5, obtain_info=True)
    assert data["size"] == 30 and data["state"].shape == (30, 5)
    user_ids = data["info"]["user_id"].reshape(10, 3)[:, 0]
    np.testing.assert_array_equal(user_ids, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
    # Episodes continue the environment's noise streams: same users, new observations.
    first_obs = data["state"].reshape(10, 3, 5)[:, 0]
    assert not np.array_equal(first_obs[0], first_obs[4])


def test_collection_is_reproducible_and_seeds_matter():
    env = PopulationEnv(n_users=5, n_items=6, step_per_episode=3, obs_std=0.1, random_state=2)
    policy = EpsilonGreedyPolicy(epsilon=0.5)
    first = collect_logged_dataset(env, policy, 12, seed=3)
    again = collect_logged_dataset(env, policy, 12, seed=3)
    other = collect_logged_dataset(env, policy, 12, seed=4)
    for key in ("state", "action", "reward", "pscore"):
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["action"], other["action"])


def test_float32_environment_logs_float32_states_and_rewards():
    env = PopulationEnv(n_users=4, n_items=3, step_per_episode=2, dtype=np.float32, random_state=0)
    data = collect_logged_dataset(env, "random", 4, seed=0)
    assert data["state"].dtype == np.float32 and data["reward"].dtype == np.float32
    assert data["pscore"].dtype == np.float64 and data["done"].dtype == np.float64


def test_max_cycles_shortens_the_trajectories():
    env = PopulationEnv(n_users=3, n_items=3, step_per_episode=10, max_cycles=4, random_state=0)
    data = collect_logged_dataset(env, "greedy", 6, seed=0)
    assert data["step_per_trajectory"] == 4 and data["size"] == 24
    assert data["terminal"].reshape(6, 4)[:, -1].tolist() == [1.0] * 6


def test_names_and_dataset_id():
    env = small_env()
    assert collect_logged_dataset(env, "softmax", 3, seed=0)["behavior_policy"] == "softmax"
    named = collect_logged_dataset(
        env, "softmax", 3, seed=0, behavior_policy_name="softmax_0.1", dataset_id=7
    )
    assert named["behavior_policy"] == "softmax_0.1" and named["dataset_id"] == 7

    def uniform(observations):
        n = len(observations)
        return np.zeros(n, dtype=np.int64), np.full(n, 1.0)

    assert collect_logged_dataset(env, uniform, 3, seed=0)["behavior_policy"] == "uniform"


def test_progress_line_on_stderr(capsys):
    collect_logged_dataset(small_env(), "random", 3, seed=0, progress=True)
    err = capsys.readouterr().err
    assert "collect_logged_dataset random: 100%" in err and "10/10" in err  # tqdm's bar
    collect_logged_dataset(small_env(), "random", 3, seed=0, progress=False)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------------- propensities


@pytest.mark.parametrize(
    "make_policy",
    [lambda: EpsilonGreedyPolicy(epsilon=0.4), lambda: SoftmaxPolicy(temperature=0.05)],
    ids=["epsilon_greedy", "softmax"],
)
def test_pscore_is_the_policy_probability_and_frequencies_agree(make_policy):
    n_users, n_items, horizon = 500, 6, 4
    env = PopulationEnv(
        n_users=n_users,
        n_items=n_items,
        step_per_episode=horizon,
        obs_std=0.1,
        feature_normalization="row",
        random_state=4,
    )
    data = collect_logged_dataset(env, make_policy(), 2 * n_users, seed=11)
    reference = make_policy()
    reference.reset(env.item_features, n_users=n_users, rng=np.random.default_rng(0))
    state = data["state"].reshape(2, n_users, horizon, -1)
    action = data["action"].reshape(2, n_users, horizon)
    pscore = data["pscore"].reshape(2, n_users, horizon)
    expected_counts = np.zeros(n_items)
    variance = np.zeros(n_items)
    for episode in range(2):
        for t in range(horizon):
            observations = state[episode, :, t]
            np.testing.assert_array_equal(
                pscore[episode, :, t], reference.probabilities(observations, action[episode, :, t])
            )
            for item in range(n_items):
                p = reference.probabilities(observations, np.full(n_users, item))
                expected_counts[item] += p.sum()
                variance[item] += (p * (1 - p)).sum()
    counts = np.bincount(data["action"], minlength=n_items)
    assert expected_counts.sum() == pytest.approx(data["size"])
    z = (counts - expected_counts) / np.sqrt(variance)
    assert np.all(np.abs(z) < 4.5), z


def test_callable_policy_in_chunks_logs_its_own_propensities():
    env = PopulationEnv(n_users=10, n_items=4, step_per_episode=3, obs_std=0.1, random_state=0)
    seen = []

    def half_greedy(observations):
        seen.append(len(observations))
        greedy = (observations @ env.item_features.T).argmax(axis=1)
        return greedy, np.full(len(observations), 0.5)

    whole = collect_logged_dataset(env, half_greedy, 10, seed=1)
    assert set(seen) == {10}
    seen.clear()
    chunked = collect_logged_dataset(env, half_greedy, 10, seed=1, chunk_size=4)
    assert seen[:3] == [4, 4, 2]
    np.testing.assert_array_equal(whole["action"], chunked["action"])
    assert (chunked["pscore"] == 0.5).all()


def test_policy_needing_states_sees_the_true_states():
    env = PopulationEnv(n_users=20, n_items=5, step_per_episode=3, obs_std=0.5, random_state=0)
    data = collect_logged_dataset(env, OracleGreedyPolicy(), 20, seed=0, obtain_info=True)
    assert (data["pscore"] == 1.0).all()
    oracle = OracleGreedyPolicy()
    oracle.reset(env.item_features, n_users=20, rng=np.random.default_rng(0))
    env.reset_batch(seed=0)
    first = oracle.act(data["state"].reshape(20, 3, 5)[:, 0], states=env.state())
    np.testing.assert_array_equal(data["action"].reshape(20, 3)[:, 0], first.actions)


# ------------------------------------------------------------------------- unbiasedness


def test_importance_sampling_is_unbiased_for_a_different_policy():
    env = PopulationEnv(
        n_users=100,
        n_items=4,
        step_per_episode=3,
        obs_std=0.1,
        reward_std=0.1,
        feature_normalization="row",
        random_state=3,
    )
    gamma = 0.9
    evaluation = SoftmaxPolicy(temperature=0.2)
    returns = rollout_returns(env, evaluation, 20_000, gamma=gamma, seed=123)
    truth, truth_se = returns.mean(), returns.std() / np.sqrt(len(returns))
    assert true_policy_value(env, evaluation, 20_000, gamma, 123) == truth
    behavior_value = true_policy_value(env, EpsilonGreedyPolicy(epsilon=0.5), 20_000, gamma, 123)
    assert abs(behavior_value - truth) > 0.3  # the two policies really differ

    estimates = {name: [] for name in ESTIMATORS}
    for seed in range(100):
        data = collect_logged_dataset(env, EpsilonGreedyPolicy(epsilon=0.5), 100, seed=1000 + seed)
        for name, value in importance_sampling_estimates(
            data, evaluation, gamma=gamma, item_features=env.item_features
        ).items():
            estimates[name].append(value)
    for name in ("tis", "pdis"):
        values = np.array(estimates[name])
        se = np.hypot(values.std() / np.sqrt(len(values)), truth_se)
        assert abs(values.mean() - truth) < 4 * se, (name, values.mean(), truth, se)
    for name in ("sntis", "snpdis"):  # biased but consistent: close at 100 trajectories
        assert np.mean(estimates[name]) == pytest.approx(truth, abs=0.05), name


def test_policy_and_probability_array_give_the_same_estimates():
    env = PopulationEnv(n_users=30, n_items=4, step_per_episode=3, obs_std=0.1, random_state=0)
    data = collect_logged_dataset(env, "random", 60, seed=0)
    policy = SoftmaxPolicy(temperature=0.3)
    probabilities = evaluation_probabilities(data, policy, env.item_features, chunk_size=7)
    assert probabilities.shape == (data["size"],)
    whole = evaluation_probabilities(data, policy, env.item_features)
    np.testing.assert_allclose(probabilities, whole, rtol=1e-14)
    assert importance_sampling_estimates(
        data, policy, gamma=0.5, item_features=env.item_features
    ) == importance_sampling_estimates(data, whole, gamma=0.5)


def test_behavior_policy_evaluated_on_its_own_data_has_unit_weights():
    env = PopulationEnv(n_users=30, n_items=4, step_per_episode=3, random_state=0)
    data = collect_logged_dataset(env, "random", 30, seed=0)
    estimates = importance_sampling_estimates(data, data["pscore"], gamma=0.8)
    discounted = data["reward"].reshape(30, 3) @ (0.8 ** np.arange(3))
    for value in estimates.values():
        assert value == pytest.approx(discounted.mean(), rel=1e-12)


# ---------------------------------------------------------------------------- save / load


def assert_same_dataset(loaded, original):
    assert list(loaded) == list(original)
    for key, value in original.items():
        if isinstance(value, np.ndarray):
            assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape, key
            np.testing.assert_array_equal(loaded[key], value)
        elif key == "info":
            assert_same_dataset(loaded[key], value)
        else:
            assert type(loaded[key]) is type(value) and loaded[key] == value, key


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_round_trip_is_exact(tmp_path, compress, dtype):
    env = PopulationEnv(n_users=6, n_items=4, step_per_episode=3, obs_std=0.1, dtype=dtype)
    data = collect_logged_dataset(env, "softmax", 9, seed=0, obtain_info=True)
    path = save_logged_dataset(data, tmp_path / "data.npz", compress=compress)
    assert path == tmp_path / "data.npz"
    assert_same_dataset(load_logged_dataset(path), data)
    assert os.listdir(tmp_path) == ["data.npz"]
    # Any numpy reader can open it without pickle.
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["pscore"], data["pscore"])


def test_round_trip_of_a_scope_rl_style_dataset(tmp_path):
    dataset = {
        "size": 2,
        "action_meaning": np.array([0.1, 0.2]),
        "state_keys": ["a", "b"],
        "action_keys": None,
        "extra": {"nested": [1, 2.5, "x", None, True]},
        "count": np.int32(3),
        "info": {"clicks": np.array([1, 0]), "labels": ["u", "v"]},
    }
    save_logged_dataset(dataset, tmp_path / "d.npz")
    loaded = load_logged_dataset(tmp_path / "d.npz")
    assert_same_dataset(loaded, dataset)
    assert type(loaded["count"]) is np.int32


def test_overwrite_replaces_the_file(tmp_path):
    path = tmp_path / "d.npz"
    save_logged_dataset({"size": 1}, path)
    save_logged_dataset({"size": 2}, path)
    assert load_logged_dataset(path) == {"size": 2}
    assert os.listdir(tmp_path) == ["d.npz"]


def test_interrupted_write_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "d.npz"
    save_logged_dataset({"size": 1}, path)

    def crash(file, arrays, compress):
        file.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(_io, "write_npz", crash)
    with pytest.raises(KeyboardInterrupt):
        save_logged_dataset({"size": 2}, path)
    with pytest.raises(KeyboardInterrupt):
        save_logged_dataset({"size": 2}, tmp_path / "new.npz")
    assert os.listdir(tmp_path) == ["d.npz"]
    assert load_logged_dataset(path) == {"size": 1}


def test_truncated_file_is_a_clear_error(tmp_path):
    data = collect_logged_dataset(small_env(), "random", 3, seed=0)
    path = save_logged_dataset(data, tmp_path / "d.npz")
    content = path.read_bytes()
    for length in (len(content) // 2, len(content) - 10, 3):
        path.write_bytes(content[:length])
        with pytest.raises(
            ValueError,
            match=rf"^cannot load a logged dataset from '{path}': (damaged or truncated|not an "
            r"\.npz \(zip\) archive)",
        ):
            load_logged_dataset(path)


def test_corrupted_array_is_a_clear_error(tmp_path):
    path = save_logged_dataset({"size": 1, "reward": np.arange(64.0)}, tmp_path / "d.npz")
    content = bytearray(path.read_bytes())
    position = content.index(np.arange(64.0).tobytes()[-16:])
    content[position] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(
        ValueError, match=rf"^cannot load a logged dataset from '{path}': damaged or truncated"
    ):
        load_logged_dataset(path)


def test_foreign_files_are_clear_errors(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("not a dataset")
    with pytest.raises(ValueError, match=rf"^cannot load a logged dataset from '{text}'"):
        load_logged_dataset(text)
    other = tmp_path / "other.npz"
    np.savez(other, state=np.zeros(3))
    with pytest.raises(
        ValueError,
        match=rf"^cannot load a logged dataset from '{other}': it has no "
        r"'__recgym_logged_dataset__' entry",
    ):
        load_logged_dataset(other)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match=r"not an \.npz \(zip\) archive"):
        load_logged_dataset(single)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, __recgym_logged_dataset__=np.array(json.dumps({"format": "x"})))
    with pytest.raises(ValueError, match="its header describes format 'x', not"):
        load_logged_dataset(wrong)
    newer = tmp_path / "newer.npz"
    metadata = {"format": "recgym.logged_dataset", "version": 99, "layout": [], "values": {}}
    np.savez(newer, __recgym_logged_dataset__=np.array(json.dumps(metadata)))
    with pytest.raises(ValueError, match="format version 99 is not supported"):
        load_logged_dataset(newer)
    with pytest.raises(FileNotFoundError, match="no logged dataset at"):
        load_logged_dataset(tmp_path / "missing.npz")


def test_archive_with_an_extra_or_missing_entry_is_rejected(tmp_path):
    path = save_logged_dataset({"reward": np.zeros(2)}, tmp_path / "d.npz")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("intruder.npy", b"")
    with pytest.raises(ValueError, match=r"damaged or truncated .*EOF"):  # an empty member
        load_logged_dataset(path)
    path = save_logged_dataset({"reward": np.zeros(2)}, tmp_path / "d.npz")
    with zipfile.ZipFile(path, "a") as archive, archive.open("intruder.npy", "w") as member:
        np.save(member, np.zeros(1))
    with pytest.raises(ValueError, match=r"unexpected entries \['intruder'\]"):
        load_logged_dataset(path)


@pytest.mark.parametrize(
    ("dataset", "error", "message"),
    [
        ([1, 2], TypeError, r"`dataset` must be a dict, got list"),
        ({1: 2}, TypeError, r"dataset keys must be strings, got 1"),
        ({"a": (1, 2)}, TypeError, r"dataset entry 'a' holds a tuple.*\(use a list\)"),
        ({"a": np.array([None])}, TypeError, r"dataset entry 'a' is an object array"),
        ({"a": {1: 2}}, TypeError, r"dataset entry 'a' holds a dict with a non-string key 1"),
        ({"a": [np.float64(1)]}, TypeError, r"dataset entry 'a' holds a float64"),
        ({"info/x": 1}, ValueError, r"dataset key 'info/x' is reserved"),
        ({"info": {"s": object()}}, TypeError, r"dataset entry info\['s'\] holds a object"),
    ],
)
def test_unsavable_datasets_are_rejected(tmp_path, dataset, error, message):
    with pytest.raises(error, match=message):
        save_logged_dataset(dataset, tmp_path / "d.npz")
    assert os.listdir(tmp_path) == []


# ---------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"n_trajectories": 0},
            ValueError,
            r"^`n_trajectories` must be a positive integer, got 0$",
        ),
        (
            {"n_trajectories": -3},
            ValueError,
            r"^`n_trajectories` must be a positive integer, got -3$",
        ),
        (
            {"n_trajectories": True},
            TypeError,
            r"^`n_trajectories` must be a positive integer, got True$",
        ),
        (
            {"n_trajectories": 2.0},
            TypeError,
            r"^`n_trajectories` must be a positive integer, got 2\.0$",
        ),
        ({"seed": -1}, ValueError, r"^`seed` must be a non-negative integer or None, got -1$"),
        (
            {"dataset_id": None},
            TypeError,
            r"^`dataset_id` must be a non-negative integer, got None$",
        ),
        ({"obtain_info": 1}, TypeError, r"^`obtain_info` must be a bool, got 1$"),
        ({"progress": "yes"}, TypeError, r"^`progress` must be a bool or None, got 'yes'$"),
        (
            {"behavior_policy_name": 3},
            TypeError,
            r"^`behavior_policy_name` must be a str or None, got 3$",
        ),
        ({"chunk_size": 4}, ValueError, r"^`chunk_size` applies to callable policies only"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, error, message):
    arguments = {"n_trajectories": 3} | kwargs
    with pytest.raises(error, match=message):
        collect_logged_dataset(small_env(), RandomPolicy(), **arguments)


@pytest.mark.parametrize(
    "policy", [5, None, RandomPolicy, np.zeros(3)], ids=["int", "None", "class", "array"]
)
def test_wrong_policy_types_are_rejected(policy):
    with pytest.raises(
        TypeError,
        match=r"^`behavior_policy` must be a recgym Policy instance, a registered policy name "
        r"or a callable observations -> \(actions, propensities\), got ",
    ):
        collect_logged_dataset(small_env(), policy, 3)


def test_unknown_policy_name_and_wrong_env_are_rejected():
    with pytest.raises(ValueError, match=r"^`name` must be one of \["):
        collect_logged_dataset(small_env(), "nope", 3)
    with pytest.raises(TypeError, match=r"^`env` must be a recgym.population.PopulationEnv"):
        collect_logged_dataset(object(), RandomPolicy(), 3)


def _returning(actions, propensities):
    def policy(observations):
        return actions, propensities

    return policy


@pytest.mark.parametrize(
    ("policy", "error", "message"),
    [
        (lambda obs: np.zeros(3), TypeError, r"must return a pair \(actions, propensities\)"),
        (
            _returning([0, 0, 0], np.ones(3)),
            TypeError,
            r"^`behavior_policy` \(policy\) must return actions as a numpy integer array of "
            r"shape \(3,\), got list$",
        ),
        (
            _returning(np.zeros(3), np.ones(3)),
            TypeError,
            r"must return actions as a numpy integer array of shape \(3,\), got an array of "
            r"dtype float64$",
        ),
        (
            _returning(np.zeros(3, dtype=int), [1, 1, 1]),
            TypeError,
            r"must return propensities as a numpy float array of shape \(3,\), got list$",
        ),
        (
            _returning(np.zeros(2, dtype=int), np.ones(2)),
            ValueError,
            r"must return actions and propensities of shape \(3,\), got \(2,\) and \(2,\)$",
        ),
        (
            _returning(np.array([0, 5, -1]), np.ones(3)),
            ValueError,
            r"returned actions outside \[0, 5\): \[5, -1\]$",
        ),
        (
            _returning(np.zeros(3, dtype=int), np.array([0.5, 0.0, np.nan])),
            ValueError,
            r"returned propensities outside \(0, 1\]: \[0\.0, nan\] \(the probability of a "
            r"chosen action must be positive\)$",
        ),
        (
            _returning(np.zeros(3, dtype=int), np.array([1.5, 1.0, 1.0])),
            ValueError,
            r"returned propensities outside \(0, 1\]: \[1\.5\]",
        ),
    ],
)
def test_bad_policy_outputs_are_rejected(policy, error, message):
    with pytest.raises(error, match=message):
        collect_logged_dataset(small_env(), policy, 3)


def test_estimator_inputs_are_checked():
    env = small_env()
    data = collect_logged_dataset(env, "random", 3, seed=0)
    ones = np.ones(data["size"])
    with pytest.raises(ValueError, match=r"^`gamma` must be a float in \[0, 1\], got 1\.5$"):
        importance_sampling_estimates(data, ones, gamma=1.5)
    with pytest.raises(TypeError, match=r"^`gamma` must be a float in \[0, 1\], got True$"):
        importance_sampling_estimates(data, ones, gamma=True)
    with pytest.raises(ValueError, match=r"^`estimator` must be one of \['tis', 'pdis'"):
        trajectory_values(data, ones, "dm")
    with pytest.raises(ValueError, match=r"^`evaluation` must have shape \(30,\)"):
        importance_sampling_estimates(data, ones[:5])
    with pytest.raises(
        ValueError, match=r"^`evaluation` probabilities must lie in \[0, 1\], got 2\.0 at index 0$"
    ):
        importance_sampling_estimates(data, 2 * ones)
    with pytest.raises(TypeError, match=r"^`evaluation` must be an array of the evaluation"):
        importance_sampling_estimates(data, [1.0] * 30)
    with pytest.raises(ValueError, match=r"^`item_features` \(env.item_features\) is needed"):
        importance_sampling_estimates(data, GreedyPolicy())
    with pytest.raises(ValueError, match=r"^OracleGreedyPolicy needs the true states"):
        importance_sampling_estimates(data, OracleGreedyPolicy(), item_features=env.item_features)
    with pytest.raises(ValueError, match=r"^`dataset` lacks the entries \['pscore'\]$"):
        importance_sampling_estimates({k: v for k, v in data.items() if k != "pscore"}, ones)
    with pytest.raises(
        ValueError, match=r"^`dataset\['pscore'\]` must lie in \(0, 1\], got 0\.0 at index 0$"
    ):
        importance_sampling_estimates(data | {"pscore": 0 * ones}, ones)
