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

    The Gram matrices are built by one sparse product per pair of factors (``k(k+1)/2``
    products of ``weights`` with ``fⱼ[a]·fⱼ[b]``), then solved by one batched
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
    pairs = [(a, b) for a in range(k) for b in range(a, k)]
    solved = np.empty((weights.shape[0], k))
    rows = _rows_per_chunk(8 * k * (k + 1) * 3, max_chunk_bytes)
    for chunk in _chunks(weights.shape[0], rows):
        weights_chunk = weights[chunk]
        gram = np.empty((weights_chunk.shape[0], k, k))
        for a, b in pairs:
            gram[:, a, b] = gram[:, b, a] = weights_chunk @ (fixed[:, a] * fixed[:, b])
        solved[chunk] = np.linalg.solve(gram + ridge, rhs[chunk, :, None])[..., 0]
    return solved
