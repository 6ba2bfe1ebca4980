"""Item-based nearest neighbours (item-kNN) on the consumption matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recgym._validation import check_positive_int
from recgym.population.policies.interactions import _zero_rows
from recgym.population.policies.ranking import ScoreFunction
from recgym.population.policies.retrained import _requires_fit, _RetrainedPolicy
from recgym.population.policies.scoring import _chunks, _rows_per_chunk

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from recgym.population.policies.scoring import _ScoringOptions

__all__ = ["ItemKnnPolicy"]

#: Bytes per (user, item) of a scoring chunk: the sparse product's entries (value and
#: column index) and its dense float64 copy.
_BYTES_PER_NEIGHBOR_SCORE = 32


def _cosine_neighbors(history: Any, n_neighbors: int, max_chunk_bytes: int) -> Any:
    """Each item's ``n_neighbors`` most cosine-similar items, as a CSR ``(n_items, n_items)``.

    ``sim(j, l) = |U_j ∩ U_l| / √(|U_j|·|U_l|)`` with ``U_j`` the users who consumed
    ``j`` (the cosine of the binary columns of ``history``); 0 if either is empty. Row
    ``j`` keeps the ``n_neighbors`` largest positive similarities to other items (ties to
    the lowest index); the diagonal is left out. Computed in chunks of items: one sparse
    product ``Hᵀ[chunk] H`` per chunk, made dense within ``max_chunk_bytes``.

    Args:
        history: CSR ``(N, n_items)`` with 1.0 where the user consumed the item.
        n_neighbors: Neighbours kept per item.
        max_chunk_bytes: Memory budget of one dense chunk.
    """
    n_items = history.shape[1]
    by_item = history.T.tocsr()
    norms = np.sqrt(np.diff(by_item.indptr).astype(np.float64))
    keep = min(n_neighbors, n_items - 1)
    rows, columns, values = [], [], []
    for chunk in _chunks(n_items, _rows_per_chunk(n_items * 8 * 3, max_chunk_bytes)):
        shared = (by_item[chunk] @ history).toarray()
        denominator = norms[chunk, np.newaxis] * norms[np.newaxis, :]
        similarity = np.divide(
            shared, denominator, out=np.zeros_like(shared), where=denominator > 0
        )
        items = np.arange(chunk.start, chunk.stop)
        similarity[items - chunk.start, items] = 0.0
        nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :keep]
        kept = np.take_along_axis(similarity, nearest, axis=1)
        positive = kept > 0
        rows.append(np.repeat(items, np.count_nonzero(positive, axis=1)))
        columns.append(nearest[positive])
        values.append(kept[positive])
    return sp.csr_array(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(columns))),
        shape=(n_items, n_items),
    )


class ItemKnnPolicy(_RetrainedPolicy):
    """Item-based nearest neighbours (Sarwar et al. 2001) on who consumed what.

    The item-kNN recommender of Mansoury et al. (2020)'s feedback loop. Like
    :class:`ImplicitFactorizationPolicy` it learns only which user consumed which item
    (``update(..., consumed=...)``; at ``k > 1`` an item shown but not consumed teaches
    nothing), logged as a user × item matrix.

    **Model.** At each fit, ``H`` is the binary consumption matrix ``(N, n_items)`` (1
    where the user consumed the item at least once), and each item ``j`` keeps its
    ``n_neighbors`` most similar other items by the cosine of their columns::

        sim(j, l) = |U_j ∩ U_l| / √(|U_j| · |U_l|)      (U_j: the users who consumed j)

    (positive similarities only, ties to the lowest index), a sparse ``S (n_items,
    n_items)`` computed in chunks of items within ``max_chunk_bytes`` (sparse products,
    ``O(Σ_u |H_u|²)`` work). User ``u``'s score for a candidate ``j`` is the summed
    similarity of ``j`` to the items of its neighbourhood that ``u`` consumed,
    ``Σ_l S[j, l]·H[u, l]`` — Sarwar et al.'s weighted sum over the target item's
    neighbours, unnormalised as usual for top-N recommendation from implicit data — for
    all users at once as ``H Sᵀ``, chunk by chunk of users. Between fits the model is
    frozen: the similarities *and* the users' histories are those of the last fit.

    **Schedule** (see :mod:`~recgym.population.policies.retrained`): uniformly random for
    the first ``warmup_steps`` steps (default ``retrain_every``), then refitted every
    ``retrain_every`` steps (``None``: once). Before the first fit: propensity ``1 / n``
    (ordered slates as :class:`~recgym.population.policies.RandomPolicy`'s) with ``n`` the
    user's candidates. Once fitted: each user's top ``k`` scores, descending,
    deterministic (propensity 1); ties go to the item consumed most often (in the log of
    the last fit), then to the lowest index. *Users with no history* (or whose items have
    no neighbours) score 0 everywhere, so they get the most popular items.

    *Availability*: candidates are the available items. *``exclude_consumed=True``*:
    each user's candidates are the available items it has not consumed yet (Sarwar's
    top-N setting; Chaney's consume-once world); ``ValueError`` if fewer than ``k``
    remain. *Users who change* (:meth:`forget`): their history is dropped (from the log
    and the fitted model: the most popular items until the next fit); the similarities
    stay.

    Args:
        n_neighbors: Neighbours kept per item.
        retrain_every: Steps between fits after the first; None: compute once.
        warmup_steps: Steps of uniform recommendations before the first fit; default
            ``retrain_every``.
        exclude_consumed: Recommend to each user only items it has not consumed yet.
        slate_size: Items per user and step, ``k >= 1``.
        max_chunk_bytes: Memory budget of one chunk of scores or similarities.
    """

    name = "item_knn"

    def __init__(
        self,
        n_neighbors: int = 50,
        *,
        retrain_every: int | None = 10,
        warmup_steps: int | None = None,
        exclude_consumed: bool = False,
        **options: Unpack[_ScoringOptions],
    ) -> None:
        super().__init__(
            retrain_every=retrain_every,
            warmup_steps=warmup_steps,
            exclude_consumed=exclude_consumed,
            **options,
        )
        self.n_neighbors = check_positive_int(n_neighbors, "n_neighbors")

    def _clear_model(self) -> None:
        self._history: Any = None
        self._similarity: Any = None

    @_requires_fit
    def similarities(self) -> NDArray[np.float64]:
        """The kept similarities ``S`` as a dense float64 ``(n_items, n_items)`` (0 elsewhere).

        Row ``j`` holds item ``j``'s neighbours. For inspection on small catalogues.
        """
        return np.asarray(self._similarity.toarray(), dtype=np.float64)

    def _train(self, counts: Any) -> None:
        history = counts.copy()
        history.data[:] = 1.0
        self._history = history
        self._similarity = _cosine_neighbors(history, self.n_neighbors, self.max_chunk_bytes)

    def _forget_users(self, rows: NDArray[np.int64]) -> None:
        self._history = _zero_rows(self._history, rows)

    def _scores(self, columns: NDArray[np.int64]) -> tuple[ScoreFunction, int]:
        history = self._history
        neighbors = self._similarity[columns].T.tocsr()  # (n_items, c): column c is S[j_c]

        def score(rows: slice, _: NDArray[np.int64]) -> NDArray[np.float64]:
            return np.asarray((history[rows] @ neighbors).toarray(), dtype=np.float64)

        return score, _BYTES_PER_NEIGHBOR_SCORE
