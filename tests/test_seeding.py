"""Seeding details of the Gymnasium environments that the API checkers do not see."""

import numpy as np

import recgym


def test_reading_np_random_before_the_first_reset_keeps_random_state_seeding():
    touched, fresh = (
        recgym.RECEnv(random_state=7, obs_std=0.2),
        recgym.RECEnv(random_state=7, obs_std=0.2),
    )
    _ = touched.np_random  # Gymnasium creates an unseeded generator on first access
    obs_a, info_a = touched.reset()
    obs_b, info_b = fresh.reset()
    assert info_a["user_id"] == info_b["user_id"]
    np.testing.assert_array_equal(obs_a, obs_b)

    vector_touched = recgym.RECVectorEnv(num_envs=3, random_state=7, obs_std=0.2)
    _ = vector_touched.np_random
    np.testing.assert_array_equal(
        vector_touched.reset()[0],
        recgym.RECVectorEnv(num_envs=3, random_state=7, obs_std=0.2).reset()[0],
    )


def test_choosing_the_user_draws_no_user():
    chosen, drawn = recgym.RECEnv(random_state=0), recgym.RECEnv(random_state=0)
    chosen.reset(seed=1, options={"user_id": 3})
    drawn.reset(seed=1, options={"user_id": 3})
    # Had the chosen reset drawn (and discarded) a user, the next draws would differ by one.
    assert chosen.reset()[1]["user_id"] == recgym.RECEnv(random_state=0).reset(seed=1)[1]["user_id"]
    assert drawn.reset()[1]["user_id"] == chosen.user_id


def test_registered_population_has_fixed_features_like_recenv_v0():
    import pettingzoo

    first = pettingzoo.make("parallel", "recgym/Population-v0")
    second = pettingzoo.make("parallel", "recgym/Population-v0")
    np.testing.assert_array_equal(first.user_features, second.user_features)
    np.testing.assert_array_equal(first.item_features, second.item_features)


def test_recenv_render_shows_its_own_copy_of_the_observation():
    env = recgym.RECEnv(obs_std=0.3, random_state=0, render_mode="ansi")
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(1)
    frame = env.render()
    obs[...] = 0.0  # the caller's edits do not reach the frame
    assert env.render() == frame
