"""Feature tables of users and items: generation and normalisation."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["FEATURE_NORMALIZATIONS", "generate_features", "normalize_features"]

#: ``"spectral"``: the whole table divided by its largest singular value (the original
#: RECGym; rows end up shorter than 1). ``"row"``: every row scaled to unit length (the
#: setting of Dean & Morgenstern's theory).
FEATURE_NORMALIZATIONS = ("spectral", "row")


def normalize_features(
    table: NDArray[Any], method: str, name: str = "table"
) -> NDArray[np.float64]:
    """Return a normalised float64 copy of a feature table.

    Args:
        table: Real array of shape ``(n_rows, dim)``.
        method: ``"spectral"`` divides by the spectral norm ``σ_max(table)``;
            ``"row"`` divides each row by its Euclidean norm. All-zero tables and rows
            are left at zero (there is no direction to keep).
        name: The argument name used in error messages.

    Returns:
        numpy.ndarray: A new float64 array of shape ``(n_rows, dim)``.

    Raises:
        ValueError: If a norm overflows float64 (entries of about 1e154 and more), which
            would otherwise silently turn the table into zeros.
    """
    if method not in FEATURE_NORMALIZATIONS:
        raise ValueError(f"`method` must be one of {list(FEATURE_NORMALIZATIONS)}, got {method!r}")
    table = np.array(table, dtype=np.float64)
    with np.errstate(over="ignore"):
        if method == "spectral":
            scale = np.linalg.norm(table, ord=2)
        else:
            scale = np.linalg.norm(table, axis=1, keepdims=True)
    if not np.isfinite(scale).all():
        raise ValueError(
            f"`{name}` must be small enough for its norm to fit in float64, got values up "
            f"to {float(np.abs(table).max())!r}"
        )
    if method == "spectral":
        return table / scale if scale > 0 else table
    return np.divide(table, scale, out=table, where=scale > 0)


def generate_features(rng: np.random.Generator, n_rows: int, dim: int) -> NDArray[np.float64]:
    """Draw a feature table uniformly on ``[-1, 1)``.

    Args:
        rng: The generator to draw from (``n_rows * dim`` uniforms).
        n_rows: Number of rows (users or items).
        dim: Feature dimension.

    Returns:
        numpy.ndarray: float64 array of shape ``(n_rows, dim)``, not normalised.
    """
    return rng.uniform(-1.0, 1.0, size=(n_rows, dim))
