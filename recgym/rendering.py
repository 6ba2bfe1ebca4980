"""Text rendering shared by recgym's environments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["RENDER_MODES", "render_text"]

#: Render modes of every recgym environment: ``"human"`` prints, ``"ansi"`` returns text.
RENDER_MODES = ["human", "ansi"]


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
