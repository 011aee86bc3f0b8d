"""Settings taken from the official implementation where the paper is silent (issue 11)."""

from __future__ import annotations

import math

import pytest
import torch
from models_testlib import build_model, load_cfg, make_batch

from decoupled_rcnn.models.stages import stage_loss_weights

CASCADE = "decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py"
MS_CONFIGS = [
    "decoupled_rcnn/decoupled-rcnn-cascade_r101_fpn_ms-2x_coco.py",
    "decoupled_rcnn/decoupled-rcnn-cascade_x101-32x4d_fpn_ms-2x_coco.py",
    "decoupled_rcnn/decoupled-rcnn-cascade_x101-64x4d_fpn_ms-2x_coco.py",
]


def test_stage_loss_weights_are_the_official_1_05_025():
    assert stage_loss_weights(3, 0.5) == [1.0, 0.5, 0.25]
    assert stage_loss_weights(1, 0.5) == [1.0]
    assert stage_loss_weights(4, 0.5) == [1.0, 0.5, 0.25, 0.125]
    assert stage_loss_weights(3, 1.0) == [1.0, 1.0, 1.0]


def test_cascade_config_weighs_stages_1_05_025_under_lambda():
    cfg = load_cfg(CASCADE, tiny=False)
    assert cfg.model.roi_head.reg_loss_weight == 0.5
    assert cfg.model.roi_head.reg_stage_loss_decay == 0.5
    model = build_model(load_cfg(CASCADE, dense=True))
    assert model.roi_head.reg_stage_loss_weights == [1.0, 0.5, 0.25]


def test_stage_weights_scale_exactly_the_later_stage_losses():
    """Official loss: L_cls + lambda * (L_1 + 0.5 L_2 + 0.25 L_3); Eq. 8's plain sum is decay 1."""
    cfg = load_cfg(CASCADE, dense=True)
    runs = {}
    for decay in (1.0, 0.5):
        cfg.model.roi_head.reg_stage_loss_decay = decay
        model = build_model(cfg)
        inputs, samples = make_batch(num_imgs=2, num_gt=3)
        torch.manual_seed(0)
        runs[decay] = model.loss(inputs, samples)
    plain, official = runs[1.0], runs[0.5]
    for k, weight in enumerate([1.0, 0.5, 0.25]):
        key = f"s{k}.loss_bbox"
        assert plain[key].item() > 0
        torch.testing.assert_close(official[key], weight * plain[key], rtol=1e-6, atol=0)
    torch.testing.assert_close(official["s0.loss_cls"], plain["s0.loss_cls"])


@pytest.mark.parametrize("rel_path", MS_CONFIGS)
def test_multiscale_training_picks_one_of_six_official_scales(rel_path):
    cfg = load_cfg(rel_path, tiny=False)
    resize = [s for s in cfg.train_dataloader.dataset.pipeline if "Resize" in s["type"]]
    assert len(resize) == 1 and resize[0]["type"] == "RandomChoiceResize"
    assert [tuple(s) for s in resize[0]["scales"]] == [
        (1333, 640), (1333, 672), (1333, 704), (1333, 736), (1333, 768), (1333, 800)]
    assert resize[0]["keep_ratio"] is True
    nms = cfg.model.test_cfg.rcnn.nms
    assert (nms.type, nms.iou_threshold, nms.min_score) == ("soft_nms", 0.5, 0.001)
    assert cfg.model.test_cfg.rcnn.score_thr == 0.001


def test_double_head_regressor_starts_from_std_001():
    """The official Double-Head heads initialise ``fc_reg`` from N(0, 0.01) (mmdet: 0.001)."""
    from mmdet.registry import MODELS

    import decoupled_rcnn.models  # noqa: F401

    cfg = load_cfg("decoupled_rcnn/decoupled-rcnn-doublehead_r50_fpn_1x_coco.py", tiny=False)
    head_cfg = dict(cfg.model.roi_head.reg_head)
    head_cfg.update(num_convs=1, conv_out_channels=64)  # small; fc_reg keeps 64 x 320 weights
    torch.manual_seed(0)
    head = MODELS.build(head_cfg)
    head.init_weights()
    std = head.fc_reg.weight.std().item()
    assert 0.009 < std < 0.011
    assert torch.count_nonzero(head.fc_reg.bias) == 0


def _built_cascade(refine_stage_init: str | None):
    from mmdet.registry import MODELS

    import decoupled_rcnn.models  # noqa: F401
    from decoupled_rcnn.reproduction.plan.compose import compose_config, import_custom_modules

    overrides = {} if refine_stage_init is None else {
        "model.roi_head.refine_stage_init": refine_stage_init}
    cfg = compose_config("configs/decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py",
                         overrides, tiny=True, pretrained=False)
    import_custom_modules(cfg)
    torch.manual_seed(0)
    head = MODELS.build(cfg.model.roi_head)
    head.init_weights()
    return head


def test_refine_stages_keep_pytorch_linear_init_as_the_official_code():
    """Official refine heads never run their Xavier init (name-mangled ``__init_weights``):
    nn.Linear's default leaves non-zero biases in U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which
    mmcv's Xavier init (bias 0) would zero."""
    head = _built_cascade(None)
    stage1, stage2 = head.reg_heads[0], head.reg_heads[1]
    fc1, fc2 = stage1.shared_fcs[0], stage2.shared_fcs[0]
    assert torch.count_nonzero(fc1.bias) == 0  # stage 1: Xavier, as mmdet's heads
    bound = 1 / math.sqrt(fc2.in_features)
    assert torch.count_nonzero(fc2.bias) == fc2.bias.numel()
    assert float(fc2.bias.abs().max()) <= bound and float(fc2.weight.abs().max()) <= bound
    assert float(stage2.fc_reg.weight.std()) == pytest.approx(0.001, rel=0.2)
    xavier = _built_cascade("xavier").reg_heads[1].shared_fcs[0]
    assert torch.count_nonzero(xavier.bias) == 0  # the text-free mmdet default, one key away
