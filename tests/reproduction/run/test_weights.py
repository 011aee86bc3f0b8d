"""Backbone weights for offline compute nodes: fetch-weights and the start-of-training check."""

from __future__ import annotations

import hashlib

import pytest

from decoupled_rcnn.cli import main
from decoupled_rcnn.paths import REPO_ROOT
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config
from decoupled_rcnn.reproduction.run import weights as weights_mod
from decoupled_rcnn.reproduction.run.weights import (
    CHECKSUMS,
    BackboneWeight,
    MissingWeightsError,
    backbone_weights,
    fetch_weights,
    require_local_weights,
)

PAPER = REPO_ROOT / "configs" / "workflow" / "paper.yaml"


@pytest.fixture()
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


def test_the_selected_experiments_backbones_and_where_they_go(torch_home):
    found = backbone_weights(load_workflow_config(PAPER, {"tables": ["VII"]}))
    assert {(w.spec, w.file) for w in found} == {
        ("torchvision://resnet50", torch_home / "resnet50-0676ba61.pth"),
        ("torchvision://resnet101", torch_home / "resnet101-63fe2227.pth")}
    assert backbone_weights(load_workflow_config()) == []  # tiny stand-in: no download


def test_fetch_writes_checksums_and_refuses_a_file_its_name_disowns(torch_home):
    body = b"weights"
    plain = BackboneWeight("https://example.org/w.pth", "https://example.org/w.pth",
                           torch_home / "w.pth")
    calls = []

    def download(url, dst):
        calls.append(url)
        with open(dst, "wb") as f:
            f.write(body)

    (record,) = fetch_weights([plain], download)
    sha = hashlib.sha256(body).hexdigest()
    assert record["status"] == "downloaded" and record["sha256"] == sha
    assert (torch_home / CHECKSUMS).read_text() == f"{sha}  w.pth\n"
    assert fetch_weights([plain], download)[0]["status"] == "present" and len(calls) == 1
    named = BackboneWeight("torchvision://resnet50", "u", torch_home / "resnet50-0676ba61.pth")
    with pytest.raises(ValueError, match="does not start with the 0676ba61"):
        fetch_weights([named], download)
    assert not named.file.exists()  # the broken download is gone


def test_a_training_on_an_offline_node_stops_naming_the_file_and_command(torch_home,
                                                                         monkeypatch):
    monkeypatch.setattr(weights_mod, "_online", lambda url: False)
    wcfg = load_workflow_config(PAPER)
    with pytest.raises(MissingWeightsError) as err:
        require_local_weights(wcfg, "voc_r50_dec")
    message = str(err.value)
    assert "\n" not in message
    assert str(torch_home / "resnet50-0676ba61.pth") in message
    assert "decoupled-rcnn fetch-weights" in message and "download.pytorch.org" in message
    torch_home.mkdir(parents=True)
    (torch_home / "resnet50-0676ba61.pth").write_bytes(b"x")
    require_local_weights(wcfg, "voc_r50_dec")  # fetched: the training starts
    require_local_weights(load_workflow_config(), "voc_r50_dec")  # tiny: nothing to fetch


def test_fetch_weights_command(torch_home, capsys):
    assert main(["fetch-weights"]) == 0
    assert "downloads no backbone weights" in capsys.readouterr().out
    assert main(["fetch-weights", "--configfile", str(PAPER), "--tables", "IX", "--list"]) == 0
    out = capsys.readouterr().out
    assert "open-mmlab://resnext101_64x4d" in out and "missing" in out
