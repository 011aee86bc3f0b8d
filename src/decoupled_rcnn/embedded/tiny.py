"""The one "tiny" setting: any model config shrunk to train in seconds on a CPU.

:func:`make_tiny` narrows widths, shortens the backbone, cuts proposal and RoI counts and the
input scale, and switches ImageNet weights off (optionally loading a tiny backbone pre-trained
by :mod:`decoupled_rcnn.embedded.pretrain` instead), and loads images through the per-job
in-memory cache of :mod:`decoupled_rcnn.datasets.image_cache`. The RoI samplers draw 64 RoIs
per image instead of 512 (160 px images with 2-6 objects), keeping every sampler's positive
fraction (1:3 for classification) and the positive-only regression sampler's semantics.
Tiny backbones keep the order of the paper's backbones (r50 < r101 < x101-32x4d <
x101-64x4d, :data:`TINY_BACKBONES`) and train every layer with BatchNorm in training mode
(no frozen stem, no ``norm_eval``): their weights are random or self-pre-trained, never
ImageNet's. It never touches what makes a variant that variant: NMS_cls / NMS_reg, the
number of stages, lambda, IoU thresholds, sampling fractions, positive-only regression
sampling, shared/unshared heads, test-time stage selection.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from mmengine.config import Config, ConfigDict

__all__ = ["TINY", "TINY_BACKBONES", "make_tiny", "tiny_backbone_variant"]

#: The tiny setting's numbers.
TINY = dict(
    width=32,  # FPN, RPN and RoI feature channels (256 in the paper)
    # head FC width (1024 in the paper). Measured on the stand-in data (250
    # iterations): fc 64 -> AP 16, 512 -> AP 27-29, 1024 -> AP 29 at +25 % time; FC width
    # is cheap, the FPN width is not (64 instead of 32: +40 % time per iteration).
    fc_width=512,
    # conv-branch width of the Double-Head regressor (1024 in the paper): its four
    # bottlenecks on 7x7 RoIs cost ~(width)^2, so 512 made a Double-Head iteration ~10x an
    # FPN one (2.8 s); 64 keeps it near the others.
    conv_width=64,
    rpn_samples=64,  # RPN anchors per image (256)
    # RoIs per image for each sampler (512 in the paper, for 800 px COCO images with ~7
    # objects; the stand-in's 160 px images have 2-6). Each sampler keeps its own positive
    # fraction (1:3 positives to negatives for classification) and the positive-only
    # regression sampler its semantics (up to ``num`` positives, padded with zero-weight
    # negatives). Measured (issue 22): 32 cut a 200-iteration FPN R50 training by ~13 % of
    # its CPU-s but lost 3 AP / 4 AP50 (seeds 0, 1), so 64 stays.
    rcnn_samples=64,
    nms_pre=200,  # per-level candidates before the RPN NMS (2000 train / 1000 test)
    proposals=100,  # proposals per set after NMS (1000)
    dets_per_img=20,  # detections kept per image (100)
    max_side=160,  # longest side of the resized input (1333)
    # RoIAlign keeps the configs' adaptive sampling_ratio=0: 2 (fixed) measured -14 % CPU-s
    # per training but AP50 39.5 < 39.8, the floor of issue 22 (FPN R50, seeds 0 and 1).
)

#: Tiny backbone per paper backbone (:func:`tiny_backbone_variant` names the key). Every one
#: trains all stages with BatchNorm in training mode.
TINY_BACKBONES: dict[str, dict[str, Any]] = {
    # ResNet-18 layout (BasicBlock 2-2-2-2), stage widths 16/32/64/128: 0.70 M, 0.07 GFLOPs
    "r50": dict(type="ResNet", depth=18, base_channels=16),
    # ResNet-34 layout (BasicBlock 3-4-6-3), same widths, deeper: 1.34 M, 0.13 GFLOPs
    "r101": dict(type="ResNet", depth=34, base_channels=16),
    # ResNeXt-50 layout (grouped bottlenecks 3-4-6-3), 4 groups x 8 channels at stage 1:
    # about r101's size, as in the paper (1.35 M, 0.13 GFLOPs), but deeper and grouped
    "x101_32x4d": dict(type="ResNeXt", depth=50, base_channels=8, groups=4, base_width=8),
    # twice the groups at the same group width, as 64x4d is to 32x4d: 2.65 M, 0.25 GFLOPs
    "x101_64x4d": dict(type="ResNeXt", depth=50, base_channels=8, groups=8, base_width=8),
}
_BACKBONE_COMMON = dict(num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=-1,
                        norm_cfg=dict(type="BN", requires_grad=True), norm_eval=False,
                        style="pytorch", zero_init_residual=False)

_CACHE_MODULE = "decoupled_rcnn.datasets.image_cache"
_WIDTH_KEYS = ("in_channels", "out_channels", "feat_channels")
_FC_KEYS = ("fc_out_channels",)
_CONV_KEYS = ("conv_out_channels",)


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
        elif key in _CONV_KEYS and isinstance(value, int):
            node[key] = TINY["conv_width"]
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


def _shrink_proposals(cfg: dict | None, proposals: int | None = None) -> None:
    """Fewer RPN candidates and proposals (both DSS sets alike)."""
    if not cfg:
        return
    proposals = proposals or TINY["proposals"]
    cfg["nms_pre"] = TINY["nms_pre"]
    cfg["max_per_img"] = proposals
    if cfg.get("reg_nms") is not None:
        cfg["reg_max_per_img"] = proposals


def _shrink_scale(scale: Any) -> Any:
    """Scale a (w, h) tuple, or a list of them, so the longer side is ``max_side``."""
    if isinstance(scale, (list, tuple)) and scale and isinstance(scale[0], (list, tuple)):
        return [_shrink_scale(s) for s in scale]
    if isinstance(scale, (list, tuple)) and len(scale) == 2:
        ratio = TINY["max_side"] / max(scale)
        return (max(1, round(scale[0] * ratio)), max(1, round(scale[1] * ratio)))
    return scale


def _side_scale(scale: Any, side: int) -> Any:
    """A (w, h) scale, or a list of them, as square bounds: with ``keep_ratio`` an image's
    longest side becomes ``side`` (a multi-scale list: ``side`` times each scale's shorter
    side over the largest shorter side, so the relative scales are kept)."""
    if isinstance(scale, (list, tuple)) and scale and isinstance(scale[0], (list, tuple)):
        largest = max(min(s) for s in scale)
        return [(round(side * min(s) / largest),) * 2 for s in scale]
    if isinstance(scale, (list, tuple)) and len(scale) == 2:
        return (side, side)
    return scale


def _shrink_pipelines(node: Any, side: int | None = None) -> None:
    """Small input scale in every ``Resize``-like transform of every pipeline, and images
    decoded once per job (:class:`~decoupled_rcnn.datasets.image_cache.CachedLoadImageFromFile`
    in place of ``LoadImageFromFile``)."""
    if isinstance(node, list):
        for item in node:
            _shrink_pipelines(item, side)
    elif isinstance(node, dict):
        if node.get("type") in ("LoadImageFromFile", "mmdet.LoadImageFromFile"):
            node["type"] = "CachedLoadImageFromFile"
        if "Resize" in str(node.get("type", "")):
            for key in ("scale", "scales"):  # Resize / RandomResize, RandomChoiceResize
                if key in node:
                    node[key] = (_shrink_scale(node[key]) if side is None
                                 else _side_scale(node[key], side))
        for value in node.values():
            _shrink_pipelines(value, side)


def tiny_backbone_variant(cfg: Config | ConfigDict | dict) -> str:
    """Name the tiny backbone that stands for a full config's backbone.

    Args:
        cfg: a full (not yet tiny) config, or its ``model.backbone`` dict.

    Returns:
        A key of :data:`TINY_BACKBONES`: ``r50`` (ResNet up to 50 layers), ``r101`` (deeper
        ResNet), ``x101_32x4d`` (ResNeXt with fewer than 64 groups) or ``x101_64x4d``.

    Raises:
        ValueError: a backbone that is neither mmdet's ResNet nor ResNeXt.
    """
    backbone = cfg["model"]["backbone"] if "model" in cfg else cfg
    kind = str(backbone.get("type", "ResNet")).split(".")[-1]
    depth = int(backbone.get("depth", 50))
    if kind == "ResNet":
        return "r50" if depth <= 50 else "r101"
    if kind == "ResNeXt":
        return "x101_64x4d" if int(backbone.get("groups", 32)) >= 64 else "x101_32x4d"
    raise ValueError(f"no tiny stand-in for backbone type {kind!r} (ResNet / ResNeXt only)")


def _stage_channels(backbone: dict) -> list[int]:
    """Output channels of each stage of a tiny ResNet / ResNeXt backbone config."""
    expansion = 1 if backbone["type"] == "ResNet" and backbone["depth"] in (18, 34) else 4
    return [backbone["base_channels"] * expansion * 2**i for i in range(backbone["num_stages"])]


def make_tiny(cfg: Config, *, pretrained_backbone: str | Path | None = None,
              input_size: int | None = None, max_dets: int | None = None) -> Config:
    """Return a tiny copy of a model config (the input is not modified).

    Args:
        cfg: a full config (``model`` plus, optionally, data pipelines) of any variant.
        pretrained_backbone: a checkpoint written by
            :func:`decoupled_rcnn.embedded.pretrain.pretrain_backbone` for this config's tiny
            backbone variant; loaded through ``init_cfg=dict(type='Pretrained', ...)`` as the
            paper's configs load ImageNet weights. None: random initialisation.
        input_size: the longest image side after resizing (your own data:
            :func:`decoupled_rcnn.datasets.data_profile.choose_input_size`). None: the
            config's scales shrunk so their longer side is ``TINY["max_side"]``.
        max_dets: detections kept per image (your own data: from its busiest images); the
            proposals per set are at least twice that. None: ``TINY["dets_per_img"]``.

    Returns:
        The shrunk config; ``cfg.model`` builds a network of 2-8 million parameters (mostly
        the heads' first FC layer).
    """
    cfg = copy.deepcopy(cfg)
    model = cfg.model
    variant = tiny_backbone_variant(cfg)
    backbone = ConfigDict(**_BACKBONE_COMMON, **TINY_BACKBONES[variant])
    backbone.init_cfg = (None if pretrained_backbone is None else ConfigDict(
        type="Pretrained", checkpoint=str(pretrained_backbone)))
    model.backbone = backbone
    stage_channels = _stage_channels(backbone)
    if model.get("neck") is not None:
        model.neck.in_channels = [stage_channels[i] for i in backbone.out_indices]
        model.neck.out_channels = TINY["width"]
    for key in ("rpn_head", "roi_head"):
        if model.get(key) is not None:
            _shrink_heads(model[key])
    train_cfg = model.get("train_cfg") or ConfigDict()
    if train_cfg.get("rpn") is not None:
        _shrink_samplers(train_cfg.rpn, TINY["rpn_samples"])
    if train_cfg.get("rcnn") is not None:
        _shrink_samplers(train_cfg.rcnn, TINY["rcnn_samples"])
    proposals = None if max_dets is None else max(TINY["proposals"], 2 * max_dets)
    _shrink_proposals(train_cfg.get("rpn_proposal"), proposals)
    test_cfg = model.get("test_cfg") or ConfigDict()
    _shrink_proposals(test_cfg.get("rpn"), proposals)
    if test_cfg.get("rcnn") is not None:
        test_cfg.rcnn.max_per_img = max_dets or TINY["dets_per_img"]
    for key in ("train_dataloader", "val_dataloader", "test_dataloader",
                "train_pipeline", "test_pipeline"):
        if key in cfg:
            _shrink_pipelines(cfg[key], input_size)
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        dataset = (cfg.get(key) or {}).get("dataset")
        if isinstance(dataset, dict) and "ann_file" in dataset:
            # no pickled copy for worker processes (the tiny setting loads in-process):
            # mmengine's serialisation and its gc.collect() cost ~0.5 CPU-s per dataset build
            dataset["serialize_data"] = False
    if any(key in cfg for key in ("train_dataloader", "test_dataloader")):
        imports = cfg.get("custom_imports") or ConfigDict(imports=[],
                                                          allow_failed_imports=False)
        if _CACHE_MODULE not in imports.imports:
            imports.imports = [*imports.imports, _CACHE_MODULE]
        cfg.custom_imports = imports
    cfg.load_from = None
    return cfg
