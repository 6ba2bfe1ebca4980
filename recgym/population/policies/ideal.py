"""The ideal recommender: the items of highest true utility, as the users themselves see them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from recgym.population.policies.base import UtilityFunction, _Deterministic, _Inputs
from recgym.population.policies.ranking import _RankingPolicy

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from recgym.population.policies.scoring import _ScoringOptions

__all__ = ["IdealPolicy"]

#: Bytes per (user, item) while the environment computes utilities: the item ids, the
#: idiosyncratic hash's 64-bit words and temporaries, the utilities and their float64 copy.
_BYTES_PER_UTILITY = 96


class IdealPolicy(_RankingPolicy, _Deterministic):
    """Recommend the items of highest *true utility*: Chaney et al. (2018)'s ideal recommender.

    It knows what each user would get from each item now — the utility the choice model
    and the reward see, ``⟨sᵢ, v_j⟩ + σ·εᵢⱼ − λ⟨bᵢ, v_j⟩`` with the fixed idiosyncratic
    term ``εᵢⱼ`` and the satiation penalty (see
    :meth:`recgym.population.PopulationEnv.utilities`) — and shows each user its top
    ``k`` items, descending, ties to the lowest index. The reference run of Chaney et al.:
    how much utility and homogeneity a recommender trained on its own confounded data
    loses or gains relative to one that knows the truth.

    It needs those utilities (:attr:`needs_utilities`): the runners (``simulate``,
    ``collect_logged_dataset``, ``true_policy_value``) pass the environment's
    :meth:`~recgym.population.PopulationEnv.utilities`; by hand, pass
    ``utilities=env.utilities`` to :meth:`act` and the probabilities (``ValueError``
    without). They are asked chunk by chunk of users, for every candidate item, within
    ``max_chunk_bytes``: ``O(N · n_items)`` work per step (the idiosyncratic hash for each
    pair).

    Compared with :class:`~recgym.population.policies.OracleGreedyPolicy`, which scores
    ``⟨sᵢ, v_j⟩`` from the true states (``needs_state``): the two agree exactly when
    the environment has neither idiosyncratic terms nor satiation; otherwise only the
    ideal recommender ranks by what the user will actually experience.

    Deterministic: propensity 1 (cascade ``1[a_≤j = top_≤j]``, item-position
    ``1[a_j = top_j]``). *Availability*: the top ``k`` available items.
    *``exclude_consumed=True``* (Chaney's consume-each-item-once setting, with an
    environment built with ``repeat_consumption=False``): each user's top ``k`` among the
    available items it has not consumed, remembered from :meth:`update`'s ``consumed``;
    ``ValueError`` if fewer than ``k`` remain. :meth:`forget` clears those memories.

    Args:
        exclude_consumed: Recommend to each user only items it has not consumed yet.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one chunk of utilities.
    """

    name = "ideal"
    needs_utilities = True

    def __init__(
        self, *, exclude_consumed: bool = False, **options: Unpack[_ScoringOptions]
    ) -> None:
        super().__init__(exclude_consumed=exclude_consumed, **options)

    def _learn(self, rewards: NDArray[np.float64], consumed: NDArray[np.int64]) -> None:
        self._remember(consumed)

    def _choose(self, inputs: _Inputs) -> NDArray[np.int64]:
        utilities = self._check_utilities(inputs.utilities)
        columns = self._candidate_columns(inputs.candidates)
        return self._rank(columns, _utility_scores(utilities), _BYTES_PER_UTILITY)


def _utility_scores(
    utilities: UtilityFunction,
) -> Callable[[slice, NDArray[np.int64]], NDArray[np.float64]]:
    """The score function of :meth:`IdealPolicy._choose`: the true utilities, as float64."""

    def score(rows: slice, columns: NDArray[np.int64]) -> NDArray[np.float64]:
        users = np.arange(rows.start, rows.stop)
        items = np.broadcast_to(columns, (len(users), len(columns)))
        values = utilities(items, users)
        if not isinstance(values, np.ndarray) or values.shape != items.shape:
            raise ValueError(
                f"`utilities` must return an array of shape {items.shape} for items of that "
                f"shape, got {getattr(values, 'shape', type(values).__name__)}"
            )
        return np.array(values, dtype=np.float64)

    return score
