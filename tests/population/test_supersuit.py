"""A real multi-agent client library drives PopulationEnv: SuperSuit's vector wrappers.

``pettingzoo_env_to_vec_env_v1`` turns the ParallelEnv into a vector env with one
sub-environment per user, and ``concat_vec_envs_v1`` stacks copies of that. SuperSuit
keeps pre-1.0 conventions (api_conventions.md §3.2): the per-agent space as
``observation_space``, a list of info dicts, uint8 flags, float32 rewards and a reset in
the same step an episode ends (the final observation goes to
``info["terminal_observation"]``). The numbers must be those of ``step_batch``.
"""

from __future__ import annotations

import numpy as np
import pytest
import supersuit as ss

from recgym.population import PopulationEnv

KWARGS = {
    "n_users": 8,
    "n_items": 10,
    "step_per_episode": 3,
    "obs_std": 0.1,
    "reward_std": 0.1,
    "random_state": 0,
}


def check_step(returned, reference, expected_obs_after):
    """Compare one SuperSuit step with ``reference.step_batch`` on the same actions."""
    obs, rewards, terminations, truncations, infos = returned
    ref_obs, ref_rewards, ref_terminations, ref_truncations, ref_info = reference
    assert rewards.dtype == np.float32
    assert np.array_equal(rewards, ref_rewards.astype(np.float32))
    assert terminations.dtype == truncations.dtype == np.uint8
    assert terminations.tolist() == ref_terminations.astype(np.uint8).tolist()
    assert truncations.tolist() == ref_truncations.astype(np.uint8).tolist()
    assert isinstance(infos, list)
    if ref_terminations.all():
        finals = np.stack([info["terminal_observation"] for info in infos])
        assert np.array_equal(finals, ref_obs)
    else:
        assert not any("terminal_observation" in info for info in infos)
        assert np.array_equal(np.stack([info["state"] for info in infos]), ref_info["state"])
    assert np.array_equal(obs, expected_obs_after)


def test_markov_vector_env_matches_step_batch():
    env, reference = PopulationEnv(**KWARGS), PopulationEnv(**KWARGS)
    vector = ss.pettingzoo_env_to_vec_env_v1(env)
    assert vector.num_envs == 8
    assert vector.observation_space is env.observation_space("user_0")
    assert vector.action_space is env.action_space("user_0")

    obs, infos = vector.reset(seed=0)
    ref_obs, ref_info = reference.reset_batch(seed=0)
    assert np.array_equal(obs, ref_obs)
    assert [info["user_id"] for info in infos] == ref_info["user_id"].tolist()

    rng = np.random.default_rng(1)
    for _ in range(3 * KWARGS["step_per_episode"]):  # three episodes
        actions = rng.integers(10, size=8)
        returned = vector.step(actions)
        reference_step = reference.step_batch(actions)
        after = reference.reset_batch()[0] if reference_step[2].all() else reference_step[0]
        check_step(returned, reference_step, after)
    vector.close()


@pytest.mark.parametrize("num_cpus", [0, 2])  # 0 (and 1): in-process; 2: two processes
def test_concat_vec_envs_matches_step_batch(num_cpus):
    vector = ss.concat_vec_envs_v1(
        ss.pettingzoo_env_to_vec_env_v1(PopulationEnv(**KWARGS)),
        2,
        num_cpus=num_cpus,
        base_class="gymnasium",
    )
    try:
        assert vector.num_envs == 16
        # Copy i is reset with seed + i.
        references = [PopulationEnv(**KWARGS), PopulationEnv(**KWARGS)]
        # (Infos are left out: SuperSuit nests them differently across processes.)
        obs, _ = vector.reset(seed=5)
        expected = [ref.reset_batch(seed=5 + i)[0] for i, ref in enumerate(references)]
        assert np.array_equal(obs, np.concatenate(expected))

        rng = np.random.default_rng(2)
        for _ in range(2 * KWARGS["step_per_episode"]):
            actions = rng.integers(10, size=16)
            obs, rewards, terminations, _, _ = vector.step(actions)
            steps = [ref.step_batch(part) for ref, part in zip(references, np.split(actions, 2))]
            assert np.array_equal(rewards, np.concatenate([s[1] for s in steps]).astype(np.float32))
            assert terminations.tolist() == np.concatenate([s[2] for s in steps]).tolist()
            after = [
                ref.reset_batch()[0] if s[2].all() else s[0] for ref, s in zip(references, steps)
            ]
            assert np.array_equal(obs, np.concatenate(after))
    finally:
        vector.close()
