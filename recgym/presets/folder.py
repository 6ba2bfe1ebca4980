"""The report folder of a replication, under the rules of ``recgym study``'s folders.

A folder belongs to one replication: its manifest ``replication.json`` names the preset,
scale, seeds and recgym version (:func:`identity`). The read-only checks come first
(:func:`check_folder`, which ``recgym replicate`` calls before it runs anything), so a
refused folder is left exactly as it was:

- an empty ``out`` is refused (it would write into the current folder);
- a file where the folder should be is refused;
- a non-empty folder without ``replication.json`` (a study's folder, ``--out .``) is
  refused: recgym never mixes its results into a folder of other files;
- a folder whose manifest names other settings is refused, with the differences;
- a folder of the same replication is written again (the same numbers: every draw comes
  from the seeds).

Then, holding a lock on the folder (POSIX), the temporary files of an interrupted write
are removed, the manifest is written first (so an interrupted write leaves a folder that
the same command may finish), then the figure, the CSV, ``report.md`` and the full
manifest, each atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recgym import __version__
from recgym._folders import (
    check_out,
    folder_lock,
    read_manifest,
    remove_temporary,
    visible_entries,
)
from recgym._io import atomic_write
from recgym.presets.report import SUMMARY_FORMAT

if TYPE_CHECKING:
    from recgym.presets.replication import Replication

__all__ = [
    "FILES",
    "MANIFEST",
    "ReplicationFolderError",
    "check_folder",
    "identity",
    "save",
]

#: The manifest that says which replication a folder holds.
MANIFEST = "replication.json"
#: The files of a replication's folder, by role.
FILES = {
    "report": "report.md",
    "csv": "results.csv",
    "figure": "figure.png",
    "manifest": MANIFEST,
}
_LOCK = ".recgym-replicate.lock"


class ReplicationFolderError(ValueError):
    """The output folder of a replication holds something it must not touch.

    Files that are not a replication's, another replication (other preset, scale, seeds
    or recgym version), a damaged ``replication.json``, or another ``recgym replicate``
    writing it. The message says what was found and what to do.
    """


def identity(
    name: str, scale: str, seeds: Sequence[int], version: str = __version__
) -> dict[str, Any]:
    """What a replication's folder holds: preset, scale, seeds and recgym version."""
    return {"preset": name, "scale": scale, "seeds": list(seeds), "recgym_version": version}


def check_folder(out: Any, expected: Mapping[str, Any]) -> Path:
    """Check, reading only, that folder ``out`` may receive the replication ``expected``.

    Args:
        out: The folder.
        expected: Its :func:`identity`.

    Returns:
        pathlib.Path: ``out``.

    Raises:
        TypeError: If ``out`` is not a path.
        ValueError: If ``out`` is empty.
        ReplicationFolderError: If ``out`` is a file, holds files that are not a
            replication's, or a replication of other settings, or a damaged manifest.
    """
    folder = Path(check_out(out))
    if folder.exists() and not folder.is_dir():
        raise ReplicationFolderError(
            f"output folder '{folder}' is a file, not a folder: choose another --out"
        )
    if not folder.is_dir():
        return folder
    manifest = folder / MANIFEST
    if not manifest.is_file():
        foreign = visible_entries(folder, _LOCK)
        if foreign:
            shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
            raise ReplicationFolderError(
                f"output folder '{folder}' is not empty ({shown}) and holds no recgym "
                f"replication (no {MANIFEST}): choose a new or empty folder with --out"
            )
        return folder
    found = read_manifest(  # a PermissionError is reported as such
        manifest,
        folder,
        SUMMARY_FORMAT,
        "replication",
        "which replication it holds",
        ReplicationFolderError,
    )
    differences = [
        (key, found["identity"].get(key), value)
        for key, value in expected.items()
        if found["identity"].get(key) != value
    ]
    if differences:
        raise ReplicationFolderError(
            f"output folder '{folder}' holds a replication of other settings ("
            + "; ".join(
                f"{key}: {json.dumps(there)} there, {json.dumps(here)} here"
                for key, there, here in differences
            )
            + "); recgym never mixes results of different settings: choose another --out, "
            "or delete the folder to start over"
        )
    return folder


def save(replication: Replication, out: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``replication``'s report folder (see :meth:`Replication.save`).

    Returns:
        dict: Role (``"report"``, ``"csv"``, ``"figure"``, ``"manifest"``) → path; no
        ``"figure"`` without matplotlib.
    """
    expected = identity(replication.name, replication.scale, replication.seeds, replication.version)
    folder = check_folder(out, expected)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {role: folder / name for role, name in FILES.items()}
    with folder_lock(folder, _LOCK, lambda: _busy(folder)):
        remove_temporary([folder])
        _write_json(
            paths["manifest"], {"format": SUMMARY_FORMAT, "version": 1, "identity": expected}
        )
        figure: str | None = FILES["figure"]
        try:
            replication.figure(paths["figure"])
        except ModuleNotFoundError:
            figure = None
            del paths["figure"]
        replication.to_csv(paths["csv"])
        text = replication.to_markdown(figure)
        atomic_write(paths["report"], lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
        _write_json(paths["manifest"], {**replication.summary(), "identity": expected})
    return paths


def _write_json(path: Path, value: Mapping[str, Any]) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _busy(out: Path) -> ReplicationFolderError:
    return ReplicationFolderError(
        f"output folder '{out}' is in use by another recgym replicate: wait for it to finish, "
        "or choose another --out"
    )
