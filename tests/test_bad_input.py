"""The bad-input audit (issue 6): every wrong call fails loudly, early and by name.

One table, run as one parametrised test. Each case is a :class:`Case`: an id, a
callable that makes one wrong call, the exception it must raise and a fragment of the
message (matched literally, with ``re.escape``). The rules the table enforces:

* wrong kinds of value raise ``TypeError`` and wrong values ``ValueError``, with a
  message that names the argument and shows the value (``"`n_items` must be a positive
  integer, got 0"``);
* wrong call order raises :class:`recgym.errors.ResetNeeded`, which is both Gymnasium's
  ``ResetNeeded`` and a ``ValueError``;
* unknown agent names raise ``KeyError`` (PettingZoo's convention);
* a missing file raises ``FileNotFoundError``; a damaged or foreign file a
  ``ValueError`` naming the path;
* the ``recgym`` command exits with status 2 (1 for an unwritable folder) and one
  ``recgym: error: …`` line — here a :class:`CLIExit` carrying the status and stderr;
* never an ``IndexError``, ``AttributeError``, ``ZeroDivisionError``, a silent
  wrap-around, a silent clipping or a NaN that surfaces later.

Every case runs on tiny environments (4 users, 3 items, 2 dimensions, 2 steps), with
the working directory set to a temporary folder for the file cases. ``docs/errors.md``
explains each error.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import pickle
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.typing import NDArray

import recgym  # registers RECEnv-v0
from recgym import BaseUserModel, RECEnv, RECVectorEnv, UserModel
from recgym.cli import main
from recgym.errors import ResetNeeded
from recgym.features import normalize_features
from recgym.legacy import LegacyUserModel
from recgym.population import (
    Population,
    PopulationConfig,
    PopulationEnv,
    collect_logged_dataset,
    importance_sampling_estimates,
    load_logged_dataset,
    save_logged_dataset,
    true_policy_value,
)
from recgym.population.env import env as aec_env
from recgym.population.env import parallel_env
from recgym.population.history import History
from recgym.population.metrics import (
    METRICS,
    bimodality_coefficient,
    by_group,
    compute_metrics,
    coverage,
    entropy,
    gini,
    homogenization,
    item_counts,
    item_counts_by_group,
    jaccard_nearest_neighbors,
    mean_squared_cosine,
    nearest_neighbors,
    polarization,
    preference_drift,
    preference_drift_per_user,
    top_k_share,
    user_item_matrix,
)
from recgym.population.ope import evaluation_probabilities, rollout_returns, trajectory_values
from recgym.population.plots import (
    plot_exposure,
    plot_metric_curves,
    plot_preference_scatter,
    principal_components,
)
from recgym.population.policies import (
    POLICIES,
    CollaborativeFilteringPolicy,
    EpsilonGreedyPolicy,
    ExposureCappedPolicy,
    GreedyPolicy,
    MostPopularPolicy,
    OracleGreedyPolicy,
    RandomPolicy,
    SoftmaxPolicy,
    make_policy,
)
from recgym.population.simulation import simulate
from recgym.population.study import StudyConfig, run_study
from recgym.presets import (
    Estimate,
    RankDiscountedChoice,
    Replication,
    chaney_2018,
    jiang_2019,
    mansoury_2020,
    replicate,
)

NAN, INF = float("nan"), float("inf")


@dataclass(frozen=True)
class Case:
    """One wrong call: ``call()`` must raise ``error`` with ``message`` in its text."""

    id: str
    call: Callable[[], Any]
    error: type[BaseException]
    message: str


class CLIExit(Exception):
    """``recgym …`` exited with a non-zero status; the text is ``exit <status>: <stderr>``."""


# ------------------------------------------------------------------------- builders

#: Every environment of the table: 4 users, 3 items, 2 dimensions, 2 steps per episode.
SMALL = {
    "n_items": 3,
    "n_users": 4,
    "user_feature_dim": 2,
    "item_feature_dim": 2,
    "step_per_episode": 2,
    "random_state": 0,
}


def rec_env(**kwargs: Any) -> RECEnv:
    return RECEnv(**(SMALL | kwargs))


def rec_reset(**kwargs: Any) -> RECEnv:
    env = rec_env(**kwargs)
    env.reset(seed=0)
    return env


def rec_ended(**kwargs: Any) -> RECEnv:
    env = rec_reset(**kwargs)
    for _ in range(env.step_per_episode):
        env.step(0)
    return env


def legacy_env(**kwargs: Any) -> RECEnv:
    return rec_env(legacy=True, **kwargs)


def legacy_reset(**kwargs: Any) -> RECEnv:
    env = legacy_env(**kwargs)
    env.reset()
    return env


def legacy_ended() -> RECEnv:
    env = legacy_reset()
    for _ in range(env.step_per_episode):
        env.step(0)
    return env


def vec_env(**kwargs: Any) -> RECVectorEnv:
    return RECVectorEnv(**(SMALL | {"num_envs": 2} | kwargs))


def vec_reset(**kwargs: Any) -> RECVectorEnv:
    env = vec_env(**kwargs)
    env.reset(seed=0)
    return env


def pop_env(**kwargs: Any) -> PopulationEnv:
    return PopulationEnv(**(SMALL | kwargs))


def pop_live(**kwargs: Any) -> PopulationEnv:
    env = pop_env(**kwargs)
    env.reset(seed=0)
    return env


def pop_ended(**kwargs: Any) -> PopulationEnv:
    env = pop_live(**kwargs)
    while env.agents:
        env.step_batch(np.zeros(4, dtype=np.int64))
    return env


def agent_actions(default: Any = 0, **per_agent: Any) -> dict[str, Any]:
    """``{"user_0": default, …, "user_3": default}`` with some entries replaced."""
    return {f"user_{i}": per_agent.get(f"user_{i}", default) for i in range(4)}


def aec_last_step(action: Any) -> None:
    """Step the AEC form: the parallel step (and its checks) runs at the last agent."""
    env = aec_env(**SMALL)
    env.reset(seed=0)
    for _ in range(3):
        env.step(0)
    env.step(action)


def config() -> PopulationConfig:
    return PopulationConfig.from_arguments(**SMALL)


class NoDynamics(BaseUserModel):
    """A user model with a reward but no preference dynamics."""

    def reward_function(self, state, action, item_feature_vector):
        return 0.0


class WrongShapes(BaseUserModel):
    """A batched model whose outputs have the wrong shapes."""

    def __init__(self, **kwargs):
        self.random_ = np.random.default_rng(0)

    def batch_reward_function(self, states, actions, item_feature_vector):
        return np.zeros(len(states) + 1)

    def batch_user_preference_dynamics(self, states, actions, item_feature_vector):
        return states[:, :1]


class ListOutputs(WrongShapes):
    """A batched model that returns lists."""

    def batch_reward_function(self, states, actions, item_feature_vector):
        return [0.0] * len(states)

    def batch_user_preference_dynamics(self, states, actions, item_feature_vector):
        return states.tolist()


def pop_step_with(model: type[BaseUserModel]) -> None:
    env = pop_env(UserModel=model)
    env.reset_batch(seed=0)
    env.step_batch(np.zeros(4, dtype=np.int64))


#: A catalogue of 3 items in 2 dimensions and observations of 4 users, for the policies.
ITEMS = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
OBS = np.array([[0.5, 0.1], [-0.2, 0.9], [0.3, 0.3], [0.0, -1.0]])
ZEROS = np.zeros(4, dtype=np.int64)
POLICY_NAMES = list(POLICIES)


def bound(name: str):
    """Policy ``name`` reset for the 4 users and 3 items (an exposure cap that fits them)."""
    policy = make_policy(name, **({"max_share": 0.5} if name == "exposure_capped" else {}))
    policy.reset(ITEMS, n_users=4, rng=np.random.default_rng(0))
    return policy


def reset_env() -> PopulationEnv:
    env = pop_env()
    env.reset_batch(seed=0)
    return env


def exclusion_exhausted(name: str) -> None:
    """Act with ``exclude_consumed`` once user 0 has consumed all but one available item."""
    policy = make_policy(name, slate_size=2, exclude_consumed=True, retrain_every=1)
    policy.reset(np.eye(4), n_users=3, rng=np.random.default_rng(0))
    policy.update(np.array([[0, 1], [0, 1], [2, 3]]), np.ones(3), consumed=np.array([0, 1, 2]))
    policy.update(np.array([[1, 2], [0, 2], [0, 3]]), np.ones(3), consumed=np.array([1, 2, 3]))
    policy.act(np.zeros((3, 4)), available=np.array([True, True, True, False]))


def reset_greedy(**overrides: Any) -> None:
    arguments = {"item_features": ITEMS, "n_users": 4, "rng": np.random.default_rng(0)}
    GreedyPolicy().reset(**(arguments | overrides))


#: Five users' preferences in 3 dimensions, for the metrics.
STATES = np.random.default_rng(0).normal(size=(5, 3))
COUNTS = np.array([3.0, 0.0, 1.0, 2.0])
HISTORY_ACTIONS = np.array([[0, 1, 2], [1, 1, 0]])
CONSUMED = sp.csr_array(np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]]))
GROUPS = np.array([0, 1, 0, 1, 0])


def with_nan(array: NDArray, index: tuple[int, ...]) -> NDArray:
    array = np.array(array, dtype=np.float64)
    array[index] = NAN
    return array


# ---------------------------------------------------------------------- files


@functools.cache
def a_history() -> History:
    return simulate(pop_env(), "greedy", seed=0)


@functools.cache
def a_dataset() -> dict[str, Any]:
    return collect_logged_dataset(pop_env(), "random", 4, seed=0)


def write_bytes(name: str, data: bytes) -> Path:
    path = Path(name)
    path.write_bytes(data)
    return path


def folder_with(folder: str, name: str) -> Path:
    """A folder holding one empty file ``name``."""
    Path(folder).mkdir()
    (Path(folder) / name).write_bytes(b"{}")
    return Path(folder)


def history_file() -> Path:
    return a_history().save("history.npz")


def dataset_file() -> Path:
    return save_logged_dataset(a_dataset(), "dataset.npz")


def truncated(source: Path, name: str, keep: float | int) -> Path:
    data = source.read_bytes()
    return write_bytes(name, data[: int(len(data) * keep) if isinstance(keep, float) else keep])


def flipped(source: Path, name: str) -> Path:
    # 64 bytes: more than the fields of a zip entry's local header that readers ignore
    # (times, the local copy of the CRC), so the damage reaches data wherever it lands.
    data = bytearray(source.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 64):
        data[offset] ^= 0xFF
    return write_bytes(name, bytes(data))


def npy_file() -> Path:
    np.save("array.npy", np.zeros(3))
    return Path("array.npy")


def pickled_npy_file() -> Path:
    np.save("objects.npy", np.array([{}], dtype=object), allow_pickle=True)
    return Path("objects.npy")


def pickle_file() -> Path:
    return write_bytes("data.pkl", pickle.dumps({"a": 1}))


def foreign_npz() -> Path:
    np.savez("foreign.npz", x=np.zeros(3))
    return Path("foreign.npz")


def npz(name: str, **arrays: Any) -> Path:
    np.savez(name, **arrays)
    return Path(name)


def history_header(header: Any) -> Path:
    return npz("header.npz", header=np.array(json.dumps(header)))


def dataset_metadata(metadata: Any, **arrays: Any) -> Path:
    entry = np.array(json.dumps(metadata))
    return npz("metadata.npz", __recgym_logged_dataset__=entry, **arrays)


def _metadata(layout: Any, values: Any = None, version: int = 1) -> dict[str, Any]:
    return {
        "format": "recgym.logged_dataset",
        "version": version,
        "layout": layout,
        "values": {} if values is None else values,
    }


def with_entries(**entries: Any) -> dict[str, Any]:
    return dict(a_dataset()) | entries


def evaluation(value: Any = 1 / 3, dtype: Any = np.float64) -> NDArray:
    return np.full(a_dataset()["size"], value, dtype=dtype)


def returning(actions: Any, propensities: Any) -> Callable[[NDArray], Any]:
    """A callable behaviour policy returning fixed outputs."""

    def fixed_policy(observations):
        return actions, propensities

    return fixed_policy


def collect(behavior: Any, n_trajectories: Any = 4, **kwargs: Any) -> None:
    collect_logged_dataset(pop_env(), behavior, n_trajectories, **kwargs)


def cli(*argv: str) -> None:
    """Run ``recgym *argv``; raise :class:`CLIExit` if it exits with a non-zero status."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            status = main(list(argv))
        except SystemExit as exit_:  # argparse's own errors
            status = exit_.code
    if status:
        raise CLIExit(f"exit {status}: {stderr.getvalue().strip()}")


TINY_STUDY = ("--users", "4", "--items", "3", "--dim", "2", "--steps", "1")


def a_replication() -> Replication:
    """A replication made by hand (no run), for the file cases."""
    return Replication(
        name="jiang_2019", citation="Jiang et al. (2019)", reference="", claim="",
        settings={}, estimates=(), panels=(), curves=(), seeds=(0, 1), scale="small",
        base_seed=0, seconds=0.0, version=recgym.__version__, caption="",
    )  # fmt: skip


PRESET_NAMES = (
    "['chaney_2018', 'dean_morgenstern_2022', 'jiang_2019', 'kalimeris_2021', 'mansoury_2020']"
)


# -------------------------------------------------------------------------- the table

POSITIVE_INT = "must be a positive integer, got"
NON_NEGATIVE_FLOAT = "must be a non-negative finite float, got"
SEED = "must be a non-negative integer or None, got"
REAL = "must hold real numbers, got dtype"
FINITE = "must hold finite values, got NaN or inf"
NOT_RESET = "called before reset(): call reset(item_features, n_users=..., rng=...) first"
ITEM_INDEX = "`action` must be an integer item index, got"
NAMES = str(sorted(METRICS))

