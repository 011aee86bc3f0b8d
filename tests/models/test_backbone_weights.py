"""``model.backbone_weights``: a local state dict loads into the full-size backbone, or one
clear line says why not. The files are written here (no download): a torchvision-layout
ResNet-50 state dict is mmdet's ResNet-50's own keys plus ``fc.*``."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from decoupled_rcnn.models.pretrained import BackboneWeightsError, backbone_weights_init

R50 = dict(type="ResNet", depth=50, num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=1,
           norm_cfg=dict(type="BN", requires_grad=True), norm_eval=True, style="pytorch",
           init_cfg=dict(type="Pretrained", checkpoint="torchvision://resnet50"))


@pytest.fixture(scope="module")
def r50_state() -> dict[str, torch.Tensor]:
    """A ResNet-50 state dict with recognisable values (seeded), torchvision's key layout."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    model = MODELS.build({**R50, "init_cfg": None})
    state = {k: torch.randn_like(v) if v.is_floating_point() else v
             for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    state["fc.weight"], state["fc.bias"] = torch.zeros(1000, 2048), torch.zeros(1000)
    return state


def _load(init_cfg: dict):
    from mmdet.registry import MODELS

    from decoupled_rcnn.reproduction.plan.compose import init_weights_quietly

    model = MODELS.build({**R50, "init_cfg": init_cfg})
    init_weights_quietly(model)
    return model


def test_torchvision_layout_loads_through_init_cfg(tmp_path: Path, r50_state):
    path = tmp_path / "resnet50.pth"
    torch.save(r50_state, path)
    init = backbone_weights_init(path, R50)
    assert init == {"type": "Pretrained", "checkpoint": str(path)}
    model = _load(init)
    assert torch.equal(model.conv1.weight, r50_state["conv1.weight"])
    assert torch.equal(model.layer4[2].conv3.weight, r50_state["layer4.2.conv3.weight"])


def test_mmdet_checkpoint_loads_with_the_backbone_prefix(tmp_path: Path, r50_state):
    path = tmp_path / "faster_rcnn.pth"
    detector = {f"backbone.{k}": v for k, v in r50_state.items() if not k.startswith("fc.")}
    detector["rpn_head.rpn_conv.weight"] = torch.zeros(256, 256, 3, 3)
    torch.save({"state_dict": detector, "meta": {"epoch": 12}}, path)
    init = backbone_weights_init(path, R50)
    assert init["prefix"] == "backbone."
    model = _load(init)
    assert torch.equal(model.layer1[0].bn1.running_mean, r50_state["layer1.0.bn1.running_mean"])


def test_mismatch_is_one_line_naming_the_keys(tmp_path: Path, r50_state):
    wrong = dict(r50_state)
    wrong["conv1.weight"] = torch.zeros(64, 3, 3, 3)  # a 3x3 stem, not ResNet-50's 7x7
    del wrong["layer4.2.bn3.bias"]
    path = tmp_path / "wrong.pth"
    torch.save(wrong, path)
    with pytest.raises(BackboneWeightsError) as err:
        backbone_weights_init(path, R50)
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "ResNet-50" in message
    assert "1 of" in message and "layer4.2.bn3.bias" in message
    assert "conv1.weight (64, 3, 3, 3) vs (64, 3, 7, 7)" in message
    # ResNet-101 weights do not fit ResNet-50's layout either way round
    with pytest.raises(BackboneWeightsError, match="keys missing"):
        backbone_weights_init(tmp_path / "wrong.pth", {**R50, "depth": 101})


def test_missing_or_unreadable_file(tmp_path: Path):
    with pytest.raises(BackboneWeightsError, match="file not found"):
        backbone_weights_init(tmp_path / "none.pth", R50)
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(BackboneWeightsError, match="not a readable torch checkpoint"):
        backbone_weights_init(tmp_path / "text.pth", R50)
