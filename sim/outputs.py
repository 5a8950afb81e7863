"""Writing output folders: all files or none, never over a user's work by accident."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path


class OutputError(Exception):
    """The output folder cannot be used; ``str()`` is the one-line message."""


def check_folder(out: str | Path, force: bool) -> Path:
    """Refuse a file, or a non-empty folder unless ``force``; return the absolute path."""
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(f"{out}: directory is not empty (use --force to overwrite)")
    return out


def write_folder(out: str | Path, writers: Mapping[str, Callable[[Path], object]],
                 force: bool = False) -> Path:
    """Write each ``name -> writer(path)`` into ``out``, all or nothing.

    Files are written to a hidden folder first and moved into place only when
    every one is complete. With ``force`` a non-empty ``out`` is accepted; files
    of the same name are replaced and other files are kept.
    """
    out = check_folder(out, force)
    staging_parent = out if out.is_dir() else out.parent
    staging_parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".mentorsim-", dir=staging_parent))
    try:
        for name, writer in writers.items():
            writer(tmp / name)
        if out.is_dir():
            for f in tmp.iterdir():
                os.replace(f, out / f.name)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out


def write_file(path: str | Path, writer: Callable[[Path], object]) -> Path:
    """Write one file all or nothing: to a hidden sibling first, then moved into place."""
    path = Path(path).resolve()
    if path.is_dir():
        raise OutputError(f"{path}: is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        writer(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
