"""The engines of the step: numba's fused kernels against the numpy path, engine selection,
thread counts, and the arrays a step hands out."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from test_streams import CONFIGURATIONS, GROUPS, N, make_config, slates_for

from recgym import RECEnv, RECVectorEnv, worlds
from recgym._buffers import Recycler
from recgym.choice import Cascade, MultinomialLogit, PositionBased
from recgym.config import AUTO_NUMBA_SLOTS
from recgym.core import PerUserFallbackWarning, Population
from recgym.engagement import Churn, Satiation
from recgym.population import PopulationEnv
from recgym.user_model import UserModel

numba = pytest.importorskip("numba")

GRAPH = worlds.erdos_renyi(N, 4, rng=0)

#: Every configuration of tests/test_streams.py, plus what only the whole population has
#: (social influence) and float32 with slates and binary rewards.
ENGINE_CONFIGURATIONS = {
    **CONFIGURATIONS,
    "social": {"social_graph": GRAPH, "social_weight": 0.5, "obs_std": 0.1, "reward_std": 0.1},
    "social, bounded, churn, slates": {
        "social_graph": GRAPH,
        "social_weight": 0.5,
        "confidence_bound": 0.2,
        "churn": Churn(threshold=0.0, steepness=4.0, return_probability=0.4),
        "slate_size": 2,
        "choice_model": "mnl",
    },
    "alpha": {"UserModel": UserModel(4, 4, alpha=0.3), "obs_std": 0.2},
    "float32, mnl, binary": {
        "dtype": np.float32,
        "slate_size": 3,
        "choice_model": "mnl",
        "reward_type": "binary",
        "obs_std": 0.1,
    },
    "float32, everything": {**CONFIGURATIONS["everything"], "dtype": np.float32},
    # Without a null item, users who consumed every item of their slate take none.
    "mnl without a null item, memory": {
        "slate_size": 3,
        "choice_model": MultinomialLogit(temperature=0.5, no_choice_utility=-np.inf),
        "repeat_consumption": False,
        "reward_std": 0.1,
    },
    "cascade, per-user parameters": {
        "slate_size": 4,
        "choice_model": Cascade(
            temperature=worlds.per_group([0.2, 1.0, 3.0, 1.0], GROUPS),
            bias=worlds.per_group([0.0, 0.1, -0.2, 0.3], GROUPS),
            continuation=worlds.per_group([1.0, 0.5, 0.9, 0.0], GROUPS),
        ),
        "repeat_consumption": False,
    },
    "pbm, examination": {
        "slate_size": 3,
        "choice_model": PositionBased(examination=[0.9, 0.5, 0.2], bias=0.1),
        "idiosyncratic_std": 0.2,
    },
}


def pair(configuration):
    """The numpy and the numba population of a configuration, seeded alike."""
    kwargs = dict(ENGINE_CONFIGURATIONS[configuration])
    dtype = kwargs.get("dtype", np.float64)
    populations = [
        Population(make_config(**kwargs, engine=engine), N, dtype) for engine in ("numpy", "numba")
    ]
    assert [p.engine for p in populations] == ["numpy", "numba"]
    return populations


#: Float64 results of the two engines agree to this (absolute; they are of order 1).
TOLERANCE_FLOAT64 = 1e-12
#: Float32 results agree to float32 precision: 1e-5, about 80 ulp of 1.0 (measured
#: differences after 40 steps: a few ulp).
TOLERANCE_FLOAT32 = 1e-5

DISCRETE = ("choices", "consumed_items", "active", "left", "returned", "visits", "consumed")


@pytest.mark.parametrize("configuration", ENGINE_CONFIGURATIONS)
def test_the_fused_path_agrees_with_numpy(configuration):
    numpy_path, fused = pair(configuration)
    tolerance = TOLERANCE_FLOAT64 if numpy_path.dtype == np.float64 else TOLERANCE_FLOAT32
    rng = np.random.default_rng(0)
    for episode in range(2):
        for population in (numpy_path, fused):
            population.seed(7 + episode)
        expected, got = numpy_path.reset(np.arange(N)), fused.reset(np.arange(N))
        np.testing.assert_array_equal(expected, got)  # the same draws, the same arithmetic
        for _ in range(20):
            actions = slates_for(rng, numpy_path.available, N, numpy_path.slate_size)
            if numpy_path.slate_size == 1:
                actions = actions[:, 0]
            expected, got = numpy_path.step(actions), fused.step(actions)
            for a, b in (*zip(expected, got), (numpy_path.states, fused.states)):
                assert a.dtype == b.dtype == numpy_path.dtype
                np.testing.assert_allclose(a, b, rtol=0, atol=tolerance)
            if numpy_path.satiation is not None:
                np.testing.assert_allclose(
                    numpy_path.satiation, fused.satiation, rtol=0, atol=tolerance
                )
            for name in DISCRETE:
                a, b = getattr(numpy_path, name), getattr(fused, name)
                assert (a is None) == (b is None), name
                if a is not None:
                    np.testing.assert_array_equal(a, b, err_msg=name)
            if numpy_path.available is not None:
                np.testing.assert_array_equal(numpy_path.available, fused.available)


def digest(arrays) -> str:
    hasher = hashlib.sha256()
    for array in arrays:
        hasher.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return hasher.hexdigest()


def fused_rollout(configuration="everything", n=5000, steps=8):
    """A digest of a numba-engine rollout whose blocks (of 512) span several threads' work."""
    kwargs = dict(ENGINE_CONFIGURATIONS[configuration])
    kwargs.pop("dtype", None)
    env = PopulationEnv(
        n_users=n, n_items=12, user_feature_dim=4, item_feature_dim=4, step_per_episode=100,
        random_state=3, block_size=512, engine="numba", **kwargs,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    out = list(env.reset_batch(seed=1)[:1])
    k = env.config.slate_size
    for _ in range(steps):
        available = env._population.available
        actions = slates_for(rng, available, n, k)
        obs, rewards, terminated, _, info = env.step_batch(actions if k > 1 else actions[:, 0])
        out += [obs, rewards, info["state"], terminated, info.get("choice", np.zeros(0))]
    return digest(out)


def test_one_and_two_numba_threads_give_the_same_bits():
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba runs on one thread here")
    before = numba.get_num_threads()
    try:
        results = {}
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results[threads] = [fused_rollout(name) for name in ("everything", "noise", "mnl")]
    finally:
        numba.set_num_threads(before)
    assert results[1] == results[2]


SCRIPT = """
import json, sys
sys.path.insert(0, {tests!r})
from test_engines import fused_rollout
print(json.dumps([fused_rollout(name) for name in ("everything", "binary", "cascade")]))
"""


def test_thread_counts_in_new_processes_give_the_same_bits():
    import os

    results = []
    for threads in ("1", "2"):
        environment = {**os.environ, "PYTHONHASHSEED": threads}
        for variable in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            environment[variable] = threads
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT.format(tests=str(Path(__file__).parent))],
            capture_output=True, text=True, env=environment, check=False, timeout=300,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        results.append(json.loads(result.stdout.strip().splitlines()[-1]))
    assert results[0] == results[1]
    assert results[0][0] == fused_rollout("everything")  # and this process's


