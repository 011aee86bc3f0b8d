"""The tiny setting shrinks any config without changing what the variant is."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config

from decoupled_rcnn.embedded.tiny import TINY, make_tiny

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
    assert tiny.model.neck.out_channels == TINY["width"]
    proposal = tiny.model.train_cfg.rpn_proposal
    assert proposal.max_per_img == TINY["proposals"]
    if proposal.get("reg_nms") is not None:
        assert proposal.reg_max_per_img == TINY["proposals"]
    resize = [t for t in tiny.train_dataloader.dataset.pipeline if "Resize" in t.type]
    scales = resize[0].scale if isinstance(resize[0].scale[0], (list, tuple)) else [resize[0].scale]
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
    assert sum(p.numel() for p in model.parameters()) < 1.5e6
    assert len(model.roi_head.cls_heads) == 3