# One case per entry, two or three lines each: a table, kept out of the formatter.
# fmt: off
CASES: list[Case] = [
    # === RECEnv: constructor ===========================================================
    Case("RECEnv/n_items-str", lambda: rec_env(n_items="3"), TypeError,
         f"`n_items` {POSITIVE_INT} '3'"),
    Case("RECEnv/n_items-None", lambda: rec_env(n_items=None), TypeError,
         f"`n_items` {POSITIVE_INT} None"),
    Case("RECEnv/n_items-float", lambda: rec_env(n_items=3.0), TypeError,
         f"`n_items` {POSITIVE_INT} 3.0"),
    Case("RECEnv/n_items-bool", lambda: rec_env(n_items=True), TypeError,
         f"`n_items` {POSITIVE_INT} True"),
    Case("RECEnv/n_items-zero", lambda: rec_env(n_items=0), ValueError,
         f"`n_items` {POSITIVE_INT} 0"),
    Case("RECEnv/n_users-negative", lambda: rec_env(n_users=-1), ValueError,
         f"`n_users` {POSITIVE_INT} -1"),
    Case("RECEnv/step_per_episode-zero", lambda: rec_env(step_per_episode=0), ValueError,
         f"`step_per_episode` {POSITIVE_INT} 0"),
    Case("RECEnv/step_per_episode-numpy-float",
         lambda: rec_env(step_per_episode=np.float64(2)), TypeError,
         f"`step_per_episode` {POSITIVE_INT} np.float64(2.0)"),
    Case("RECEnv/user_feature_dim-zero", lambda: rec_env(user_feature_dim=0), ValueError,
         f"`user_feature_dim` {POSITIVE_INT} 0"),
    Case("RECEnv/item_feature_dim-mismatch", lambda: rec_env(item_feature_dim=3), ValueError,
         "`item_feature_dim` must equal `user_feature_dim` for the inner-product UserModel, "
         "got item_feature_dim=3 and user_feature_dim=2"),
    Case("RECEnv/reward_type-unknown", lambda: rec_env(reward_type="Binary"), ValueError,
         "`reward_type` must be one of ['continuous', 'binary'], got 'Binary'"),
    Case("RECEnv/reward_type-None", lambda: rec_env(reward_type=None), TypeError,
         "`reward_type` must be one of ['continuous', 'binary'], got None"),
    Case("RECEnv/reward_std-nan", lambda: rec_env(reward_std=NAN), ValueError,
         f"`reward_std` {NON_NEGATIVE_FLOAT} nan"),
    Case("RECEnv/reward_std-inf", lambda: rec_env(reward_std=INF), ValueError,
         f"`reward_std` {NON_NEGATIVE_FLOAT} inf"),
    Case("RECEnv/reward_std-negative", lambda: rec_env(reward_std=-0.1), ValueError,
         f"`reward_std` {NON_NEGATIVE_FLOAT} -0.1"),
    Case("RECEnv/reward_std-str", lambda: rec_env(reward_std="0.1"), TypeError,
         "`reward_std` must be a non-negative float, got '0.1'"),
    Case("RECEnv/obs_std-nan", lambda: rec_env(obs_std=NAN), ValueError,
         f"`obs_std` {NON_NEGATIVE_FLOAT} nan"),
    Case("RECEnv/obs_std-float32-nan", lambda: rec_env(obs_std=np.float32("nan")), ValueError,
         f"`obs_std` {NON_NEGATIVE_FLOAT} nan"),
    Case("RECEnv/obs_std-bool", lambda: rec_env(obs_std=True), TypeError,
         "`obs_std` must be a non-negative float, got True"),
    Case("RECEnv/obs_std-None", lambda: rec_env(obs_std=None), TypeError,
         "`obs_std` must be a non-negative float, got None"),
    Case("RECEnv/random_state-negative", lambda: rec_env(random_state=-1), ValueError,
         f"`random_state` {SEED} -1"),
    Case("RECEnv/random_state-float", lambda: rec_env(random_state=1.5), TypeError,
         f"`random_state` {SEED} 1.5"),
    Case("RECEnv/random_state-bool", lambda: rec_env(random_state=True), TypeError,
         f"`random_state` {SEED} True"),
    Case("RECEnv/random_state-generator",
         lambda: rec_env(random_state=np.random.default_rng(0)), TypeError,
         f"`random_state` {SEED} Generator(PCG64)"),
    Case("RECEnv/feature_normalization-unknown",
         lambda: rec_env(feature_normalization="l2"), ValueError,
         "`feature_normalization` must be one of ['spectral', 'row'], got 'l2'"),
    Case("RECEnv/feature_normalization-None",
         lambda: rec_env(feature_normalization=None), TypeError,
         "`feature_normalization` must be one of ['spectral', 'row'], got None"),
    Case("RECEnv/render_mode-unknown", lambda: rec_env(render_mode="rgb"), ValueError,
         "`render_mode` must be one of ['human', 'ansi', 'rgb_array'] or None, got 'rgb'"),
    Case("RECEnv/legacy-int", lambda: rec_env(legacy=1), TypeError,
         "`legacy` must be a bool, got 1"),
    Case("RECEnv/item_feature_vector-list",
         lambda: rec_env(item_feature_vector=[[1.0, 0.0]] * 3), TypeError,
         "`item_feature_vector` must be a numpy array, got list"),
    Case("RECEnv/item_feature_vector-rows",
         lambda: rec_env(item_feature_vector=np.ones((4, 2))), ValueError,
         "`item_feature_vector` must have shape (3, 2), got (4, 2)"),
    Case("RECEnv/item_feature_vector-1d",
         lambda: rec_env(item_feature_vector=np.ones(3)), ValueError,
         "`item_feature_vector` must have shape (3, 2), got (3,)"),
    Case("RECEnv/item_feature_vector-nan",
         lambda: rec_env(item_feature_vector=with_nan(np.ones((3, 2)), (1, 1))), ValueError,
         f"`item_feature_vector` {FINITE}"),
    Case("RECEnv/item_feature_vector-inf",
         lambda: rec_env(item_feature_vector=np.full((3, 2), -INF)), ValueError,
         f"`item_feature_vector` {FINITE}"),
    Case("RECEnv/item_feature_vector-str",
         lambda: rec_env(item_feature_vector=np.full((3, 2), "a")), TypeError,
         f"`item_feature_vector` {REAL} <U1"),
    Case("RECEnv/item_feature_vector-bool",
         lambda: rec_env(item_feature_vector=np.ones((3, 2), dtype=bool)), TypeError,
         f"`item_feature_vector` {REAL} bool"),
    Case("RECEnv/item_feature_vector-complex",
         lambda: rec_env(item_feature_vector=np.ones((3, 2), dtype=complex)), TypeError,
         f"`item_feature_vector` {REAL} complex128"),
    Case("RECEnv/item_feature_vector-object",
         lambda: rec_env(item_feature_vector=np.ones((3, 2), dtype=object)), TypeError,
         f"`item_feature_vector` {REAL} object"),
    Case("RECEnv/item_feature_vector-norm-overflows",
         lambda: rec_env(item_feature_vector=np.full((3, 2), 1e308)), ValueError,
         "`item_feature_vector` must be small enough for its norm to fit in float64, "
         "got values up to 1e+308"),
    Case("RECEnv/user_feature_vector-dim",
         lambda: rec_env(user_feature_vector=np.ones((4, 3))), ValueError,
         "`user_feature_vector` must have shape (4, 2), got (4, 3)"),
    Case("RECEnv/user_feature_vector-nan",
         lambda: rec_env(user_feature_vector=with_nan(np.ones((4, 2)), (0, 0))), ValueError,
         f"`user_feature_vector` {FINITE}"),
    Case("RECEnv/user_feature_vector-row-norm-overflows",
         lambda: rec_env(user_feature_vector=np.full((4, 2), 1e200),
                         feature_normalization="row"), ValueError,
         "`user_feature_vector` must be small enough for its norm to fit in float64, "
         "got values up to 1e+200"),
    Case("RECEnv/UserModel-None", lambda: rec_env(UserModel=None), TypeError,
         "`UserModel` must be a subclass or an instance of recgym.BaseUserModel, got None"),
    Case("RECEnv/UserModel-foreign-class", lambda: rec_env(UserModel=dict), TypeError,
         "`UserModel` must be a subclass or an instance of recgym.BaseUserModel, "
         "got <class 'dict'>"),
    Case("RECEnv/UserModel-abstract", lambda: rec_env(UserModel=BaseUserModel), TypeError,
         "Can't instantiate user model BaseUserModel: it must implement `reward_function` "
         "or `batch_reward_function` and `user_preference_dynamics` or "
         "`batch_user_preference_dynamics`"),
    Case("RECEnv/UserModel-no-dynamics", lambda: rec_env(UserModel=NoDynamics), TypeError,
         "Can't instantiate user model NoDynamics: it must implement "
         "`user_preference_dynamics` or `batch_user_preference_dynamics`"),
    Case("RECEnv/UserModel-instance-dims", lambda: rec_env(UserModel=UserModel(3, 3)),
         ValueError,
         "`UserModel.user_feature_dim` (3) does not match the environment's "
         "`user_feature_dim` (2)"),
    Case("RECEnv/UserModel-instance-reward_type",
         lambda: rec_env(UserModel=UserModel(2, 2, reward_type="binary")), ValueError,
         "`UserModel.reward_type` ('binary') does not match the environment's "
         "`reward_type` ('continuous')"),
    Case("RECEnv/make-n_items-zero", lambda: gym.make("RECEnv-v0", n_items=0), ValueError,
         f"`n_items` {POSITIVE_INT} 0"),
    # --- RECEnv: call order -------------------------------------------------------------
    Case("RECEnv/step-before-reset", lambda: rec_env().step(0), ResetNeeded,
         "Cannot call `step` before `reset` or after the episode ended (step_per_episode=2)"),
    Case("RECEnv/step-after-end", lambda: rec_ended().step(0), ResetNeeded,
         "Cannot call `step` before `reset` or after the episode ended (step_per_episode=2); "
         "call `reset` first"),
    Case("RECEnv/make-step-before-reset", lambda: gym.make("RECEnv-v0").step(0),
         gym.error.ResetNeeded, "Cannot call env.step() before calling env.reset()"),
    Case("RECEnv/state-before-reset", lambda: rec_env().state, ResetNeeded,
         "Cannot read `state` before `reset`; call `reset` first"),
    Case("RECEnv/user_id-before-reset", lambda: rec_env().user_id, ResetNeeded,
         "Cannot read `user_id` before `reset`; call `reset` first"),
    # --- RECEnv: reset -------------------------------------------------------------------
    Case("RECEnv/reset-seed-negative", lambda: rec_env().reset(seed=-1), ValueError,
         f"`seed` {SEED} -1"),
    Case("RECEnv/reset-seed-float", lambda: rec_env().reset(seed=1.5), TypeError,
         f"`seed` {SEED} 1.5"),
    Case("RECEnv/reset-seed-str", lambda: rec_env().reset(seed="1"), TypeError,
         f"`seed` {SEED} '1'"),
    Case("RECEnv/reset-seed-bool", lambda: rec_env().reset(seed=True), TypeError,
         f"`seed` {SEED} True"),
    Case("RECEnv/reset-options-list", lambda: rec_env().reset(options=[1]), TypeError,
         "`options` must be a dict or None, got [1]"),
    Case("RECEnv/reset-user_id-too-large", lambda: rec_env().reset(options={"user_id": 4}),
         ValueError, "`options['user_id']` must lie in [0, 4), got 4"),
    Case("RECEnv/reset-user_id-negative", lambda: rec_env().reset(options={"user_id": -1}),
         ValueError, "`options['user_id']` must lie in [0, 4), got -1"),
    Case("RECEnv/reset-user_id-float", lambda: rec_env().reset(options={"user_id": 1.0}),
         TypeError, "`options['user_id']` must be an integer, got 1.0"),
    Case("RECEnv/reset-user_id-nan", lambda: rec_env().reset(options={"user_id": NAN}),
         TypeError, "`options['user_id']` must be an integer, got nan"),
    Case("RECEnv/reset-user_id-bool", lambda: rec_env().reset(options={"user_id": True}),
         TypeError, "`options['user_id']` must be an integer, got True"),
    Case("RECEnv/reset-user_id-str", lambda: rec_env().reset(options={"user_id": "1"}),
         TypeError, "`options['user_id']` must be an integer, got '1'"),
    # --- RECEnv: actions -----------------------------------------------------------------
    Case("RECEnv/action-too-large", lambda: rec_reset().step(3), ValueError,
         "`action` must lie in [0, 3), got 3"),
    Case("RECEnv/action-negative", lambda: rec_reset().step(-1), ValueError,
         "`action` must lie in [0, 3), got -1"),
    Case("RECEnv/action-huge", lambda: rec_reset().step(2**70), ValueError,
         f"`action` must lie in [0, 3), got {2**70}"),
    Case("RECEnv/action-uint64-huge", lambda: rec_reset().step(np.uint64(2**63 + 5)),
         ValueError, "`action` must lie in [0, 3), got np.uint64(9223372036854775813)"),
    Case("RECEnv/action-array-too-large", lambda: rec_reset().step(np.array([3])),
         ValueError, "`action` must lie in [0, 3), got np.int64(3)"),
    Case("RECEnv/action-float", lambda: rec_reset().step(1.0), TypeError,
         f"{ITEM_INDEX} 1.0"),
    Case("RECEnv/action-fractional", lambda: rec_reset().step(1.7), TypeError,
         f"{ITEM_INDEX} 1.7"),
    Case("RECEnv/action-nan", lambda: rec_reset().step(NAN), TypeError, f"{ITEM_INDEX} nan"),
    Case("RECEnv/action-numpy-float", lambda: rec_reset().step(np.float64(1)), TypeError,
         f"{ITEM_INDEX} np.float64(1.0)"),
    Case("RECEnv/action-bool", lambda: rec_reset().step(True), TypeError,
         f"{ITEM_INDEX} True"),
    Case("RECEnv/action-numpy-bool", lambda: rec_reset().step(np.True_), TypeError,
         f"{ITEM_INDEX} np.True_"),
    Case("RECEnv/action-bool-array", lambda: rec_reset().step(np.array(True)), TypeError,
         f"{ITEM_INDEX} array(True)"),
    Case("RECEnv/action-str", lambda: rec_reset().step("1"), TypeError, f"{ITEM_INDEX} '1'"),
    Case("RECEnv/action-None", lambda: rec_reset().step(None), TypeError,
         f"{ITEM_INDEX} None"),
    Case("RECEnv/action-list", lambda: rec_reset().step([1]), TypeError, f"{ITEM_INDEX} [1]"),
    Case("RECEnv/action-two-items", lambda: rec_reset().step(np.array([1, 2])), TypeError,
         f"{ITEM_INDEX} array([1, 2])"),
    Case("RECEnv/action-2d", lambda: rec_reset().step(np.array([[1]])), TypeError,
         f"{ITEM_INDEX} array([[1]])"),
    Case("RECEnv/action-empty", lambda: rec_reset().step(np.array([], dtype=int)), TypeError,
         f"{ITEM_INDEX} array([], dtype=int64)"),
    Case("RECEnv/action-float-array", lambda: rec_reset().step(np.array([1.5])), TypeError,
         f"{ITEM_INDEX} array([1.5])"),
    # === engine and block_size ========================================================
    Case("PopulationEnv/engine-unknown", lambda: pop_env(engine="jax"), ValueError,
         "`engine` must be one of ['auto', 'numpy', 'numba'], got 'jax'"),
    Case("PopulationEnv/engine-None", lambda: pop_env(engine=None), TypeError,
         "`engine` must be one of ['auto', 'numpy', 'numba'], got None"),
    Case("PopulationEnv/block_size-zero", lambda: pop_env(block_size=0), ValueError,
         f"`block_size` {POSITIVE_INT} 0"),
    Case("RECEnv/block_size-float", lambda: rec_env(block_size=2.0), TypeError,
         f"`block_size` {POSITIVE_INT} 2.0"),
    Case("legacy/engine-numba", lambda: legacy_env(engine="numba"), ValueError,
         "`engine` must be 'auto' or 'numpy' with legacy=True (the original's arithmetic "
         "runs one user at a time in numpy), got 'numba'"),
    Case("legacy/block_size", lambda: legacy_env(block_size=16), ValueError,
         "`block_size` must keep its default (65536) with legacy=True"),
    # === RECEnv(legacy=True) ==========================================================
    Case("legacy/random_state-None", lambda: legacy_env(random_state=None), ValueError,
         "`random_state` must be given with legacy=True (the original required it: "
         "`random_state must be given`), got None"),
    Case("legacy/random_state-too-large", lambda: legacy_env(random_state=2**32), ValueError,
         "`random_state` must be an integer in [0, 2**32) with legacy=True, got 4294967296"),
    Case("legacy/random_state-negative", lambda: legacy_env(random_state=-1), ValueError,
         "`random_state` must be an integer in [0, 2**32) with legacy=True, got -1"),
    Case("legacy/random_state-float", lambda: legacy_env(random_state=1.0), TypeError,
         "`random_state` must be an integer in [0, 2**32) with legacy=True (the original "
         "seeded numpy.random.RandomState with it), got 1.0"),
    Case("legacy/feature_normalization-row",
         lambda: legacy_env(feature_normalization="row"), ValueError,
         "`feature_normalization` must be 'spectral' with legacy=True (the original's "
         "normalisation), got 'row'"),
    Case("legacy/n_items-zero", lambda: legacy_env(n_items=0), ValueError,
         f"`n_items` {POSITIVE_INT} 0"),
    Case("legacy/reward_std-nan", lambda: legacy_env(reward_std=NAN), ValueError,
         f"`reward_std` {NON_NEGATIVE_FLOAT} nan"),
    Case("legacy/item_feature_vector-nan",
         lambda: legacy_env(item_feature_vector=np.full((3, 2), NAN)), ValueError,
         f"`item_feature_vector` {FINITE}"),
    Case("legacy/UserModel-subclass",
         lambda: legacy_env(UserModel=type("Sub", (UserModel,), {})), ValueError,
         "`UserModel` cannot be a subclass of recgym.UserModel with legacy=True (its "
         "batched arithmetic is not the original's); subclass "
         "recgym.legacy.LegacyUserModel instead, got Sub"),
    Case("legacy/UserModel-instance-alpha",
         lambda: legacy_env(UserModel=UserModel(2, 2, alpha=0.5, random_state=1)), ValueError,
         "a recgym.UserModel instance needs an integer `random_state` and alpha=1.0 with "
         "legacy=True (the original seeded its own RandomState with it and had no alpha), "
         "got random_state=1, alpha=0.5"),
    Case("legacy/reset-seed-negative", lambda: legacy_env().reset(seed=-1), ValueError,
         "`seed` must be an integer in [0, 2**32) with legacy=True, got -1"),
    Case("legacy/reset-seed-str", lambda: legacy_env().reset(seed="a"), TypeError,
         "`seed` must be an integer in [0, 2**32) with legacy=True (the original seeded "
         "numpy.random.RandomState with it), got 'a'"),
    Case("legacy/reset-user_id-too-large",
         lambda: legacy_env().reset(options={"user_id": 4}), ValueError,
         "`options['user_id']` must lie in [0, 4), got 4"),
    Case("legacy/step-before-reset", lambda: legacy_env().step(0), ResetNeeded,
         "Cannot call `step` before `reset`"),
    Case("legacy/step-after-end", lambda: legacy_ended().step(0), ResetNeeded,
         "after the episode ended (step_per_episode=2)"),
    Case("legacy/action-negative", lambda: legacy_reset().step(-1), ValueError,
         "`action` must lie in [0, 3), got -1"),
    Case("legacy/action-float", lambda: legacy_reset().step(1.0), TypeError,
         f"{ITEM_INDEX} 1.0"),
    Case("legacy/LegacyUserModel-random_state",
         lambda: LegacyUserModel(2, 2, random_state=-1), ValueError,
         "`random_state` must be an integer in [0, 2**32) with legacy=True, got -1"),
    Case("legacy/LegacyUserModel-reward_type",
         lambda: LegacyUserModel(2, 2, reward_type="x"), ValueError,
         "`reward_type` must be one of ['continuous', 'binary'], got 'x'"),
    Case("legacy/LegacyUserModel-reward-action-negative",
         lambda: LegacyUserModel(2, 2, random_state=0).reward_function(np.ones(2), -1, ITEMS),
         ValueError, "`action` must lie in [0, 3), got -1"),
    Case("legacy/LegacyUserModel-dynamics-action-too-large",
         lambda: LegacyUserModel(2, 2).user_preference_dynamics(np.ones(2), 3, ITEMS),
         ValueError, "`action` must lie in [0, 3), got 3"),
    Case("legacy/LegacyUserModel-dynamics-action-float",
         lambda: LegacyUserModel(2, 2).user_preference_dynamics(np.ones(2), 1.0, ITEMS),
         TypeError, f"{ITEM_INDEX} 1.0"),
    Case("legacy/LegacyUserModel-dynamics-alpha-negative",
         lambda: LegacyUserModel(2, 2).user_preference_dynamics(np.ones(2), 0, ITEMS, alpha=-1),
         ValueError, f"`alpha` {NON_NEGATIVE_FLOAT} -1.0"),
    # === UserModel and BaseUserModel ======================================================
    Case("UserModel/dims-zero", lambda: UserModel(0, 0), ValueError,
         f"`user_feature_dim` {POSITIVE_INT} 0"),
    Case("UserModel/dims-str", lambda: UserModel("2", "2"), TypeError,
         f"`user_feature_dim` {POSITIVE_INT} '2'"),
    Case("UserModel/dims-mismatch", lambda: UserModel(2, 3), ValueError,
         "`item_feature_dim` must equal `user_feature_dim` for the inner-product UserModel, "
         "got item_feature_dim=3 and user_feature_dim=2"),
    Case("UserModel/reward_type", lambda: UserModel(2, 2, reward_type="clicks"), ValueError,
         "`reward_type` must be one of ['continuous', 'binary'], got 'clicks'"),
    Case("UserModel/reward_std-nan", lambda: UserModel(2, 2, reward_std=NAN), ValueError,
         f"`reward_std` {NON_NEGATIVE_FLOAT} nan"),
    Case("UserModel/alpha-negative", lambda: UserModel(2, 2, alpha=-1), ValueError,
         f"`alpha` {NON_NEGATIVE_FLOAT} -1.0"),
    Case("UserModel/alpha-inf", lambda: UserModel(2, 2, alpha=INF), ValueError,
         f"`alpha` {NON_NEGATIVE_FLOAT} inf"),
    Case("UserModel/alpha-str", lambda: UserModel(2, 2, alpha="1"), TypeError,
         "`alpha` must be a non-negative float, got '1'"),
    Case("UserModel/random_state-negative", lambda: UserModel(2, 2, random_state=-1),
         ValueError, f"`random_state` {SEED} -1"),
    Case("UserModel/random_state-float", lambda: UserModel(2, 2, random_state=0.5),
         TypeError, f"`random_state` {SEED} 0.5"),
    Case("UserModel/reward_function-action-too-large",
         lambda: UserModel(2, 2).reward_function(np.ones(2), 3, ITEMS), ValueError,
         "`action` must lie in [0, 3), got 3"),
    Case("UserModel/reward_function-action-negative",
         lambda: UserModel(2, 2).reward_function(np.ones(2), -1, ITEMS), ValueError,
         "`action` must lie in [0, 3), got -1"),
    Case("UserModel/reward_function-action-fractional",
         lambda: UserModel(2, 2).reward_function(np.ones(2), 1.7, ITEMS), TypeError,
         f"{ITEM_INDEX} 1.7"),
    Case("UserModel/reward_function-state-shape",
         lambda: UserModel(2, 2).reward_function(np.ones(3), 0, ITEMS), ValueError,
         "`state` must have shape (2,), got (3,)"),
    Case("UserModel/reward_function-state-nan",
         lambda: UserModel(2, 2).reward_function(np.array([NAN, 0.0]), 0, ITEMS), ValueError,
         f"`state` {FINITE}"),
    Case("UserModel/reward_function-state-str",
         lambda: UserModel(2, 2).reward_function(np.array(["a", "b"]), 0, ITEMS), TypeError,
         f"`state` {REAL} <U1"),
    Case("UserModel/reward_function-items-list",
         lambda: UserModel(2, 2).reward_function(np.ones(2), 0, ITEMS.tolist()), TypeError,
         "`item_feature_vector` must be a numpy array, got list"),
    Case("UserModel/dynamics-action-too-large",
         lambda: UserModel(2, 2).user_preference_dynamics(np.ones(2), 3, ITEMS), ValueError,
         "`action` must lie in [0, 3), got 3"),
    Case("UserModel/dynamics-action-float-array",
         lambda: UserModel(2, 2).user_preference_dynamics(np.ones(2), np.array([1.0]), ITEMS),
         TypeError, f"{ITEM_INDEX} array([1.])"),
    Case("UserModel/dynamics-alpha-nan",
         lambda: UserModel(2, 2).user_preference_dynamics(np.ones(2), 0, ITEMS, alpha=NAN),
         ValueError, f"`alpha` {NON_NEGATIVE_FLOAT} nan"),
    Case("UserModel/dynamics-alpha-negative",
         lambda: UserModel(2, 2).user_preference_dynamics(np.ones(2), 0, ITEMS, alpha=-1),
         ValueError, f"`alpha` {NON_NEGATIVE_FLOAT} -1.0"),
    Case("UserModel/dynamics-alpha-str",
         lambda: UserModel(2, 2).user_preference_dynamics(np.ones(2), 0, ITEMS, alpha="a"),
         TypeError, "`alpha` must be a non-negative float, got 'a'"),
    Case("BaseUserModel/abstract", lambda: BaseUserModel(), TypeError,
         "Can't instantiate user model BaseUserModel"),
    Case("features/normalize_features-method",
         lambda: normalize_features(ITEMS, "l2"), ValueError,
         "`method` must be one of ['spectral', 'row'], got 'l2'"),
    # === RECVectorEnv =======================================================================
    Case("RECVectorEnv/num_envs-zero", lambda: vec_env(num_envs=0), ValueError,
         f"`num_envs` {POSITIVE_INT} 0"),
    Case("RECVectorEnv/num_envs-float", lambda: vec_env(num_envs=2.0), TypeError,
         f"`num_envs` {POSITIVE_INT} 2.0"),
    Case("RECVectorEnv/num_envs-bool", lambda: vec_env(num_envs=True), TypeError,
         f"`num_envs` {POSITIVE_INT} True"),
    Case("RECVectorEnv/num_envs-None", lambda: vec_env(num_envs=None), TypeError,
         f"`num_envs` {POSITIVE_INT} None"),
    Case("RECVectorEnv/max_episode_steps-zero", lambda: vec_env(max_episode_steps=0),
         ValueError, f"`max_episode_steps` {POSITIVE_INT} 0"),
    Case("RECVectorEnv/max_episode_steps-float", lambda: vec_env(max_episode_steps=1.5),
         TypeError, f"`max_episode_steps` {POSITIVE_INT} 1.5"),
    Case("RECVectorEnv/render_mode-human", lambda: vec_env(render_mode="human"), ValueError,
         "`render_mode` must be one of ['ansi', 'rgb_array'] or None, got 'human'"),
    Case("RECVectorEnv/n_items-zero", lambda: vec_env(n_items=0), ValueError,
         f"`n_items` {POSITIVE_INT} 0"),
    Case("RECVectorEnv/make_vec-num_envs-zero",
         lambda: gym.make_vec("RECEnv-v0", num_envs=0), ValueError,
         f"`num_envs` {POSITIVE_INT} 0"),
    Case("RECVectorEnv/step-before-reset", lambda: vec_env().step(np.zeros(2, dtype=int)),
         ResetNeeded, "Cannot call `step` before `reset`; call `reset` first"),
    Case("RECVectorEnv/render-before-reset", lambda: vec_env(render_mode="ansi").render(),
         ValueError, "Cannot call `render` before `reset`; call `reset` first"),
    Case("RECVectorEnv/reset-seed-negative", lambda: vec_env().reset(seed=-1), ValueError,
         f"`seed` {SEED} -1"),
    Case("RECVectorEnv/reset-seed-float", lambda: vec_env().reset(seed=1.5), TypeError,
         f"`seed` {SEED} 1.5"),
    Case("RECVectorEnv/reset-options-list", lambda: vec_env().reset(options=[1]), TypeError,
         "`options` must be a dict or None, got [1]"),
    Case("RECVectorEnv/actions-list", lambda: vec_reset().step([0, 0]), TypeError,
         "`actions` must be a numpy integer array of shape (2,), got list"),
    Case("RECVectorEnv/actions-scalar", lambda: vec_reset().step(0), TypeError,
         "`actions` must be a numpy integer array of shape (2,), got int"),
    Case("RECVectorEnv/actions-float", lambda: vec_reset().step(np.zeros(2)), TypeError,
         "`actions` must hold integers, got dtype float64"),
    Case("RECVectorEnv/actions-nan", lambda: vec_reset().step(np.array([NAN, 0.0])),
         TypeError, "`actions` must hold integers, got dtype float64"),
    Case("RECVectorEnv/actions-bool", lambda: vec_reset().step(np.array([True, False])),
         TypeError, "`actions` must hold integers, got dtype bool"),
    Case("RECVectorEnv/actions-length", lambda: vec_reset().step(np.zeros(3, dtype=int)),
         ValueError, "`actions` must have shape (2,), got (3,)"),
    Case("RECVectorEnv/actions-2d", lambda: vec_reset().step(np.zeros((2, 1), dtype=int)),
         ValueError, "`actions` must have shape (2,), got (2, 1)"),
    Case("RECVectorEnv/actions-too-large", lambda: vec_reset().step(np.array([0, 3])),
         ValueError, "`actions` must lie in [0, 3), got [3] at positions [1]"),
    Case("RECVectorEnv/actions-negative", lambda: vec_reset().step(np.array([-1, 0])),
         ValueError, "`actions` must lie in [0, 3), got [-1] at positions [0]"),
    # === PopulationEnv: constructor ============================================================
    Case("PopulationEnv/dtype-int", lambda: pop_env(dtype=np.int32), ValueError,
         "`dtype` must be numpy.float32 or numpy.float64, got <class 'numpy.int32'>"),
    Case("PopulationEnv/dtype-float16", lambda: pop_env(dtype="float16"), ValueError,
         "`dtype` must be numpy.float32 or numpy.float64, got 'float16'"),
    Case("PopulationEnv/dtype-unknown", lambda: pop_env(dtype="x"), ValueError,
         "`dtype` must be numpy.float32 or numpy.float64, got 'x'"),
    Case("PopulationEnv/max_cycles-zero", lambda: pop_env(max_cycles=0), ValueError,
         f"`max_cycles` {POSITIVE_INT} 0"),
    Case("PopulationEnv/max_cycles-float", lambda: pop_env(max_cycles=1.5), TypeError,
         f"`max_cycles` {POSITIVE_INT} 1.5"),
    Case("PopulationEnv/render_mode", lambda: pop_env(render_mode="x"), ValueError,
         "`render_mode` must be one of ['human', 'ansi', 'rgb_array'] or None, got 'x'"),
    Case("PopulationEnv/n_users-zero", lambda: pop_env(n_users=0), ValueError,
         f"`n_users` {POSITIVE_INT} 0"),
    Case("PopulationEnv/n_users-str", lambda: pop_env(n_users="4"), TypeError,
         f"`n_users` {POSITIVE_INT} '4'"),
    Case("PopulationEnv/obs_std-negative", lambda: pop_env(obs_std=-1), ValueError,
         f"`obs_std` {NON_NEGATIVE_FLOAT} -1.0"),
    Case("PopulationEnv/UserModel-instance-reward_std",
         lambda: pop_env(UserModel=UserModel(2, 2, reward_std=0.5)), ValueError,
         "`UserModel.reward_std` (0.5) does not match the environment's `reward_std` (0.0)"),
    Case("PopulationEnv/parallel_env-n_users", lambda: parallel_env(n_users=0), ValueError,
         f"`n_users` {POSITIVE_INT} 0"),
    Case("PopulationEnv/aec-env-n_users", lambda: aec_env(n_users=0), ValueError,
         f"`n_users` {POSITIVE_INT} 0"),
    # --- PopulationEnv: call order -----------------------------------------------------------
    Case("PopulationEnv/step_batch-before-reset", lambda: pop_env().step_batch(ZEROS),
         ResetNeeded,
         "Cannot call `step` before `reset` or after the episode ended (step_per_episode=2)"),
    Case("PopulationEnv/step-before-reset", lambda: pop_env().step(agent_actions()),
         ResetNeeded, "Cannot call `step` before `reset`"),
    Case("PopulationEnv/state-before-reset", lambda: pop_env().state(), ResetNeeded,
         "Cannot call `state` before `reset`; call `reset` first"),
    Case("PopulationEnv/step_batch-after-end", lambda: pop_ended().step_batch(ZEROS),
         ResetNeeded, "after the episode ended (step_per_episode=2); call `reset` first"),
    Case("PopulationEnv/step-after-end", lambda: pop_ended().step(agent_actions()),
         ResetNeeded, "after the episode ended"),
    Case("PopulationEnv/step-after-truncation",
         lambda: pop_ended(max_cycles=1).step_batch(ZEROS), ResetNeeded,
         "(step_per_episode=2, max_cycles=1)"),
    # --- PopulationEnv: reset ---------------------------------------------------------------
    Case("PopulationEnv/reset-seed-negative", lambda: pop_env().reset_batch(seed=-1),
         ValueError, f"`seed` {SEED} -1"),
    Case("PopulationEnv/reset-seed-float", lambda: pop_env().reset_batch(seed=1.0),
         TypeError, f"`seed` {SEED} 1.0"),
    Case("PopulationEnv/reset-seed-bool", lambda: pop_env().reset_batch(seed=True),
         TypeError, f"`seed` {SEED} True"),
    Case("PopulationEnv/reset-dict-api-seed-str", lambda: pop_env().reset(seed="0"),
         TypeError, f"`seed` {SEED} '0'"),
    Case("PopulationEnv/reset-options-list", lambda: pop_env().reset_batch(options=[1]),
         TypeError, "`options` must be a dict or None, got [1]"),
    Case("PopulationEnv/reset-states-list",
         lambda: pop_env().reset_batch(options={"states": [[0.0, 0.0]] * 4}), TypeError,
         "`options['states']` must be a numpy array, got list"),
    Case("PopulationEnv/reset-states-shape",
         lambda: pop_env().reset_batch(options={"states": np.zeros((3, 2))}), ValueError,
         "`options['states']` must have shape (4, 2), got (3, 2)"),
    Case("PopulationEnv/reset-states-nan",
         lambda: pop_env().reset_batch(options={"states": np.full((4, 2), NAN)}), ValueError,
         f"`options['states']` {FINITE}"),
    Case("PopulationEnv/reset-states-bool",
         lambda: pop_env().reset_batch(options={"states": np.zeros((4, 2), dtype=bool)}),
         TypeError, f"`options['states']` {REAL} bool"),
    # --- PopulationEnv: step_batch actions ---------------------------------------------------
    Case("PopulationEnv/actions-list", lambda: pop_live().step_batch([0, 0, 0, 0]), TypeError,
         "`actions` must be a numpy integer array of shape (4,), got list"),
    Case("PopulationEnv/actions-dict", lambda: pop_live().step_batch(agent_actions()),
         TypeError, "`actions` must be a numpy integer array of shape (4,), got dict"),
    Case("PopulationEnv/actions-float", lambda: pop_live().step_batch(np.zeros(4)), TypeError,
         "`actions` must hold integers, got dtype float64"),
    Case("PopulationEnv/actions-bool", lambda: pop_live().step_batch(np.zeros(4, bool)),
         TypeError, "`actions` must hold integers, got dtype bool"),
    Case("PopulationEnv/actions-object", lambda: pop_live().step_batch(np.zeros(4, object)),
         TypeError, "`actions` must hold integers, got dtype object"),
    Case("PopulationEnv/actions-short", lambda: pop_live().step_batch(np.zeros(3, int)),
         ValueError, "`actions` must have shape (4,), got (3,)"),
    Case("PopulationEnv/actions-2d", lambda: pop_live().step_batch(np.zeros((4, 1), int)),
         ValueError, "`actions` must have shape (4,), got (4, 1)"),
    Case("PopulationEnv/actions-0d", lambda: pop_live().step_batch(np.array(0)), ValueError,
         "`actions` must have shape (4,), got ()"),
    Case("PopulationEnv/actions-too-large", lambda: pop_live().step_batch(np.array([0, 0, 0, 3])),
         ValueError, "`actions` must lie in [0, 3), got [3] at positions [3]"),
    Case("PopulationEnv/actions-negative",
         lambda: pop_live().step_batch(np.array([0, -1, 0, 0])), ValueError,
         "`actions` must lie in [0, 3), got [-1] at positions [1]"),
    Case("PopulationEnv/actions-many-bad",
         lambda: pop_live(n_users=8, user_feature_vector=None).step_batch(np.full(8, 7)),
         ValueError,
         "`actions` must lie in [0, 3), got [7, 7, 7, 7, 7] at positions [0, 1, 2, 3, 4] "
         "(first 5 shown)"),
    # --- PopulationEnv: step (PettingZoo dict) actions ---------------------------------------
    Case("PopulationEnv/dict-actions-list", lambda: pop_live().step([0, 0, 0, 0]), TypeError,
         "`actions` must be a dict mapping agent names to items, got list"),
    Case("PopulationEnv/dict-missing-agents", lambda: pop_live().step({"user_0": 0}),
         ValueError,
         "`actions` must hold one action per live agent: missing live agents "
         "['user_1', 'user_2', 'user_3']"),
    Case("PopulationEnv/dict-foreign-agent",
         lambda: pop_live().step(agent_actions() | {"user_9": 0}), ValueError,
         "`actions` must hold one action per live agent: unknown or finished agents "
         "['user_9']"),
    Case("PopulationEnv/dict-swapped-agent",
         lambda: pop_live().step({"user_0": 0, "user_1": 0, "user_2": 0, "bob": 0}), ValueError,
         "missing live agents ['user_3']; unknown or finished agents ['bob']"),
    Case("PopulationEnv/dict-int-keys", lambda: pop_live().step(dict.fromkeys(range(4), 0)),
         ValueError, "unknown or finished agents [0, 1, 2, 3]"),
    Case("PopulationEnv/dict-float-values", lambda: pop_live().step(agent_actions(0.0)),
         TypeError, "`actions` values must be integer items in [0, 3), got [user_0: 0.0"),
    Case("PopulationEnv/dict-fractional-value",
         lambda: pop_live().step(agent_actions(user_1=1.5)), TypeError,
         "`actions` values must be integer items in [0, 3), got [user_1: 1.5]"),
    Case("PopulationEnv/dict-nan-value", lambda: pop_live().step(agent_actions(user_2=NAN)),
         TypeError, "`actions` values must be integer items in [0, 3), got [user_2: nan]"),
    Case("PopulationEnv/dict-too-large", lambda: pop_live().step(agent_actions(user_2=3)),
         ValueError, "`actions` values must be integer items in [0, 3), got [user_2: 3]"),
    Case("PopulationEnv/dict-negative", lambda: pop_live().step(agent_actions(user_2=-1)),
         ValueError, "`actions` values must be integer items in [0, 3), got [user_2: -1]"),
    Case("PopulationEnv/dict-str-values", lambda: pop_live().step(agent_actions("0")),
         TypeError, "got [user_0: '0', user_1: '0', user_2: '0', user_3: '0']"),
    Case("PopulationEnv/dict-None-values", lambda: pop_live().step(agent_actions(None)),
         TypeError, "got [user_0: None, user_1: None"),
    Case("PopulationEnv/dict-bool-values", lambda: pop_live().step(agent_actions(True)),
         TypeError, "got [user_0: True, user_1: True"),
    Case("PopulationEnv/dict-list-values", lambda: pop_live().step(agent_actions([0])),
         TypeError, "got [user_0: [0], user_1: [0]"),
    Case("PopulationEnv/dict-ragged-values",
         lambda: pop_live().step(agent_actions(user_0=[0, 1])), TypeError,
         "got [user_0: [0, 1]]"),
    Case("PopulationEnv/aec-float-action", lambda: aec_last_step(0.5), TypeError,
         "`actions` values must be integer items in [0, 3), got [user_3: 0.5]"),
    # --- PopulationEnv: agents ----------------------------------------------------------------
    Case("PopulationEnv/observation_space-unknown",
         lambda: pop_env().observation_space("user_9"), KeyError,
         "unknown agent 'user_9'; agents are 'user_0' … 'user_3'"),
    Case("PopulationEnv/observation_space-int", lambda: pop_env().observation_space(0),
         KeyError, "unknown agent 0;"),
    Case("PopulationEnv/action_space-unknown", lambda: pop_env().action_space("bob"),
         KeyError, "unknown agent 'bob';"),
    Case("PopulationEnv/action_space-None", lambda: pop_env().action_space(None), KeyError,
         "unknown agent None;"),
    Case("PopulationEnv/action_space-unhashable", lambda: pop_env().action_space(["user_0"]),
         KeyError, "unknown agent ['user_0'];"),
    # --- PopulationEnv: utilities ------------------------------------------------------------
    Case("PopulationEnv/utilities-before-reset",
         lambda: pop_env().utilities(np.zeros((4, 2), np.int64)), ResetNeeded,
         "the population has no users before `reset`; call `reset` first"),
    Case("PopulationEnv/utilities-float",
         lambda: reset_env().utilities(np.zeros((4, 2))), TypeError,
         "`items` must hold integers, got dtype float64"),
    Case("PopulationEnv/utilities-1d",
         lambda: reset_env().utilities(np.zeros(4, np.int64)), ValueError,
         "`items` must be a 2-D array, got shape (4,)"),
    Case("PopulationEnv/utilities-item-range",
         lambda: reset_env().utilities(np.full((4, 2), 3)), ValueError,
         "`items` must lie in [0, 3), got 3 at index (0, 0)"),
    Case("PopulationEnv/utilities-rows-missing",
         lambda: reset_env().utilities(np.zeros((3, 2), np.int64)), ValueError,
         "`items` must have one row per user (4) when `rows` is None, got shape (3, 2)"),
    Case("PopulationEnv/utilities-rows-length",
         lambda: reset_env().utilities(np.zeros((3, 2), np.int64), np.array([0, 1])), ValueError,
         "`rows` must name one user per row of `items` (3), got 2"),
    Case("PopulationEnv/utilities-rows-range",
         lambda: reset_env().utilities(np.zeros((1, 2), np.int64), np.array([-1])), ValueError,
         "`rows` must lie in [0, 4), got -1 at index (0,)"),
    # === Population core =======================================================================
    Case("Population/config-dict", lambda: Population({}, n_slots=1), TypeError,
         "`config` must be a PopulationConfig (see PopulationConfig.from_arguments), got dict"),
    Case("Population/n_slots-zero", lambda: Population(config(), n_slots=0), ValueError,
         f"`n_slots` {POSITIVE_INT} 0"),
    Case("Population/n_slots-negative", lambda: Population(config(), n_slots=-1), ValueError,
         f"`n_slots` {POSITIVE_INT} -1"),
    Case("Population/n_slots-float", lambda: Population(config(), n_slots=1.0), TypeError,
         f"`n_slots` {POSITIVE_INT} 1.0"),
    Case("Population/unknown-argument", lambda: PopulationEnv(n_user=3), TypeError,
         "unexpected keyword argument `n_user`; the environment arguments are step_per_episode"),
    Case("Population/dtype", lambda: Population(config(), n_slots=1, dtype=int), ValueError,
         "`dtype` must be numpy.float32 or numpy.float64, got <class 'int'>"),
    Case("Population/seed-str", lambda: Population(config(), n_slots=1).seed("a"), TypeError,
         f"`seed` {SEED} 'a'"),
    Case("Population/seed-negative", lambda: Population(config(), n_slots=1).seed(-1), ValueError,
         f"`seed` {SEED} -1"),
    Case("Population/from_arguments-n_items", lambda: PopulationConfig.from_arguments(n_items=0),
         ValueError, f"`n_items` {POSITIVE_INT} 0"),
    Case("Population/model-output-shapes", lambda: pop_step_with(WrongShapes), ValueError,
         "`WrongShapes.batch_step` must return numpy arrays of shape (4,) (rewards) and "
         "(4, 2) (new states), got shape (5,) and shape (4, 1)"),
    Case("Population/model-output-lists", lambda: pop_step_with(ListOutputs), TypeError,
         "`ListOutputs.batch_step` must return numpy arrays of shape (4,) (rewards) and "
         "(4, 2) (new states), got list and list"),
    # === Policies: constructors ================================================================
    Case("policies/make_policy-unknown", lambda: make_policy("x"), ValueError,
         f"`name` must be one of {list(POLICIES)}, got 'x'"),
    Case("policies/make_policy-None", lambda: make_policy(None), TypeError,
         f"`name` must be one of {list(POLICIES)}, got None"),
    Case("policies/make_policy-foreign-keyword", lambda: make_policy("greedy", epsilon=0.1),
         TypeError, "got an unexpected keyword argument 'epsilon'"),
    Case("policies/epsilon-too-large", lambda: EpsilonGreedyPolicy(epsilon=1.5), ValueError,
         "`epsilon` must be a float in [0, 1], got 1.5"),
    Case("policies/epsilon-negative", lambda: EpsilonGreedyPolicy(epsilon=-0.1), ValueError,
         "`epsilon` must be a float in [0, 1], got -0.1"),
    Case("policies/epsilon-nan", lambda: EpsilonGreedyPolicy(epsilon=NAN), ValueError,
         "`epsilon` must be a float in [0, 1], got nan"),
    Case("policies/epsilon-None", lambda: EpsilonGreedyPolicy(epsilon=None), TypeError,
         "`epsilon` must be a float in [0, 1], got None"),
    Case("policies/epsilon-bool", lambda: EpsilonGreedyPolicy(epsilon=True), TypeError,
         "`epsilon` must be a float in [0, 1], got True"),
    Case("policies/temperature-zero", lambda: SoftmaxPolicy(temperature=0), ValueError,
         "`temperature` must be a positive finite float, got 0"),
    Case("policies/temperature-negative", lambda: SoftmaxPolicy(temperature=-1), ValueError,
         "`temperature` must be a positive finite float, got -1"),
    Case("policies/temperature-inf", lambda: SoftmaxPolicy(temperature=INF), ValueError,
         "`temperature` must be a positive finite float, got inf"),
    Case("policies/temperature-nan", lambda: SoftmaxPolicy(temperature=NAN), ValueError,
         "`temperature` must be a positive finite float, got nan"),
    Case("policies/temperature-str", lambda: SoftmaxPolicy(temperature="1"), TypeError,
         "`temperature` must be a positive finite float, got '1'"),
    Case("policies/max_share-zero", lambda: ExposureCappedPolicy(max_share=0), ValueError,
         "`max_share` must be a float in (0, 1], got 0"),
    Case("policies/max_share-too-large", lambda: ExposureCappedPolicy(max_share=1.5),
         ValueError, "`max_share` must be a float in (0, 1], got 1.5"),
    Case("policies/max_share-nan", lambda: ExposureCappedPolicy(max_share=NAN),
         ValueError, "`max_share` must be a float in (0, 1], got nan"),
    Case("policies/max_share-str", lambda: ExposureCappedPolicy(max_share="0.1"),
         TypeError, "`max_share` must be a float in (0, 1], got '0.1'"),
    Case("policies/cf-rank-zero", lambda: CollaborativeFilteringPolicy(rank=0), ValueError,
         f"`rank` {POSITIVE_INT} 0"),
    Case("policies/cf-rank-float", lambda: CollaborativeFilteringPolicy(rank=1.0), TypeError,
         f"`rank` {POSITIVE_INT} 1.0"),
    Case("policies/cf-refit_every-None", lambda: CollaborativeFilteringPolicy(refit_every=None),
         TypeError, f"`refit_every` {POSITIVE_INT} None"),
    Case("policies/cf-als_iterations-negative",
         lambda: CollaborativeFilteringPolicy(als_iterations=-1), ValueError,
         f"`als_iterations` {POSITIVE_INT} -1"),
    Case("policies/cf-epsilon", lambda: CollaborativeFilteringPolicy(epsilon=2), ValueError,
         "`epsilon` must be a float in [0, 1], got 2"),
    Case("policies/cf-regularization-zero",
         lambda: CollaborativeFilteringPolicy(regularization=0.0), ValueError,
         "`regularization` must be a positive finite float, got 0.0"),
    Case("policies/cf-regularization-nan",
         lambda: CollaborativeFilteringPolicy(regularization=NAN), ValueError,
         "`regularization` must be a positive finite float, got nan"),
    Case("policies/max_chunk_bytes-zero", lambda: GreedyPolicy(max_chunk_bytes=0), ValueError,
         f"`max_chunk_bytes` {POSITIVE_INT} 0"),
    Case("policies/max_chunk_bytes-bool", lambda: SoftmaxPolicy(max_chunk_bytes=True),
         TypeError, f"`max_chunk_bytes` {POSITIVE_INT} True"),
    Case("policies/max_chunk_bytes-float", lambda: EpsilonGreedyPolicy(max_chunk_bytes=1.5),
         TypeError, f"`max_chunk_bytes` {POSITIVE_INT} 1.5"),
    Case("policies/max_chunk_bytes-None", lambda: GreedyPolicy(max_chunk_bytes=None),
         TypeError, f"`max_chunk_bytes` {POSITIVE_INT} None"),
    # --- Policies: reset ----------------------------------------------------------------
    Case("policies/reset-items-list", lambda: reset_greedy(item_features=ITEMS.tolist()),
         TypeError, "`item_features` must be a numpy array, got list"),
    Case("policies/reset-items-1d", lambda: reset_greedy(item_features=ITEMS[0]), ValueError,
         "`item_features` must have shape (*, *), got (2,)"),
    Case("policies/reset-items-empty", lambda: reset_greedy(item_features=np.zeros((0, 2))),
         ValueError,
         "`item_features` must have at least one item and one feature, got shape (0, 2)"),
    Case("policies/reset-items-nan",
         lambda: reset_greedy(item_features=with_nan(ITEMS, (0, 0))), ValueError,
         f"`item_features` {FINITE}"),
    Case("policies/reset-n_users-zero", lambda: reset_greedy(n_users=0), ValueError,
         f"`n_users` {POSITIVE_INT} 0"),
    Case("policies/reset-n_users-float", lambda: reset_greedy(n_users=4.0), TypeError,
         f"`n_users` {POSITIVE_INT} 4.0"),
    Case("policies/reset-rng-int", lambda: reset_greedy(rng=0), TypeError,
         "`rng` must be a numpy.random.Generator, got 0"),
    Case("policies/reset-rng-None", lambda: reset_greedy(rng=None), TypeError,
         "`rng` must be a numpy.random.Generator, got None"),
    Case("policies/reset-rng-RandomState", lambda: reset_greedy(rng=np.random.RandomState(0)),
         TypeError, "`rng` must be a numpy.random.Generator, got RandomState(MT19937)"),
    Case("policies/exposure-cap-too-small",
         lambda: ExposureCappedPolicy(max_share=0.1).reset(
             ITEMS, n_users=100, rng=np.random.default_rng(0)), ValueError,
         "`max_share` is too small for 100 users and 3 items: each item may be shown to "
         "ceil(max_share * n_users) = 10 users per step, 30 in all; need max_share >= 0.34, "
         "got 0.1"),
    # --- Policies: state that needs reset or a fit ------------------------------------------
    Case("policies/cf-predicted_rewards-before-reset",
         lambda: CollaborativeFilteringPolicy().predicted_rewards(), ResetNeeded,
         f"CollaborativeFilteringPolicy.predicted_rewards() {NOT_RESET}"),
    Case("policies/cf-predicted_rewards-unfitted",
         lambda: bound("collaborative_filtering").predicted_rewards(), ValueError,
         "CollaborativeFilteringPolicy has not been fitted yet: it fits after every "
         "`refit_every` = 10 calls of update(), got 0 since reset()"),
    Case("policies/most_popular-counts-before-reset",
         lambda: MostPopularPolicy().positive_counts, ResetNeeded,
         f"MostPopularPolicy.positive_counts() {NOT_RESET}"),
    # --- Policies: oracle ------------------------------------------------------------------
    Case("policies/oracle-without-states", lambda: bound("oracle_greedy").act(OBS), ValueError,
         "`states` must be the true user states for OracleGreedyPolicy (needs_state=True), "
         "got None"),
    Case("policies/oracle-states-shape",
         lambda: bound("oracle_greedy").act(OBS, states=OBS[:, :1]),
         ValueError, "`states` must have shape (4, 2), got (4, 1)"),
    Case("policies/oracle-states-nan",
         lambda: bound("oracle_greedy").act(OBS, states=with_nan(OBS, (0, 0))), ValueError,
         f"`states` {FINITE}"),
    Case("policies/oracle-states-list",
         lambda: bound("oracle_greedy").act(OBS, states=OBS.tolist()),
         TypeError, "`states` must be a numpy array, got list"),
    Case("policies/oracle-probabilities-without-states",
         lambda: bound("oracle_greedy").probabilities(OBS, ZEROS), ValueError,
         "`states` must be the true user states for OracleGreedyPolicy"),
    # --- Policies: the feedback-loop papers' recommenders ------------------------------------
    Case("policies/ideal-without-utilities", lambda: bound("ideal").act(OBS), ValueError,
         "`utilities` must be the users' true utilities for IdealPolicy (needs_utilities=True), "
         "a function utilities(items, rows) such as PopulationEnv.utilities, got None"),
    Case("policies/ideal-probabilities-without-utilities",
         lambda: bound("ideal").probabilities(OBS, ZEROS), ValueError,
         "`utilities` must be the users' true utilities for IdealPolicy"),
    Case("policies/ideal-utilities-shape",
         lambda: bound("ideal").act(OBS, utilities=lambda items, rows: np.zeros(len(rows))),
         ValueError,
         "`utilities` must return an array of shape (4, 3) for items of that shape, got (4,)"),
    Case("policies/exclude_consumed-too-few", lambda: exclusion_exhausted("item_knn"),
         ValueError,
         "`exclude_consumed` leaves user 0 1 item(s) it has not consumed among the available "
         "ones, fewer than slate_size (2): use a larger catalogue, fewer steps or "
         "exclude_consumed=False"),
    Case("policies/exclude_consumed-int", lambda: make_policy("ideal", exclude_consumed=1),
         TypeError, "`exclude_consumed` must be a bool, got 1"),
    Case("policies/implicit-rank", lambda: make_policy("implicit_factorization", rank=0),
         ValueError, f"`rank` {POSITIVE_INT} 0"),
    Case("policies/implicit-alpha",
         lambda: make_policy("implicit_factorization", alpha=-1.0), ValueError,
         "`alpha` must be a positive finite float, got -1.0"),
    Case("policies/implicit-als_iterations",
         lambda: make_policy("implicit_factorization", als_iterations=1.5), TypeError,
         f"`als_iterations` {POSITIVE_INT} 1.5"),
    Case("policies/retrain_every-zero", lambda: make_policy("item_knn", retrain_every=0),
         ValueError, f"`retrain_every` {POSITIVE_INT} 0"),
    Case("policies/warmup_steps-negative", lambda: make_policy("item_knn", warmup_steps=-2),
         ValueError, f"`warmup_steps` {POSITIVE_INT} -2"),
    Case("policies/retrained-never",
         lambda: make_policy("implicit_factorization", retrain_every=None), ValueError,
         "`warmup_steps` must be a positive integer when `retrain_every` is None (the model is "
         "trained once, after the warm-up), got None"),
    Case("policies/knn-n_neighbors", lambda: make_policy("item_knn", n_neighbors=0),
         ValueError, f"`n_neighbors` {POSITIVE_INT} 0"),
    Case("policies/ucb-alpha", lambda: make_policy("linear_ucb", alpha=-0.5), ValueError,
         "`alpha` must be a non-negative finite float, got -0.5"),
    Case("policies/ucb-alpha-str", lambda: make_policy("linear_ucb", alpha="big"), TypeError,
         "`alpha` must be a non-negative float, got 'big'"),
    Case("policies/ucb-regularization",
         lambda: make_policy("linear_ucb", regularization=0.0), ValueError,
         "`regularization` must be a positive finite float, got 0.0"),
    Case("policies/ucb-observation_prior",
         lambda: make_policy("linear_ucb", observation_prior="yes"), TypeError,
         "`observation_prior` must be a bool, got 'yes'"),
    Case("policies/thompson-scale", lambda: make_policy("linear_thompson", scale=INF),
         ValueError, "`scale` must be a non-negative finite float, got inf"),
    Case("policies/thompson-estimate-samples",
         lambda: bound("linear_thompson").estimate_probabilities(OBS, ZEROS, samples=0),
         ValueError, f"`samples` {POSITIVE_INT} 0"),
    Case("policies/thompson-estimate-before-reset",
         lambda: make_policy("linear_thompson").estimate_probabilities(OBS, ZEROS),
         ResetNeeded, f"LinearThompsonPolicy.estimate_probabilities() {NOT_RESET}"),
    Case("policies/most_popular-counts", lambda: make_policy("most_popular", counts="clicks"),
         ValueError, "`counts` must be one of ['positive', 'consumption'], got 'clicks'"),
    Case("policies/implicit-factors-before-reset",
         lambda: make_policy("implicit_factorization").user_factors, ResetNeeded,
         f"ImplicitFactorizationPolicy.user_factors() {NOT_RESET}"),
    Case("policies/implicit-factors-unfitted",
         lambda: bound("implicit_factorization").predicted_preferences(), ValueError,
         "ImplicitFactorizationPolicy has not been fitted yet: its first fit follows update() "
         "number `warmup_steps` = 10 with some consumption, got 0 update() calls since reset()"),
    Case("policies/knn-similarities-unfitted", lambda: bound("item_knn").similarities(),
         ValueError, "ItemKnnPolicy has not been fitted yet"),
    # --- Policies: forget(rows) -------------------------------------------------------------
    Case("policies/forget-before-reset", lambda: make_policy("linear_ucb").forget(ZEROS[:1]),
         ResetNeeded, f"LinearUcbPolicy.forget() {NOT_RESET}"),
    Case("policies/forget-list", lambda: bound("linear_ucb").forget([0, 1]), TypeError,
         "`rows` must be a numpy integer array, got list"),
    Case("policies/forget-float", lambda: bound("linear_ucb").forget(np.zeros(1)), TypeError,
         "`rows` must hold integers, got dtype float64"),
    Case("policies/forget-2d", lambda: bound("linear_ucb").forget(np.zeros((1, 1), np.int64)),
         ValueError, "`rows` must be a 1-D array, got shape (1, 1)"),
    Case("policies/forget-out-of-range", lambda: bound("linear_ucb").forget(np.array([1, 4])),
         ValueError, "`rows` must lie in [0, 4), got 4 at index (1,)"),
    Case("policies/forget-repeat", lambda: bound("linear_ucb").forget(np.array([2, 0, 2])),
         ValueError, "`rows` must not repeat a row, got 2 twice"),
]

