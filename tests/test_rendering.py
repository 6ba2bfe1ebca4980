"""RGB frames (``render_mode="rgb_array"``) of the three environments and their canvas."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import recgym
from recgym import RECEnv, RECVectorEnv
from recgym.population import PopulationEnv
from recgym.rendering import (
    FRAME_SIZE,
    PALETTE,
    RENDER_MODES,
    PreferenceCanvas,
    _disc,
    _stamp,
    population_dot_radius,
    principal_axes,
)

SHAPE = (*FRAME_SIZE, 3)


def is_frame(frame):
    return isinstance(frame, np.ndarray) and frame.shape == SHAPE and frame.dtype == np.uint8


def rec_frames(seed=0, actions=(0, 3, 1, 4, 2), **kwargs):
    env = RECEnv(render_mode="rgb_array", random_state=1, **kwargs)
    frames = [env.render()]
    env.reset(seed=seed)
    frames.append(env.render())
    for action in actions:
        env.step(action)
        frames.append(env.render())
    return frames


# --- the modes --------------------------------------------------------------------------


def test_every_environment_lists_rgb_array_and_keeps_its_fps():
    assert RENDER_MODES == ["human", "ansi", "rgb_array"]
    assert RECEnv.metadata == {"render_modes": RENDER_MODES, "render_fps": 4}
    assert PopulationEnv.metadata["render_modes"] == RENDER_MODES
    assert PopulationEnv.metadata["render_fps"] == 4
    assert RECVectorEnv.metadata["render_modes"] == ["ansi", "rgb_array"]
    assert RECVectorEnv.metadata["render_fps"] == 4


def test_an_unknown_render_mode_is_a_value_error_only():
    # Deliberately not a TypeError: SB3 retries gym.make without render_mode on TypeError,
    # which would silently build an environment that cannot record (docs/errors.md).
    message = "`render_mode` must be one of ['human', 'ansi', 'rgb_array'] or None, got 'rgb'"
    for make in (RECEnv, PopulationEnv):
        with pytest.raises(ValueError, match=re.escape(message)) as caught:
            make(render_mode="rgb")
        assert not isinstance(caught.value, TypeError)


# --- RECEnv -----------------------------------------------------------------------------


def test_recenv_frames_are_uint8_images_and_deterministic():
    frames = rec_frames()
    assert all(is_frame(frame) for frame in frames)
    again = rec_frames()
    assert all(np.array_equal(a, b) for a, b in zip(frames, again))
    # Something is drawn and changes as the user moves; the first two frames differ by
    # the user (before reset: the items only).
    assert not np.array_equal(frames[0], frames[1])
    assert not np.array_equal(frames[2], frames[-1])
    other = rec_frames(seed=5)
    assert any(not np.array_equal(a, b) for a, b in zip(frames, other))


def test_recenv_frame_shows_the_user_colour_and_the_path():
    env = RECEnv(render_mode="rgb_array", random_state=1)
    env.reset(seed=0, options={"user_id": 3})
    colour = PALETTE[3]
    first = env.render()
    assert (first == colour).all(axis=2).sum() > 20  # the user's dot
    env.step(0)
    env.step(1)
    later = env.render()
    tint = np.rint(0.45 * colour + 0.55 * 255).astype(np.uint8)
    assert (later == tint).all(axis=2).sum() > 5  # the path since the reset
    assert (first == tint).all(axis=2).sum() == 0  # no path yet


def test_recenv_frame_is_a_new_array_each_time():
    env = RECEnv(render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    frame[:] = 0
    assert env.render().any()


def test_recenv_rgb_passes_gymnasium_check_env_with_the_render_check():
    env = gym.make("RECEnv-v0", render_mode="rgb_array")
    check_env(env.unwrapped)  # skip_render_check=False: calls render() in rgb_array
    env.reset(seed=0)
    assert is_frame(env.render())


def test_recenv_rgb_after_the_end_and_in_legacy_mode():
    env = RECEnv(render_mode="rgb_array", random_state=12345, legacy=True)
    env.reset(seed=0)
    for _ in range(10):
        env.step(0)
    assert is_frame(env.render())


def test_recenv_rgb_frame_survives_a_checkpoint():
    env = RECEnv(render_mode="rgb_array", random_state=2, obs_std=0.1)
    env.reset(seed=3)
    env.step(1)
    env.step(2)
    checkpoint = env.checkpoint()
    twin = RECEnv(render_mode="rgb_array", random_state=2, obs_std=0.1)
    twin.restore(checkpoint)
    assert np.array_equal(twin.render(), env.render())
    env.step(4)
    twin.step(4)
    assert np.array_equal(twin.render(), env.render())
    # A checkpoint of an environment that did not render: the path restarts there.
    plain = RECEnv(random_state=2, obs_std=0.1)
    plain.reset(seed=3)
    plain.step(1)
    twin.restore(plain.checkpoint())
    assert is_frame(twin.render())
    twin.step(0)
    assert is_frame(twin.render())


def test_recenv_other_modes_are_unchanged():
    env = RECEnv(render_mode="ansi")
    env.reset(seed=0)
    assert isinstance(env.render(), str)


def test_recenv_with_different_feature_dims_uses_the_pool_axes(customized_user_model):
    env = RECEnv(
        UserModel=customized_user_model,
        user_feature_dim=3,
        item_feature_dim=4,
        render_mode="rgb_array",
        random_state=0,
    )
    background = env.render()
    assert is_frame(background)
    env.reset(seed=0)
    assert is_frame(env.render())
    # No item marks: nothing of the item grey on the empty canvas.
    assert not (background == 150).all(axis=2).any()


# --- RECVectorEnv -----------------------------------------------------------------------


def test_vector_env_returns_a_tuple_of_frames_one_per_sub_env():
    envs = gym.make_vec("RECEnv-v0", num_envs=3, render_mode="rgb_array")
    with pytest.raises(ValueError, match=re.escape("Cannot call `render` before `reset`")):
        envs.render()
    envs.reset(seed=0)
    frames = envs.render()
    assert isinstance(frames, tuple) and len(frames) == 3
    assert all(is_frame(frame) for frame in frames)
    for _ in range(12):  # past the end and the autoreset
        envs.step(np.array([0, 1, 2]))
        frames = envs.render()
        assert all(is_frame(frame) for frame in frames)


def test_vector_env_frames_equal_recenv_frames_for_one_env():
    # RECVectorEnv(num_envs=1) is RECEnv (same user, same path); the vector frame shows
    # the same picture except for the autoreset timing.
    single = RECEnv(render_mode="rgb_array", random_state=4)
    vector = RECVectorEnv(1, render_mode="rgb_array", random_state=4)
    single.reset(seed=9)
    vector.reset(seed=9)
    assert np.array_equal(single.render(), vector.render()[0])
    for action in (1, 0, 3):
        single.step(action)
        vector.step(np.array([action]))
        assert np.array_equal(single.render(), vector.render()[0])


def test_vector_env_frames_are_deterministic_and_survive_a_checkpoint():
    def run():
        envs = RECVectorEnv(4, render_mode="rgb_array", random_state=0, obs_std=0.1)
        envs.reset(seed=1)
        for step in range(13):
            envs.step(np.full(4, step % 5))
        return envs

    a, b = run(), run()
    assert all(np.array_equal(x, y) for x, y in zip(a.render(), b.render()))
    twin = RECVectorEnv(4, render_mode="rgb_array", random_state=0, obs_std=0.1)
    twin.restore(a.checkpoint())
    assert all(np.array_equal(x, y) for x, y in zip(a.render(), twin.render()))


def test_vector_env_new_episode_starts_a_new_path():
    envs = RECVectorEnv(2, render_mode="rgb_array", random_state=0, step_per_episode=3)
    envs.reset(seed=0)
    for _ in range(3):
        envs.step(np.zeros(2, dtype=np.int64))
    ended = envs.render()
    envs.step(np.zeros(2, dtype=np.int64))  # the autoreset step
    assert np.isnan(envs._trail[:, 1:]).all()
    restarted = envs.render()
    assert not np.array_equal(ended[0], restarted[0])


# --- PopulationEnv ----------------------------------------------------------------------


def test_population_frame_is_one_image_deterministic():
    def run():
        env = PopulationEnv(n_users=300, n_items=12, render_mode="rgb_array", random_state=0)
        frames = [env.render()]
        env.reset_batch(seed=0)
        frames.append(env.render())
        for _ in range(3):
            env.step_batch(np.arange(300) % 12)
            frames.append(env.render())
        return frames

    frames = run()
    assert all(is_frame(frame) for frame in frames)
    assert all(np.array_equal(a, b) for a, b in zip(frames, run()))
    assert not np.array_equal(frames[1], frames[-1])


def test_population_frame_colours_by_group_and_skips_absent_users():
    from recgym.engagement import Churn

    groups = np.array(["a"] * 50 + ["b"] * 50)
    env = PopulationEnv(n_users=100, user_groups=groups, render_mode="rgb_array", random_state=0)
    env.reset_batch(seed=0)
    frame = env.render()
    for colour in PALETTE[:2]:
        assert (frame == colour).all(axis=2).any()
    assert not (frame == PALETTE[2]).all(axis=2).any()
    churning = PopulationEnv(
        n_users=50, churn=Churn(threshold=10.0), render_mode="rgb_array", random_state=0
    )
    churning.reset_batch(seed=0)
    assert (churning.render() == PALETTE[0]).all(axis=2).any()  # user 0 is there
    churning.step_batch(np.zeros(50, dtype=np.int64))  # everyone leaves
    left = churning.render()
    assert is_frame(left)
    assert not any((left == colour).all(axis=2).any() for colour in PALETTE)


def test_population_through_pettingzoo_parallel_api_renders():
    env = PopulationEnv(n_users=3, render_mode="rgb_array", random_state=0)
    env.reset(seed=0)
    env.step(dict.fromkeys(env.agents, 0))
    assert is_frame(env.render())


# --- the canvas -------------------------------------------------------------------------


def test_principal_axes_are_orthonormal_signed_and_degenerate_cases_work():
    rng = np.random.default_rng(0)
    table = rng.normal(size=(20, 5))
    axes = principal_axes(table)
    assert axes.shape == (2, 5)
    np.testing.assert_allclose(axes @ axes.T, np.eye(2), atol=1e-12)
    assert (axes[np.arange(2), np.abs(axes).argmax(axis=1)] > 0).all()
    np.testing.assert_allclose(np.abs(axes), np.abs(principal_axes(-table)), atol=1e-12)
    one = principal_axes(np.array([[0.0, 3.0, 4.0]]))  # one item: a completed basis
    np.testing.assert_allclose(one @ one.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(one[0], [0.0, 0.6, 0.8])
    line = principal_axes(np.array([[1.0], [-2.0]]))  # d = 1
    assert line.tolist() == [[1.0], [0.0]]


def test_canvas_projection_and_background():
    items = np.eye(3)[:2]
    canvas = PreferenceCanvas(items, np.zeros((4, 3)))
    assert not canvas.background.flags.writeable
    np.testing.assert_allclose(np.abs(canvas.project(items)), np.eye(2), atol=1e-12)
    with pytest.raises(ValueError, match=re.escape("`size` must be at least (16, 16)")):
        PreferenceCanvas(items, np.zeros((4, 3)), size=(8, 64))
    small = PreferenceCanvas(items, np.zeros((4, 3)), size=(32, 48))
    assert small.frame(np.zeros((1, 2)), PALETTE[0], progress=0.5).shape == (32, 48, 3)


def test_far_points_are_clamped_to_the_border():
    canvas = PreferenceCanvas(np.eye(2), np.zeros((1, 2)))
    frame = canvas.frame(np.array([[50.0, -50.0]]), PALETTE[1], radius=0)
    assert (frame[-1, -1] == PALETTE[1]).all()


def test_deduplicated_drawing_equals_drawing_every_user():
    rng = np.random.default_rng(1)
    canvas = PreferenceCanvas(rng.normal(size=(7, 3)), rng.normal(size=(10, 3)))
    points = rng.normal(scale=0.4, size=(20_000, 2))
    colors = PALETTE[rng.integers(0, 10, size=20_000)]
    for radius in (0, 1, 3):
        naive = canvas.background.copy()
        at = np.rint(canvas._pixels(points)).astype(np.intp)
        _stamp(naive, at[:, 0], at[:, 1], _disc(radius), colors)
        canvas._stamp_items(naive)
        assert np.array_equal(canvas.frame(points, colors, radius=radius), naive)


def test_population_dot_radius():
    assert [population_dot_radius(n) for n in (1, 100, 101, 10_000, 10_001)] == [3, 3, 2, 2, 1]


def test_import_recgym_registers_rgb_for_make():
    env = gym.make("RECEnv-v0", render_mode="rgb_array")
    assert env.render_mode == "rgb_array"
    assert recgym.RECEnv.metadata["render_modes"][-1] == "rgb_array"


def test_a_checkpoint_path_with_an_infinity_is_refused():
    env = RECEnv(render_mode="rgb_array", random_state=2)
    env.reset(seed=3)
    env.step(1)
    checkpoint = env.checkpoint()
    checkpoint["environment_state"]["trail"][0, 0] = np.inf
    twin = RECEnv(render_mode="rgb_array", random_state=2)
    with pytest.raises(
        ValueError,
        match=r"checkpoint entry environment_state\['trail'\] must be a float array without "
        r"infinities, got an array of dtype float64",
    ):
        twin.restore(checkpoint)
