"""Loading mmengine Runner checkpoints under torch's ``weights_only=True`` default.

torch >= 2.6 unpickles checkpoints with ``weights_only=True``: only tensors, containers and
allow-listed globals are rebuilt. An mmengine 0.10.7 Runner checkpoint also holds the
message hub's :class:`~mmengine.logging.HistoryBuffer` objects (numpy arrays inside) and
numpy scalars in its ``meta``, so mmengine cannot resume from its own files. We allow-list
exactly those types, only while one of our loads runs (:func:`checkpoint_safety`, torch's
``safe_globals`` context), and keep ``weights_only`` on: a checkpoint that carries any other
pickled object is refused with :class:`UnsafeCheckpointError`, which names the file and the
offending global. :func:`register_safe_loader` makes mmengine's loader of local files (resume,
``init_cfg=dict(type='Pretrained')``) :func:`load_checkpoint_file`, through mmengine's public
``CheckpointLoader.register_scheme``.
"""

from __future__ import annotations

import contextlib
import os.path as osp
import pickle
import re
from collections.abc import Iterator

import numpy as np
import torch

__all__ = ["UnsafeCheckpointError", "checkpoint_safety", "load_checkpoint_file",
           "register_safe_loader", "safe_checkpoint_globals"]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a pickled object outside the allow-list."""


#: The statistics methods mmengine 0.10.7's HistoryBuffer registers for itself; a checkpoint
#: pickles them as ``getattr(HistoryBuffer, name)`` (tests/test_checkpoint.py pins the set).
HISTORY_STATISTICS = frozenset({"min", "max", "mean", "current"})


def _history_buffer_getattr(obj: object, name: str):
    """Stands in for ``builtins.getattr`` while unpickling.

    A HistoryBuffer pickles its ``statistics_methods`` as ``getattr(HistoryBuffer, 'min')``
    and the like. Allow-listing the real ``getattr`` would let a checkpoint fetch any
    attribute of any allow-listed object; this resolves only HistoryBuffer's built-in
    statistics methods (we register no others).
    """
    from mmengine.logging.history_buffer import HistoryBuffer

    if obj is HistoryBuffer and name in HISTORY_STATISTICS:
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


@contextlib.contextmanager
def checkpoint_safety() -> Iterator[None]:
    """Allow-list :func:`safe_checkpoint_globals` for ``torch.load(..., weights_only=True)``.

    Scoped: torch's ``safe_globals`` context, undone on exit; nothing is allow-listed
    process-wide.
    """
    with torch.serialization.safe_globals(safe_checkpoint_globals()):
        yield


_UNSUPPORTED_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")


def load_checkpoint_file(filename: str, map_location=None):
    """Load a local checkpoint with ``weights_only`` on and a readable refusal.

    Args:
        filename: the checkpoint file.
        map_location: passed to :func:`torch.load`.

    Returns:
        The loaded object (tensors, containers, the allow-listed types).

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the file holds a pickled object outside the allow-list; the
            message names the file and the object's type.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f"{filename} can not be found.")
    try:
        with checkpoint_safety():
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        match = _UNSUPPORTED_GLOBAL.search(str(err))
        culprit = match.group(1) if match else "an object outside the allow-list"
        raise UnsafeCheckpointError(
            f"{filename}: refused to load checkpoint: it contains a pickled object of type "
            f"{culprit}, which is not one of the tensor, numpy or mmengine types a Runner "
            "checkpoint holds. Loading it could run arbitrary code. If you trust the file, "
            "load it within torch.serialization.safe_globals([...])."
        ) from err


def register_safe_loader() -> None:
    """Make :func:`load_checkpoint_file` mmengine's loader of local checkpoint files.

    ``CheckpointLoader.register_scheme`` is mmengine's public registry of loaders by path
    prefix; the empty prefix is the local-file one. Idempotent; called when
    :mod:`decoupled_rcnn.models` (the plugin every config imports) is imported.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    CheckpointLoader.register_scheme(prefixes="", loader=load_checkpoint_file, force=True)
