"""Loading mmengine Runner checkpoints under torch's ``weights_only=True`` default.

torch >= 2.6 unpickles checkpoints with ``weights_only=True``: only tensors, containers and
allow-listed globals are rebuilt. An mmengine 0.10.7 Runner checkpoint also holds the
message hub's :class:`~mmengine.logging.HistoryBuffer` objects (numpy arrays inside) and
numpy scalars in its ``meta``, so mmengine cannot resume from its own files. We allow-list
exactly those types once, at package import, and keep ``weights_only`` on: a checkpoint that
carries any other pickled object is refused with :class:`UnsafeCheckpointError`, which names
the file and the offending global.
"""

from __future__ import annotations

import os.path as osp
import pickle
import re

import numpy as np
import torch

__all__ = ["UnsafeCheckpointError", "install_checkpoint_safety", "safe_checkpoint_globals"]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside the allow-list."""


_HISTORY_STATISTICS = frozenset({"min", "max", "mean", "current"})


def _history_buffer_getattr(obj: object, name: str):
    """Stands in for ``builtins.getattr`` while unpickling.

    A HistoryBuffer pickles its ``statistics_methods`` as ``getattr(HistoryBuffer, 'min')``
    and the like. Allow-listing the real ``getattr`` would let a checkpoint fetch any
    attribute of any allow-listed object; this resolves only HistoryBuffer's registered
    statistics methods.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    # The class-level registry is filled by the first instance, so name the built-ins too.
    allowed = _HISTORY_STATISTICS | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise UnsafeCheckpointError(
        f"refused getattr({getattr(obj, '__qualname__', type(obj).__qualname__)}, {name!r}) "
        "while loading a checkpoint: only HistoryBuffer statistics methods are allowed"
    )


def safe_checkpoint_globals() -> list:
    """The non-tensor globals an mmengine Runner checkpoint contains.

    Returns:
        Classes and functions (or ``(function, "module.name")`` pairs) to pass to
        :func:`torch.serialization.add_safe_globals`.
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    numpy_core = np._core if hasattr(np, "_core") else np.core
    dtype_names = ("float64", "float32", "int64", "int32", "bool")
    dtype_classes = [type(np.dtype(name)) for name in dtype_names]
    return [
        HistoryBuffer,
        (_history_buffer_getattr, "builtins.getattr"),
        numpy_core.multiarray._reconstruct,
        numpy_core.multiarray.scalar,
        np.ndarray,
        np.dtype,
        *dtype_classes,
    ]


_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")


def load_from_local_safely(filename: str, map_location=None):
    """mmengine's local-file loader, with ``weights_only`` kept on and a readable refusal."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f"{filename} can not be found.")
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        match = _UNSUPPORTED_GLOBAL.search(str(err))
        culprit = match.group(1) if match else "an object outside the allow-list"
        raise UnsafeCheckpointError(
            f"{filename}: refused to load checkpoint: it contains a pickled object of type "
            f"{culprit}, which is not one of the tensor, numpy or mmengine types a Runner "
            "checkpoint holds. Loading it could run arbitrary code. If you trust the file, "
            "add that type with torch.serialization.add_safe_globals([...]) before loading."
        ) from err


_installed = False


def install_checkpoint_safety() -> None:
    """Allow-list the Runner checkpoint types and route mmengine's local loader through us.

    Idempotent; called once when :mod:`decoupled_rcnn` is imported.
    """
    global _installed
    if _installed:
        return
    from mmengine.runner.checkpoint import CheckpointLoader

    torch.serialization.add_safe_globals(safe_checkpoint_globals())
    CheckpointLoader.register_scheme(prefixes="", loader=load_from_local_safely, force=True)
    _installed = True