# --- engine selection ----------------------------------------------------------------------


def test_auto_takes_numba_for_built_in_models_from_the_threshold():
    assert PopulationEnv(n_users=AUTO_NUMBA_SLOTS)._population.engine == "numba"
    assert PopulationEnv(n_users=AUTO_NUMBA_SLOTS - 1)._population.engine == "numpy"
    assert RECEnv()._population.engine == "numpy"  # one slot
    big = {"n_users": AUTO_NUMBA_SLOTS}
    assert PopulationEnv(**big, engine="numpy")._population.engine == "numpy"
    assert PopulationEnv(n_users=3, engine="numba")._population.engine == "numba"
    kwargs = {**big, "slate_size": 3, "choice_model": "pbm", "churn": Churn(threshold=0.0)}
    assert PopulationEnv(**kwargs)._population.engine == "numba"
    vector = RECVectorEnv(AUTO_NUMBA_SLOTS, satiation=Satiation())
    assert vector._population.engine == "numba"


class OwnModel(UserModel):
    """A subclass: its arithmetic may differ, so it runs on numpy."""


def test_models_of_ones_own_run_on_numpy(customized_user_model):
    big = {"n_users": AUTO_NUMBA_SLOTS}
    assert PopulationEnv(**big, UserModel=OwnModel)._population.engine == "numpy"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerUserFallbackWarning)
        env = PopulationEnv(**big, UserModel=customized_user_model)
    assert env._population.engine == "numpy"
    message = (
        "`engine` 'numba' covers recgym's built-in models only: the user model is OwnModel, "
        "not recgym.UserModel (models of one's own run on numpy); use engine='numpy' or "
        "'auto'"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        PopulationEnv(n_users=3, UserModel=OwnModel, engine="numba")


def test_engine_is_checked():
    message = "`engine` must be one of ['auto', 'numpy', 'numba'], got 'jax'"
    with pytest.raises(ValueError, match=re.escape(message)):
        PopulationEnv(n_users=3, engine="jax")
    message = "`engine` must be 'auto' or 'numpy' with legacy=True"
    with pytest.raises(ValueError, match=re.escape(message)):
        RECEnv(random_state=0, legacy=True, engine="numba")
    assert RECEnv(random_state=0, legacy=True, engine="numpy").legacy


NO_NUMBA = """
import sys
sys.modules["numba"] = None  # as if it were not installed
from recgym.population import PopulationEnv
assert PopulationEnv(n_users=5000)._population.engine == "numpy"  # auto falls back
try:
    PopulationEnv(n_users=3, engine="numba")
except ImportError as error:
    print(error)
"""


def test_engine_numba_without_numba_names_the_extra():
    result = subprocess.run(
        [sys.executable, "-c", NO_NUMBA], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.startswith(
        "engine='numba' needs numba, the optional extra recgym[fast]: pip install 'recgym[fast]'"
    )


def test_import_recgym_does_not_import_numba():
    code = "import sys, recgym; print('numba' in sys.modules, 'recgym._kernels' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


# --- the arrays a step hands out ------------------------------------------------------------


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_returned_arrays_are_never_overwritten_while_held(engine):
    env = PopulationEnv(
        n_users=50, n_items=6, obs_std=0.1, reward_std=0.1, step_per_episode=20, engine=engine
    )
    kept = [env.reset_batch(seed=0)]
    copies = [(kept[0][0].copy(), kept[0][1]["state"].copy())]
    views = []
    for step in range(12):
        result = env.step_batch(np.arange(50) % 6)
        if step % 3 == 0:  # keep some results whole, a row view of others, drop the rest
            kept.append(result)
            copies.append((result[0].copy(), result[4]["state"].copy(), result[1].copy()))
        elif step % 3 == 1:
            views.append((result[0][7], result[0][7].copy()))
    assert np.array_equal(kept[0][0], copies[0][0])
    assert np.array_equal(kept[0][1]["state"], copies[0][1])
    for result, (obs, state, rewards) in zip(kept[1:], copies[1:]):
        assert np.array_equal(result[0], obs) and np.array_equal(result[1], rewards)
        assert np.array_equal(result[4]["state"], state)
    for view, copy in views:
        assert np.array_equal(view, copy)


def test_a_loop_that_drops_its_results_reuses_a_few_buffers():
    env = PopulationEnv(n_users=50, n_items=6, obs_std=0.1, step_per_episode=30, engine="numba")
    obs, _ = env.reset_batch(seed=0)
    seen = set()
    for _ in range(20):
        obs, *_ = env.step_batch(np.arange(50) % 6)
        seen.add(id(obs))
    assert len(seen) <= 3


def test_the_recycler_reuses_only_arrays_nothing_references():
    recycler = Recycler()
    first = recycler.take((4,), np.float64)
    other = recycler.take((4,), np.float64)
    assert other is not first  # `first` is held
    address = first.ctypes.data
    first.flags.writeable = False  # as the core freezes what it hands out
    del first
    second = recycler.take((4,), np.float64)  # first's memory: nothing references it
    assert second.ctypes.data == address and second.flags.writeable
    view = second[1:]
    del second
    other_address = other.ctypes.data
    del other
    third = recycler.take((4,), np.float64)  # `second` lives on in its view's base
    assert third.ctypes.data == other_address
    assert view.base is not None and view.base.ctypes.data == address
    assert recycler.take((4,), np.float32).dtype == np.float32  # per shape and dtype


def test_fused_slates_are_validated_with_the_numpy_messages():
    env = PopulationEnv(n_users=20, n_items=6, slate_size=3, choice_model="mnl", engine="numba")
    env.reset_batch(seed=0)
    slates = np.tile(np.array([0, 1, 2]), (20, 1))
    env.step_batch(slates)
    slates[4] = [3, 5, 3]
    message = (
        "`actions` must not repeat an item within a slate: user 4 has item 3 at positions 0 "
        "and 2"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        env.step_batch(slates)
    slates[4] = [3, 5, 6]
    with pytest.raises(ValueError, match=re.escape("got 6 for user 4 at position 2")):
        env.step_batch(slates)


def test_the_kernels_exp_is_within_two_ulp_of_numpys():
    from recgym._kernels import _exp

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-745, 709, 3000), rng.uniform(-3, 3, 3000)])
    got = np.array([_exp(value) for value in x])
    expected = np.exp(x)
    normal = expected > np.finfo(np.float64).tiny
    assert (np.abs(got - expected)[normal] <= 2 * np.spacing(expected[normal])).all()
    assert (np.abs(got - expected)[~normal] <= np.spacing(0.0)).all()  # subnormals: 1 unit
    special = {-np.inf: 0.0, -746.0: 0.0, 0.0: 1.0, 709.8: np.inf, np.inf: np.inf}
    for value, result in special.items():
        assert _exp(value) == result, value


