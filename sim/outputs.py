"""Writing output folders: all files or none, never over a user's work by accident.

Every check here runs before a command simulates anything, so a folder that
cannot be written is reported at once, not after the work; an ``OSError`` at
write time (a full disk, say) still becomes an :class:`OutputError`.
Folders and files are created with the usual modes, so the umask applies.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path


class OutputError(Exception):
    """The output folder cannot be used; ``str()`` is the one-line message."""


def _existing(path: Path) -> Path:
    """The path itself if it exists, else its nearest existing ancestor."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable(path: str | Path) -> Path:
    """Refuse ``path`` unless it, or for a missing path its nearest existing ancestor,
    is a folder that accepts a new file; return the absolute path."""
    path = Path(path).resolve()
    _probe(path, path)
    return path


def _probe(path: Path, start: Path) -> None:
    """Create and delete a file in ``start`` or its nearest existing ancestor, for ``path``.

    Permission bits alone do not tell: root ignores them, while read-only mounts
    and immutable folders refuse even root.
    """
    folder = _existing(start)
    if not folder.is_dir():
        raise OutputError(f"{path}: cannot be created: {folder} is not a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".mentorsim-probe-"):
            pass
    except OSError as exc:
        where = "" if folder == path else f" in {folder}"
        raise OutputError(f"{path}: cannot write{where}: {exc.strerror}") from None


def check_folder(out: str | Path, force: bool) -> Path:
    """Refuse a file, a folder that cannot be written, or a non-empty folder unless ``force``;
    return the absolute path."""
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    try:
        busy = out.is_dir() and any(out.iterdir())
    except OSError as exc:
        raise OutputError(f"{out}: cannot read directory: {exc.strerror}") from None
    if busy and not force:
        raise OutputError(f"{out}: directory is not empty (use --force to overwrite)")
    return check_writable(out)


def check_file(path: str | Path) -> Path:
    """Refuse a folder, or a file whose folder cannot be written; return the absolute path."""
    path = Path(path).resolve()
    if path.is_dir():
        raise OutputError(f"{path}: is a directory")
    _probe(path, path.parent)
    return path


def write_folder(out: str | Path, writers: Mapping[str, Callable[[Path], object]],
                 force: bool = False, whole: bool = False) -> Path:
    """Write each ``name -> writer(path)`` into ``out``, all or nothing.

    Files are written to a hidden folder first and moved into place only when
    every one is complete; an interrupted or failed write removes that folder.
    With ``force`` a non-empty ``out`` is accepted; files of the same name are
    replaced and other files are kept. With ``whole`` (a command's own subfolder
    of a batch, such as ``cea/``) the folder is replaced as a whole, so that no
    file of an earlier run with other outputs is left in it.
    """
    out = check_folder(out, force or whole)
    # staged in the nearest existing folder (beside a folder replaced whole), so that a
    # failed write leaves no new parents behind
    tmp = (out.parent if whole and out.is_dir() else _existing(out)) / \
        f".mentorsim-{secrets.token_hex(8)}"
    old = tmp.with_name(tmp.name + "-old")
    try:
        tmp.mkdir()
        for name, writer in writers.items():
            writer(tmp / name)
        if out.is_dir() and whole:
            out.rename(old)
            try:
                tmp.rename(out)
            except OSError:
                old.rename(out)  # the earlier outputs stay, whole
                raise
        elif out.is_dir():
            for f in tmp.iterdir():
                os.replace(f, out / f.name)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp.rename(out)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
        if old.exists():
            shutil.rmtree(old)
    return out


def write_file(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Write one file all or nothing: to a hidden sibling first, then moved into place."""
    path = check_file(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        writer(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
