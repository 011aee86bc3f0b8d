"""Your own data's chosen scale and schedule reach the composed config; backbone_weights
reach the full-size backbone's init_cfg (and are refused for tiny models)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from custom_testlib import make_voc_dataset, voc_custom  # noqa: E402

from decoupled_rcnn.reproduction.plan.compose import experiment_config  # noqa: E402
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config  # noqa: E402

EXPERIMENT = "voc_r101_dec_c3_reg085_l100"  # Table V


def _wcfg(tmp_path: Path, custom: dict, model: dict) -> dict:
    return load_workflow_config(overrides={
        "results_dir": str(tmp_path / "results"), "tables": ["V"], "model": model,
        "data": {"source": "custom", "custom": custom}})


def test_chosen_size_and_iterations_are_composed(tmp_path: Path):
    root = make_voc_dataset(tmp_path / "widgets")
    custom = voc_custom(root, epochs=60, min_iters=10, max_iters=500)
    cfg = experiment_config(_wcfg(tmp_path, custom, {"tiny": True, "pretrained": False}),
                            EXPERIMENT)
    resize = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == "Resize"]
    assert tuple(resize[0].scale) == (96, 96)  # native 96 px kept
    assert cfg.train_cfg.max_iters == 120  # 60 epochs x 8 images / batch 4
    fixed = experiment_config(_wcfg(tmp_path, voc_custom(root, input_size=128, epochs=None),
                                    {"tiny": True, "pretrained": False}), EXPERIMENT)
    assert tuple(fixed.test_dataloader.dataset.pipeline[1].scale) == (128, 128)
    assert fixed.train_cfg.max_iters == 200  # schedule.short.iters


def test_backbone_weights_reach_the_full_size_backbone(tmp_path: Path):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    root = make_voc_dataset(tmp_path / "widgets")
    register_all_modules(init_default_scope=False)
    r101 = dict(type="ResNet", depth=101, num_stages=4, out_indices=(0, 1, 2, 3))
    weights = tmp_path / "resnet101.pth"
    torch.save(MODELS.build(r101).state_dict(), weights)
    model = {"tiny": False, "pretrained": True, "backbone_weights": str(weights)}
    cfg = experiment_config(_wcfg(tmp_path, voc_custom(root), model), EXPERIMENT)
    assert cfg.model.backbone.init_cfg == {"type": "Pretrained", "checkpoint": str(weights)}
    with pytest.raises(ValueError, match="model.backbone_weights loads full-size backbones"):
        experiment_config(_wcfg(tmp_path, voc_custom(root), {**model, "tiny": True}),
                          EXPERIMENT)
