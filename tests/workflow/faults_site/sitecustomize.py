"""Test-only fault injection: SIGKILL the whole process group in the middle of a file write.

``tests/workflow/test_faults.py`` puts this folder on ``PYTHONPATH`` of the Snakemake run it
wants to break, so every Python process of that run (Snakemake and each job's script) loads
it at start-up. With ``DRCNN_FAULT_KILL_WRITING`` unset it does nothing. Set to a substring of
a path, the first write to a file whose path contains it (opened with ``open``,
``Path.open``/``write_text`` or ``os.fdopen`` of a ``mkstemp`` file) writes half of what it
was given, flushes it to disk and then kills the process group of the Snakemake run with
SIGKILL: what a node loss or an OOM kill in the middle of saving leaves behind. Production
code never imports this module (no virtual environment ships a ``sitecustomize``).
"""

from __future__ import annotations

import builtins
import io
import os
import signal

_TARGET = os.environ.get("DRCNN_FAULT_KILL_WRITING", "")


def _kill_everything() -> None:
    """SIGKILL the Snakemake run: its session (Snakemake started it) and our own group."""
    for group in {os.getsid(0), os.getpgid(0)}:
        os.killpg(group, signal.SIGKILL)


class _HalfWriter:
    """A file object whose first write goes half-way to disk, then the run is killed."""

    def __init__(self, file):
        self._file = file

    def write(self, data):
        self._file.write(data[: max(1, len(data) // 2)])
        self._file.flush()
        os.fsync(self._file.fileno())
        _kill_everything()

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()
        return False

    def __iter__(self):
        return iter(self._file)

    def __getattr__(self, name):
        return getattr(self._file, name)


def _path_of(file) -> str:
    if isinstance(file, int):
        try:
            return os.readlink(f"/proc/self/fd/{file}")
        except OSError:
            return ""
    return os.fsdecode(file) if isinstance(file, str | bytes | os.PathLike) else ""


def _install() -> None:
    real_open = io.open

    def fault_open(file, mode="r", *args, **kwargs):
        handle = real_open(file, mode, *args, **kwargs)
        if any(m in mode for m in "wax+") and _TARGET in _path_of(file):
            return _HalfWriter(handle)
        return handle

    builtins.open = io.open = fault_open


if _TARGET:
    _install()
