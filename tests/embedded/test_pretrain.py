"""Backbone pre-training: a checkpoint every experiment loads through init_cfg Pretrained."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from decoupled_rcnn.datasets import generate_synthetic
from decoupled_rcnn.embedded.pretrain import CropSampler, pretrain_backbone
from decoupled_rcnn.embedded.tiny import tiny_backbone_variant
from decoupled_rcnn.reproduction.plan.compose import compose_config
from decoupled_rcnn.reproduction.plan.config_parts import DataSpec

R50 = "configs/faster_rcnn/faster-rcnn_r50_fpn_1x_voc0712.py"
DECOUPLED_R50 = "configs/decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_synthetic(tmp_path_factory.mktemp("pretrain") / "syn", seed=0,
                              num_train=20, num_val=2).root


@pytest.fixture(scope="module")
def pretrained(data: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("pretrain_ckpt") / "r50.pth"
    info = pretrain_backbone(R50, data, out, iters=4, batch_size=8, heldout_crops=16)
    return out, info


def _build(cfg):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.logging import MMLogger

    import decoupled_rcnn.models  # noqa: F401

    register_all_modules()
    model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model


def test_crops_are_labelled_windows(data: Path):
    sampler = CropSampler(data, crop_size=32)
    held = CropSampler(data, holdout=True, crop_size=32)
    assert len(sampler.images) == 18 and len(held.images) == 2  # every 10th image held out
    crops, labels = sampler.sample(np.random.default_rng(0), 200)
    assert crops.shape == (200, 3, 32, 32) and crops.dtype == torch.float32
    assert labels.min() >= 0 and labels.max() <= sampler.num_classes == 5
    assert 0.1 < float((labels == 0).float().mean()) < 0.4  # background crops
    assert abs(float(crops.mean())) < 1.5  # normalised like the detector's input
    again, _ = sampler.sample(np.random.default_rng(0), 200)
    assert torch.equal(crops, again)


def test_checkpoint_is_plain_tensors_and_provenance(pretrained):
    out, info = pretrained
    state = torch.load(out, map_location="cpu", weights_only=True)  # no pickled objects
    assert set(state) == {"state_dict", "meta"}
    assert all(torch.is_tensor(v) for v in state["state_dict"].values())
    assert "conv1.weight" in state["state_dict"] and "layer4.1.bn2.running_var" in state[
        "state_dict"]
    assert info["variant"] == state["meta"]["variant"] == "r50"
    assert info["iterations"] == 4 and info["wall_time_s"] > 0
    assert 0 <= info["heldout_accuracy"] <= 1 and info["final_train_loss"] > 0
    assert not list(out.parent.glob("*.tmp"))


def test_every_experiment_loads_it_through_init_cfg(pretrained, data: Path):
    out, _ = pretrained
    cfg = compose_config(DECOUPLED_R50, {"model.roi_head.num_stages": 2},
                         data=DataSpec("synthetic", data), tiny=True, pretrained=False,
                         pretrained_backbone=out)
    assert cfg.model.backbone.init_cfg == {"type": "Pretrained", "checkpoint": str(out)}
    model = _build(cfg)
    saved = torch.load(out, map_location="cpu", weights_only=True)["state_dict"]
    loaded = model.backbone.state_dict()
    assert set(saved) == set(loaded)
    for key, value in saved.items():
        assert torch.equal(loaded[key], value), key
    # without it the backbone is random and init_cfg stays off
    plain = compose_config(DECOUPLED_R50, data=DataSpec("synthetic", data), tiny=True,
                           pretrained=False)
    assert plain.model.backbone.init_cfg is None


class _Payload:
    """Anything that is not a tensor: must never be unpickled from a checkpoint."""


def test_weights_only_stays_on(pretrained, tmp_path: Path, data: Path):
    out, _ = pretrained
    state = torch.load(out, map_location="cpu", weights_only=True)
    state["meta"]["payload"] = _Payload()
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    cfg = compose_config(R50, data=DataSpec("synthetic", data), tiny=True, pretrained=False,
                         pretrained_backbone=bad)
    with pytest.raises(pickle.UnpicklingError, match="_Payload"):
        _build(cfg)


@pytest.mark.parametrize("config,variant", [
    (R50, "r50"),
    ("configs/faster_rcnn/faster-rcnn_r101_fpn_1x_voc0712.py", "r101"),
    ("configs/faster_rcnn/faster-rcnn_x101-32x4d_fpn_1x_coco.py", "x101_32x4d"),
    ("configs/decoupled_rcnn/decoupled-rcnn-cascade_x101-64x4d_fpn_ms-2x_coco.py", "x101_64x4d"),
])
def test_variant_names(config: str, variant: str):
    from mmengine.config import Config

    from decoupled_rcnn.paths import REPO_ROOT

    assert tiny_backbone_variant(Config.fromfile(str(REPO_ROOT / config))) == variant
