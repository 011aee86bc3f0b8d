"""The tiny setting shrinks any config without changing what the variant is."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config

from decoupled_rcnn.embedded.tiny import TINY, TINY_BACKBONES, make_tiny, tiny_backbone_variant

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ALL = sorted(
    str(p.relative_to(CONFIGS)) for p in CONFIGS.glob("*/*.py")
    if p.parent.name in ("decoupled_rcnn", "faster_rcnn", "cascade_rcnn"))

#: config paths (dotted) that define a variant and must survive the tiny setting.
IDENTITY_KEYS = [
    "model.type",
    "model.rpn_head.type",
    "model.roi_head.type",
    "model.roi_head.num_stages",
    "model.roi_head.reg_loss_weight",
    "model.roi_head.share_fcs",
    "model.roi_head.cascade_cls",
    "model.roi_head.cls_stage_loss_weights",
    "model.roi_head.reg_roi_scale_factor",
    "model.roi_head.stage_loss_weights",
    "model.roi_head.reg_head.type",
    "model.roi_head.reg_head.reg_class_agnostic",
    "model.train_cfg.rpn_proposal.nms",
    "model.train_cfg.rpn_proposal.reg_nms",
    "model.train_cfg.rcnn.cls.sampler.pos_fraction",
    "model.train_cfg.rcnn.cls.sampler.add_gt_as_proposals",
    "model.train_cfg.rcnn.reg.sampler.type",
    "model.train_cfg.rcnn.reg.sampler.pos_fraction",
    "model.train_cfg.rcnn.reg.sampler.pad_with_negatives",
    "model.train_cfg.rcnn.reg.assigner",
    "model.train_cfg.rcnn.cls.assigner",
    "model.train_cfg.rcnn.stage_iou_thrs",
    "model.train_cfg.rcnn.share_samples",
    "model.test_cfg.rcnn.nms",
    "model.test_cfg.rcnn.score_thr",
    "model.test_cfg.rcnn.reg_stage",
    "model.test_cfg.rcnn.cls_stages",
    "model.test_cfg.rpn.nms",
]


def _get(cfg, dotted: str):
    node = cfg
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return "<absent>"
        node = node[part]
    return node


def test_all_configs_are_covered():
    assert len(ALL) >= 25


@pytest.mark.parametrize("config", ALL)
def test_tiny_keeps_the_variant(config):
    cfg = Config.fromfile(str(CONFIGS / config))
    tiny = make_tiny(cfg)
    for key in IDENTITY_KEYS:
        assert _get(tiny, key) == _get(cfg, key), key
    assert tiny.model.backbone.init_cfg is None
    # every stage trains, BatchNorm normalises with batch statistics (no ImageNet settings)
    assert tiny.model.backbone.frozen_stages == -1 and tiny.model.backbone.norm_eval is False
    assert tiny.model.backbone.norm_cfg.requires_grad is True
    variant = tiny_backbone_variant(cfg)
    assert {k: tiny.model.backbone[k] for k in TINY_BACKBONES[variant]} == TINY_BACKBONES[variant]
    assert tiny.model.neck.out_channels == TINY["width"]
    proposal = tiny.model.train_cfg.rpn_proposal
    assert proposal.max_per_img == TINY["proposals"]
    if proposal.get("reg_nms") is not None:
        assert proposal.reg_max_per_img == TINY["proposals"]
    resize = [t for t in tiny.train_dataloader.dataset.pipeline if "Resize" in t.type]
    scale = resize[0].get("scale", resize[0].get("scales"))
    scales = scale if isinstance(scale[0], (list, tuple)) else [scale]
    assert max(max(s) for s in scales) == TINY["max_side"]
    # the input is left alone
    assert cfg.model.neck.out_channels == 256


def test_tiny_builds_small_models():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import decoupled_rcnn.models  # noqa: F401

    register_all_modules()
    cfg = make_tiny(Config.fromfile(
        str(CONFIGS / "decoupled_rcnn/decoupled-rcnn-cascade-cls_r101_fpn_1x_coco.py")))
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) < 10e6  # 7.9 M: 3 cls + 3 reg heads
    assert len(model.roi_head.cls_heads) == 3


def test_pretrained_backbone_is_loaded_through_init_cfg(tmp_path):
    cfg = Config.fromfile(str(CONFIGS / "faster_rcnn/faster-rcnn_r101_fpn_1x_voc0712.py"))
    ckpt = tmp_path / "r101.pth"
    tiny = make_tiny(cfg, pretrained_backbone=ckpt)
    assert tiny.model.backbone.init_cfg == {"type": "Pretrained", "checkpoint": str(ckpt)}


def _backbone_size(config: str) -> tuple[int, float]:
    """(parameters, GFLOPs at 160 x 160) of a config's tiny backbone."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.analysis import get_model_complexity_info

    register_all_modules()
    backbone = MODELS.build(make_tiny(Config.fromfile(str(CONFIGS / config))).model.backbone)
    flops = get_model_complexity_info(backbone, input_shape=(3, 160, 160), show_table=False,
                                      show_arch=False)["flops"]
    return sum(p.numel() for p in backbone.parameters()), flops / 1e9


