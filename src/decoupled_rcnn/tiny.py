"""The one "tiny" setting: any model config shrunk to train in seconds on a CPU.

:func:`make_tiny` narrows widths, shortens the backbone, cuts proposal and RoI counts and the
input scale, and switches pretrained weights off. It never touches what makes a variant that
variant: NMS_cls / NMS_reg, the number of stages, lambda, IoU thresholds, sampling fractions,
positive-only regression sampling, shared/unshared heads, test-time stage selection.
"""

from __future__ import annotations

import copy
from typing import Any

from mmengine.config import Config, ConfigDict

__all__ = ["TINY", "make_tiny"]

#: The tiny setting's numbers.
TINY = dict(
    backbone_depth=18,  # ResNet-18 layout (BasicBlock, 2-2-2-2)
    base_channels=8,  # ResNet-18 stage widths 8/16/32/64 instead of 64/128/256/512
    width=32,  # FPN, RPN and RoI feature channels (256 in the paper)
    fc_width=64,  # head FC / conv-branch width (1024 in the paper)
    rpn_samples=64,  # RPN anchors per image (256)
    rcnn_samples=64,  # RoIs per image for each sampler (512)
    nms_pre=200,  # per-level candidates before the RPN NMS (2000 train / 1000 test)
    proposals=100,  # proposals per set after NMS (1000)
    dets_per_img=20,  # detections kept per image (100)
    max_side=160,  # longest side of the resized input (1333)
)

_WIDTH_KEYS = ("in_channels", "out_channels", "feat_channels")
_FC_KEYS = ("fc_out_channels", "conv_out_channels")


def _shrink_heads(node: Any) -> None:
    """Narrow every head / extractor config in ``node`` in place."""
    if isinstance(node, list):
        for item in node:
            _shrink_heads(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key in _WIDTH_KEYS and isinstance(value, int):
            node[key] = TINY["width"]
        elif key in _FC_KEYS and isinstance(value, int):
            node[key] = TINY["fc_width"]
        else:
            _shrink_heads(value)


def _shrink_samplers(node: Any, num: int) -> None:
    """Set ``num`` of every sampler config in ``node`` (cascade lists included)."""
    if isinstance(node, list):
        for item in node:
            _shrink_samplers(item, num)
    elif isinstance(node, dict):
        sampler = node.get("sampler")
        if isinstance(sampler, dict) and "num" in sampler:
            sampler["num"] = num
        for key, value in node.items():
            if key != "sampler":
                _shrink_samplers(value, num)


def _shrink_proposals(cfg: dict | None) -> None:
    """Fewer RPN candidates and proposals (both DSS sets alike)."""
    if not cfg:
        return
    cfg["nms_pre"] = TINY["nms_pre"]
    cfg["max_per_img"] = TINY["proposals"]
    if cfg.get("reg_nms") is not None:
        cfg["reg_max_per_img"] = TINY["proposals"]


def _shrink_scale(scale: Any) -> Any:
    """Scale a (w, h) tuple, or a list of them, so the longer side is ``max_side``."""
    if isinstance(scale, (list, tuple)) and scale and isinstance(scale[0], (list, tuple)):
        return [_shrink_scale(s) for s in scale]
    if isinstance(scale, (list, tuple)) and len(scale) == 2:
        ratio = TINY["max_side"] / max(scale)
        return (max(1, round(scale[0] * ratio)), max(1, round(scale[1] * ratio)))
    return scale


def _shrink_pipelines(node: Any) -> None:
    """Small input scale in every ``Resize``-like transform of every pipeline."""
    if isinstance(node, list):
        for item in node:
            _shrink_pipelines(item)
    elif isinstance(node, dict):
        if "Resize" in str(node.get("type", "")) and "scale" in node:
            node["scale"] = _shrink_scale(node["scale"])
        for value in node.values():
            _shrink_pipelines(value)


def make_tiny(cfg: Config) -> Config:
    """Return a tiny copy of a model config (the input is not modified).

    Args:
        cfg: a full config (``model`` plus, optionally, data pipelines) of any variant.

    Returns:
        The shrunk config; ``cfg.model`` builds a network of well under a million parameters.
    """
    cfg = copy.deepcopy(cfg)
    model = cfg.model
    backbone = model.backbone
    backbone.update(
        type="ResNet", depth=TINY["backbone_depth"], base_channels=TINY["base_channels"],
        init_cfg=None)
    for key in ("groups", "base_width"):
        backbone.pop(key, None)
    stage_channels = [TINY["base_channels"] * 2**i for i in range(backbone.get("num_stages", 4))]
    if model.get("neck") is not None:
        model.neck.in_channels = [stage_channels[i] for i in backbone.get(
            "out_indices", range(len(stage_channels)))]
        model.neck.out_channels = TINY["width"]
    for key in ("rpn_head", "roi_head"):
        if model.get(key) is not None:
            _shrink_heads(model[key])
    train_cfg = model.get("train_cfg") or ConfigDict()
    if train_cfg.get("rpn") is not None:
        _shrink_samplers(train_cfg.rpn, TINY["rpn_samples"])
    if train_cfg.get("rcnn") is not None:
        _shrink_samplers(train_cfg.rcnn, TINY["rcnn_samples"])
    _shrink_proposals(train_cfg.get("rpn_proposal"))
    test_cfg = model.get("test_cfg") or ConfigDict()
    _shrink_proposals(test_cfg.get("rpn"))
    if test_cfg.get("rcnn") is not None:
        test_cfg.rcnn.max_per_img = TINY["dets_per_img"]
    for key in ("train_dataloader", "val_dataloader", "test_dataloader",
                "train_pipeline", "test_pipeline"):
        if key in cfg:
            _shrink_pipelines(cfg[key])
    cfg.load_from = None
    return cfg
