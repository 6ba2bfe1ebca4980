"""``RECEnv(..., legacy=True)``: SCOPE-RL 0.2.1's RECEnv, bit for bit.

The golden values in ``fixtures/legacy/*.json`` were recorded from the original by
``fixtures/record_legacy_fixtures.py`` (run in a scratch environment; the original is
never imported here). The original's floating-point results depend on the OpenBLAS
kernel numpy runs (see that script), so the exact comparison replays every fixture in a
subprocess started with the kernel the fixtures were recorded with
(``OPENBLAS_CORETYPE``); it skips, naming the reason, only on a platform whose BLAS does
not compute the recorded probe values (e.g. not OpenBLAS on x86-64). The values that
depend on the random streams alone — which user every reset and every hidden end-of-
episode reset draws — are compared in-process on every platform.

Run ``python tests/test_legacy.py`` to print the replay report (JSON).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from recgym import BaseUserModel, RECEnv, UserModel
from recgym.errors import ResetNeeded
from recgym.legacy import LegacyPopulation, LegacyUserModel

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "legacy"
A_RANDOM_STATE = np.random.RandomState(0)
NAMES = sorted(path.stem for path in FIXTURES.glob("*.json"))


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


# --- the custom user models of the fixtures, written against recgym ---------------------


@dataclass
class BilinearUserModel(BaseUserModel):
    """The README's bilinear ``CustomizedUserModel`` (fixed), as the recorder defines it."""

    user_feature_dim: int
    item_feature_dim: int
    reward_type: str = "continuous"
    reward_std: float = 0.0
    random_state: int | None = None

    def __post_init__(self):
        self.random_ = np.random.RandomState(self.random_state)
        self.coef = self.random_.normal(size=(self.user_feature_dim, self.item_feature_dim))

    def user_preference_dynamics(self, state, action, item_feature_vector, alpha=1.0):
        coefficient = state.T @ self.coef @ item_feature_vector[action]
        state = state + alpha * coefficient * item_feature_vector[action]
        return state / np.linalg.norm(state, ord=2)

    def reward_function(self, state, action, item_feature_vector):
        logit = state.T @ self.coef @ item_feature_vector[action]
        if self.reward_type == "continuous":
            return self.random_.normal(loc=logit, scale=self.reward_std)
        return self.random_.binomial(1, p=1 / (1 + np.exp(-logit)))


@dataclass
class DampedUserModel(BaseUserModel):
    """The recorder's ``DampedUserModel`` *without* creating ``random_`` (legacy mode gives it)."""

    user_feature_dim: int
    item_feature_dim: int
    reward_type: str = "continuous"
    reward_std: float = 0.0
    random_state: int | None = None

    def user_preference_dynamics(self, state, action, item_feature_vector, alpha=1.0):
        item = item_feature_vector[action]
        state = state + 0.5 * (state @ item) * item
        return state / np.linalg.norm(state, ord=2)

    def reward_function(self, state, action, item_feature_vector):
        logit = 2.0 * (state @ item_feature_vector[action])
        return self.random_.normal(loc=logit, scale=self.reward_std)


@dataclass
class DampedUserModelOwnRandom(DampedUserModel):
    """The same model creating ``random_`` itself, as the original required."""

    def __post_init__(self):
        self.random_ = np.random.RandomState(self.random_state)


