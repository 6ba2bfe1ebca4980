"""Files: one atomic writer, one ``.npz`` + JSON container, one CSV writer.

Every file recgym writes goes through :func:`atomic_write`: the content is written to a
temporary sibling, flushed to disk, renamed over the destination and the directory
synced, so an interrupted write never leaves a partial file under the final name.

:class:`History` files, checkpoints and logged datasets are *containers*
(:func:`write_container` / :func:`read_container`): a ``.npz`` archive of numpy arrays
plus one JSON header entry holding everything else, with the format's name and version
at its top. Each format keeps its own schema and version (a :class:`ContainerFormat`);
reading never unpickles anything, and every failure to read is a ``ValueError`` of one
template, ``cannot load a <format> from '<path>': <reason>`` (a missing file is a
``FileNotFoundError``, ``no <format> at '<path>'``).
"""

from __future__ import annotations

import contextlib
import csv
import inspect
import json
import math
import os
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, NoReturn, TypeVar

import numpy as np
from numpy.typing import NDArray

from recgym._validation import check_path

__all__ = [
    "ContainerFormat",
    "atomic_write",
    "json_safe",
    "read_container",
    "write_container",
    "write_csv",
]

_ZIP_MAGIC = b"PK\x03\x04"


def atomic_write(
    path: str | os.PathLike[str], write: Callable[[str], Any], *, suffix: str = ""
) -> Path:
    """Write a file atomically and durably: ``write(tmp)``, fsync, rename, sync the folder.

    The temporary file lives in the destination's folder (so the rename is atomic on
    POSIX) and is created by ``write`` itself, so the file gets the usual permissions
    (``0o666`` minus the umask). On any failure the temporary file is removed and the
    destination is left as it was.

    Args:
        path: Final path; missing parent folders are created.
        write: Called with the temporary path; must create the file there.
        suffix: Suffix of the temporary file (for writers that append one if missing).

    Returns:
        pathlib.Path: ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(path.parent / f".{path.name}.{uuid.uuid4().hex}{suffix}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # make the rename durable where folders can sync
        descriptor = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    return path


_Function = TypeVar("_Function", bound=Callable[..., Any])


@dataclass(frozen=True)
class ContainerFormat:
    """The identity of one container format.

    Attributes:
        name: Written as the header's ``"format"``, e.g. ``"recgym.History"``.
        version: Written as the header's ``"version"``; the only version read.
        header_entry: Name of the archive entry that holds the JSON header.
        description: What a file of this format is called in messages, e.g.
            ``"History file"``.
    """

    name: str
    version: int
    header_entry: str
    description: str

    def reader(self, function: _Function) -> _Function:
        """Decorate a public reader of this format: its docstring gains the errors it raises.

        The ``Raises`` section appended is that of :func:`read_container`, whose errors
        the reader passes on.
        """
        function.__doc__ = inspect.cleandoc(function.__doc__ or "") + (
            "\n\nRaises:\n"
            "    TypeError: If ``path`` is not a str or os.PathLike.\n"
            "    FileNotFoundError: If there is no file at ``path``.\n"
            f"    ValueError: If the file is not a readable {self.description}:\n"
            f"        ``cannot load a {self.description} from '<path>': <reason>``."
        )
        return function


def write_container(
    path: str | os.PathLike[str],
    container: ContainerFormat,
    header: Mapping[str, Any],
    arrays: Mapping[str, NDArray[Any]],
    *,
    compress: bool = False,
) -> Path:
    """Write arrays and a JSON header as a ``.npz`` archive, atomically, without pickle.

    Args:
        path: Destination (conventionally ending in ``.npz``).
        container: The format; ``{"format": name, "version": version}`` leads the header.
        header: JSON-serialisable data (NaN and infinities are written as JSON's
            non-standard ``NaN``/``Infinity``, which :func:`read_container` reads back).
        arrays: Archive entries; none may be named like the header entry, none may hold
            objects.
        compress: Deflate the entries (smaller, slower).

    Returns:
        pathlib.Path: ``path``.

    Raises:
        TypeError: If ``path`` is not a path or an array holds Python objects.
        ValueError: If an array is named like the header entry.
    """
    check_path(path)
    if container.header_entry in arrays:
        raise ValueError(f"entry name {container.header_entry!r} is reserved by the file format")
    for name, array in arrays.items():
        if array.dtype.hasobject:
            raise TypeError(
                f"entry {name!r} is an object array, which cannot be saved without pickle"
            )
    text = json.dumps({"format": container.name, "version": container.version, **header})
    entries: dict[str, Any] = {**arrays, container.header_entry: np.array(text)}
    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            write_npz(handle, entries, compress)

    return atomic_write(path, write)


def write_npz(handle: BinaryIO, arrays: Mapping[str, Any], compress: bool) -> None:
    """Write ``arrays`` as an ``.npz`` archive into the open binary file ``handle``.

    numpy.savez's layout (one ``NAME.npy`` member per array, readable by ``numpy.load``),
    with the archive closed by its context even when interrupted: numpy 2.0's ``savez``
    leaves that to the garbage collector, whose late close then writes into the closed
    file (a traceback after Ctrl-C).

    Args:
        handle: A file opened for binary writing.
        arrays: The arrays by member name (no object arrays: never pickled).
        compress: Deflate the members (``numpy.savez_compressed``) or store them.
    """
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(handle, mode="w", compression=compression) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def read_container(
    path: str | os.PathLike[str], container: ContainerFormat
) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
    """Read a file written by :func:`write_container` (no pickle, ever).

    Args:
        path: The file.
        container: The format expected.

    Returns:
        tuple: ``(header, arrays)``: the JSON header (a dict, ``"format"`` and
        ``"version"`` included) and every other entry by name.

    Raises:
        TypeError: If ``path`` is not a str or os.PathLike.
        FileNotFoundError: If there is no file at ``path``.
        ValueError: If the file is not a readable container of this format; the message
            is ``cannot load a <description> from '<path>': <reason>``.
    """
    check_path(path)
    if not Path(path).is_file():
        raise FileNotFoundError(f"no {container.description} at '{os.fspath(path)}'")

    def fail(reason: str) -> NoReturn:
        raise ValueError(
            f"cannot load a {container.description} from '{os.fspath(path)}': {reason}"
        ) from None

    member = container.header_entry + ".npy"
    with open(path, "rb") as handle:  # our own handle: closed even when zipfile fails
        if handle.read(4) != _ZIP_MAGIC:
            fail("not an .npz (zip) archive")
        handle.seek(0)
        try:
            with zipfile.ZipFile(handle) as archive:
                names = archive.namelist()
                if member not in names:
                    fail(
                        f"it has no {container.header_entry!r} entry (not a {container.name} file)"
                    )
                header = _parse_header(_read_member(archive, member), fail)
                _check_identity(header, container, fail)
                arrays = {
                    name[: -len(".npy")]: _read_member(archive, name)
                    for name in names
                    if name != member
                }
        except (OSError, EOFError, zipfile.BadZipFile, ValueError) as error:
            if str(error).startswith(f"cannot load a {container.description}"):
                raise
            fail(f"damaged or truncated ({type(error).__name__}: {error})")
    return header, arrays


def _read_member(archive: zipfile.ZipFile, name: str) -> NDArray[Any]:
    """One ``.npy`` entry, read only if its header is sound.

    The header's shape and dtype are checked before any data is read: an entry holding
    objects, or declaring more bytes than it stores (a header promising a huge array),
    is refused, so nothing is allocated beyond the entry's real size.
    """
    if not name.endswith(".npy"):
        raise ValueError(f"entry {name!r} is not a .npy array")
    stored = archive.getinfo(name).file_size
    with archive.open(name) as member:
        version = np.lib.format.read_magic(member)
        read_header = (
            np.lib.format.read_array_header_1_0
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read_header(member)
        if dtype.hasobject:
            raise ValueError(f"entry {name!r} holds Python objects, which need pickle")
        declared = math.prod(shape) * dtype.itemsize
        if declared > stored:
            raise ValueError(
                f"entry {name!r} declares {declared:,} bytes of data but stores {stored:,}"
            )
    with archive.open(name) as member:
        return np.lib.format.read_array(member, allow_pickle=False)


def _parse_header(entry: NDArray[Any], fail: Callable[[str], NoReturn]) -> dict[str, Any]:
    if entry.shape != () or entry.dtype.kind != "U":
        fail("its header entry is not a JSON string")
    try:
        header = json.loads(str(entry))
    except json.JSONDecodeError as error:
        fail(f"its header is not valid JSON ({error})")
    except RecursionError:
        fail("its header is nested too deeply")
    if not isinstance(header, dict):
        fail(f"its header is a JSON {type(header).__name__}, not an object")
    return header


def _check_identity(
    header: Mapping[str, Any], container: ContainerFormat, fail: Callable[[str], NoReturn]
) -> None:
    if header.get("format") != container.name:
        fail(f"its header describes format {header.get('format')!r}, not {container.name!r}")
    if header.get("version") != container.version:
        fail(
            f"format version {header.get('version')!r} is not supported "
            f"(this recgym reads version {container.version})"
        )


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None (strict JSON: ``null``).

    Mappings become dicts and tuples lists, recursively; everything else is kept.
    """
    if isinstance(value, Mapping):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_csv(
    path: str | os.PathLike[str], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Path:
    """Write a CSV file atomically: a header row of ``columns``, then ``rows``.

    Floats are written with ``repr`` (shortest round-trip form, ``nan`` for NaN); None
    becomes an empty field.

    Returns:
        pathlib.Path: ``path``.

    Raises:
        TypeError: If ``path`` is not a str or os.PathLike.
    """
    check_path(path)

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, (float, np.floating)):
            return repr(float(value))
        return str(value)

    def write(tmp: str) -> None:
        with open(tmp, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            writer.writerows([cell(value) for value in row] for row in rows)

    return atomic_write(path, write)
