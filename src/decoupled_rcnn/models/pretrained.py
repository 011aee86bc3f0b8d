"""``torchvision://`` checkpoints without importing torchvision.

mmengine resolves ``torchvision://resnet50`` by importing torchvision to look up the model
URLs. torchvision is not part of this project's stack, so we register a replacement loader for
the scheme. It reads the same name -> URL table that mmengine ships for this purpose
(``mmengine/hub/torchvision_0.12.json``: torchvision's published ImageNet weights, e.g.
``resnet50-0676ba61.pth``) and fetches through :func:`torch.hub.load_state_dict_from_url`,
which reads ``$TORCH_HOME/hub/checkpoints`` first and downloads only on a miss. A cluster node
with network, or any machine with a pre-filled cache, therefore gets the weights mmdet's
configs expect. ResNeXt backbones use ``open-mmlab://``, which mmengine loads itself.
"""

from __future__ import annotations

import functools
import os.path as osp

import mmengine
import torch
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = ["install_torchvision_scheme", "load_from_torchvision", "torchvision_urls"]

PREFIX = "torchvision://"


@functools.cache
def torchvision_urls() -> dict[str, str]:
    """torchvision model name -> checkpoint URL, from mmengine's bundled table."""
    return mmengine.load(osp.join(mmengine.__path__[0], "hub", "torchvision_0.12.json"))


def load_from_torchvision(filename: str, map_location=None) -> dict:
    """Load ``torchvision://<name>`` from torch.hub's cache, downloading on a miss.

    Args:
        filename: ``torchvision://resnet50`` and the like.
        map_location: passed to :func:`torch.load`.

    Returns:
        The checkpoint (a state dict).

    Raises:
        KeyError: unknown model name.
    """
    name = filename[len(PREFIX):]
    urls = torchvision_urls()
    if name not in urls:
        raise KeyError(f"{filename}: unknown torchvision model {name!r}; "
                       f"known: {', '.join(sorted(urls))}")
    model_dir = osp.join(torch.hub.get_dir(), "checkpoints")
    return torch.hub.load_state_dict_from_url(
        urls[name], model_dir=model_dir, map_location=map_location, progress=False,
        weights_only=True)


def install_torchvision_scheme() -> None:
    """Route ``torchvision://`` through :func:`load_from_torchvision` (idempotent)."""
    CheckpointLoader.register_scheme(prefixes=PREFIX, loader=load_from_torchvision, force=True)
