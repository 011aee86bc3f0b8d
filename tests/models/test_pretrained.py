"""``torchvision://`` weights without torchvision, from a pre-filled torch.hub cache."""

from __future__ import annotations

import sys

import pytest
import torch


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "_hub_dir", None, raising=False)
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    return tmp_path / "hub" / "checkpoints"


def _no_network(*args, **kwargs):
    raise AssertionError("tried to download")


def test_scheme_reads_the_cache_without_torchvision(torch_home, monkeypatch):
    from mmengine.runner.checkpoint import CheckpointLoader

    import decoupled_rcnn.models  # noqa: F401
    from decoupled_rcnn.models.pretrained import torchvision_urls

    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_network)
    url = torchvision_urls()["resnet50"]
    assert url.endswith("resnet50-0676ba61.pth")
    fake = {"conv1.weight": torch.arange(6.0).view(1, 1, 2, 3)}
    torch.save(fake, torch_home / url.rsplit("/", 1)[1])
    loaded = CheckpointLoader.load_checkpoint("torchvision://resnet50", map_location="cpu")
    assert torch.equal(loaded["conv1.weight"], fake["conv1.weight"])
    assert "torchvision" not in sys.modules


def test_backbone_init_cfg_loads_the_cached_weights(torch_home, monkeypatch):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import decoupled_rcnn.models  # noqa: F401
    from decoupled_rcnn.models.pretrained import torchvision_urls

    register_all_modules()
    monkeypatch.setattr(torch.hub, "download_url_to_file", _no_network)
    source = MODELS.build(dict(type="ResNet", depth=18, base_channels=8))
    torch.save(source.state_dict(), torch_home / torchvision_urls()["resnet18"].rsplit("/", 1)[1])
    target = MODELS.build(dict(
        type="ResNet", depth=18, base_channels=8,
        init_cfg=dict(type="Pretrained", checkpoint="torchvision://resnet18")))
    target.init_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    assert "torchvision" not in sys.modules


def test_unknown_model_name(torch_home):
    from decoupled_rcnn.models.pretrained import load_from_torchvision

    with pytest.raises(KeyError, match="resnet50"):
        load_from_torchvision("torchvision://resnet_unknown")
