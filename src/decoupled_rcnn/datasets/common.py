"""Error type and crash-safe file helpers shared by the dataset readers and writers.

Every problem with user data raises :class:`DatasetError` with a one-line message that
starts with the offending path. Writers go through a temporary path in the destination's
directory and an atomic rename, so an interrupted or failed run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["DatasetError", "atomic_directory", "is_finite_number", "load_json"]



def is_finite_number(value: Any) -> bool:
    """A real int or float (not a bool), finite: what a json box coordinate or score must be."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class DatasetError(ValueError):
    """A dataset file or directory is missing, unreadable or inconsistent.

    The message is a single line of the form ``"<path>: <what is wrong>"``.
    """

    def __init__(self, path: str | os.PathLike | None, message: str) -> None:
        self.path = None if path is None else Path(path)
        text = " ".join(str(message).split())  # one line, whatever the cause said
        super().__init__(f"{path}: {text}" if path is not None else text)


def load_json(path: str | os.PathLike) -> Any:
    """Read a json file, turning every failure into a :class:`DatasetError`.

    Args:
        path: The json file.

    Returns:
        The decoded document.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "file not found" if not path.exists() else "not a regular file")
    if path.stat().st_size == 0:
        raise DatasetError(path, "empty file (0 bytes): expected a json document")
    try:
        with path.open("rb") as f:
            return json.load(f)
    except json.JSONDecodeError as err:
        raise DatasetError(
            path, f"malformed json: {err.msg} at line {err.lineno} column {err.colno}"
        ) from err
    except UnicodeDecodeError as err:
        raise DatasetError(path, f"malformed json: not UTF-8 text ({err.reason})") from err
    except OSError as err:
        raise DatasetError(path, f"unreadable: {err.strerror or err}") from err


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Build a directory under a temporary name and move it into place on success.

    Args:
        path: The final directory.
        overwrite: Replace an existing non-empty ``path``; otherwise that is an error.

    Yields:
        The temporary directory to fill. It is removed if the body raises.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DatasetError(path, "exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise DatasetError(path, "output directory exists and is not empty (pass overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, trash / "old")
            os.replace(tmp, path)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
