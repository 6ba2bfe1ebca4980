"""Alternating least squares: the batched ridge solves of the matrix-factorisation policies.

One half-sweep of ALS fixes the factors of one side (items, say) and solves, for every
row of the other side, a ``k × k`` ridge system whose Gram matrix is a weighted sum over
the row's observed entries. Both :class:`~.collaborative.CollaborativeFilteringPolicy`
(explicit rewards) and :class:`~.implicit_factorization.ImplicitFactorizationPolicy`
(implicit feedback) solve their half-sweeps with :func:`_ridge_rows`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from recgym.population.policies.scoring import _chunks, _rows_per_chunk

__all__: list[str] = []


def _ridge_rows(
    weights: sp.csr_array,
    rhs: NDArray[np.float64],
    fixed: NDArray[np.float64],
    ridge: NDArray[Any],
    max_chunk_bytes: int,
) -> NDArray[np.float64]:
    """Solve ``(Σⱼ Wᵣⱼ fⱼfⱼᵀ + R) xᵣ = bᵣ`` for every row ``r``, in chunks of rows.

    The Gram matrices' upper triangles are one sparse product per chunk, of ``weights``
    with the ``k(k+1)/2`` columns ``fⱼ[a]·fⱼ[b]`` (``a ≤ b``; ``8 · M · k(k+1)/2`` bytes,
    the only array not bounded by the chunk budget), then solved by one batched
    ``numpy.linalg.solve`` per chunk (``(rows, k, k)`` within ``max_chunk_bytes``).

    Args:
        weights: CSR ``(R, M)`` non-negative weights ``W`` of the observed entries.
        rhs: float64 ``(R, k)``, the right-hand sides ``b``.
        fixed: float64 ``(M, k)``, the factors ``f`` of the columns.
        ridge: float64 ``(k, k)``, the matrix ``R`` added to every Gram matrix
            (``λI``, plus ``FᵀF`` for implicit feedback).
        max_chunk_bytes: Memory budget of the Gram matrices of one chunk.

    Returns:
        numpy.ndarray: float64 factors of the rows, shape ``(R, k)``.
    """
    k = fixed.shape[1]
    upper, lower = np.triu_indices(k)
    products = fixed[:, upper] * fixed[:, lower]  # (M, k(k+1)/2): fⱼ[a]·fⱼ[b], a ≤ b
    packed_index = np.empty((k, k), dtype=np.intp)  # entry (a, b) of a Gram matrix
    packed_index[upper, lower] = packed_index[lower, upper] = np.arange(len(upper))
    solved = np.empty((weights.shape[0], k))
    rows = _rows_per_chunk(8 * k * (k + 1) * 3, max_chunk_bytes)
    for chunk in _chunks(weights.shape[0], rows):
        packed = weights[chunk] @ products
        gram = np.take(packed, packed_index.ravel(), axis=1).reshape(-1, k, k)
        gram += ridge
        solved[chunk] = np.linalg.solve(gram, rhs[chunk, :, None])[..., 0]
    return solved
