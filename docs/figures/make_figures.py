"""Regenerate the figures of the tutorial pages by running the pages' own code.

The pages are ``docs/filter_bubbles.md``, ``docs/slates.md`` and ``docs/worlds.md``.
Every ```python block of a page is executed in order, each in a fresh namespace, with
this folder as the working directory. So the PNG files that the blocks save land here,
and they are exactly what a reader running the page gets. Run from anywhere::

    python docs/figures/make_figures.py                 # every page
    python docs/figures/make_figures.py worlds.md       # some pages
    python docs/figures/make_figures.py papers          # the replications' figures

``papers`` runs every preset of :mod:`recgym.presets` at its defaults (``recgym
replicate NAME``: scale small, 5 seeds) and saves its figure as ``papers/NAME.png``, the
figure of ``docs/papers/NAME.md``.

It fails if a figure that a page links to is missing or larger than 200 kB.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGES = ("filter_bubbles.md", "slates.md", "worlds.md")
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
IMAGE = re.compile(r"!\[[^\]]*\]\(figures/([^)]+\.png)\)")
MAX_BYTES = 200_000


def run_page(page: Path) -> int:
    """Run the blocks of ``page``, then check its linked figures; returns the exit status."""
    text = page.read_text(encoding="utf-8")
    for number, match in enumerate(FENCE.finditer(text), start=1):
        line = text.count("\n", 0, match.start(1)) + 1
        print(f"{page.name} block {number} (line {line}) ...", flush=True)
        start = time.perf_counter()
        code = compile("\n" * (line - 1) + match.group(1), str(page), "exec")
        exec(code, {"__name__": f"_{page.stem}_block_{number}"})
        print(f"  {time.perf_counter() - start:.1f} s", flush=True)
    status = 0
    for name in IMAGE.findall(text):
        path = HERE / name
        if not path.exists():
            print(f"missing: {name}", file=sys.stderr)
            status = 1
            continue
        size = path.stat().st_size
        flag = "" if size <= MAX_BYTES else f"  <- larger than {MAX_BYTES:,} bytes"
        status = status or int(bool(flag))
        print(f"{name}: {size:,} bytes{flag}")
    return status


def run_papers() -> int:
    """Save the figure of every preset at its defaults as ``papers/NAME.png``."""
    from recgym.presets import PRESETS, replicate

    status = 0
    for name in PRESETS:
        print(f"replicate {name} ...", flush=True)
        result = replicate(name)
        path = HERE / "papers" / f"{name}.png"
        result.figure(path)
        size = path.stat().st_size
        flag = "" if size <= MAX_BYTES else f"  <- larger than {MAX_BYTES:,} bytes"
        status = status or int(bool(flag))
        print(f"  {result.seconds:.1f} s, {result.verdict}; papers/{name}.png: {size:,} B{flag}")
    return status


def main(pages: list[str]) -> int:
    """Run the given pages (default: all of :data:`PAGES`); returns the exit status."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    if pages == ["papers"]:
        os.chdir(HERE)
        return run_papers()
    unknown = [name for name in pages if name not in PAGES]
    if unknown:
        print(f"unknown page {unknown[0]!r}; the pages are {', '.join(PAGES)}", file=sys.stderr)
        return 2
    os.chdir(HERE)
    status = 0
    for name in pages or PAGES:
        status = run_page(HERE.parent / name) or status
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