# --- Policies: the same wrong calls, for every policy -----------------------------------
for _name in POLICY_NAMES:
    _cls = type(make_policy(_name)).__name__
    CASES += [
        Case(f"policies/{_name}-act-before-reset",
             lambda n=_name: make_policy(n).act(OBS, states=OBS), ResetNeeded,
             f"{_cls}.act() {NOT_RESET}"),
        Case(f"policies/{_name}-probabilities-before-reset",
             lambda n=_name: make_policy(n).probabilities(OBS, ZEROS, states=OBS), ResetNeeded,
             f"{_cls}.probabilities() {NOT_RESET}"),
        Case(f"policies/{_name}-update-before-reset",
             lambda n=_name: make_policy(n).update(ZEROS, np.zeros(4)), ResetNeeded,
             f"{_cls}.update() {NOT_RESET}"),
        Case(f"policies/{_name}-act-observations-shape",
             lambda n=_name: bound(n).act(OBS[:3], states=OBS), ValueError,
             "`observations` must have shape (4, 2), got (3, 2)"),
        Case(f"policies/{_name}-act-observations-nan",
             lambda n=_name: bound(n).act(with_nan(OBS, (3, 1)), states=OBS), ValueError,
             f"`observations` {FINITE}"),
        Case(f"policies/{_name}-act-observations-list",
             lambda n=_name: bound(n).act(OBS.tolist(), states=OBS), TypeError,
             "`observations` must be a numpy array, got list"),
        Case(f"policies/{_name}-probabilities-action-too-large",
             lambda n=_name: bound(n).probabilities(OBS, np.array([0, 3, 0, 0]), states=OBS),
             ValueError, "`actions` must lie in [0, 3), got [3] at positions [1]"),
        Case(f"policies/{_name}-probabilities-actions-float",
             lambda n=_name: bound(n).probabilities(OBS, np.zeros(4), states=OBS), TypeError,
             "`actions` must hold integers, got dtype float64"),
        Case(f"policies/{_name}-update-rewards-nan",
             lambda n=_name: bound(n).update(ZEROS, np.array([0.0, NAN, 0.0, 0.0])),
             ValueError, f"`rewards` {FINITE}"),
        Case(f"policies/{_name}-update-rewards-shape",
             lambda n=_name: bound(n).update(ZEROS, np.zeros(5)), ValueError,
             "`rewards` must have shape (4,), got (5,)"),
        Case(f"policies/{_name}-update-actions-negative",
             lambda n=_name: bound(n).update(np.array([0, 0, -1, 0]), np.zeros(4)), ValueError,
             "`actions` must lie in [0, 3), got [-1] at positions [2]"),
        Case(f"policies/{_name}-update-actions-str",
             lambda n=_name: bound(n).update("0000", np.zeros(4)), TypeError,
             "`actions` must be a numpy integer array of shape (4,), got str"),
    ]