def variants(fixture: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Variant name -> ``RECEnv`` keyword arguments reproducing the fixture's constructor."""
    kwargs = dict(fixture["constructor"])
    model = kwargs.pop("UserModel", None)
    for key in ("user_feature_vector", "item_feature_vector"):
        if key in kwargs:
            kwargs[key] = np.array(kwargs[key])
    if model is None:
        return {"class": kwargs}
    if model == "BilinearUserModel":
        return {"class": {**kwargs, "UserModel": BilinearUserModel}}
    if model == "DampedUserModel":
        return {
            "class-given-random_": {**kwargs, "UserModel": DampedUserModel},
            "class-own-random_": {**kwargs, "UserModel": DampedUserModelOwnRandom},
        }
    assert model.startswith("UserModel("), model
    fields = {"user_feature_dim": 5, "item_feature_dim": 5, "reward_std": 0.1, "random_state": 99}
    return {
        "recgym.UserModel-instance": {**kwargs, "UserModel": UserModel(**fields)},
        "LegacyUserModel-instance": {**kwargs, "UserModel": LegacyUserModel(**fields)},
    }


# --- exact replay --------------------------------------------------------------------------


class Recorder:
    """Collects mismatches between legacy mode and a fixture (with ``==`` only)."""

    def __init__(self) -> None:
        self.mismatches: list[str] = []
        self.compared = 0

    def equal(self, where: str, got: Any, expected: Any) -> None:
        self.compared += 1
        got, expected = (x.tolist() if isinstance(x, np.ndarray) else x for x in (got, expected))
        if got != expected or type(got) is not type(expected):
            self.mismatches.append(f"{where}: got {got!r}, expected {expected!r}")


def replay_scenario(env: RECEnv, episodes: list[dict[str, Any]], check: Recorder, where: str):
    """Run one recorded scenario on ``env`` and compare everything comparable."""
    population = env.unwrapped._population
    for e, episode in enumerate(episodes):
        obs, info = env.reset(seed=episode["reset_seed"])
        check.equal(f"{where} ep{e} reset obs", obs, episode["reset"]["obs"])
        check.equal(f"{where} ep{e} reset user_id", info["user_id"], episode["reset"]["user_id"])
        check.equal(f"{where} ep{e} reset state", info["state"], episode["reset"]["state"])
        for t, step in enumerate(episode["steps"]):
            at = f"{where} ep{e} t{t}"
            obs, reward, terminated, truncated, info = env.step(step["action"])
            check.equal(f"{at} reward", reward, step["reward"])
            check.equal(f"{at} terminated", terminated, step["done"])
            check.equal(f"{at} truncated", truncated, step["truncated"])
            if not step["done"]:
                check.equal(f"{at} obs", obs, step["obs"])
                check.equal(f"{at} user_id", info["user_id"], step["info_user_id"])
                check.equal(f"{at} state", info["state"], step["info_state"])
                continue
            # Gymnasium semantics: the terminal user's state, the noiseless terminal obs.
            check.equal(f"{at} user_id", info["user_id"], episode["reset"]["user_id"])
            check.equal(f"{at} terminal state", info["state"], step["terminal_state"])
            check.equal(f"{at} terminal obs", obs, np.clip(step["terminal_state"], -1, 1))
            # What the original returned instead: its hidden reset's draws, kept aside.
            check.equal(f"{at} hidden user", population.auto_reset_user_id, step["info_user_id"])
            check.equal(f"{at} hidden obs", population.auto_reset_observation[0], step["obs"])
            check.equal(
                f"{at} hidden state",
                env.user_feature_vector[population.auto_reset_user_id],
                step["info_state"],
            )


def platform_differences(fixture: dict[str, Any]) -> list[str]:
    """Probe values this platform's BLAS computes differently from the recording one."""
    differences = []
    for a, b, dot, norm in fixture["probes"]["dot_and_norm"]:
        a, b = np.array(a), np.array(b)
        if float(a @ b) != dot or float(np.linalg.norm(a, ord=2)) != norm:
            differences.append(f"dot/norm of dimension {len(a)}")
            break
    kwargs = variants(fixture)[next(iter(variants(fixture)))]
    random_ = np.random.RandomState(kwargs["random_state"])
    tables = {}
    for key, rows, dim in (
        ("user_feature_vector", kwargs.get("n_users", 100), kwargs.get("user_feature_dim", 5)),
        ("item_feature_vector", kwargs.get("n_items", 5), kwargs.get("item_feature_dim", 5)),
    ):
        tables[key] = kwargs.get(key)
        if tables[key] is None:
            tables[key] = random_.uniform(low=-1.0, high=1.0, size=(rows, dim))
        if float(np.linalg.norm(tables[key], ord=2)) != fixture["spectral_norms"][key]:
            differences.append(f"spectral norm of {key}")
    return differences


def replay(name: str) -> dict[str, Any]:
    """Replay one fixture in every scenario and model variant; returns a JSON-able report."""
    fixture = load(name)
    check = Recorder()
    report: dict[str, Any] = {"platform": platform_differences(fixture)}
    try:
        for variant, kwargs in variants(fixture).items():
            env = RECEnv(**kwargs, legacy=True)
            check.equal(f"{variant} users", env.user_feature_vector, fixture["user_feature_vector"])
            check.equal(f"{variant} items", env.item_feature_vector, fixture["item_feature_vector"])
            for scenario, episodes in fixture["scenarios"].items():
                env = RECEnv(**kwargs, legacy=True)
                replay_scenario(env, episodes, check, f"{variant} {scenario}")
    except Exception as error:  # report, do not crash the subprocess
        check.mismatches.append(f"raised {type(error).__name__}: {error}")
    report.update(mismatches=check.mismatches[:20], compared=check.compared)
    return report


@pytest.fixture(scope="module")
def replayed() -> dict[str, Any]:
    """The replay report of every fixture, computed under the recording BLAS kernel."""
    kernel = load(NAMES[0])["recorded_with"]["openblas_kernel"]
    environment = {**os.environ, "OPENBLAS_CORETYPE": kernel}
    done = subprocess.run(
        [sys.executable, __file__],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )
    if done.returncode < 0:
        pytest.skip(f"the replay under OPENBLAS_CORETYPE={kernel} died (signal {-done.returncode})")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_fixtures_are_present():
    assert len(NAMES) >= 4
    for name in NAMES:
        fixture = load(name)
        assert fixture["recorded_with"]["scope-rl"] == "0.2.1"
        assert sum(len(episodes) for episodes in fixture["scenarios"].values()) >= 9


@pytest.mark.parametrize("name", NAMES)
def test_legacy_mode_equals_the_original_exactly(replayed, name):
    report = replayed[name]
    if report["platform"]:
        pytest.skip(
            "this platform's BLAS computes differently from the one the fixtures were "
            f"recorded with ({', '.join(report['platform'])}); the original's own numbers "
            "differ here too"
        )
    assert report["mismatches"] == []
    assert report["compared"] > 100


# --- exact on every platform: what depends on the random streams alone -------------------


def user_draws(env: RECEnv, episodes: list[dict[str, Any]]) -> tuple[list[int], list[Any]]:
    users, hidden = [], []
    population = env.unwrapped._population
    for episode in episodes:
        users.append(env.reset(seed=episode["reset_seed"])[1]["user_id"])
        for step in episode["steps"]:
            terminated = env.step(step["action"])[2]
            hidden.append(population.auto_reset_user_id if terminated else None)
    return users, hidden


@pytest.mark.parametrize("name", NAMES)
def test_every_reset_draws_the_original_user_on_any_platform(name):
    fixture = load(name)
    for kwargs in variants(fixture).values():
        for episodes in fixture["scenarios"].values():
            users, hidden = user_draws(RECEnv(**kwargs, legacy=True), episodes)
            assert users == [episode["reset"]["user_id"] for episode in episodes]
            assert hidden == [
                step["info_user_id"] if step["done"] else None
                for episode in episodes
                for step in episode["steps"]
            ]


def test_make_with_legacy_draws_the_original_users():
    fixture = load("default")
    episodes = fixture["scenarios"]["dataset"]
    env = gym.make("RECEnv-v0", legacy=True)  # the registered random_state=12345
    users, _ = user_draws(env, episodes)
    assert users == [episode["reset"]["user_id"] for episode in episodes]


def test_options_user_id_consumes_the_user_draw():
    """Choosing the user still consumes the original's randint: later resets stay aligned."""
    episodes = load("default")["scenarios"]["plain"]
    env = RECEnv(random_state=12345, legacy=True)
    _, info = env.reset(options={"user_id": 3})
    assert info["user_id"] == 3
    for step in episodes[0]["steps"]:
        env.step(step["action"])
    assert env.reset()[1]["user_id"] == episodes[1]["reset"]["user_id"]


# --- Gymnasium semantics and the documented legacy behaviour ------------------------------


def test_terminal_step_returns_the_terminal_observation_then_step_raises():
    env = RECEnv(step_per_episode=3, obs_std=0.2, random_state=1, legacy=True)
    _, first = env.reset()
    for t in range(3):
        obs, reward, terminated, truncated, info = env.step(t)
        assert type(reward) is float
        assert terminated is (t == 2)
        assert truncated is False
    assert info["user_id"] == first["user_id"]  # not the hidden reset's user
    np.testing.assert_array_equal(obs, np.clip(info["state"], -1.0, 1.0))
    with pytest.raises(ResetNeeded):
        env.step(0)


def test_step_before_reset_raises():
    with pytest.raises(ResetNeeded):
        RECEnv(random_state=0, legacy=True).step(0)


def test_reset_seed_reseeds_only_the_environment_stream():
    """As the original: the same users and observations, but the reward noise goes on."""
    env = RECEnv(reward_std=0.5, obs_std=0.1, random_state=0, legacy=True)
    runs = []
    for _ in range(2):
        obs, info = env.reset(seed=3)
        run = [(obs.tolist(), info["user_id"])]
        for action in (0, 1, 2):
            obs, reward, *_ = env.step(action)
            run.append((obs.tolist(), reward))
        runs.append(run)
    assert runs[0][0] == runs[1][0]
    for (obs_a, reward_a), (obs_b, reward_b) in zip(runs[0][1:], runs[1][1:]):
        assert obs_a == obs_b  # the dynamics draw nothing: same states, same noise
        assert reward_a != reward_b


def test_a_fresh_environment_repeats_everything():
    def run():
        env = RECEnv(reward_std=0.5, obs_std=0.1, random_state=0, legacy=True)
        out = [env.reset(seed=3)[0].tolist()]
        out += [env.step(a)[:2] for a in (0, 1, 2)]
        return [(x[0].tolist(), x[1]) if isinstance(x, tuple) else x for x in out]

    assert run() == run()


def test_noise_draws_are_consumed_at_zero_noise():
    """obs_std=0 still draws the normals: the next user is the original's next user."""
    quiet = RECEnv(obs_std=0.0, random_state=5, legacy=True)
    noisy = RECEnv(obs_std=0.3, random_state=5, legacy=True)
    for env in (quiet, noisy):
        env.reset()
        for action in range(9):
            env.step(action % 5)
    assert [quiet.reset()[1]["user_id"] for _ in range(5)] == [
        noisy.reset()[1]["user_id"] for _ in range(5)
    ]


def test_binary_rewards_use_binomial_on_the_model_stream():
    env = RECEnv(reward_type="binary", step_per_episode=50, random_state=4, legacy=True)
    _, info = env.reset()
    model = RECEnv(random_state=4, legacy=True).user_model  # a fresh RandomState(4)
    stream = np.random.RandomState(4)
    items = env.item_feature_vector
    state = info["state"]
    for t in range(50):
        action = t % 5
        _, reward, _, _, info = env.step(action)
        logit = state @ items[action]
        assert reward == float(stream.binomial(1, p=1 / (1 + np.exp(-logit))))
        assert reward in (0.0, 1.0)
        state = model.user_preference_dynamics(state, action, item_feature_vector=items)
        assert info["state"].tolist() == state.tolist()
    assert env.reward_range == (0.0, 1.0)


def test_default_model_is_the_legacy_user_model_on_the_shared_seed():
    env = RECEnv(reward_std=0.1, random_state=77, legacy=True)
    assert type(env.user_model) is LegacyUserModel
    assert env.user_model.random_state == 77
    expected = np.random.RandomState(77)
    assert env.user_model.random_.get_state()[1].tolist() == expected.get_state()[1].tolist()
    assert isinstance(env.unwrapped._population, LegacyPopulation)


def test_custom_model_without_random_gets_a_random_state():
    env = RECEnv(
        UserModel=DampedUserModel,
        user_feature_dim=3,
        item_feature_dim=3,
        random_state=8,
        legacy=True,
    )
    assert isinstance(env.user_model.random_, np.random.RandomState)
    fresh = np.random.RandomState(8)
    assert env.user_model.random_.random_sample() == fresh.random_sample()


def test_custom_model_keeps_its_own_random():
    env = RECEnv(UserModel=BilinearUserModel, random_state=8, legacy=True)
    # it drew its matrix from its own RandomState(8) first: the stream is not restarted
    reference = np.random.RandomState(8)
    reference.normal(size=(5, 5))
    assert env.user_model.random_.random_sample() == reference.random_sample()


def test_rendering_and_check_env_work_in_legacy_mode():
    from gymnasium.utils.env_checker import check_env

    env = RECEnv(random_state=12345, legacy=True, render_mode="ansi")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env, skip_render_check=True)
    env.reset(seed=0)
    env.step(1)
    assert "RECEnv step 1/10" in env.render()


