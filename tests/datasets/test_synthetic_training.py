"""A tiny Faster R-CNN trains on the generated data through mmdet's data pipeline."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from decoupled_rcnn.datasets import dataset_cfg_options, generate_synthetic

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "_base_" / "datasets"

TINY_MODEL = """
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py', r'{dataset_cfg}']
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=64, num_classes=5)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=200, max_per_img=64),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=200, max_per_img=64)))
"""


@pytest.fixture(scope="module")
def synthetic_cfg(tmp_path_factory: pytest.TempPathFactory):
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules(init_default_scope=True)
    tmp = tmp_path_factory.mktemp("synthetic_train")
    summary = generate_synthetic(tmp / "data", seed=0, num_train=8, num_val=2)
    cfg_file = tmp / "tiny_faster_rcnn.py"
    cfg_file.write_text(TINY_MODEL.format(dataset_cfg=CONFIG_DIR / "synthetic.py"))
    cfg = Config.fromfile(str(cfg_file))
    cfg.merge_from_dict(dataset_cfg_options("synthetic", summary.root))
    return cfg, summary


def test_pipeline_delivers_the_json_boxes(synthetic_cfg):
    from mmengine.runner import Runner

    cfg, summary = synthetic_cfg
    loader = Runner.build_dataloader(cfg.val_dataloader, seed=0)
    batch = next(iter(loader))
    doc = json.loads(summary.ann_file("val").read_text())
    for sample in batch["data_samples"]:
        expected = [[x, y, x + w, y + h] for a in doc["annotations"]
                    if a["image_id"] == sample.img_id for x, y, w, h in [a["bbox"]]]
        assert sample.gt_instances.bboxes.tensor.tolist() == expected
        assert sample.metainfo["ori_shape"] == (160, 160)
    assert tuple(batch["inputs"][0].shape) == (3, 160, 160)


def test_tiny_faster_rcnn_trains_two_iterations(synthetic_cfg):
    import torch
    from mmdet.registry import MODELS
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner

    cfg, _ = synthetic_cfg
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.train()
    optim = build_optim_wrapper(model, dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9)))
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    before = model.roi_head.bbox_head.fc_cls.weight.detach().clone()
    for _, data in zip(range(2), loader, strict=False):
        assert len(data["data_samples"]) == 4
        log_vars = model.train_step(data, optim)
        assert {"loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "loss_bbox"} <= set(log_vars)
        values = {k: float(v.detach()) if torch.is_tensor(v) else float(v)
                  for k, v in log_vars.items()}
        assert all(math.isfinite(v) for v in values.values())
        assert values["loss"] > 0
    assert not torch.equal(before, model.roi_head.bbox_head.fc_cls.weight)