# === Metrics ===================================================================================
_STATE_METRICS = [
    homogenization,
    mean_squared_cosine,
    polarization,
    bimodality_coefficient,
    nearest_neighbors,
]
for _metric in _STATE_METRICS:
    _id = f"metrics/{_metric.__name__}"
    CASES += [
        Case(f"{_id}-list", lambda f=_metric: f(STATES.tolist()), TypeError,
             "`states` must be a numpy array of shape (n_users, dim), got list"),
        Case(f"{_id}-None", lambda f=_metric: f(None), TypeError,
             "`states` must be a numpy array of shape (n_users, dim), got NoneType"),
        Case(f"{_id}-1d", lambda f=_metric: f(STATES[0]), ValueError,
             "`states` must be a 2-D array of shape (n_users, dim), got shape (3,)"),
        Case(f"{_id}-nan", lambda f=_metric: f(with_nan(STATES, (2, 1))), ValueError,
             "`states` must hold finite values, got nan at index (2, 1)"),
        Case(f"{_id}-inf", lambda f=_metric: f(np.full((5, 3), INF)), ValueError,
             "`states` must hold finite values, got inf at index (0, 0)"),
        Case(f"{_id}-bool", lambda f=_metric: f(STATES > 0), TypeError,
             "`states` must hold real numbers, got dtype bool"),
        Case(f"{_id}-complex", lambda f=_metric: f(STATES.astype(complex)), TypeError,
             "`states` must hold real numbers, got dtype complex128"),
        Case(f"{_id}-no-dimensions", lambda f=_metric: f(np.zeros((5, 0))), ValueError,
             "`states` must be a 2-D array of shape (n_users, dim) with dim >= 1, "
             "got shape (5, 0)"),
    ]

