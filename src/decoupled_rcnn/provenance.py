"""How a result was made, and writing it safely: atomic JSON, commit, hardware.

Every result file of the workflow (train info, metrics, benchmark, data summary) is written
with :func:`write_json_atomic` and carries :func:`git_commit` and :func:`hardware`.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import torch

from decoupled_rcnn.paths import REPO_ROOT

__all__ = ["dumps_canonical", "git_commit", "hardware", "hardware_name", "write_json_atomic"]


def dumps_canonical(obj: Any) -> str:
    """Serialise ``obj`` deterministically (sorted keys, compact separators)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def write_json_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """Write ``obj`` as canonical json to ``path`` via a temporary file and a rename.

    Args:
        obj: A json-serialisable object.
        path: Destination; its parent directory is created if needed.

    Returns:
        The destination path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(dumps_canonical(obj))
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def hardware_name(device: torch.device) -> str:
    """The GPU's name, or the CPU model with the number of logical CPUs this process may use."""
    if device.type == "cuda":
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
