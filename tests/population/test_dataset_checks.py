"""A logged dataset's layout is checked when it is read, and its size before it is collected."""

import re

import numpy as np
import pytest

from recgym.population import PopulationEnv
from recgym.population.dataset_checks import check_logged_dataset
from recgym.population.datasets import (
    collect_logged_dataset,
    load_logged_dataset,
    save_logged_dataset,
)
from recgym.population.policies import make_policy


def raises(error, message):
    return pytest.raises(error, match=re.escape(message))


@pytest.fixture(scope="module")
def steps():
    env = PopulationEnv(n_users=4, n_items=5, step_per_episode=3, random_state=0)
    return collect_logged_dataset(env, "random", 4, seed=0, obtain_info=True)


@pytest.fixture(scope="module")
def slates():
    env = PopulationEnv(n_users=4, n_items=5, step_per_episode=3, slate_size=2, random_state=0)
    policy = make_policy("random", slate_size=2)
    return collect_logged_dataset(env, policy, 4, seed=0, obtain_info=True)


def edited(dataset, **changes):
    copy = {key: (value.copy() if isinstance(value, np.ndarray) else value)
            for key, value in dataset.items()}  # fmt: skip
    copy.update(changes)
    return copy


def test_collected_datasets_pass_and_round_trip(steps, slates, tmp_path):
    for name, dataset in (("steps", steps), ("slates", slates)):
        check_logged_dataset(dataset)
        path = save_logged_dataset(dataset, tmp_path / f"{name}.npz")
        loaded = load_logged_dataset(path)
        assert loaded.keys() == dataset.keys()


def test_a_dict_of_another_layout_is_not_checked():
    check_logged_dataset({"rows": np.arange(3), "note": "mine"})


STEP_CASES = [
    ("size", 13, ValueError, "`dataset['size']` must equal n_trajectories · step_per_trajectory "
                             "= 4 · 3, got 13"),
    ("action", np.array([0, 1, 7] * 4), ValueError, "`dataset['action']` must lie in [0, 5), "
                                                     "got 7 at index 2"),
    ("action", np.zeros(12), TypeError, "`dataset['action']` must hold integers, got dtype "
                                        "float64"),
    ("state", np.zeros((12, 4)), ValueError, "`dataset['state']` must have shape (12, 5), "
                                             "got (12, 4)"),
    ("state", np.full((12, 5), np.nan), ValueError, "`dataset['state']` must lie in the finite "
                                                    "numbers, got nan at index 0"),
    ("state", np.array(["x"] * 12), TypeError, "`dataset['state']` must hold real numbers, got "
                                               "dtype <U1"),
    ("done", np.full(12, 0.5), ValueError, "`dataset['done']` must lie in {0, 1}, got 0.5 at "
                                           "index 0"),
    ("pscore", np.full(12, 1.5), ValueError, "`dataset['pscore']` must lie in (0, 1], got 1.5 "
                                             "at index 0"),
    ("reward", np.zeros((12, 2)), ValueError, "`dataset['reward']` must have shape (12,) "
                                              "(n_trajectories · step_per_trajectory), got "
                                              "(12, 2)"),
    ("n_actions", -1, ValueError, "dataset['n_actions']"),
    ("info", {"user_id": np.zeros(11, dtype=np.int64)}, ValueError,
     "`dataset['info']['user_id']` must have one row per step (12), got shape (11,)"),
    ("info", [1, 2], TypeError, "`dataset['info']` must be a dict, got list"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "value", "error", "message"), STEP_CASES)
def test_a_step_dataset_that_disagrees_with_its_layout_is_refused(
    steps, key, value, error, message
):
    with raises(error, message):
        check_logged_dataset(edited(steps, **{key: value}))


SLATE_CASES = [
    ("action", np.full(24, 5), ValueError, "`dataset['action']` must lie in [0, 5), got 5 at "
                                           "index 0"),
    ("pscore_cascade", np.zeros(24), ValueError, "`dataset['pscore_cascade']` must lie in (0, 1],"
                                                 " got 0.0 at index 0"),
    ("context", np.zeros((12, 4)), ValueError, "`dataset['context']` must have shape (12, 5), "
                                               "got (12, 4)"),
    ("choice", np.full(12, 2), ValueError, "`dataset['choice']` must lie in [-1, 2), got 2 at "
                                           "index 0"),
    ("step", np.zeros(12), TypeError, "`dataset['step']` must hold integers, got dtype float64"),
    ("n_rounds", 11, ValueError, "`dataset['n_rounds']` must be 12, the number of slates"),
    ("position", np.zeros(24, dtype=np.int64), ValueError, "one row per slate and position"),
]  # fmt: skip


@pytest.mark.parametrize(("key", "value", "error", "message"), SLATE_CASES)
def test_a_slate_dataset_that_disagrees_with_its_layout_is_refused(
    slates, key, value, error, message
):
    with raises(error, message):
        check_logged_dataset(edited(slates, **{key: value}))


def test_load_refuses_an_inconsistent_file_with_the_loader_message(steps, tmp_path):
    path = save_logged_dataset(edited(steps, action=np.array([0, 1, 9] * 4)), tmp_path / "d.npz")
    with raises(
        ValueError,
        f"cannot load a logged dataset from '{path}': inconsistent (`dataset['action']` must "
        "lie in [0, 5), got 9 at index 2)",
    ):
        load_logged_dataset(path)


def test_a_dataset_larger_than_memory_is_refused_before_collection():
    env = PopulationEnv(n_users=4, n_items=5, step_per_episode=3, random_state=0)
    message = (
        "`n_trajectories` = 10000000000000 needs 2,400,000.0 GB for a logged dataset of "
        "10000000000000 trajectories of 3 steps"
    )
    with raises(ValueError, message):
        collect_logged_dataset(env, "random", 10**13, seed=0)
    slate_env = PopulationEnv(
        n_users=4, n_items=5, step_per_episode=3, slate_size=2, random_state=0
    )
    with raises(ValueError, "`n_trajectories` = 10000000000000 needs"):
        collect_logged_dataset(slate_env, make_policy("random", slate_size=2), 10**13, seed=0)