_COUNT_METRICS = [coverage, gini, entropy, lambda counts: top_k_share(counts, 2)]
for _label, _metric in zip(["coverage", "gini", "entropy", "top_k_share"], _COUNT_METRICS):
    _id = f"metrics/{_label}"
    CASES += [
        Case(f"{_id}-list", lambda f=_metric: f([1, 2]), TypeError,
             "`counts` must be a numpy array of shape (n_items,), got list"),
        Case(f"{_id}-2d", lambda f=_metric: f(np.ones((2, 2))), ValueError,
             "`counts` must be a 1-D array of shape (n_items,), got shape (2, 2)"),
        Case(f"{_id}-0d", lambda f=_metric: f(np.array(1.0)), ValueError,
             "`counts` must be a 1-D array of shape (n_items,), got shape ()"),
        Case(f"{_id}-empty", lambda f=_metric: f(np.zeros(0)), ValueError,
             "`counts` must hold at least one item, got shape (0,)"),
        Case(f"{_id}-negative", lambda f=_metric: f(np.array([1, -1])), ValueError,
             "`counts` must be non-negative, got -1 at index 1"),
        Case(f"{_id}-nan", lambda f=_metric: f(np.array([1.0, NAN])), ValueError,
             "`counts` must hold finite values, got nan at index 1"),
        Case(f"{_id}-inf", lambda f=_metric: f(np.array([INF, 1.0])), ValueError,
             "`counts` must hold finite values, got inf at index 0"),
        Case(f"{_id}-bool", lambda f=_metric: f(np.array([True, False])), TypeError,
             "`counts` must hold real numbers, got dtype bool"),
    ]

for _label, _function in [("item_counts", item_counts), ("user_item_matrix", user_item_matrix)]:
    _id = f"metrics/{_label}"
    CASES += [
        Case(f"{_id}-list", lambda f=_function: f([0, 1], 3), TypeError,
             "`actions` must be a numpy integer array of shape (n_users,) or (T, n_users), "
             "got list"),
        Case(f"{_id}-float", lambda f=_function: f(np.array([0.0, 1.0]), 3), TypeError,
             "`actions` must hold integer item indices, got dtype float64"),
        Case(f"{_id}-bool", lambda f=_function: f(np.array([True]), 3), TypeError,
             "`actions` must hold integer item indices, got dtype bool"),
        Case(f"{_id}-too-large", lambda f=_function: f(np.array([0, 3]), 3), ValueError,
             "`actions` must hold item indices in [0, 3), got 3 at index 1"),
        Case(f"{_id}-negative", lambda f=_function: f(HISTORY_ACTIONS - 1, 3), ValueError,
             "`actions` must hold item indices in [0, 3), got -1 at index (0, 0)"),
        Case(f"{_id}-3d", lambda f=_function: f(np.zeros((1, 1, 1), int), 3), ValueError,
             "`actions` must be a 1-D or 2-D array of shape (n_users,) or (T, n_users), "
             "got shape (1, 1, 1)"),
        Case(f"{_id}-n_items-zero", lambda f=_function: f(HISTORY_ACTIONS, 0), ValueError,
             f"`n_items` {POSITIVE_INT} 0"),
        Case(f"{_id}-n_items-float", lambda f=_function: f(HISTORY_ACTIONS, 3.0), TypeError,
             f"`n_items` {POSITIVE_INT} 3.0"),
        Case(f"{_id}-mask-list",
             lambda f=_function: f(HISTORY_ACTIONS, 3, mask=[[True] * 3] * 2), TypeError,
             "`mask` must be a boolean numpy array, got list"),
        Case(f"{_id}-mask-int",
             lambda f=_function: f(HISTORY_ACTIONS, 3, mask=np.ones((2, 3), int)), TypeError,
             "`mask` must be a boolean numpy array, got int64"),
        Case(f"{_id}-mask-shape",
             lambda f=_function: f(HISTORY_ACTIONS, 3, mask=np.ones(3, bool)), ValueError,
             "`mask` must have the shape of `actions` (2, 3), got (3,)"),
    ]

