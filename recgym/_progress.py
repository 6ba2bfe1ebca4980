"""A minimal progress bar on stderr (no dependency)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Print ``label: done/total (percent), elapsed`` on one stderr line, sparingly.

    Args:
        total: Number of units of work.
        label: Text before the counter.
        enabled: Whether to print at all.
        stream: Where to print (default ``sys.stderr``).
        interval: Minimum seconds between two updates.
    """

    def __init__(
        self,
        total: int,
        label: str,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        interval: float = 0.5,
    ):
        self.total = max(int(total), 1)
        self.label = label
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        self.interval = interval
        self._start = time.perf_counter()
        self._last = -float("inf")

    def update(self, done: int) -> None:
        """Report that ``done`` units are complete (prints at most every ``interval`` s)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < self.total and now - self._last < self.interval:
            return
        self._last = now
        elapsed = now - self._start
        percent = 100.0 * done / self.total
        end = "\n" if done >= self.total else ""
        self.stream.write(
            f"\r{self.label}: {done}/{self.total} ({percent:5.1f}%) {elapsed:6.1f}s{end}"
        )
        self.stream.flush()