def test_info_holds_copies_in_legacy_mode():
    env = RECEnv(random_state=12345, legacy=True)
    obs, info = env.reset(seed=0)
    info["state"][:] = 9.0
    obs[:] = 9.0
    _, _, _, _, info = env.step(0)
    assert np.all(np.abs(env.user_feature_vector) < 1)
    assert not np.shares_memory(info["state"], env.unwrapped._population.states)


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        pytest.param(
            {"random_state": None},
            ValueError,
            "`random_state` must be given with legacy=True (the original required it: "
            "`random_state must be given`), got None",
            id="random_state-none",
        ),
        pytest.param(
            {"random_state": 2**32},
            ValueError,
            "`random_state` must be an integer in [0, 2**32) with legacy=True, got 4294967296",
            id="random_state-too-large",
        ),
        pytest.param(
            {"random_state": -1},
            ValueError,
            "`random_state` must be an integer in [0, 2**32) with legacy=True, got -1",
            id="random_state-negative",
        ),
        pytest.param(
            {"random_state": A_RANDOM_STATE},
            TypeError,
            "`random_state` must be an integer in [0, 2**32) with legacy=True (the original "
            f"seeded numpy.random.RandomState with it), got {A_RANDOM_STATE!r}",
            id="random_state-instance",
        ),
        pytest.param(
            {"random_state": 0, "feature_normalization": "row"},
            ValueError,
            "`feature_normalization` must be 'spectral' with legacy=True (the original's "
            "normalisation), got 'row'",
            id="row-normalization",
        ),
        pytest.param(
            {"random_state": 0, "legacy": "yes"},
            TypeError,
            "`legacy` must be a bool, got 'yes'",
            id="legacy-not-bool",
        ),
        pytest.param(
            {"random_state": 0, "UserModel": UserModel(5, 5, random_state=None)},
            ValueError,
            "a recgym.UserModel instance needs an integer `random_state` and alpha=1.0 with "
            "legacy=True (the original seeded its own RandomState with it and had no alpha), "
            "got random_state=None, alpha=1.0",
            id="instance-without-seed",
        ),
        pytest.param(
            {"random_state": 0, "UserModel": UserModel(5, 5, random_state=1, alpha=0.5)},
            ValueError,
            "a recgym.UserModel instance needs an integer `random_state` and alpha=1.0 with "
            "legacy=True (the original seeded its own RandomState with it and had no alpha), "
            "got random_state=1, alpha=0.5",
            id="instance-with-alpha",
        ),
        pytest.param(
            {"random_state": 0, "UserModel": type("MyModel", (UserModel,), {})},
            ValueError,
            "`UserModel` cannot be a subclass of recgym.UserModel with legacy=True (its "
            "batched arithmetic is not the original's); subclass "
            "recgym.legacy.LegacyUserModel instead, got MyModel",
            id="usermodel-subclass",
        ),
        pytest.param(
            {"random_state": 0, "n_users": 0},
            ValueError,
            "`n_users` must be a positive integer, got 0",
            id="bad-count-before-drawing",
        ),
    ],
)
def test_bad_legacy_arguments_raise(kwargs, error, message):
    kwargs = {"legacy": True, **kwargs}
    with pytest.raises(error) as caught:
        RECEnv(**kwargs)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("seed", "error", "message"),
    [
        (
            2**32,
            ValueError,
            "`seed` must be an integer in [0, 2**32) with legacy=True, got 4294967296",
        ),
        (
            1.5,
            TypeError,
            "`seed` must be an integer in [0, 2**32) with legacy=True (the original "
            "seeded numpy.random.RandomState with it), got 1.5",
        ),
    ],
)
def test_bad_reset_seed_raises(seed, error, message):
    env = RECEnv(random_state=0, legacy=True)
    with pytest.raises(error) as caught:
        env.reset(seed=seed)
    assert str(caught.value) == message


def test_numpy_integer_reset_seed_is_accepted():
    env = RECEnv(obs_std=0.1, random_state=0, legacy=True)
    a = env.reset(seed=np.int64(5))[0]
    b = env.reset(seed=5)[0]
    assert a.tolist() == b.tolist()


def test_legacy_environment_pickles_and_continues_identically():
    import pickle

    env = RECEnv(obs_std=0.1, reward_std=0.2, random_state=0, legacy=True)
    env.reset(seed=1)
    env.step(0)
    clone = pickle.loads(pickle.dumps(env))
    a = [env.step(x)[:2] for x in (1, 2, 3)]
    b = [clone.step(x)[:2] for x in (1, 2, 3)]
    assert [(o.tolist(), r) for o, r in a] == [(o.tolist(), r) for o, r in b]
    assert env.reset()[1]["user_id"] == clone.reset()[1]["user_id"]


def test_legacy_user_model_rejects_unequal_dimensions():
    with pytest.raises(ValueError, match="must equal `user_feature_dim` for the inner-product"):
        LegacyUserModel(user_feature_dim=5, item_feature_dim=4)


if __name__ == "__main__":
    print(json.dumps({name: replay(name) for name in NAMES}))