CASES += [
    Case("metrics/nearest_neighbors-one-user", lambda: nearest_neighbors(STATES[:1]),
         ValueError,
         "`states` must have at least 2 rows (users) to pair neighbours, got shape (1, 3)"),
    Case("metrics/drift-shape-mismatch", lambda: preference_drift(STATES, STATES[:4]),
         ValueError, "`initial_states` must have the shape of `states` (5, 3), got (4, 3)"),
    Case("metrics/drift-kind-unknown", lambda: preference_drift(STATES, STATES, kind="l1"),
         ValueError, "`kind` must be one of ['angle', 'cosine', 'euclidean'], got 'l1'"),
    Case("metrics/drift-kind-None",
         lambda: preference_drift_per_user(STATES, STATES, kind=None), TypeError,
         "`kind` must be one of ['angle', 'cosine', 'euclidean'], got None"),
    Case("metrics/drift-initial-nan",
         lambda: preference_drift(STATES, with_nan(STATES, (0, 0))), ValueError,
         "`initial_states` must hold finite values, got nan at index (0, 0)"),
    Case("metrics/drift-initial-list",
         lambda: preference_drift_per_user(STATES, STATES.tolist()), TypeError,
         "`initial_states` must be a numpy array of shape (n_users, dim), got list"),
    Case("metrics/entropy-normalized-str", lambda: entropy(COUNTS, normalized="no"),
         TypeError, "`normalized` must be a bool, got 'no'"),
    Case("metrics/entropy-normalized-None", lambda: entropy(COUNTS, normalized=None),
         TypeError, "`normalized` must be a bool, got None"),
    Case("metrics/top_k_share-k-zero", lambda: top_k_share(COUNTS, 0), ValueError,
         f"`k` {POSITIVE_INT} 0"),
    Case("metrics/top_k_share-k-float", lambda: top_k_share(COUNTS, 1.0), TypeError,
         f"`k` {POSITIVE_INT} 1.0"),
    Case("metrics/top_k_share-k-bool", lambda: top_k_share(COUNTS, True), TypeError,
         f"`k` {POSITIVE_INT} True"),
    Case("metrics/top_k_share-k-None", lambda: top_k_share(COUNTS, None), TypeError,
         f"`k` {POSITIVE_INT} None"),
    Case("metrics/item_counts_by_group-groups-list",
         lambda: item_counts_by_group(HISTORY_ACTIONS, [0, 1, 0], 3), TypeError,
         "`groups` must be a 1-D numpy array of user-group labels, got list"),
    Case("metrics/item_counts_by_group-groups-length",
         lambda: item_counts_by_group(HISTORY_ACTIONS, np.array([0, 1]), 3), ValueError,
         "`groups` must be a 1-D array of shape (3,), got (2,)"),
    Case("metrics/item_counts_by_group-groups-2d",
         lambda: item_counts_by_group(HISTORY_ACTIONS, np.zeros((3, 1)), 3), ValueError,
         "`groups` must be a 1-D array of shape (3,), got (3, 1)"),
    Case("metrics/item_counts_by_group-groups-nan",
         lambda: item_counts_by_group(HISTORY_ACTIONS, np.array([0.0, NAN, 1.0]), 3),
         ValueError, "`groups` must not hold NaN labels, got nan at index 1"),
    Case("metrics/item_counts_by_group-groups-mixed-types",
         lambda: item_counts_by_group(HISTORY_ACTIONS, np.array([0, "a", None], object), 3),
         TypeError,
         "`groups` must hold labels of one sortable type, got labels of types "
         "['NoneType', 'int', 'str']"),
    Case("metrics/item_counts_by_group-too-large",
         lambda: item_counts_by_group(np.array([0, 5, 1]), np.array([0, 1, 1]), 3), ValueError,
         "`actions` must hold item indices in [0, 3), got 5 at index 1"),
    Case("metrics/item_counts_by_group-n_items-zero",
         lambda: item_counts_by_group(HISTORY_ACTIONS, np.array([0, 1, 1]), 0), ValueError,
         f"`n_items` {POSITIVE_INT} 0"),
    Case("metrics/item_counts_by_group-mask-shape",
         lambda: item_counts_by_group(HISTORY_ACTIONS, np.array([0, 1, 1]), 3,
                                      mask=np.ones(3, bool)), ValueError,
         "`mask` must have the shape of `actions` (2, 3), got (3,)"),
    Case("metrics/jaccard-states-list",
         lambda: jaccard_nearest_neighbors(STATES.tolist(), CONSUMED), TypeError,
         "`states` must be a numpy array of shape (n_users, dim), got list"),
    Case("metrics/jaccard-consumed-list", lambda: jaccard_nearest_neighbors(STATES, [[1]]),
         TypeError,
         "`consumed` must be a scipy.sparse matrix of shape (n_users, n_items) or a numpy "
         "integer action history of shape (T, n_users), got list"),
    Case("metrics/jaccard-consumed-None", lambda: jaccard_nearest_neighbors(STATES, None),
         TypeError, "or a numpy integer action history of shape (T, n_users), got NoneType"),
    Case("metrics/jaccard-consumed-rows",
         lambda: jaccard_nearest_neighbors(STATES, CONSUMED[:4]), ValueError,
         "`consumed` must have shape (n_users, n_items) with n_users = 5, got (4, 2)"),
    Case("metrics/jaccard-consumed-negative",
         lambda: jaccard_nearest_neighbors(STATES, sp.csr_array(-CONSUMED.toarray())),
         ValueError, "`consumed` must hold finite non-negative counts, got -1"),
    Case("metrics/jaccard-consumed-nan",
         lambda: jaccard_nearest_neighbors(
             STATES, sp.csr_array(with_nan(CONSUMED.toarray(), (0, 0)))), ValueError,
         "`consumed` must hold finite non-negative counts, got nan"),
    Case("metrics/jaccard-consumed-complex",
         lambda: jaccard_nearest_neighbors(STATES, sp.csr_array(CONSUMED.toarray() * 1j)),
         TypeError, "`consumed` must hold real counts, got dtype complex128"),
    Case("metrics/jaccard-history-float",
         lambda: jaccard_nearest_neighbors(STATES, np.zeros((2, 5))), TypeError,
         "`consumed` must hold integer item indices, got dtype float64"),
    Case("metrics/jaccard-history-users",
         lambda: jaccard_nearest_neighbors(STATES, np.zeros((2, 4), int)), ValueError,
         "an integer action history of shape (T, n_users) with n_users = 5, got shape (2, 4)"),
    Case("metrics/jaccard-history-negative",
         lambda: jaccard_nearest_neighbors(STATES, -np.ones((2, 5), int)), ValueError,
         "`consumed` must hold item indices >= 0, got -1 at index (0, 0)"),
    Case("metrics/jaccard-history-3d",
         lambda: jaccard_nearest_neighbors(STATES, np.zeros((2, 5, 1), int)), ValueError,
         "`consumed` must be a 1-D or 2-D array of shape (n_users,) or (T, n_users), "
         "got shape (2, 5, 1)"),
    Case("metrics/jaccard-neighbors-list",
         lambda: jaccard_nearest_neighbors(STATES, CONSUMED, neighbors=[1, 0, 0, 0, 0]),
         TypeError, "`neighbors` must be a numpy integer array of shape (5,), got list"),
    Case("metrics/jaccard-neighbors-self",
         lambda: jaccard_nearest_neighbors(STATES, CONSUMED, neighbors=np.arange(5)),
         ValueError, "`neighbors` must hold indices of other users in [0, 5), got 0 at index 0"),
    Case("metrics/jaccard-neighbors-too-large",
         lambda: jaccard_nearest_neighbors(STATES, CONSUMED, neighbors=np.array([1, 0, 0, 0, 9])),
         ValueError, "`neighbors` must hold indices of other users in [0, 5), got 9 at index 4"),
    Case("metrics/jaccard-neighbors-float",
         lambda: jaccard_nearest_neighbors(STATES, CONSUMED, neighbors=np.ones(5)), TypeError,
         "`neighbors` must hold integer user indices, got dtype float64"),
    Case("metrics/jaccard-neighbors-length",
         lambda: jaccard_nearest_neighbors(STATES, CONSUMED, neighbors=np.ones(4, int)),
         ValueError, "`neighbors` must have shape (5,), got (4,)"),
    Case("metrics/by_group-metric-None", lambda: by_group(None, GROUPS, STATES), TypeError,
         "`metric` must be a function of per-user arrays, got None"),
    Case("metrics/by_group-groups-list", lambda: by_group(homogenization, [0, 1], STATES),
         TypeError, "`groups` must be a 1-D numpy array of user-group labels, got list"),
    Case("metrics/by_group-groups-mixed",
         lambda: by_group(homogenization, np.array([0, "a", 0, "a", 0], object), STATES),
         TypeError, "`groups` must hold labels of one sortable type"),
    Case("metrics/by_group-array-list",
         lambda: by_group(homogenization, GROUPS, STATES.tolist()), TypeError,
         "`arrays[0]` must be a numpy array or a scipy.sparse matrix, got list"),
    Case("metrics/by_group-array-rows", lambda: by_group(homogenization, GROUPS, STATES[:4]),
         ValueError,
         "`arrays[0]` must have len(groups) = 5 rows along axis 0 (users first), "
         "got shape (4, 3)"),
    Case("metrics/by_group-array-0d",
         lambda: by_group(homogenization, GROUPS, np.array(1.0)), ValueError,
         "`arrays[0]` must have len(groups) = 5 rows along axis 0 (users first), got shape ()"),
    Case("metrics/compute_metrics-names-str", lambda: compute_metrics("gini", counts=COUNTS),
         TypeError, "`names` must be an iterable of metric names or None, got 'gini'"),
    Case("metrics/compute_metrics-names-int", lambda: compute_metrics(5, counts=COUNTS),
         TypeError, "`names` must be an iterable of metric names or None, got 5"),
    Case("metrics/compute_metrics-names-unknown",
         lambda: compute_metrics(["gini", "x"], counts=COUNTS), ValueError,
         f"`names` must hold names from {NAMES}, got 'x'"),
    Case("metrics/compute_metrics-names-not-str",
         lambda: compute_metrics([["gini"]], counts=COUNTS), TypeError,
         f"`names` must hold names from {NAMES}, got ['gini']"),
    Case("metrics/compute_metrics-missing-input", lambda: compute_metrics(["gini"]),
         ValueError, "`counts` is required by metric 'gini', got None"),
    Case("metrics/METRICS-missing-input", lambda: METRICS["drift"](states=STATES), ValueError,
         "`initial_states` is required by this metric, got None"),
    # === simulate ============================================================================
    Case("simulate/env-None", lambda: simulate(None, "greedy"), TypeError,
         "`env` must be a recgym.population.PopulationEnv, got NoneType"),
    Case("simulate/env-RECEnv", lambda: simulate(rec_env(), "greedy"), TypeError,
         "`env` must be a recgym.population.PopulationEnv, got RECEnv"),
    Case("simulate/policy-None", lambda: simulate(pop_env(), None), TypeError,
         "`policy` must be a recgym.population.policies.Policy or a policy name, got NoneType"),
    Case("simulate/policy-class", lambda: simulate(pop_env(), GreedyPolicy), TypeError,
         "got the class GreedyPolicy (pass an instance)"),
    Case("simulate/policy-unknown", lambda: simulate(pop_env(), "x"), ValueError,
         f"`name` must be one of {list(POLICIES)}, got 'x'"),
    Case("simulate/steps-zero", lambda: simulate(pop_env(), "greedy", 0), ValueError,
         f"`steps` {POSITIVE_INT} 0"),
    Case("simulate/steps-float", lambda: simulate(pop_env(), "greedy", 1.0), TypeError,
         f"`steps` {POSITIVE_INT} 1.0"),
    Case("simulate/steps-beyond-episode", lambda: simulate(pop_env(), "greedy", 3), ValueError,
         "`steps` must be at most the episode length (2; raise `step_per_episode`), got 3"),
    Case("simulate/steps-beyond-max_cycles",
         lambda: simulate(pop_env(max_cycles=1), "greedy", 2), ValueError,
         "`steps` must be at most the episode length (1;"),
    Case("simulate/seed-negative", lambda: simulate(pop_env(), "greedy", seed=-1), ValueError,
         f"`seed` {SEED} -1"),
    Case("simulate/seed-float", lambda: simulate(pop_env(), "greedy", seed=1.5), TypeError,
         f"`seed` {SEED} 1.5"),
    Case("simulate/every-zero", lambda: simulate(pop_env(), "greedy", every=0), ValueError,
         f"`every` {POSITIVE_INT} 0"),
    Case("simulate/every-None", lambda: simulate(pop_env(), "greedy", every=None), TypeError,
         f"`every` {POSITIVE_INT} None"),
    Case("simulate/metrics-str", lambda: simulate(pop_env(), "greedy", metrics="gini"),
         TypeError, "`metrics` must be an iterable of metric names, got 'gini'"),
    Case("simulate/metrics-int", lambda: simulate(pop_env(), "greedy", metrics=5), TypeError,
         "`metrics` must be an iterable of metric names, got 5"),
    Case("simulate/metrics-unknown", lambda: simulate(pop_env(), "greedy", metrics=["x"]),
         ValueError, f"`metrics` must hold names from {NAMES}, got 'x'"),
    Case("simulate/metrics-not-str", lambda: simulate(pop_env(), "greedy", metrics=[["gini"]]),
         TypeError, f"`metrics` must hold names from {NAMES}, got ['gini']"),
    Case("simulate/counts-unknown", lambda: simulate(pop_env(), "greedy", counts="clicks"),
         ValueError, "`counts` must be one of ['exposure', 'consumption'], got 'clicks'"),
    Case("simulate/counts-None", lambda: simulate(pop_env(), "greedy", counts=None), TypeError,
         "`counts` must be one of ['exposure', 'consumption'], got None"),
    Case("simulate/groups-list", lambda: simulate(pop_env(), "greedy", groups=[0, 1, 0, 1]),
         TypeError, "`groups` must be a numpy array of shape (4,), got list"),
    Case("simulate/groups-length",
         lambda: simulate(pop_env(), "greedy", groups=np.array([0, 1])), ValueError,
         "`groups` must have shape (4,), got (2,)"),
    Case("simulate/groups-nan",
         lambda: simulate(pop_env(), "greedy", groups=np.array([0.0, NAN, 0.0, 1.0])),
         ValueError, "`groups` must not hold NaN labels, got nan at index 1"),
    Case("simulate/groups-mixed-types",
         lambda: simulate(pop_env(), "greedy", groups=np.array([0, "a", None, 1], object)),
         TypeError, "`groups` must hold labels of one sortable type"),
    Case("simulate/record-unknown", lambda: simulate(pop_env(), "greedy", record=["x"]),
         ValueError,
         "`record` must hold names from ['states', 'observations', 'actions', 'rewards'], "
         "got 'x'"),
    Case("simulate/record-int", lambda: simulate(pop_env(), "greedy", record=5), TypeError,
         "`record` must be a name or an iterable of names from ['states', 'observations', "
         "'actions', 'rewards'], got 5"),
    Case("simulate/progress-str", lambda: simulate(pop_env(), "greedy", progress="yes"),
         TypeError, "`progress` must be a bool or None, got 'yes'"),
    Case("simulate/options-list", lambda: simulate(pop_env(), "greedy", options=[1]),
         TypeError, "`options` must be a dict or None, got [1]"),
    Case("simulate/options-states-shape",
         lambda: simulate(pop_env(), "greedy", options={"states": np.zeros((1, 2))}),
         ValueError, "`options['states']` must have shape (4, 2), got (1, 2)"),
    # === History files ========================================================================
    Case("History/save-path-None", lambda: a_history().save(None), TypeError,
         "`path` must be a str or os.PathLike, got NoneType"),
    Case("History/to_csv-path-int", lambda: a_history().to_csv(3), TypeError,
         "`path` must be a str or os.PathLike, got int"),
    Case("History/load-path-None", lambda: History.load(None), TypeError,
         "`path` must be a str or os.PathLike, got NoneType"),
    Case("History/load-path-bytes", lambda: History.load(b"history.npz"), TypeError,
         "`path` must be a str or os.PathLike, got bytes"),
    Case("History/load-missing", lambda: History.load("missing.npz"), FileNotFoundError,
         "no History file at 'missing.npz'"),
    Case("History/load-folder", lambda: History.load("."), FileNotFoundError,
         "no History file at '.'"),
    Case("History/load-empty", lambda: History.load(write_bytes("empty.npz", b"")),
         ValueError,
         "cannot load a History file from 'empty.npz': not an .npz (zip) archive"),
    Case("History/load-text", lambda: History.load(write_bytes("text.npz", b"steps,gini\n")),
         ValueError, "cannot load a History file from 'text.npz': not an .npz (zip)"),
    Case("History/load-truncated", lambda: History.load(truncated(history_file(), "t.npz", 0.5)),
         ValueError,
         "cannot load a History file from 't.npz': damaged or truncated (BadZipFile: File is "
         "not a zip file)"),
    Case("History/load-truncated-header",
         lambda: History.load(truncated(history_file(), "t.npz", 10)), ValueError,
         "cannot load a History file from 't.npz': damaged or truncated"),
    Case("History/load-damaged", lambda: History.load(flipped(history_file(), "d.npz")),
         ValueError, "cannot load a History file from 'd.npz': damaged or truncated"),
    Case("History/load-npy", lambda: History.load(npy_file()), ValueError,
         "cannot load a History file from 'array.npy': not an .npz (zip) archive"),
    Case("History/load-pickled-npy", lambda: History.load(pickled_npy_file()), ValueError,
         "cannot load a History file from 'objects.npy': not an .npz (zip) archive"),
    Case("History/load-pickle", lambda: History.load(pickle_file()), ValueError,
         "cannot load a History file from 'data.pkl': not an .npz (zip) archive"),
    Case("History/load-foreign-npz", lambda: History.load(foreign_npz()), ValueError,
         "cannot load a History file from 'foreign.npz': it has no 'header' entry (not a "
         "recgym.History file)"),
    Case("History/load-logged-dataset", lambda: History.load(dataset_file()), ValueError,
         "cannot load a History file from 'dataset.npz': it has no 'header' entry"),
    Case("History/load-header-not-json",
         lambda: History.load(npz("header.npz", header=np.array("not json"))), ValueError,
         "cannot load a History file from 'header.npz': its header is not valid JSON (Expecting "
         "value"),
    Case("History/load-header-list", lambda: History.load(history_header([1, 2])), ValueError,
         "cannot load a History file from 'header.npz': its header is a JSON list, not an object"),
    Case("History/load-header-object-array",
         lambda: History.load(npz("header.npz", header=np.array([{}], dtype=object))),
         ValueError, "holds Python objects, which need pickle"),
    Case("History/load-version",
         lambda: History.load(history_header({"format": "recgym.History", "version": 2})),
         ValueError,
         "cannot load a History file from 'header.npz': format version 2 is not supported "
         "(this recgym reads version 1)"),
    Case("History/load-incomplete",
         lambda: History.load(history_header({"format": "recgym.History", "version": 1})),
         ValueError, "cannot load a History file from 'header.npz': 'policy' is missing"),
    Case("History/load-malformed",
         lambda: History.load(history_header({
             "format": "recgym.History", "version": 1, "policy": "greedy", "metrics": 5,
             "trajectory": [], "metadata": {}})), ValueError,
         "cannot load a History file from 'header.npz': malformed header ('int' object is not "
         "iterable)"),
    # === Logged datasets: collect_logged_dataset ==================================================
    Case("datasets/behavior-without-propensities",
         lambda: collect_logged_dataset(pop_env(), "linear_thompson", 4, seed=0), ValueError,
         "`behavior_policy` (linear_thompson) has no closed-form propensities, which a logged "
         "dataset's pscore needs (see its exact_propensities); log with a policy whose "
         "probabilities are exact"),
    Case("datasets/env-None", lambda: collect_logged_dataset(None, "random", 4), TypeError,
         "`env` must be a recgym.population.PopulationEnv, got NoneType"),
    Case("datasets/policy-None", lambda: collect(None), TypeError,
         "`behavior_policy` must be a recgym Policy instance, a registered policy name or a "
         "callable observations -> (actions, propensities), got None"),
    Case("datasets/policy-class", lambda: collect(RandomPolicy), TypeError,
         "got <class 'recgym.population.policies.baselines.RandomPolicy'>"),
    Case("datasets/policy-unknown", lambda: collect("x"), ValueError,
         f"`name` must be one of {list(POLICIES)}, got 'x'"),
    Case("datasets/n_trajectories-zero", lambda: collect("random", 0), ValueError,
         f"`n_trajectories` {POSITIVE_INT} 0"),
    Case("datasets/n_trajectories-float", lambda: collect("random", 4.0), TypeError,
         f"`n_trajectories` {POSITIVE_INT} 4.0"),
    Case("datasets/n_trajectories-bool", lambda: collect("random", True), TypeError,
         f"`n_trajectories` {POSITIVE_INT} True"),
    Case("datasets/seed-negative", lambda: collect("random", seed=-1), ValueError,
         f"`seed` {SEED} -1"),
    Case("datasets/chunk_size-with-Policy", lambda: collect("random", chunk_size=2),
         ValueError,
         "`chunk_size` applies to callable policies only; a Policy scores users in chunks "
         "itself (see its `max_chunk_bytes`), got chunk_size=2"),
    Case("datasets/chunk_size-zero",
         lambda: collect(returning(ZEROS, np.ones(4)), chunk_size=0), ValueError,
         f"`chunk_size` {POSITIVE_INT} 0"),
    Case("datasets/chunk_size-float",
         lambda: collect(returning(ZEROS, np.ones(4)), chunk_size=1.5), TypeError,
         f"`chunk_size` {POSITIVE_INT} 1.5"),
    Case("datasets/obtain_info-int", lambda: collect("random", obtain_info=1), TypeError,
         "`obtain_info` must be a bool, got 1"),
    Case("datasets/behavior_policy_name-int",
         lambda: collect("random", behavior_policy_name=5), TypeError,
         "`behavior_policy_name` must be a str or None, got 5"),
    Case("datasets/dataset_id-negative", lambda: collect("random", dataset_id=-1), ValueError,
         "`dataset_id` must be a non-negative integer, got -1"),
    Case("datasets/dataset_id-None", lambda: collect("random", dataset_id=None), TypeError,
         "`dataset_id` must be a non-negative integer, got None"),
    Case("datasets/dataset_id-float", lambda: collect("random", dataset_id=1.0), TypeError,
         "`dataset_id` must be a non-negative integer, got 1.0"),
    Case("datasets/progress-str", lambda: collect("random", progress="y"), TypeError,
         "`progress` must be a bool or None, got 'y'"),
    Case("datasets/callable-float-actions", lambda: collect(returning(np.zeros(4), np.ones(4))),
         TypeError,
         "`behavior_policy` (fixed_policy) must return actions as a numpy integer array of "
         "shape (4,), got an array of dtype float64"),
    Case("datasets/callable-list-actions", lambda: collect(returning([0] * 4, np.ones(4))),
         TypeError, "must return actions as a numpy integer array of shape (4,), got list"),
    Case("datasets/callable-not-a-pair", lambda: collect(lambda observations: 1), TypeError,
         "`behavior_policy` must return a pair (actions, propensities) or a Decision, got int"),
    Case("datasets/callable-length",
         lambda: collect(returning(np.zeros(1, int), np.ones(1))), ValueError,
         "must return actions and propensities of shape (4,), got (1,) and (1,)"),
    Case("datasets/callable-too-large",
         lambda: collect(returning(np.full(4, 3), np.ones(4))), ValueError,
         "returned actions outside [0, 3): [3, 3, 3, 3]"),
    Case("datasets/callable-negative",
         lambda: collect(returning(np.array([0, -1, 0, 0]), np.ones(4))), ValueError,
         "returned actions outside [0, 3): [-1]"),
    Case("datasets/callable-zero-propensity",
         lambda: collect(returning(ZEROS, np.array([1.0, 0.0, 1.0, 1.0]))), ValueError,
         "returned propensities outside (0, 1]: [0.0] (the probability of a chosen action "
         "must be positive)"),
    Case("datasets/callable-nan-propensity",
         lambda: collect(returning(ZEROS, np.array([1.0, NAN, 1.0, 1.0]))), ValueError,
         "returned propensities outside (0, 1]: [nan]"),
    Case("datasets/callable-propensity-above-one",
         lambda: collect(returning(ZEROS, np.full(4, 2.0))), ValueError,
         "returned propensities outside (0, 1]: [2.0, 2.0, 2.0, 2.0]"),
    Case("datasets/callable-propensities-list", lambda: collect(returning(ZEROS, [1.0] * 4)),
         TypeError, "must return propensities as a numpy float array of shape (4,), got list"),
    Case("datasets/callable-propensities-bool",
         lambda: collect(returning(ZEROS, np.ones(4, bool))), TypeError,
         "must return propensities as a numpy float array of shape (4,), got an array of "
         "dtype bool"),
    # --- save_logged_dataset ---------------------------------------------------------------
    Case("datasets/save-dataset-list", lambda: save_logged_dataset([1], "x.npz"), TypeError,
         "`dataset` must be a dict, got list"),
    Case("datasets/save-path-None", lambda: save_logged_dataset(a_dataset(), None), TypeError,
         "`path` must be a str or os.PathLike, got NoneType"),
    Case("datasets/save-compress-str",
         lambda: save_logged_dataset(a_dataset(), "x.npz", compress="y"), TypeError,
         "`compress` must be a bool, got 'y'"),
    Case("datasets/save-key-int", lambda: save_logged_dataset({1: 2}, "x.npz"), TypeError,
         "dataset keys must be strings, got 1"),
    Case("datasets/save-key-reserved-info",
         lambda: save_logged_dataset({"info/x": 2}, "x.npz"), ValueError,
         "dataset key 'info/x' is reserved by the file format"),
    Case("datasets/save-key-reserved-metadata",
         lambda: save_logged_dataset({"__recgym_logged_dataset__": 2}, "x.npz"), ValueError,
         "dataset key '__recgym_logged_dataset__' is reserved by the file format"),
    Case("datasets/save-object-array",
         lambda: save_logged_dataset({"a": np.array([{}], dtype=object)}, "x.npz"), TypeError,
         "dataset entry 'a' is an object array, which cannot be saved without pickle"),
    Case("datasets/save-tuple", lambda: save_logged_dataset({"a": (1, 2)}, "x.npz"),
         TypeError, "dataset entry 'a' holds a tuple, which cannot be saved exactly (use a list)"),
    Case("datasets/save-set", lambda: save_logged_dataset({"a": {1}}, "x.npz"), TypeError,
         "dataset entry 'a' holds a set, which cannot be saved exactly"),
    Case("datasets/save-custom-object", lambda: save_logged_dataset({"a": object()}, "x.npz"),
         TypeError, "dataset entry 'a' holds a object, which cannot be saved exactly"),
    Case("datasets/save-info-key-int",
         lambda: save_logged_dataset({"info": {1: np.zeros(1)}}, "x.npz"), TypeError,
         "info keys must be strings, got 1"),
    Case("datasets/save-dict-key-int", lambda: save_logged_dataset({"a": {1: 2}}, "x.npz"),
         TypeError, "dataset entry 'a' holds a dict with a non-string key 1"),
    # --- load_logged_dataset ---------------------------------------------------------------
    Case("datasets/load-path-None", lambda: load_logged_dataset(None), TypeError,
         "`path` must be a str or os.PathLike, got NoneType"),
    Case("datasets/load-missing", lambda: load_logged_dataset("missing.npz"),
         FileNotFoundError, "no logged dataset at 'missing.npz'"),
    Case("datasets/load-folder", lambda: load_logged_dataset("."), FileNotFoundError,
         "no logged dataset at '.'"),
    Case("datasets/load-empty", lambda: load_logged_dataset(write_bytes("empty.npz", b"")),
         ValueError,
         "cannot load a logged dataset from 'empty.npz': not an .npz (zip) archive"),
    Case("datasets/load-text", lambda: load_logged_dataset(write_bytes("text.npz", b"a,b\n")),
         ValueError,
         "cannot load a logged dataset from 'text.npz': not an .npz (zip) archive"),
    Case("datasets/load-truncated",
         lambda: load_logged_dataset(truncated(dataset_file(), "t.npz", 0.5)), ValueError,
         "cannot load a logged dataset from 't.npz': damaged or truncated "
         "(BadZipFile: File is not a zip file)"),
    Case("datasets/load-truncated-header",
         lambda: load_logged_dataset(truncated(dataset_file(), "t.npz", 10)), ValueError,
         "cannot load a logged dataset from 't.npz'"),
    Case("datasets/load-damaged", lambda: load_logged_dataset(flipped(dataset_file(), "d.npz")),
         ValueError, "cannot load a logged dataset from 'd.npz'"),
    Case("datasets/load-npy", lambda: load_logged_dataset(npy_file()), ValueError,
         "cannot load a logged dataset from 'array.npy': not an .npz (zip) archive"),
    Case("datasets/load-pickled-npy", lambda: load_logged_dataset(pickled_npy_file()),
         ValueError, "cannot load a logged dataset from 'objects.npy'"),
    Case("datasets/load-pickle", lambda: load_logged_dataset(pickle_file()), ValueError,
         "cannot load a logged dataset from 'data.pkl': not an .npz (zip) archive"),
    Case("datasets/load-foreign-npz", lambda: load_logged_dataset(foreign_npz()), ValueError,
         "cannot load a logged dataset from 'foreign.npz': it has no "
         "'__recgym_logged_dataset__' entry (not a recgym.logged_dataset file)"),
    Case("datasets/load-history-file", lambda: load_logged_dataset(history_file()), ValueError,
         "cannot load a logged dataset from 'history.npz': it has no"),
    Case("datasets/load-metadata-not-json",
         lambda: load_logged_dataset(
             npz("metadata.npz", __recgym_logged_dataset__=np.array("nope"))), ValueError,
         "cannot load a logged dataset from 'metadata.npz': its header is not valid JSON "
         "(Expecting value"),
    Case("datasets/load-metadata-foreign",
         lambda: load_logged_dataset(dataset_metadata({"format": "other"})), ValueError,
         "cannot load a logged dataset from 'metadata.npz': its header describes format "
         "'other', not 'recgym.logged_dataset'"),
    Case("datasets/load-version",
         lambda: load_logged_dataset(dataset_metadata(_metadata([], version=2))), ValueError,
         "format version 2 is not supported (this recgym reads version 1)"),
    Case("datasets/load-metadata-incomplete",
         lambda: load_logged_dataset(dataset_metadata(
             {"format": "recgym.logged_dataset", "version": 1})), ValueError,
         "cannot load a logged dataset from 'metadata.npz': damaged (KeyError: 'values')"),
    Case("datasets/load-layout-int",
         lambda: load_logged_dataset(dataset_metadata(_metadata(5))), ValueError,
         "damaged (TypeError: 'int' object is not iterable)"),
    Case("datasets/load-missing-array",
         lambda: load_logged_dataset(dataset_metadata(_metadata([{"key": "a", "kind": "array"}]))),
         ValueError, "damaged (KeyError: 'a')"),
    Case("datasets/load-missing-value",
         lambda: load_logged_dataset(dataset_metadata(_metadata([{"key": "a", "kind": "json"}]))),
         ValueError, "damaged (KeyError: 'a')"),
    Case("datasets/load-unknown-kind",
         lambda: load_logged_dataset(dataset_metadata(_metadata([{"key": "a", "kind": "zzz"}]))),
         ValueError, "damaged (ValueError: unknown entry kind 'zzz')"),
    Case("datasets/load-extra-entries",
         lambda: load_logged_dataset(dataset_metadata(_metadata([]), extra=np.zeros(2))),
         ValueError, "damaged (ValueError: unexpected entries ['extra'])"),
    Case("datasets/load-object-array",
         lambda: load_logged_dataset(dataset_metadata(
             _metadata([{"key": "a", "kind": "array"}]), a=np.array([{}], dtype=object))),
         ValueError, "holds Python objects, which need pickle"),
    # === Off-policy evaluation ==================================================================
    Case("ope/dataset-list", lambda: importance_sampling_estimates([1], evaluation()),
         TypeError, "`dataset` must be a logged dataset dict, got list"),
    Case("ope/dataset-missing-entries",
         lambda: importance_sampling_estimates({"action": ZEROS}, evaluation()), ValueError,
         "`dataset` lacks the entries ['n_trajectories', 'step_per_trajectory', 'reward', "
         "'pscore']"),
    Case("ope/gamma-too-large",
         lambda: importance_sampling_estimates(a_dataset(), evaluation(), gamma=2), ValueError,
         "`gamma` must be a float in [0, 1], got 2"),
    Case("ope/gamma-nan",
         lambda: importance_sampling_estimates(a_dataset(), evaluation(), gamma=NAN),
         ValueError, "`gamma` must be a float in [0, 1], got nan"),
    Case("ope/gamma-str",
         lambda: importance_sampling_estimates(a_dataset(), evaluation(), gamma="1"), TypeError,
         "`gamma` must be a float in [0, 1], got '1'"),
    Case("ope/gamma-bool",
         lambda: importance_sampling_estimates(a_dataset(), evaluation(), gamma=True),
         TypeError, "`gamma` must be a float in [0, 1], got True"),
    Case("ope/evaluation-list",
         lambda: importance_sampling_estimates(a_dataset(), evaluation().tolist()), TypeError,
         "`evaluation` must be an array of the evaluation policy's probabilities of the "
         "logged actions or a recgym Policy, got list"),
    Case("ope/evaluation-policy-name",
         lambda: importance_sampling_estimates(a_dataset(), "random"), TypeError,
         "or a recgym Policy, got str"),
    Case("ope/evaluation-shape",
         lambda: importance_sampling_estimates(a_dataset(), evaluation()[:3]), ValueError,
         "`evaluation` must have shape (8,), one probability per logged step, got (3,)"),
    Case("ope/evaluation-nan",
         lambda: importance_sampling_estimates(a_dataset(), evaluation(NAN)), ValueError,
         "`evaluation` probabilities must lie in [0, 1], got nan at index 0"),
    Case("ope/evaluation-above-one",
         lambda: importance_sampling_estimates(a_dataset(), evaluation(2.0)), ValueError,
         "`evaluation` probabilities must lie in [0, 1], got 2.0 at index 0"),
    Case("ope/evaluation-str",
         lambda: importance_sampling_estimates(a_dataset(), evaluation("a", dtype=str)),
         TypeError, "`evaluation` must hold real probabilities, got dtype <U1"),
    Case("ope/evaluation-bool",
         lambda: importance_sampling_estimates(a_dataset(), evaluation(True, dtype=bool)),
         TypeError, "`evaluation` must hold real probabilities, got dtype bool"),
    Case("ope/policy-without-item_features",
         lambda: importance_sampling_estimates(a_dataset(), RandomPolicy()), ValueError,
         "`item_features` (env.item_features) is needed to evaluate a Policy on a logged "
         "dataset"),
    Case("ope/item_features-list",
         lambda: importance_sampling_estimates(a_dataset(), GreedyPolicy(),
                                               item_features=ITEMS.tolist()), TypeError,
         "`item_features` must be a numpy array, got list"),
    Case("ope/item_features-width",
         lambda: importance_sampling_estimates(a_dataset(), GreedyPolicy(),
                                               item_features=np.eye(3)), ValueError,
         "`item_features` must have one column per feature of `dataset['state']` (8, 2), "
         "got shape (3, 3)"),
    Case("ope/oracle-policy",
         lambda: importance_sampling_estimates(a_dataset(), OracleGreedyPolicy(),
                                               item_features=ITEMS), ValueError,
         "OracleGreedyPolicy needs the true states, which a logged dataset does not hold at "
         "decision time; pass its probabilities as an array instead"),
    Case("ope/pscore-zero",
         lambda: importance_sampling_estimates(with_entries(pscore=evaluation(0.0)),
                                               evaluation()), ValueError,
         "`dataset['pscore']` must lie in (0, 1], got 0.0 at index 0"),
    Case("ope/pscore-nan",
         lambda: importance_sampling_estimates(with_entries(pscore=evaluation(NAN)),
                                               evaluation()), ValueError,
         "`dataset['pscore']` must hold finite values, got nan at index 0"),
    Case("ope/pscore-str",
         lambda: importance_sampling_estimates(with_entries(pscore=evaluation("a", str)),
                                               evaluation()), TypeError,
         "`dataset['pscore']` must hold real numbers, got dtype <U1"),
    Case("ope/reward-nan",
         lambda: importance_sampling_estimates(with_entries(reward=evaluation(NAN)),
                                               evaluation()), ValueError,
         "`dataset['reward']` must hold finite values, got nan at index 0"),
    Case("ope/reward-str",
         lambda: importance_sampling_estimates(with_entries(reward=evaluation("a", str)),
                                               evaluation()), TypeError,
         "`dataset['reward']` must hold real numbers, got dtype <U1"),
    Case("ope/reward-shape",
         lambda: importance_sampling_estimates(with_entries(reward=np.zeros(3)), evaluation()),
         ValueError,
         "`dataset['reward']` must have shape (8,) (n_trajectories · step_per_trajectory), "
         "got (3,)"),
    Case("ope/n_trajectories-str",
         lambda: importance_sampling_estimates(with_entries(n_trajectories="x"), evaluation()),
         TypeError, f"`dataset['n_trajectories']` {POSITIVE_INT} 'x'"),
    Case("ope/n_trajectories-zero",
         lambda: importance_sampling_estimates(with_entries(n_trajectories=0), evaluation()),
         ValueError, f"`dataset['n_trajectories']` {POSITIVE_INT} 0"),
    Case("ope/n_trajectories-fractional",
         lambda: importance_sampling_estimates(with_entries(n_trajectories=2.5), evaluation()),
         TypeError, f"`dataset['n_trajectories']` {POSITIVE_INT} 2.5"),
    Case("ope/step_per_trajectory-negative",
         lambda: importance_sampling_estimates(with_entries(step_per_trajectory=-2),
                                               evaluation()), ValueError,
         f"`dataset['step_per_trajectory']` {POSITIVE_INT} -2"),
    Case("ope/action-out-of-range",
         lambda: importance_sampling_estimates(with_entries(action=np.full(8, 7)),
                                               RandomPolicy(), item_features=ITEMS), ValueError,
         "`actions` must lie in [0, 3), got [7, 7, 7, 7, 7]"),
    Case("ope/estimator-unknown",
         lambda: trajectory_values(a_dataset(), evaluation(), "dm"), ValueError,
         "`estimator` must be one of ['tis', 'pdis', 'sntis', 'snpdis'], got 'dm'"),
    Case("ope/estimator-None",
         lambda: trajectory_values(a_dataset(), evaluation(), None), TypeError,
         "`estimator` must be one of ['tis', 'pdis', 'sntis', 'snpdis'], got None"),
    Case("ope/evaluation_probabilities-ideal",
         lambda: evaluation_probabilities(a_dataset(), make_policy("ideal"), ITEMS), ValueError,
         "IdealPolicy needs the true utilities, which a logged dataset does not hold at "
         "decision time; pass its probabilities as an array instead"),
    Case("ope/evaluation_probabilities-thompson",
         lambda: evaluation_probabilities(a_dataset(), make_policy("linear_thompson"), ITEMS),
         ValueError,
         "LinearThompsonPolicy has no closed-form probabilities (see its exact_propensities); "
         "pass estimated probabilities as an array instead"),
    Case("ope/evaluation_probabilities-chunk_size",
         lambda: evaluation_probabilities(a_dataset(), RandomPolicy(), ITEMS, chunk_size=0),
         ValueError, f"`chunk_size` {POSITIVE_INT} 0"),
    Case("ope/evaluation_probabilities-policy-name",
         lambda: evaluation_probabilities(a_dataset(), "random", ITEMS), TypeError,
         "`policy` must be a recgym Policy instance, got str"),
    Case("ope/evaluation_probabilities-dataset-list",
         lambda: evaluation_probabilities([1], RandomPolicy(), ITEMS), TypeError,
         "`dataset` must be a logged dataset dict, got list"),
    Case("ope/evaluation_probabilities-no-state",
         lambda: evaluation_probabilities({"action": ZEROS}, RandomPolicy(), ITEMS),
         ValueError, "`dataset` lacks the entries ['state']"),
    Case("ope/evaluation_probabilities-items-None",
         lambda: evaluation_probabilities(a_dataset(), RandomPolicy(), None), TypeError,
         "`item_features` must be a numpy array, got NoneType"),
    Case("ope/true_policy_value-env", lambda: true_policy_value(None, "random", 4), TypeError,
         "`env` must be a recgym.population.PopulationEnv, got NoneType"),
    Case("ope/true_policy_value-n_trajectories",
         lambda: true_policy_value(pop_env(), "random", 0), ValueError,
         f"`n_trajectories` {POSITIVE_INT} 0"),
    Case("ope/true_policy_value-gamma",
         lambda: true_policy_value(pop_env(), "random", 4, gamma=-1), ValueError,
         "`gamma` must be a float in [0, 1], got -1"),
    Case("ope/true_policy_value-seed",
         lambda: true_policy_value(pop_env(), "random", 4, seed="a"), TypeError,
         f"`seed` {SEED} 'a'"),
    Case("ope/true_policy_value-progress",
         lambda: true_policy_value(pop_env(), "random", 4, progress=1), TypeError,
         "`progress` must be a bool or None, got 1"),
    Case("ope/rollout_returns-policy-None", lambda: rollout_returns(pop_env(), None, 4),
         TypeError, "`policy` must be a recgym Policy instance, a registered policy name or a "
         "callable observations -> (actions, propensities), got None"),
    # === recgym study: StudyConfig and run_study ==================================================
    Case("study/users-zero", lambda: StudyConfig(users=0), ValueError,
         f"`users` {POSITIVE_INT} 0"),
    Case("study/users-str", lambda: StudyConfig(users="10"), TypeError,
         f"`users` {POSITIVE_INT} '10'"),
    Case("study/items-negative", lambda: StudyConfig(items=-3), ValueError,
         f"`items` {POSITIVE_INT} -3"),
    Case("study/dim-float", lambda: StudyConfig(dim=2.0), TypeError,
         f"`dim` {POSITIVE_INT} 2.0"),
    Case("study/dim-bool", lambda: StudyConfig(dim=True), TypeError,
         f"`dim` {POSITIVE_INT} True"),
    Case("study/steps-zero", lambda: StudyConfig(steps=0), ValueError,
         f"`steps` {POSITIVE_INT} 0"),
    Case("study/every-zero", lambda: StudyConfig(every=0), ValueError,
         f"`every` {POSITIVE_INT} 0"),
    Case("study/seeds-zero", lambda: StudyConfig(seeds=0), ValueError,
         f"`seeds` {POSITIVE_INT} 0"),
    Case("study/alpha-negative", lambda: StudyConfig(alpha=-0.5), ValueError,
         f"`alpha` {NON_NEGATIVE_FLOAT} -0.5"),
    Case("study/normalization-unknown",
         lambda: StudyConfig(feature_normalization="l2"), ValueError,
         "`feature_normalization` must be one of ['row', 'spectral'], got 'l2'"),
    Case("study/seed-negative", lambda: StudyConfig(seed=-1), ValueError,
         "`seed` must be a non-negative integer, got -1"),
    Case("study/seed-None", lambda: StudyConfig(seed=None), TypeError,
         "`seed` must be a non-negative integer, got None"),
    Case("study/obs_std-negative", lambda: StudyConfig(obs_std=-1), ValueError,
         f"`obs_std` {NON_NEGATIVE_FLOAT} -1.0"),
    Case("study/obs_std-nan", lambda: StudyConfig(obs_std=NAN), ValueError,
         f"`obs_std` {NON_NEGATIVE_FLOAT} nan"),
    Case("study/reward_std-str", lambda: StudyConfig(reward_std="a"), TypeError,
         "`reward_std` must be a non-negative float, got 'a'"),
    Case("study/policies-empty", lambda: StudyConfig(policies=()), ValueError,
         "`policies` must name at least one policy, got none"),
    Case("study/policies-unknown", lambda: StudyConfig(policies=("greedy", "nope")),
         ValueError, f"`policies` must hold names from {sorted(POLICIES)}, got 'nope'"),
    Case("study/policies-str", lambda: StudyConfig(policies="greedy"), TypeError,
         "`policies` must be a tuple of policy names, got 'greedy'"),
    Case("study/policies-None", lambda: StudyConfig(policies=None), TypeError,
         "`policies` must be a tuple of policy names, got None"),
    Case("study/policies-not-str", lambda: StudyConfig(policies=[["greedy"]]), TypeError,
         f"`policies` must hold names from {sorted(POLICIES)}, got ['greedy']"),
    Case("study/policies-repeated", lambda: StudyConfig(policies=("greedy", "greedy")),
         ValueError, "`policies` must name each policy once, got 'greedy' twice"),
    Case("study/run_study-config-dict", lambda: run_study({}, "out"), TypeError,
         "`config` must be a StudyConfig, got dict"),
    Case("study/run_study-out-None", lambda: run_study(StudyConfig(), None), TypeError,
         "`out` must be a str or os.PathLike, got NoneType"),
    Case("study/run_study-log-int", lambda: run_study(StudyConfig(), "out", log=5), TypeError,
         "`log` must be a text stream (with a write method) or None, got 5"),
    Case("study/run_study-out-empty", lambda: run_study(StudyConfig(), ""), ValueError,
         "`out` must name a folder, got '' (an empty path would write into the current "
         "folder)"),
    Case("study/run_study-progress-str",
         lambda: run_study(StudyConfig(), "out", progress="yes"), TypeError,
         "`progress` must be a bool or None, got 'yes'"),
    # --- the recgym command ---------------------------------------------------------------
    Case("cli/demo-episodes-zero", lambda: cli("demo", "--episodes", "0"), CLIExit,
         f"exit 2: recgym: error: `episodes` {POSITIVE_INT} 0"),
    Case("cli/demo-seed-negative", lambda: cli("demo", "--seed", "-1"), CLIExit,
         "exit 2: recgym: error: `seed` must be a non-negative integer, got -1"),
    Case("cli/demo-items-zero", lambda: cli("demo", "--items", "0"), CLIExit,
         f"exit 2: recgym: error: `n_items` {POSITIVE_INT} 0"),
    Case("cli/demo-obs-std-nan", lambda: cli("demo", "--obs-std", "nan"), CLIExit,
         f"exit 2: recgym: error: `obs_std` {NON_NEGATIVE_FLOAT} nan"),
    Case("cli/demo-items-not-int", lambda: cli("demo", "--items", "abc"), CLIExit,
         "recgym demo: error: argument --items: invalid int value: 'abc'"),
    Case("cli/study-users-zero", lambda: cli("study", "--users", "0"), CLIExit,
         f"exit 2: recgym: error: `users` {POSITIVE_INT} 0"),
    Case("cli/study-users-fractional", lambda: cli("study", "--users", "1.5"), CLIExit,
         "recgym study: error: argument --users: invalid int value: '1.5'"),
    Case("cli/study-dim-zero", lambda: cli("study", "--dim", "0"), CLIExit,
         f"exit 2: recgym: error: `dim` {POSITIVE_INT} 0"),
    Case("cli/study-steps-negative", lambda: cli("study", "--steps", "-1"), CLIExit,
         f"exit 2: recgym: error: `steps` {POSITIVE_INT} -1"),
    Case("cli/study-seed-negative", lambda: cli("study", "--seed", "-5"), CLIExit,
         "exit 2: recgym: error: `seed` must be a non-negative integer, got -5"),
    Case("cli/study-policies-empty", lambda: cli("study", "--policies", ","), CLIExit,
         "exit 2: recgym: error: `policies` must name at least one policy, got none"),
    Case("cli/study-policies-unknown", lambda: cli("study", "--policies", "greedy,nope"),
         CLIExit, "exit 2: recgym: error: `policies` must hold names from"),
    Case("cli/study-policies-repeated", lambda: cli("study", "--policies", "greedy,greedy"),
         CLIExit, "exit 2: recgym: error: `policies` must name each policy once, got 'greedy'"),
    Case("cli/study-out-is-a-file",
         lambda: cli("study", *TINY_STUDY, "--policies", "random", "--out",
                     str(write_bytes("taken", b""))), CLIExit,
         "exit 2: recgym: error: output folder 'taken' is a file, not a folder: choose "
         "another --out"),
    Case("cli/study-out-empty", lambda: cli("study", "--out", ""), CLIExit,
         "exit 2: recgym: error: `out` must name a folder, got '' (an empty path would "
         "write into the current folder)"),
    Case("cli/study-seeds-zero", lambda: cli("study", "--seeds", "0"), CLIExit,
         f"exit 2: recgym: error: `seeds` {POSITIVE_INT} 0"),
    Case("cli/study-alpha-negative", lambda: cli("study", "--alpha", "-1"), CLIExit,
         f"exit 2: recgym: error: `alpha` {NON_NEGATIVE_FLOAT} -1.0"),
    Case("cli/study-obs-std-nan", lambda: cli("study", "--obs-std", "nan"), CLIExit,
         f"exit 2: recgym: error: `obs_std` {NON_NEGATIVE_FLOAT} nan"),
    Case("cli/study-normalization-unknown", lambda: cli("study", "--normalization", "l2"),
         CLIExit, "recgym study: error: argument --normalization: invalid choice: 'l2'"),
    Case("cli/study-every-zero", lambda: cli("study", "--every", "0"), CLIExit,
         f"exit 2: recgym: error: `every` {POSITIVE_INT} 0"),
    Case("cli/unknown-option", lambda: cli("study", "--unknown"), CLIExit,
         "recgym: error: unrecognized arguments: --unknown"),
    Case("cli/unknown-command", lambda: cli("bogus"), CLIExit,
         "recgym: error: argument COMMAND: invalid choice: 'bogus'"),
    # === recgym.presets and recgym replicate ==================================================
    Case("presets/name-unknown", lambda: replicate("nope"), ValueError,
         f"`name` must be one of {PRESET_NAMES}, got 'nope'"),
    Case("presets/name-int", lambda: replicate(3), TypeError,
         f"`name` must be one of {PRESET_NAMES}, got 3"),
    Case("presets/seeds-zero", lambda: replicate("jiang_2019", seeds=0), ValueError,
         f"`seeds` {POSITIVE_INT} 0"),
    Case("presets/seeds-float", lambda: replicate("jiang_2019", seeds=2.0), TypeError,
         f"`seeds` {POSITIVE_INT} 2.0"),
    Case("presets/seeds-bool", lambda: jiang_2019(seeds=True), TypeError,
         f"`seeds` {POSITIVE_INT} True"),
    Case("presets/base_seed-negative", lambda: jiang_2019(base_seed=-1), ValueError,
         "`base_seed` must be a non-negative integer, got -1"),
    Case("presets/base_seed-None", lambda: jiang_2019(base_seed=None), TypeError,
         "`base_seed` must be a non-negative integer, got None"),
    Case("presets/scale-unknown", lambda: jiang_2019(scale="big"), ValueError,
         "`scale` must be one of ['small', 'paper'], got 'big'"),
    Case("presets/scale-None", lambda: replicate("jiang_2019", scale=None), TypeError,
         "`scale` must be one of ['small', 'paper'], got None"),
    Case("presets/progress-str", lambda: jiang_2019(progress="yes"), TypeError,
         "`progress` must be a bool or None, got 'yes'"),
    Case("presets/save-out-empty", lambda: a_replication().save(""), ValueError,
         "`out` must name a folder, got '' (an empty path would write into the current "
         "folder)"),
    Case("presets/save-out-None", lambda: a_replication().save(None), TypeError,
         "`out` must be a str or os.PathLike, got NoneType"),
    Case("presets/save-out-a-file",
         lambda: a_replication().save(write_bytes("taken", b"")), ValueError,
         "output folder 'taken' is a file, not a folder: choose another --out"),
    Case("presets/save-foreign-folder",
         lambda: a_replication().save(folder_with("mine", "notes.txt")), ValueError,
         "output folder 'mine' is not empty (notes.txt) and holds no recgym replication "
         "(no replication.json): choose a new or empty folder with --out"),
    Case("presets/estimate-expected", lambda: Estimate("a", "a", (1.0,), expected=">0"),
         ValueError, "`expected` must be one of ['> 0', '< 0'] or None, got '>0'"),
    Case("presets/estimate-no-values", lambda: Estimate("a", "a", ()), ValueError,
         "`values` of 'a' must hold one value per seed, got none"),
    Case("presets/rank_discounted-exponent-negative", lambda: RankDiscountedChoice(-0.8),
         ValueError, f"`exponent` {NON_NEGATIVE_FLOAT} -0.8"),
    Case("presets/rank_discounted-exponent-str", lambda: RankDiscountedChoice("0.8"),
         TypeError, "`exponent` must be a non-negative float, got '0.8'"),
    Case("presets/rank_discounted-exponent-inf", lambda: RankDiscountedChoice(INF),
         ValueError, f"`exponent` {NON_NEGATIVE_FLOAT} inf"),
    Case("presets/rank_discounted-exponent-nan", lambda: RankDiscountedChoice(NAN),
         ValueError, f"`exponent` {NON_NEGATIVE_FLOAT} nan"),
    Case("presets/rank_discounted-exponent-bool", lambda: RankDiscountedChoice(True),
         TypeError, "`exponent` must be a non-negative float, got True"),
    Case("presets/rank_discounted-exponent-None", lambda: RankDiscountedChoice(None),
         TypeError, "`exponent` must be a non-negative float, got None"),
    Case("presets/chaney-seeds-zero", lambda: chaney_2018(seeds=0), ValueError,
         f"`seeds` {POSITIVE_INT} 0"),
    Case("presets/chaney-scale-unknown", lambda: chaney_2018(scale="large"), ValueError,
         "`scale` must be one of ['small', 'paper'], got 'large'"),
    Case("presets/chaney-base_seed-float", lambda: chaney_2018(base_seed=1.5), TypeError,
         "`base_seed` must be a non-negative integer, got 1.5"),
    Case("presets/mansoury-seeds-str", lambda: mansoury_2020(seeds="3"), TypeError,
         f"`seeds` {POSITIVE_INT} '3'"),
    Case("presets/mansoury-scale-None", lambda: mansoury_2020(scale=None), TypeError,
         "`scale` must be one of ['small', 'paper'], got None"),
    Case("presets/mansoury-progress-int", lambda: mansoury_2020(progress=1), TypeError,
         "`progress` must be a bool or None, got 1"),
    Case("cli/replicate-name-unknown", lambda: cli("replicate", "nope"), CLIExit,
         f"exit 2: recgym: error: `name` must be one of {PRESET_NAMES}, got 'nope'"),
    Case("cli/replicate-name-missing", lambda: cli("replicate"), CLIExit,
         f"exit 2: recgym: error: `name` must be one of {PRESET_NAMES} (or --list), got "
         "none: recgym replicate NAME"),
    Case("cli/replicate-list-and-name", lambda: cli("replicate", "--list", "jiang_2019"),
         CLIExit, "exit 2: recgym: error: `--list` lists every preset and takes no NAME, "
         "got 'jiang_2019'"),
    Case("cli/replicate-seeds-zero", lambda: cli("replicate", "jiang_2019", "--seeds", "0"),
         CLIExit, f"exit 2: recgym: error: `seeds` {POSITIVE_INT} 0"),
    Case("cli/replicate-seeds-not-int",
         lambda: cli("replicate", "jiang_2019", "--seeds", "two"), CLIExit,
         "recgym replicate: error: argument --seeds: invalid int value: 'two'"),
    Case("cli/replicate-base-seed-negative",
         lambda: cli("replicate", "jiang_2019", "--base-seed", "-2"), CLIExit,
         "exit 2: recgym: error: `base_seed` must be a non-negative integer, got -2"),
    Case("cli/replicate-scale-unknown",
         lambda: cli("replicate", "jiang_2019", "--scale", "huge"), CLIExit,
         "exit 2: recgym: error: `scale` must be one of ['small', 'paper'], got 'huge'"),
    Case("cli/replicate-out-empty", lambda: cli("replicate", "jiang_2019", "--out", ""),
         CLIExit, "exit 2: recgym: error: `out` must name a folder, got ''"),
    Case("cli/replicate-out-foreign",
         lambda: cli("replicate", "jiang_2019", "--out",
                     str(folder_with("study", "study.json"))), CLIExit,
         "exit 2: recgym: error: output folder 'study' is not empty (study.json) and holds "
         "no recgym replication (no replication.json)"),
    # === Plots ==================================================================================
    Case("plots/metric_curves-empty", lambda: plot_metric_curves([]), ValueError,
         "`histories` must hold at least one History, got an empty list"),
    Case("plots/metric_curves-one-History", lambda: plot_metric_curves(a_history()),
         TypeError, "`histories` must be a list of History objects, got History"),
    Case("plots/metric_curves-not-History", lambda: plot_metric_curves([1]), TypeError,
         "`histories` must hold History objects, got int"),
    Case("plots/metric_curves-metrics-str", lambda: plot_metric_curves([a_history()], "gini"),
         TypeError, "`metrics` must be a list of metric names or None, got 'gini'"),
    Case("plots/metric_curves-metrics-unknown",
         lambda: plot_metric_curves([a_history()], ["x"]), ValueError,
         "`metrics` must name metrics recorded in the histories"),
    Case("plots/metric_curves-metrics-empty", lambda: plot_metric_curves([a_history()], []),
         ValueError, "got none"),
    Case("plots/History.plot-metrics-unknown", lambda: a_history().plot(["x"]), ValueError,
         "`metrics` must name metrics recorded in the histories"),
    Case("plots/preference_scatter-empty", lambda: plot_preference_scatter([]), ValueError,
         "`histories` must hold at least one History, got an empty list"),
    Case("plots/preference_scatter-max_points-zero",
         lambda: plot_preference_scatter([a_history()], max_points=0), ValueError,
         f"`max_points` {POSITIVE_INT} 0"),
    Case("plots/exposure-one-History", lambda: plot_exposure(a_history()), TypeError,
         "`histories` must be a list of History objects, got History"),
    Case("plots/principal_components-list", lambda: principal_components([[1.0, 2.0]]),
         TypeError, "`states` must be a numpy array, got list"),
    Case("plots/principal_components-1d", lambda: principal_components(np.ones(3)),
         ValueError, "`states` must have shape (*, *), got (3,)"),
    Case("plots/principal_components-nan",
         lambda: principal_components(np.full((3, 2), NAN)), ValueError, f"`states` {FINITE}"),
    Case("plots/principal_components-k-zero",
         lambda: principal_components(np.ones((3, 2)), k=0), ValueError,
         f"`k` {POSITIVE_INT} 0"),
]
# fmt: on


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_fails_loudly_and_by_name(case: Case, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the file cases write there
    with pytest.raises(case.error, match=re.escape(case.message)):
        case.call()


def test_the_table_is_well_formed() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    allowed = (TypeError, ValueError, KeyError, FileNotFoundError, gym.error.ResetNeeded, CLIExit)
    for case in CASES:
        assert issubclass(case.error, allowed), case.id
        assert case.message, case.id
    assert len(CASES) > 300
