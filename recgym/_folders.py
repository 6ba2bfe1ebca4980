"""Output folders of the commands that write reports: checks, a lock, leftover clean-up.

``recgym study`` and ``recgym replicate`` write a report folder under the same rules:
an empty ``--out`` is refused (it would write into the current folder); a folder belongs
to the one configuration its manifest names, and the read-only checks of that come
before anything is written; one command writes a folder at a time (a POSIX lock); every
file is written atomically (:func:`recgym._io.atomic_write`), and the temporary files a
killed write left behind are removed at the next run. This module holds the pieces the
two commands share; each command keeps its own manifest and messages.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from recgym._validation import check_path

__all__ = [
    "TEMPORARY",
    "check_out",
    "folder_lock",
    "read_manifest",
    "remove_temporary",
    "visible_entries",
]

#: Temporary files of :func:`recgym._io.atomic_write`: ``.<name>.<uuid4 hex>[suffix].tmp``.
TEMPORARY = re.compile(r"^\..+\.[0-9a-f]{32}(\.[A-Za-z0-9]+)?\.tmp$")


def check_out(out: Any) -> str | os.PathLike[str]:
    """``out`` if it names a folder; an empty path is refused.

    Raises:
        TypeError: If ``out`` is not a str or os.PathLike.
        ValueError: If ``out`` is empty or blank.
    """
    check_path(out, "out")
    if not os.fspath(out).strip():
        raise ValueError(
            f"`out` must name a folder, got {os.fspath(out)!r} (an empty path would write "
            "into the current folder)"
        )
    return out


def read_manifest(
    manifest: Path,
    out: Path,
    format_name: str,
    noun: str,
    holds: str,
    error: Callable[[str], Exception],
) -> dict[str, Any]:
    """The JSON manifest of an output folder, with its ``"identity"`` mapping checked.

    Args:
        manifest: The manifest file (it must exist).
        out: The folder, for the message.
        format_name: The manifest's expected ``"format"``.
        noun: What the folder holds (``"study"``), for the message.
        holds: What recgym cannot tell without it (``"which replication it holds"``).
        error: Makes the exception raised for a damaged manifest, from its message.

    Returns:
        dict: The manifest.

    Raises:
        OSError: If the file cannot be read (a ``PermissionError`` is reported as such).
    """
    text = manifest.read_text(encoding="utf-8")
    try:
        found = json.loads(text)
        if found.get("format") != format_name or not isinstance(found.get("identity"), dict):
            raise ValueError(f"not a recgym {noun} manifest")
    except (ValueError, AttributeError) as reason:
        raise error(
            f"output folder '{out}' has a damaged {manifest.name} ({reason}); recgym cannot "
            f"tell {holds}: choose another --out, or delete the folder to start over"
        ) from None
    return dict(found)


def visible_entries(out: Path, lock_name: str) -> list[str]:
    """The names in ``out`` other than its lock file and leftover temporary files, sorted."""
    return sorted(
        path.name
        for path in out.iterdir()
        if path.name != lock_name and not TEMPORARY.match(path.name)
    )


@contextlib.contextmanager
def folder_lock(out: Path, lock_name: str, busy: Callable[[], Exception]) -> Iterator[None]:
    """Hold an exclusive lock on ``out`` (POSIX): two commands never write one folder.

    Args:
        out: The folder (it must exist).
        lock_name: The lock file's name inside ``out``.
        busy: Makes the exception raised when another process holds the lock.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    descriptor = os.open(out / lock_name, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy() from None
        yield
    finally:
        os.close(descriptor)  # releases the lock


def remove_temporary(folders: Iterable[Path]) -> list[Path]:
    """Delete the temporary files of interrupted writes directly in ``folders``.

    Returns:
        list: The removed paths, in the order of ``folders``, sorted within each.
    """
    removed = []
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.is_file() and TEMPORARY.match(path.name):
                path.unlink()
                removed.append(path)
    return removed
