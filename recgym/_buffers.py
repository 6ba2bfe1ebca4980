"""Arrays handed out by a step and reused once nobody holds them any more.

A step of a million users returns arrays of tens of megabytes (observations, states,
rewards). Allocating them afresh every step costs page faults — the kernel maps, zeroes
and unmaps every array above glibc's ``mmap`` threshold — about as much as the fused
step's arithmetic. Reusing a few buffers in turn removes that cost, but an array the
caller still holds must never be overwritten: the environments promise that every array
they return is a snapshot that recgym never writes into again.

:class:`Recycler` keeps both promises. It hands out plain numpy arrays and, when asked
for another one of the same shape and dtype, reuses one of its earlier arrays only if
nothing else references it — no variable, container, view (a view references its base)
or exported buffer of the caller's — which it reads from the array's reference count.
A loop that drops each step's results (``obs, … = env.step_batch(policy(obs))``) runs on
two or three buffers per shape; a caller who keeps every result simply gets new arrays.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

__all__ = ["Recycler"]

#: Arrays kept per shape and dtype; older ones are forgotten (not freed while held).
_KEEP = 4


def _references(pool: list[NDArray[Any]], index: int) -> int:
    """The reference count of ``pool[index]``, as seen from this call (see ``_ALONE``)."""
    return sys.getrefcount(pool[index])


#: What :func:`_references` returns for an array only ``pool`` holds: measured with the
#: same call, so whatever the interpreter counts for the call itself cancels out.
_ALONE = _references([np.empty(0)], 0)

#: Whether reference counts are exact enough to trust: a free-threaded build defers some
#: counts, and there every array is new.
_EXACT = bool(getattr(sys, "_is_gil_enabled", lambda: True)())


class Recycler:
    """Fresh-looking arrays, reusing those that nothing references any more.

    Every array :meth:`take` returns is writable, owns its memory and holds garbage:
    write every element.
    """

    def __init__(self) -> None:
        self._pools: dict[tuple[tuple[int, ...], str], list[NDArray[Any]]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {}  # buffers are scratch memory: a copy starts with none

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._pools = {}

    def take(self, shape: tuple[int, ...], dtype: DTypeLike) -> NDArray[Any]:
        """An array of ``shape`` and ``dtype`` that nobody else references.

        Args:
            shape: The shape.
            dtype: The dtype.

        Returns:
            numpy.ndarray: A reused array if one of this recycler's earlier arrays of the
            same shape and dtype is referenced by nothing but the recycler, else a new
            one (remembered for later reuse).
        """
        dtype = np.dtype(dtype)
        pool = self._pools.setdefault((shape, dtype.str), [])
        if _EXACT:
            for index in range(len(pool)):
                if _references(pool, index) <= _ALONE:
                    array = pool[index]
                    array.flags.writeable = True  # it owns its memory: always allowed
                    return array
        array = np.empty(shape, dtype=dtype)
        pool.append(array)
        if len(pool) > _KEEP:
            del pool[0]
        return array

    def clear(self) -> None:
        """Forget every array (those still held elsewhere stay valid)."""
        self._pools.clear()