def test_tiny_backbones_keep_the_papers_order():
    """r50 < r101 <= x101-32x4d < x101-64x4d, in parameters and in FLOPs."""
    configs = ["faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",
               "faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py",
               "faster_rcnn/faster-rcnn_x101-32x4d_fpn_1x_coco.py",
               "decoupled_rcnn/decoupled-rcnn-cascade_x101-64x4d_fpn_ms-2x_coco.py"]
    variants = [tiny_backbone_variant(Config.fromfile(str(CONFIGS / c))) for c in configs]
    assert variants == ["r50", "r101", "x101_32x4d", "x101_64x4d"]
    sizes = [_backbone_size(c) for c in configs]
    params, flops = zip(*sizes, strict=True)
    assert params[0] < params[1] <= params[2] < params[3]
    assert flops[0] < flops[1] <= flops[2] < flops[3]


def test_input_size_bounds_the_longest_side_in_every_pipeline():
    """Your own data's chosen size: a square bound (keep_ratio: the longest side becomes it);
    multi-scale lists keep their relative scales."""
    cfg = Config.fromfile(str(CONFIGS / "faster_rcnn/faster-rcnn_r101_fpn_1x_voc0712.py"))
    tiny = make_tiny(cfg, input_size=256)
    for key in ("train_dataloader", "test_dataloader"):
        resize = [t for t in tiny[key].dataset.pipeline if t.type == "Resize"]
        assert [tuple(t.scale) for t in resize] == [(256, 256)]
    default = make_tiny(cfg)  # without: the 1333 x 800 bound shrunk to 160 x 96
    resize = [t for t in default.train_dataloader.dataset.pipeline if t.type == "Resize"]
    assert tuple(resize[0].scale) == (160, 96)
    multi = Config(dict(model=cfg.model, train_pipeline=[dict(
        type="RandomChoiceResize", scales=[(1333, 400), (1333, 800)], keep_ratio=True)]))
    # shorter sides 400 and 800: the largest gets 200 px, the other half of it
    assert make_tiny(multi, input_size=200).train_pipeline[0].scales == [(100, 100), (200, 200)]


def test_max_dets_raises_detections_and_proposals():
    cfg = Config.fromfile(str(CONFIGS / "decoupled_rcnn/decoupled-rcnn_r101_fpn_1x_voc0712.py"))
    tiny = make_tiny(cfg, max_dets=100)
    assert tiny.model.test_cfg.rcnn.max_per_img == 100
    for rpn in (tiny.model.test_cfg.rpn, tiny.model.train_cfg.rpn_proposal):
        assert rpn.max_per_img == 200  # twice the detections
    assert tiny.model.train_cfg.rpn_proposal.reg_max_per_img == 200  # both DSS sets alike
    default = make_tiny(cfg)
    assert default.model.test_cfg.rcnn.max_per_img == TINY["dets_per_img"]
    assert default.model.test_cfg.rpn.max_per_img == TINY["proposals"]


def _sample(sampler_cfg, num_pos: int, num_neg: int):
    """Sample a hand case: ``num_pos`` proposals on the one gt box, ``num_neg`` background."""
    import torch
    from mmdet.models.task_modules.assigners import AssignResult
    from mmdet.registry import TASK_UTILS
    from mmdet.utils import register_all_modules
    from mmengine.structures import InstanceData

    import decoupled_rcnn.models  # noqa: F401  (PositiveOnlySampler)

    register_all_modules()
    torch.manual_seed(0)
    sampler = TASK_UTILS.build(sampler_cfg)
    n = num_pos + num_neg
    gt_inds = torch.cat([torch.ones(num_pos, dtype=torch.long),
                         torch.zeros(num_neg, dtype=torch.long)])
    assign = AssignResult(num_gts=1, gt_inds=gt_inds, max_overlaps=torch.rand(n),
                          labels=torch.where(gt_inds > 0, 0, -1))
    boxes = torch.tensor([[10.0, 10.0, 50.0, 50.0]]).repeat(n, 1)
    result = sampler.sample(assign, InstanceData(priors=boxes),
                            InstanceData(bboxes=boxes[:1], labels=torch.tensor([0])))
    return len(result.pos_inds), len(result.neg_inds)


def test_tiny_roi_samplers_draw_the_stated_counts_and_ratio():
    cfg = make_tiny(Config.fromfile(
        str(CONFIGS / "decoupled_rcnn/decoupled-rcnn_r50_fpn_1x_voc0712.py")))
    rcnn = cfg.model.train_cfg.rcnn
    assert TINY["rcnn_samples"] == 64
    assert rcnn.cls.sampler.num == rcnn.reg.sampler.num == 64
    # classification: 1:3, i.e. a quarter of 64 are positives (the gt box is one of them)
    assert rcnn.cls.sampler.pos_fraction == 0.25
    assert _sample(rcnn.cls.sampler, num_pos=20, num_neg=100) == (16, 48)
    assert _sample(rcnn.cls.sampler, num_pos=3, num_neg=100) == (4, 60)  # 3 + gt: pad negs
    # regression: positives only, padded with zero-weight negatives up to 64
    assert _sample(rcnn.reg.sampler, num_pos=80, num_neg=100) == (64, 0)
    assert _sample(rcnn.reg.sampler, num_pos=40, num_neg=100) == (40, 24)
    assert _sample(rcnn.reg.sampler, num_pos=0, num_neg=100) == (0, 64)  # the empty case


def test_tiny_loads_images_through_the_cache():
    cfg = make_tiny(Config.fromfile(str(CONFIGS / "faster_rcnn/faster-rcnn_r50_fpn_1x_voc0712.py")))
    for key in ("train_dataloader", "test_dataloader"):
        types = [t.type for t in cfg[key].dataset.pipeline]
        assert types[0] == "CachedLoadImageFromFile" and "LoadImageFromFile" not in types
    assert "decoupled_rcnn.datasets.image_cache" in cfg.custom_imports.imports