def test_the_vector_env_and_checkpoints_run_on_the_fused_engine():
    kwargs = {"n_items": 8, "obs_std": 0.1, "reward_std": 0.2, "step_per_episode": 3}
    kwargs |= {"churn": Churn(threshold=0.0, steepness=3.0), "random_state": 0}
    envs = [RECVectorEnv(40, engine=engine, **kwargs) for engine in ("numpy", "numba")]
    assert [env._population.engine for env in envs] == ["numpy", "numba"]
    actions = np.random.default_rng(0).integers(8, size=(10, 40))
    for env in envs:
        env.reset(seed=2)
    for row in actions:  # autoresets included: every third step
        a, b = (env.step(row) for env in envs)
        for x, y in zip(a[:4], b[:4]):
            np.testing.assert_allclose(x, y, rtol=0, atol=TOLERANCE_FLOAT64)
    fused = PopulationEnv(n_users=30, n_items=8, slate_size=2, choice_model="cascade",
                          obs_std=0.1, engine="numba", random_state=1)  # fmt: skip
    twin = PopulationEnv(n_users=30, n_items=8, slate_size=2, choice_model="cascade",
                         obs_std=0.1, engine="numba", random_state=1)  # fmt: skip
    fused.reset_batch(seed=0)
    slates = np.tile(np.array([3, 5]), (30, 1))
    fused.step_batch(slates)
    twin.restore(fused.checkpoint())
    for _ in range(3):
        a, b = fused.step_batch(slates), twin.step_batch(slates)
        for x, y in zip(a[:4], b[:4]):
            assert np.array_equal(x, y)


def test_a_fused_environment_pickles_without_its_buffers():
    import copy
    import pickle

    env = PopulationEnv(n_users=AUTO_NUMBA_SLOTS, n_items=10, obs_std=0.1, random_state=0)
    env.reset_batch(seed=0)
    for _ in range(3):
        env.step_batch(np.zeros(env.n_users, dtype=np.int64))
    saved = pickle.dumps(env)
    assert len(saved) < 3 * env.n_users * 5 * 8  # the pool, the states; not the buffers
    twins = [pickle.loads(saved), copy.deepcopy(env)]
    actions = np.ones(env.n_users, dtype=np.int64)
    expected = env.step_batch(actions)
    for twin in twins:
        assert twin._population.engine == "numba"
        got = twin.step_batch(actions)
        assert np.array_equal(expected[0], got[0]) and np.array_equal(expected[1], got[1])
