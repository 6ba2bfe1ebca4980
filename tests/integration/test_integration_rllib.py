"""RLlib trains one shared policy over a recgym population: one PPO iteration, tiny.

Marked ``integration``; skipped where ray[rllib] is not installed.
"""

from __future__ import annotations

import pytest

pytest.importorskip("ray.rllib")

import ray
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
from ray.tune.registry import register_env

from recgym.population import PopulationEnv

pytestmark = pytest.mark.integration
USERS, HORIZON = 4, 10


def test_ppo_one_iteration_with_a_shared_policy(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    register_env(
        "recgym_population_test",
        lambda config: ParallelPettingZooEnv(
            PopulationEnv(n_users=USERS, n_items=5, step_per_episode=HORIZON, random_state=0)
        ),
    )
    config = (
        PPOConfig()
        .environment("recgym_population_test")
        .multi_agent(policies={"shared"}, policy_mapping_fn=lambda agent_id, *a, **k: "shared")
        .env_runners(num_env_runners=0)
        .training(train_batch_size_per_learner=200, minibatch_size=100, num_epochs=1)
    )
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        algo = config.build_algo()
        result = algo.train()
        runners = result["env_runners"]
        assert runners["num_env_steps_sampled_lifetime"] >= 200
        # RLlib's agent steps: every user is an agent, USERS per environment step.
        assert runners["num_agent_steps_sampled_lifetime"] == {
            "user_0": pytest.approx(runners["num_env_steps_sampled_lifetime"], abs=HORIZON),
            **{
                f"user_{i}": pytest.approx(runners["num_env_steps_sampled_lifetime"], abs=HORIZON)
                for i in range(1, USERS)
            },
        }
        assert "episode_return_mean" in runners  # summed over the USERS agents
        algo.stop()
    finally:
        ray.shutdown()
