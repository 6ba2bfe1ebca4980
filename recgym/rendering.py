"""Rendering shared by recgym's environments: text frames and RGB frames.

Text (``"ansi"``, ``"human"``) shows each user's state, observation and last reward.

RGB frames (``"rgb_array"``) draw the users' preferences against the items on one fixed
plane, with numpy only (no matplotlib, no fonts):

* **The plane** is spanned by the first two principal axes of the item table (its top two
  right singular vectors, uncentred, so the origin stays the origin and ``⟨s, v⟩`` keeps
  its meaning), computed once per environment. When a custom user model has
  ``item_feature_dim != user_feature_dim`` the axes come from the user pool instead and
  the items are not drawn.
* **The scale** is fixed too: the unit circle (where the default user model keeps the
  preferences, ``‖s‖ = 1``), the items and the pool all fit in the frame, so frames of
  one environment line up in a video. Points outside are clamped to the border.
* **Marks**: a faint cross for the axes, the unit circle in light grey, every item as a
  small grey ``+`` (drawn over the users), every user as a coloured dot — coloured by its group
  (``user_groups``) when the world has groups, by its pool index otherwise (a ten-colour
  palette); ``RECEnv`` and ``RECVectorEnv`` add the user's path since the episode began,
  and a bar along the bottom edge shows the episode's progress.

A frame is ``uint8 (height, width, 3)``, :data:`FRAME_SIZE` = ``(256, 256)`` (multiples of
16, as video encoders like them), and the same arrays always give the same frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "FRAME_SIZE",
    "PALETTE",
    "RENDER_MODES",
    "PreferenceCanvas",
    "population_dot_radius",
    "principal_axes",
    "render_text",
]

#: Render modes of ``RECEnv`` and ``PopulationEnv``: ``"human"`` prints, ``"ansi"``
#: returns text, ``"rgb_array"`` returns an RGB frame. ``RECVectorEnv`` has ``"ansi"``
#: and ``"rgb_array"``.
RENDER_MODES = ["human", "ansi", "rgb_array"]

#: ``(height, width)`` of every RGB frame, in pixels.
FRAME_SIZE = (256, 256)

#: The users' colours, uint8 ``(10, 3)`` (matplotlib's "tab10" values).
PALETTE = np.array(
    [
        [31, 119, 180],
        [255, 127, 14],
        [44, 160, 44],
        [214, 39, 40],
        [148, 103, 189],
        [140, 86, 75],
        [227, 119, 194],
        [127, 127, 127],
        [188, 189, 34],
        [23, 190, 207],
    ],
    dtype=np.uint8,
)
PALETTE.flags.writeable = False

_BACKGROUND = 255
_AXES = 236
_CIRCLE = 205
_ITEM = 150
_BAR_EMPTY = 228
_BAR_FULL = 110
_BAR_HEIGHT = 3
_ITEM_MARK = np.array([(0, 0), (0, -1), (0, 1), (0, -2), (0, 2), (-1, 0), (1, 0), (-2, 0), (2, 0)])


def render_text(
    header: str, rows: Sequence[tuple[Any, NDArray[Any], NDArray[Any] | None, Any]]
) -> str:
    """Format a header line and ``(user_id, state, observation, last_reward)`` rows.

    An observation or reward that is None (nothing returned yet) shows as ``n/a``.
    """
    lines = [header]
    with np.printoptions(precision=3, suppress=True, floatmode="fixed", sign=" "):
        for user_id, state, obs, reward in rows:
            reward_text = "   n/a" if reward is None else f"{reward:+.3f}"
            obs_text = "n/a" if obs is None else obs
            lines.append(
                f"  user {user_id:>6}  reward {reward_text}  state {state}  obs {obs_text}"
            )
    return "\n".join(lines)


def principal_axes(table: NDArray[Any]) -> NDArray[np.float64]:
    """The first two principal axes of a table's rows, uncentred: float64 ``(2, d)``.

    The top two right singular vectors of ``table`` (``(m, d)``), each signed so that its
    largest entry is positive (a deterministic choice among ``±v``). With fewer than two
    rows the second axis is completed by a unit vector orthogonal to the first; with
    ``d == 1`` the second axis is zero (everything lies on a line).
    """
    table = np.asarray(table, dtype=np.float64)
    d = table.shape[1]
    axes = np.zeros((2, d))
    if table.shape[0]:
        _, _, vt = np.linalg.svd(table, full_matrices=False)
        axes[: min(2, len(vt))] = vt[:2]
    if not axes[0].any():
        axes[0, 0] = 1.0
    if not axes[1].any() and d > 1:
        basis = np.eye(d)[np.argmin(np.abs(axes[0]))]
        second = basis - (basis @ axes[0]) * axes[0]
        axes[1] = second / np.linalg.norm(second)
    largest = np.argmax(np.abs(axes), axis=1)
    signs = np.where(axes[np.arange(2), largest] < 0, -1.0, 1.0)
    return axes * signs[:, np.newaxis]


def _disc(radius: int) -> NDArray[np.intp]:
    """Pixel offsets ``(k, 2)`` of a filled disc of ``radius`` (0: one pixel)."""
    dy, dx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    inside = dy**2 + dx**2 <= radius * radius + radius
    return np.stack([dy[inside], dx[inside]], axis=1).astype(np.intp)


def _stamp(
    image: NDArray[np.uint8],
    rows: NDArray[np.intp],
    cols: NDArray[np.intp],
    offsets: NDArray[np.intp],
    colors: NDArray[np.uint8],
) -> None:
    """Paint ``offsets`` around each ``(rows[i], cols[i])`` with ``colors[i]`` (or one colour)."""
    height, width = image.shape[:2]
    rr = (rows[:, np.newaxis] + offsets[:, 0]).ravel()
    cc = (cols[:, np.newaxis] + offsets[:, 1]).ravel()
    inside = (rr >= 0) & (rr < height) & (cc >= 0) & (cc < width)
    if colors.ndim == 1:
        image[rr[inside], cc[inside]] = colors
    else:
        image[rr[inside], cc[inside]] = np.repeat(colors, len(offsets), axis=0)[inside]


def _segments(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """Pixel positions ``(m, 2)`` along the polyline through ``points`` ``(k, 2)``."""
    start, end = points[:-1], points[1:]
    lengths = np.ceil(np.abs(end - start).max(axis=1)).astype(np.intp) + 1
    segment = np.repeat(np.arange(len(start)), lengths)
    first = np.cumsum(lengths) - lengths
    fraction = (np.arange(lengths.sum()) - first[segment]) / np.maximum(lengths[segment] - 1, 1)
    return start[segment] + fraction[:, np.newaxis] * (end - start)[segment]


class PreferenceCanvas:
    """Draws users' preferences against the items, on a plane fixed once (see the module).

    Build one per environment (the projection, the scale and the background are computed
    here, once); :meth:`frame` then costs a copy of the background and the marks.

    Args:
        item_features: The item table ``(n_items, item_feature_dim)``.
        user_features: The user pool ``(n_users, user_feature_dim)``.
        user_groups: Group labels of the pool ``(n_users,)`` (integers or strings), or
            None: users are then coloured by pool index.
        size: ``(height, width)`` of the frames, at least 16 × 16.
    """

    def __init__(
        self,
        item_features: NDArray[Any],
        user_features: NDArray[Any],
        user_groups: NDArray[Any] | None = None,
        size: tuple[int, int] = FRAME_SIZE,
    ):
        height, width = (int(side) for side in size)
        if height < 16 or width < 16:
            raise ValueError(f"`size` must be at least (16, 16), got {size!r}")
        self.size = (height, width)
        draw_items = item_features.shape[1] == user_features.shape[1]
        #: float64 ``(2, user_feature_dim)``: the plane's axes.
        self.axes = principal_axes(item_features if draw_items else user_features)
        items = item_features @ self.axes.T if draw_items else np.zeros((0, 2))
        pool = user_features @ self.axes.T
        reach = max(1.0, *(float(np.abs(p).max()) for p in (items, pool) if p.size))
        self._scale = 0.46 * (min(height, width) - 1) / reach  # pixels per unit
        self._centre = np.array([(height - 1) / 2, (width - 1) / 2])
        self._codes: NDArray[np.intp] | None = None
        if user_groups is not None:
            self._codes = np.unique(user_groups, return_inverse=True)[1].astype(np.intp)
        self.background = self._background(items)
        self.background.flags.writeable = False

    def project(self, points: NDArray[Any]) -> NDArray[np.float64]:
        """Coordinates on the plane: ``(..., user_feature_dim)`` → float64 ``(..., 2)``."""
        return np.asarray(points, dtype=np.float64) @ self.axes.T

    def colors(self, user_ids: NDArray[np.integer]) -> NDArray[np.uint8]:
        """The users' colours, uint8 ``(n, 3)``: by group if there are groups, else by id."""
        codes = np.asarray(user_ids, dtype=np.intp)
        if self._codes is not None:
            codes = self._codes[codes]
        return PALETTE[codes % len(PALETTE)]

    def _pixels(self, coordinates: NDArray[np.float64]) -> NDArray[np.float64]:
        """Plane coordinates ``(n, 2)`` → fractional pixel positions ``(n, 2)`` (row, col)."""
        rows = self._centre[0] - self._scale * coordinates[:, 1]
        cols = self._centre[1] + self._scale * coordinates[:, 0]
        height, width = self.size
        return np.stack([np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)], axis=1)

    def _background(self, items: NDArray[np.float64]) -> NDArray[np.uint8]:
        height, width = self.size
        image = np.full((height, width, 3), _BACKGROUND, dtype=np.uint8)
        centre = np.rint(self._centre).astype(np.intp)
        image[centre[0], :] = _AXES
        image[:, centre[1]] = _AXES
        angles = np.linspace(0.0, 2 * np.pi, 4 * (height + width), endpoint=False)
        circle = np.rint(self._pixels(np.stack([np.cos(angles), np.sin(angles)], 1)))
        image[circle[:, 0].astype(np.intp), circle[:, 1].astype(np.intp)] = _CIRCLE
        self._items = np.rint(self._pixels(items)).astype(np.intp)
        self._stamp_items(image)
        return image

    def _stamp_items(self, image: NDArray[np.uint8]) -> None:
        at = self._items
        _stamp(image, at[:, 0], at[:, 1], _ITEM_MARK, np.full(3, _ITEM, np.uint8))

    def frame(
        self,
        coordinates: NDArray[np.float64],
        colors: NDArray[np.uint8],
        *,
        radius: int = 3,
        trail: NDArray[np.float64] | None = None,
        progress: float | None = None,
    ) -> NDArray[np.uint8]:
        """One RGB frame: the background, a trail, the users, a progress bar.

        Args:
            coordinates: The users' plane coordinates, float64 ``(n, 2)`` (from
                :meth:`project`); drawn in order, later users on top.
            colors: uint8 ``(n, 3)``, one colour per user, or ``(3,)`` for all.
            radius: Dot radius in pixels (0: one pixel).
            trail: Plane coordinates ``(k, 2)`` of one user's path, drawn as a polyline
                in a light tint of ``colors[0]``, or None.
            progress: The episode's progress in ``[0, 1]`` for the bottom bar, or None.

        Returns:
            numpy.ndarray: uint8 ``(height, width, 3)``, a new array.
        """
        image = self.background.copy()
        colors = np.asarray(colors, dtype=np.uint8)
        if trail is not None and len(trail) > 1:
            first = colors if colors.ndim == 1 else colors[0]
            tint = np.rint(0.45 * first + 0.55 * 255).astype(np.uint8)
            corners = self._pixels(trail)
            line = np.rint(_segments(corners)).astype(np.intp)
            _stamp(image, line[:, 0], line[:, 1], _disc(0), tint)
            at = np.rint(corners).astype(np.intp)
            _stamp(image, at[:, 0], at[:, 1], _disc(1), tint)
        if len(coordinates):
            at = np.rint(self._pixels(coordinates)).astype(np.intp)
            if len(at) > 64:  # keep the top user of each pixel: the same image, less work
                owner = np.full(self.size[0] * self.size[1], -1, dtype=np.intp)
                owner[at[:, 0] * self.size[1] + at[:, 1]] = np.arange(len(at))  # last wins
                top = np.sort(owner[owner >= 0])
                at = at[top]
                colors = colors if colors.ndim == 1 else colors[top]
            _stamp(image, at[:, 0], at[:, 1], _disc(radius), colors)
            self._stamp_items(image)  # the items stay visible on top of the users
        if progress is not None:
            width = self.size[1]
            filled = round(min(max(progress, 0.0), 1.0) * width)
            image[-_BAR_HEIGHT:, :] = _BAR_EMPTY
            image[-_BAR_HEIGHT:, :filled] = _BAR_FULL
        return image


class _CanvasOwner:
    """Mixin of the environments that draw on one :class:`PreferenceCanvas`.

    The canvas is built from ``self.config`` (its ``item_features``, ``user_features``
    and ``user_groups``) on first use, so an environment that never renders an RGB frame
    never computes the projection; the owner sets ``self._canvas = None`` when built.
    """

    config: Any
    _canvas: PreferenceCanvas | None

    def _preference_canvas(self) -> PreferenceCanvas:
        """The RGB canvas, built on first use (the projection is computed once)."""
        if self._canvas is None:
            config = self.config
            self._canvas = PreferenceCanvas(
                config.item_features, config.user_features, config.user_groups
            )
        return self._canvas


def population_dot_radius(n: int) -> int:
    """Dot radius for ``n`` users in one frame: 3 px up to 100 users, 2 to 10⁴, then 1."""
    return 3 if n <= 100 else 2 if n <= 10_000 else 1
