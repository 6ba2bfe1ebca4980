"""Progress bars on stderr, drawn by tqdm (a terminal line, or a widget in a notebook).

:class:`Progress` is the one progress bar of recgym: :func:`~recgym.population.simulate`,
:func:`~recgym.population.collect_logged_dataset` and ``recgym study`` use it. It is a
thin layer over tqdm that keeps the interface its callers need: an absolute
``update(done)``, nothing at all when disabled, bars that close themselves at the end
and, inside another open bar, a nested bar that disappears when it is done.
"""

from __future__ import annotations

import sys
import weakref
from types import TracebackType
from typing import Any, TextIO

__all__ = ["Progress"]

#: Bars open now (a bar opened inside another is nested: it is removed when done). Weak:
#: the bar of an abandoned run (an exception in the middle) does not stay "open".
_OPEN: weakref.WeakSet[Progress] = weakref.WeakSet()


def _tqdm(**options: Any) -> Any:
    """A tqdm bar: a widget in a Jupyter notebook with ipywidgets, a text line elsewhere."""
    from tqdm.auto import tqdm

    return tqdm(**options)


class Progress:
    """``label: 42%|████      | 42/100 [00:01<00:01, 38.2 step/s]`` on stderr, via tqdm.

    Args:
        total: Number of units of work.
        label: Text before the bar.
        enabled: Whether to draw at all; a disabled bar costs nothing.
        stream: Where to draw (default ``sys.stderr``).
        interval: Minimum seconds between two redraws.
        unit: Name of one unit of work, for the rate.
        delay: Draw nothing until the work has lasted this many seconds (so short runs
            stay silent).
    """

    def __init__(
        self,
        total: int,
        label: str,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        interval: float = 0.5,
        unit: str = "step",
        delay: float = 0.0,
    ):
        self.total = max(int(total), 1)
        self.label = label
        self.enabled = enabled
        self._bar: Any = None
        if enabled:
            self._bar = _tqdm(
                total=self.total,
                desc=label,
                file=sys.stderr if stream is None else stream,
                mininterval=interval,
                unit=unit,
                delay=delay,
                dynamic_ncols=True,
                leave=not _OPEN,  # a nested bar is removed when done
            )
            _OPEN.add(self)

    def update(self, done: int) -> None:
        """Report that ``done`` units are complete; the bar closes itself at ``total``."""
        if self._bar is None:
            return
        self._bar.update(done - self._bar.n)
        if done >= self.total:
            self.close()

    def close(self) -> None:
        """End the bar (its line stays on a terminal unless it was nested); idempotent."""
        if self._bar is None:
            return
        bar, self._bar = self._bar, None
        _OPEN.discard(self)
        bar.close()

    def write(self, text: str, stream: TextIO) -> None:
        """Print a line to ``stream`` without tearing the bars drawn on the same terminal."""
        if self._bar is None:
            print(text, file=stream, flush=True)
            return
        from tqdm import tqdm

        tqdm.write(text, file=stream)
        stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
