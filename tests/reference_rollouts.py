"""Reference rollouts and their digests, shared by tests/test_reproducibility.py and the
subprocesses it starts (run as ``python tests/reference_rollouts.py``: prints the
digests as JSON).

A digest is the sha256 of the rollout's arrays (observations, rewards, true states, …)
converted to float64 and concatenated in a fixed order.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from recgym import RECEnv
from recgym.population import PopulationEnv, collect_logged_dataset
from recgym.population.policies import SoftmaxPolicy
from recgym.population.simulation import simulate

#: A small population with observation and reward noise, row-normalised features (no
#: LAPACK: the spectral norm would take an SVD).
POPULATION = {
    "n_users": 64,
    "n_items": 12,
    "user_feature_dim": 6,
    "item_feature_dim": 6,
    "step_per_episode": 5,
    "obs_std": 0.1,
    "reward_std": 0.2,
    "feature_normalization": "row",
    "random_state": 7,
}
RECORDED_TRAJECTORY = ("states", "observations", "actions", "rewards")


def digest(arrays) -> str:
    """sha256 of the arrays' values as float64, concatenated."""
    hasher = hashlib.sha256()
    for array in arrays:
        hasher.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return hasher.hexdigest()


def population_rollout(episodes=2, api="arrays", **overrides):
    """Observations, rewards and states of ``episodes`` episodes (first reset seeded).

    ``api="dicts"`` drives the PettingZoo dict API with the action dicts' keys in a
    shuffled order, and returns the same arrays (rows in agent order).
    """
    env = PopulationEnv(**{**POPULATION, **overrides})
    n, steps = env.n_users, env.step_per_episode
    actions = np.random.default_rng(1).integers(env.n_items, size=(episodes, steps, n))
    order = np.random.default_rng(2).permutation(n)
    out = []
    for episode in range(episodes):
        seed = 2024 if episode == 0 else None
        if api == "arrays":
            obs, info = env.reset_batch(seed=seed)
            out += [obs, info["state"], info["user_id"]]
            for t in range(steps):
                obs, rewards, terminated, truncated, info = env.step_batch(actions[episode, t])
                out += [obs, rewards, info["state"], terminated, truncated]
        else:
            obs, infos = env.reset(seed=seed)
            agents = env.agents
            out += [
                np.stack([obs[a] for a in agents]),
                np.stack([infos[a]["state"] for a in agents]),
                np.array([infos[a]["user_id"] for a in agents]),
            ]
            for t in range(steps):
                shuffled = {agents[i]: int(actions[episode, t, i]) for i in order}
                obs, rewards, terminated, truncated, infos = env.step(shuffled)
                out += [
                    np.stack([obs[a] for a in agents]),
                    np.array([rewards[a] for a in agents]),
                    np.stack([infos[a]["state"] for a in agents]),
                    np.array([terminated[a] for a in agents]),
                    np.array([truncated[a] for a in agents]),
                ]
    return out


def blocks_rollout(episodes=2):
    """A PopulationEnv of four blocks of 16 users: slates with MNL, churn and returns, noise."""
    from recgym.engagement import Churn

    churn = Churn(threshold=0.0, steepness=5.0, return_probability=0.3)
    env = PopulationEnv(**POPULATION, block_size=16, slate_size=3, choice_model="mnl", churn=churn)
    n, steps = env.n_users, env.step_per_episode
    rng = np.random.default_rng(4)
    out = []
    for episode in range(episodes):
        obs, info = env.reset_batch(seed=2024 if episode == 0 else None)
        out += [obs, info["state"]]
        for _ in range(steps):
            slates = np.argsort(rng.random((n, env.n_items)), axis=1)[:, :3]
            obs, rewards, terminated, _, info = env.step_batch(slates)
            out += [obs, rewards, info["state"], terminated, info["choice"], info["active"]]
    return out


def rec_env_rollout(episodes=3, **overrides):
    """Every return of a RECEnv over ``episodes`` episodes (first reset seeded)."""
    kwargs = {"n_items": 12, "obs_std": 0.1, "reward_std": 0.2, "random_state": 7}
    kwargs |= {"feature_normalization": "row"} | overrides
    env = RECEnv(**kwargs)
    actions = np.random.default_rng(3).integers(env.n_items, size=(episodes, env.step_per_episode))
    out = []
    for episode in range(episodes):
        obs, info = env.reset(seed=2024 if episode == 0 else None)
        out += [obs, info["state"], info["user_id"]]
        for action in actions[episode]:
            obs, reward, terminated, truncated, info = env.step(int(action))
            out += [obs, reward, info["state"], terminated, truncated]
    return out


def history_arrays(history):
    """The numbers of a History that come from the rollout (not the metrics)."""
    return [
        history.rewards,
        history.exposure,
        history.consumption,
        history.initial_states,
        history.final_states,
        *(history.trajectory[name] for name in RECORDED_TRAJECTORY),
    ]


def simulate_rollout(policy):
    env = PopulationEnv(**POPULATION)
    history = simulate(env, policy, seed=5, metrics=(), record=RECORDED_TRAJECTORY)
    return history_arrays(history)


def reference_digests() -> dict[str, str]:
    """The digests recorded in tests/test_reproducibility.py: no number goes through a
    BLAS matrix product or LAPACK (random and mass-media policies, row normalisation)."""
    return {
        "population": digest(population_rollout()),
        "population_binary": digest(population_rollout(reward_type="binary")),
        "population_blocks": digest(blocks_rollout()),
        "rec_env": digest(rec_env_rollout()),
        "simulate_random": digest(simulate_rollout("random")),
        "simulate_mass_media": digest(simulate_rollout("mass_media")),
    }


def all_digests() -> dict[str, str]:
    """The reference digests plus runs whose numbers go through BLAS or LAPACK, a
    stochastic scoring policy and the logged-dataset collector (same machine only)."""
    dataset = collect_logged_dataset(
        PopulationEnv(**POPULATION), SoftmaxPolicy(temperature=0.3), 150, seed=9
    )
    return {
        **reference_digests(),
        "population_dicts": digest(population_rollout(api="dicts")),
        "population_float32": digest(population_rollout(dtype=np.float32)),
        "population_spectral": digest(population_rollout(feature_normalization="spectral")),
        "rec_env_spectral": digest(rec_env_rollout(feature_normalization="spectral")),
        "rec_env_legacy": digest(rec_env_rollout(feature_normalization="spectral", legacy=True)),
        "simulate_softmax": digest(simulate_rollout(SoftmaxPolicy(temperature=0.3))),
        "logged_dataset": digest(
            dataset[key] for key in ("state", "action", "reward", "done", "terminal", "pscore")
        ),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    # --reference: only the digests whose numbers go through no BLAS product or LAPACK
    # (the same whatever the thread counts).
    digests = reference_digests() if "--reference" in sys.argv[1:] else all_digests()
    print(json.dumps(digests, sort_keys=True))
