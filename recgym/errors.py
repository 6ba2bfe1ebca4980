"""Exceptions raised by recgym."""

from __future__ import annotations

from gymnasium.error import ResetNeeded as _GymnasiumResetNeeded

__all__ = ["ResetNeeded"]


class ResetNeeded(_GymnasiumResetNeeded, ValueError):
    """A method was called in the wrong order: ``reset`` is needed first.

    Raised by the environments when ``step`` is called before ``reset`` or after the
    episode ended (and when the current state is read before the first ``reset``), and
    by the policies of :mod:`recgym.population.policies` when ``act``,
    ``probabilities`` or ``update`` is called before ``reset``.

    It is Gymnasium's :class:`gymnasium.error.ResetNeeded` (what ``OrderEnforcing``
    raises) and a :class:`ValueError`, so either ``except`` clause catches it.
    """
