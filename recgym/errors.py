"""Exceptions raised by recgym."""

from __future__ import annotations

from gymnasium.error import ResetNeeded as _GymnasiumResetNeeded

__all__ = ["ResetNeeded"]


class ResetNeeded(_GymnasiumResetNeeded, ValueError):
    """``step`` was called before ``reset`` or after the episode ended.

    It is Gymnasium's :class:`gymnasium.error.ResetNeeded` (what ``OrderEnforcing``
    raises) and a :class:`ValueError`, so either ``except`` clause catches it.
    """
