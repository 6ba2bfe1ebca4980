"""How users respond to what they are shown: click-through, no choice, retention.

With slates and a choice model, a user shown a slate may consume one of its items or
nothing; with churn, users leave and come back. These metrics follow both, per step:

* ``click_through_rate``: the share of the users shown a slate at the step who consumed
  an item of it;
* ``no_choice_rate``: the share who consumed nothing (``1 − click_through_rate``);
* ``retention``: the share of users present after the step (the retention curve).

They are recorded by default in the environments where they say something — a choice
model that can decline, or consumption memory, for the first two; churn for the third
— and are constants (1, 0, 1) elsewhere.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from recgym.population.metrics._checks import _check_mask_array
from recgym.population.metrics._metric import Metric

__all__ = ["click_through_rate", "no_choice_rate", "retention"]

ENTRIES: dict[str, Metric] = {}


def click_through_rate(consumed: NDArray[np.integer[Any]], presented: NDArray[np.bool_]) -> float:
    """The share of the users shown a slate who consumed one of its items.

    Args:
        consumed: Integer array ``(n_users,)``: the item each user consumed, −1 for none.
        presented: Bool array ``(n_users,)``: who was shown a slate.

    Returns:
        float: In ``[0, 1]``; ``nan`` if nobody was shown a slate.

    Raises:
        TypeError, ValueError: On malformed input, naming the argument.
    """
    consumed = _check_mask_array(consumed, "consumed", integer=True)
    presented = _check_mask_array(presented, "presented", shape=consumed.shape)
    shown = int(presented.sum())
    if shown == 0:
        return math.nan
    return float(np.count_nonzero(consumed[presented] >= 0) / shown)


def no_choice_rate(consumed: NDArray[np.integer[Any]], presented: NDArray[np.bool_]) -> float:
    """The share of the users shown a slate who consumed nothing: ``1 − click_through_rate``.

    Returns:
        float: In ``[0, 1]``; ``nan`` if nobody was shown a slate.
    """
    return 1.0 - click_through_rate(consumed, presented)


def retention(active: NDArray[np.bool_]) -> float:
    """The share of users present: bool ``active`` ``(n_users,)`` → its mean (``nan`` if empty)."""
    active = _check_mask_array(active, "active")
    return float(active.mean()) if active.size else math.nan


def _has_choice(config: Any) -> bool:
    from recgym.choice import Consume

    return (
        config.slate_size > 1
        or not isinstance(config.choice_model, Consume)
        or not config.repeat_consumption
    )


def _has_churn(config: Any) -> bool:
    return config.churn is not None


ENTRIES["click_through_rate"] = Metric(
    click_through_rate,
    ("consumed_items", "presented"),
    "share of users shown a slate who consumed from it",
    default_when=_has_choice,
    unit="fraction of users shown a slate",
    definition=(
        "the share of the users shown a slate who consumed an item of it, "
        "`CTR_t = |{i ∈ S_t : c_i ≥ 0}| / |S_t|`; NaN if nobody was shown a slate."
    ),
    bounds=(0.0, 1.0),
)
ENTRIES["no_choice_rate"] = Metric(
    no_choice_rate,
    ("consumed_items", "presented"),
    "share of users shown a slate who consumed nothing",
    default_when=_has_choice,
    unit="fraction of users shown a slate",
    definition=(
        "the share of the users shown a slate who consumed nothing, `1 − CTR_t`; NaN if "
        "nobody was shown a slate."
    ),
    bounds=(0.0, 1.0),
)
ENTRIES["retention"] = Metric(
    retention,
    ("active",),
    "share of users present",
    default_when=_has_churn,
    unit="fraction of users",
    definition=(
        "the share of the users present after the step (the retention curve), "
        "`R_t = |{i : i present after step t}| / N`."
    ),
    bounds=(0.0, 1.0),
)
