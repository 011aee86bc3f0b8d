"""How a result was made, and writing it safely: atomic JSON, commit, hardware.

Every result file of the workflow (train info, metrics, benchmark, data summary) is written
with :func:`write_json_atomic` (checkpoints with :func:`write_atomic`: all of the file or
none of it, a full disk named in one line) and carries :func:`git_commit` and :func:`hardware`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from decoupled_rcnn.paths import REPO_ROOT

if TYPE_CHECKING:
    import torch

__all__ = ["ResultWriteError", "dumps_canonical", "git_commit", "hardware", "hardware_name",
           "is_temporary", "remove_temporaries", "save_torch_atomic", "write_atomic",
           "write_json_atomic"]


def dumps_canonical(obj: Any) -> str:
    """Serialise ``obj`` deterministically (sorted keys, compact separators)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


class ResultWriteError(OSError):
    """A result file could not be written (disk full, folder not writable ...).

    ``errno`` is the cause's; the message is one line naming the file, and says that the
    previous complete file (if any) is untouched.
    """

    def __str__(self) -> str:
        return str(self.strerror)


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()  # what open() would give a new file


def write_atomic(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Write ``path`` via a temporary file in its folder and a rename.

    Args:
        path: Destination; its parent directory is created if needed.
        write: fills the open temporary file (binary).

    Returns:
        The destination path.

    Raises:
        ResultWriteError: any OS error (``ENOSPC``, ``EACCES``, a parent that is a file):
            ``"<path>: cannot write: <reason>; ..."``; the temporary file is removed and a
            previous ``path`` is left as it was.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, _FILE_MODE)  # mkstemp's 0600 would hide reports and results from others
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if isinstance(err, OSError) and not isinstance(err, ResultWriteError):
            reason = err.strerror or str(err)
            where = f" ({err.filename})" if err.filename and str(err.filename) != str(tmp) \
                else ""
            kept = " (the previous file is unchanged)" if path.exists() else ""
            raise ResultWriteError(err.errno, f"{path}: cannot write: {reason}{where}{kept}"
                                   ) from err
        raise
    return path


def is_temporary(path: Path) -> bool:
    """Whether ``path`` is what :func:`write_atomic` or ``datasets.common.atomic_directory``
    names a file or folder while it is being written (``.<name>.<random>.tmp`` / ``.old``)."""
    return path.name.startswith(".") and path.name.endswith((".tmp", ".old"))


def remove_temporaries(*folders: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Delete the temporaries that killed writers left in ``folders`` (they are never read).

    Call it only while no writer runs there: the workflow does, in ``onstart``, holding
    Snakemake's lock on the working directory.

    Args:
        folders: where results are written.
        recursive: look in sub-folders too (not for a folder such as the report's, which may
            be the working directory itself).

    Returns:
        What was removed.
    """
    removed = []
    for folder in map(Path, folders):
        if not folder.is_dir():
            continue
        found = folder.rglob(".*") if recursive else folder.glob(".*")
        for path in sorted(found, key=lambda p: len(p.parts)):
            if ".snakemake" in path.parts or not is_temporary(path) or not path.exists():
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_json_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` as canonical json to ``path`` via a temporary file and a rename.

    Args:
        obj: A json-serialisable object.
        path: Destination; its parent directory is created if needed.

    Returns:
        The destination path.

    Raises:
        ResultWriteError: the file could not be written (see :func:`write_atomic`).
    """
    text = (dumps_canonical(obj) + "\n").encode("utf-8")  # serialise before touching the disk
    return write_atomic(path, lambda f: f.write(text))


def save_torch_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` all at once or not at all (a checkpoint, a pre-trained backbone).

    Serialised in memory first: torch's own file writer reports a full disk as a RuntimeError
    without the errno, so the disk is only written by :func:`write_atomic`.

    Raises:
        ResultWriteError: the file could not be written (see :func:`write_atomic`).
    """
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return write_atomic(path, lambda f: f.write(buffer.getbuffer()))


def hardware_name(device: torch.device) -> str:
    """The GPU's name, or the CPU model with the number of logical CPUs this process may use."""
    if device.type == "cuda":
        import torch

        return torch.cuda.get_device_name(device)
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    model = model or platform.processor() or platform.machine() or "unknown CPU"
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 0
    return f"{model} ({cpus} logical CPUs)"


def hardware() -> str:
    """The device a run used, in words (GPUs, or the CPU model and torch's thread count)."""
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()}x {hardware_name(torch.device('cuda'))}"
    return f"{hardware_name(torch.device('cpu'))}, {torch.get_num_threads()} torch threads"


def git_commit() -> str:
    """The repository's short commit, ``-dirty`` when tracked files have changed."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = out.stdout.strip() or "unknown"
    return commit + ("-dirty" if dirty.stdout.strip() else "")
