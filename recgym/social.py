"""Social influence: preferences also move toward the preferences of one's neighbours.

With a social graph ``A`` (sparse, ``A_ij > 0`` when user ``i`` listens to user ``j``) and
``W`` its row-normalised form, a step moves every active user by what they consumed and by
their neighbours' current preferences, in one normalisation (DeGroot 1974 averaging,
added to the biased assimilation of Dean & Morgenstern 2022)::

    s_i ← normalise(s_i + α⟨s_i, v⟩v + β Σ_j W_ij s_j)

(without the middle term for a user who consumed nothing). With a **confidence bound**
``ε`` only the neighbours whose preference has cosine at least ``ε`` with the user's
count, and ``W`` is renormalised over them: bounded confidence (Hegselmann & Krause 2002;
Deffuant et al. 2000), under which a population splits into opinion clusters. Influence
is computed from the states before the step (a synchronous update), in one sparse
product per step: ``O(edges · d)`` time, and ``O(edges)`` memory in cache-sized chunks
for the confidence test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recgym._validation import check_float_in_range, check_nonnegative_float

__all__ = ["SocialInfluence"]

#: Edges per chunk of the confidence test (their two endpoints' unit rows are gathered).
_EDGE_CHUNK = 1 << 16


class SocialInfluence:
    """The pull of each user's neighbours: ``β Σ_j W_ij s_j``, optionally bounded.

    Args:
        graph: Sparse ``(n_users, n_users)`` adjacency with non-negative weights and no
            self loops, or a ``networkx`` graph on the nodes ``0 … n_users − 1`` (see
            :func:`recgym.worlds.as_adjacency`).
        n_users: The number of users of the environment.
        weight: ``β ≥ 0``.
        confidence_bound: ``ε ∈ [-1, 1]``, or None for no bound.

    Raises:
        TypeError, ValueError: On a bad argument, named in the message.
    """

    def __init__(
        self, graph: Any, n_users: int, weight: float, confidence_bound: float | None = None
    ):
        from recgym.worlds import as_adjacency

        self.adjacency = as_adjacency(graph, n_users, "social_graph")
        self.weight = check_nonnegative_float(weight, "social_weight")
        self.confidence_bound = (
            None
            if confidence_bound is None
            else check_float_in_range(confidence_bound, "confidence_bound", -1.0, 1.0)
        )
        self._rows = np.repeat(np.arange(self.adjacency.shape[0]), np.diff(self.adjacency.indptr))

    @property
    def n_users(self) -> int:
        """Number of users (nodes) of the graph."""
        return int(self.adjacency.shape[0])

    def pull(self, states: NDArray[Any]) -> NDArray[Any]:
        """``β Σ_j W_ij s_j`` for every user, ``(n_users, d)`` of the states' dtype.

        Rows without (confident) neighbours are zero.
        """
        graph = self.adjacency
        data = graph.data
        if self.confidence_bound is not None:
            data = data * self._confident(states)
        sums = np.bincount(self._rows, weights=data, minlength=self.n_users)
        scale = np.divide(self.weight, sums, out=np.zeros_like(sums), where=sums > 0)
        weights = sp.csr_array(
            (data * scale[self._rows], graph.indices, graph.indptr), shape=graph.shape
        )
        return np.asarray(weights @ states, dtype=states.dtype)

    def _confident(self, states: NDArray[Any]) -> NDArray[np.bool_]:
        """Whether each edge's endpoints have cosine ``>= ε``, bool ``(edges,)``."""
        norms = np.sqrt(np.vecdot(states, states))
        norms = norms[:, np.newaxis]
        unit = np.divide(states, norms, out=np.zeros_like(states), where=norms > 0)
        columns = self.adjacency.indices
        bound = self.confidence_bound
        assert bound is not None
        confident = np.empty(len(columns), dtype=np.bool_)
        for start in range(0, len(columns), _EDGE_CHUNK):
            edges = slice(start, start + _EDGE_CHUNK)
            cosines = np.vecdot(unit[self._rows[edges]], unit[columns[edges]])
            np.greater_equal(cosines, bound, out=confident[edges])
        return confident
