"""``torchvision://`` checkpoints without importing torchvision.

mmengine resolves ``torchvision://resnet50`` by importing torchvision to look up the model
URLs. torchvision is not part of this project's stack, so we register a replacement loader for
the scheme. It reads the same name -> URL table that mmengine ships for this purpose
(``mmengine/hub/torchvision_0.12.json``: torchvision's published ImageNet weights, e.g.
``resnet50-0676ba61.pth``) and fetches through :func:`torch.hub.load_state_dict_from_url`,
which reads ``$TORCH_HOME/hub/checkpoints`` first and downloads only on a miss. A cluster node
with network, or any machine with a pre-filled cache, therefore gets the weights mmdet's
configs expect. ResNeXt backbones use ``open-mmlab://``, which mmengine loads itself.

:func:`backbone_weights_init` is the offline alternative (``model.backbone_weights``): a local
file, torchvision's ResNet state dict or an mmdet detector checkpoint, checked key by key and
shape by shape against the full-size backbone before anything trains, and loaded through the
same ``init_cfg=dict(type='Pretrained', ...)`` (with ``prefix='backbone.'`` for mmdet's).
"""

from __future__ import annotations

import functools
import json
import os
import os.path as osp
from collections.abc import Mapping
from typing import Any

import mmengine
import torch
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = ["BackboneWeightsError", "backbone_weights_init", "install_torchvision_scheme",
           "load_from_torchvision", "torchvision_urls"]

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


class BackboneWeightsError(ValueError):
    """``model.backbone_weights`` does not fit the backbone (one line: file and first keys)."""


#: Buffers a state dict may lack without harm (torchvision's older files have none).
_OPTIONAL = ("num_batches_tracked",)
_MMDET_PREFIX = "backbone."


def _state_dict(path: str) -> dict[str, Any]:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as err:  # noqa: BLE001  (any unreadable file: one line)
        raise BackboneWeightsError(f"{path}: not a readable torch checkpoint "
                                   f"({type(err).__name__}: {str(err).splitlines()[0]})") from None
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, Mapping) else None
    if not isinstance(state, Mapping) or not state:
        raise BackboneWeightsError(f"{path}: no state dict in the file")
    return dict(state)


@functools.lru_cache(maxsize=8)
def _checked(path: str, mtime: int, backbone: str) -> str | None:
    """The prefix to load ``path`` with, after checking it against the backbone config
    (``backbone``: its json; the cache key)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import ConfigDict

    state = _state_dict(path)
    prefix = _MMDET_PREFIX if any(k.startswith(_MMDET_PREFIX) for k in state) else None
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    register_all_modules(init_default_scope=False)
    cfg = ConfigDict(json.loads(backbone))
    cfg.init_cfg = None
    expected = MODELS.build(cfg).state_dict()
    missing = [k for k in expected if k not in state and not k.endswith(_OPTIONAL)]
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or wrong:
        kind = f"{cfg.get('type')}-{cfg.get('depth')}"
        raise BackboneWeightsError(
            f"{path}: does not fit the {kind} backbone: "
            + (f"{len(missing)} of {len(expected)} keys missing (e.g. {', '.join(missing[:3])})"
               if missing else "")
            + ("; " if missing and wrong else "")
            + (f"{len(wrong)} shapes differ (e.g. {'; '.join(wrong[:2])})" if wrong else "")
            + ": give a torchvision ResNet state dict or an mmdet checkpoint of this backbone")
    return prefix


def backbone_weights_init(path: str | os.PathLike, backbone: Mapping[str, Any]) -> dict:
    """The ``init_cfg`` that loads a local weights file into a full-size backbone.

    Args:
        path: torchvision's ResNet state dict (``conv1.weight``, ``layer1.0...``; its
            ``fc.*`` is ignored) or an mmdet checkpoint (``state_dict`` with ``backbone.*``).
        backbone: the model config's ``backbone`` dict (mmdet ResNet / ResNeXt).

    Returns:
        ``dict(type='Pretrained', checkpoint=path[, prefix='backbone.'])``.

    Raises:
        BackboneWeightsError: a missing or unreadable file, or keys / shapes that do not fit
            (checked here, before any training starts).
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise BackboneWeightsError(f"{path}: model.backbone_weights file not found")
    spec = {k: v for k, v in dict(backbone).items() if k != "init_cfg"}
    prefix = _checked(path, os.stat(path).st_mtime_ns, json.dumps(spec, sort_keys=True,
                                                                  default=list))
    init = {"type": "Pretrained", "checkpoint": path}
    if prefix:
        init["prefix"] = prefix
    return init

