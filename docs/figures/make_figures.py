"""Regenerate the figures of ``docs/filter_bubbles.md`` by running the page's own code.

Every ```python block of the tutorial is executed in order, each in a fresh namespace,
with this folder as the working directory, so the PNG files the blocks save land here
and are exactly what a reader running the tutorial gets. Run from anywhere::

    python docs/figures/make_figures.py

It fails if a figure the page links to is missing or larger than 200 kB.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent / "filter_bubbles.md"
FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
IMAGE = re.compile(r"!\[[^\]]*\]\(figures/([^)]+\.png)\)")
MAX_BYTES = 200_000


def main() -> int:
    """Run the blocks, then check the linked figures; returns the exit status."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    text = PAGE.read_text(encoding="utf-8")
    os.chdir(HERE)
    for number, match in enumerate(FENCE.finditer(text), start=1):
        line = text.count("\n", 0, match.start(1)) + 1
        print(f"block {number} (line {line}) ...", flush=True)
        code = compile("\n" * (line - 1) + match.group(1), str(PAGE), "exec")
        exec(code, {"__name__": f"_filter_bubbles_block_{number}"})
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


if __name__ == "__main__":
    raise SystemExit(main())
