"""Type aliases shared across recgym."""

from __future__ import annotations

import numpy as np

__all__ = ["Action"]

#: One recommended item: a Python or numpy integer, or a 0-d / shape-``(1,)`` integer
#: array. (The original also listed float types; a fractional item index is now an
#: error, so only integers are accepted at run time.)
Action = int | np.integer | np.ndarray
