"""Composing an experiment's config: data swap, class count, tiny, schedule, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from decoupled_rcnn.reproduction.plan.compose import compose_config
from decoupled_rcnn.reproduction.plan.config_parts import DataSpec, ShortSchedule, set_num_classes

SYNTH = DataSpec("synthetic", Path("/data/syn"))
SHORT = ShortSchedule(iters=8, lr=0.01, batch_size=2, warmup_iters=2, checkpoint_interval=4)


def _num_classes(node, found):
    if isinstance(node, dict):
        if "num_classes" in node:
            found.append(node["num_classes"])
        for value in node.values():
            _num_classes(value, found)
    elif isinstance(node, list | tuple):
        for value in node:
            _num_classes(value, found)
    return found


def test_set_num_classes_reaches_every_head():
    model = {"rpn_head": {"num_classes": 1}, "roi_head": {"heads": [{"num_classes": 80}] * 3}}
    assert set_num_classes(model, 5) == 4
    assert _num_classes(model, []) == [5, 5, 5, 5]


def test_coco_cascade_on_the_stand_in_data():
    cfg = compose_config(
        "configs/decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py",
        {"model.roi_head.num_stages": 2, "model.roi_head.reg_loss_weight": 0.25},
        data=SYNTH, tiny=True, pretrained=False, schedule=SHORT, work_dir="/tmp/w", seed=3)
    classes = len(cfg.train_dataloader.dataset.metainfo["classes"])
    assert classes == 5
    counts = _num_classes(cfg.model.to_dict(), [])
    assert counts and all(n == 5 for n in counts if n != 1)  # rpn_head keeps its 1 class
    assert cfg.train_dataloader.dataset.data_root == "/data/syn"
    assert cfg.test_evaluator.ann_file == "/data/syn/annotations/val.json"
    assert cfg.model.roi_head.num_stages == 2 and cfg.model.roi_head.reg_loss_weight == 0.25
    assert cfg.train_cfg.type == "IterBasedTrainLoop" and cfg.train_cfg.max_iters == 8
    assert cfg.optim_wrapper.optimizer.lr == 0.01 and cfg.train_dataloader.batch_size == 2
    assert cfg.model.backbone.init_cfg is None
    assert cfg.randomness.seed == 3 and cfg.work_dir == "/tmp/w"


def test_sgd_is_selected_by_the_workflow_config():
    """``schedule.short.optimizer: SGD`` (issue 20's λ question): momentum 0.9 as in the paper."""
    import pytest

    from decoupled_rcnn.reproduction.plan.compose import short_schedule

    short = {"iters": 8, "lr": 0.04, "batch_size": 2, "warmup_iters": 2,
             "checkpoint_interval": 4, "optimizer": "SGD", "weight_decay": 0.0001}
    schedule = short_schedule({"schedule": {"kind": "short", "short": short}})
    assert schedule.optimizer == "SGD" and schedule.lr == 0.04
    config = "configs/decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py"
    cfg = compose_config(config, data=SYNTH, tiny=True, pretrained=False, schedule=schedule)
    assert cfg.optim_wrapper.optimizer.to_dict() == {
        "type": "SGD", "lr": 0.04, "momentum": 0.9, "weight_decay": 0.0001}
    adamw = compose_config(config, data=SYNTH, tiny=True, pretrained=False, schedule=SHORT)
    assert adamw.optim_wrapper.optimizer.type == "AdamW"
    assert "momentum" not in adamw.optim_wrapper.optimizer
    short["optimizer"] = "Adam"
    with pytest.raises(ValueError, match="must be SGD or AdamW, not 'Adam'"):
        compose_config(config, data=SYNTH, tiny=True, pretrained=False,
                       schedule=short_schedule({"schedule": {"kind": "short", "short": short}}))


def test_multiscale_training_survives_the_data_swap():
    cfg = compose_config("configs/decoupled_rcnn/decoupled-rcnn-cascade_r101_fpn_ms-2x_coco.py",
                         data=SYNTH)
    resize = [s for s in cfg.train_dataloader.dataset.pipeline if "Resize" in s["type"]]
    # The official six shorter sides 640, 672, ..., 800 of 1333, relative to the largest.
    assert resize[0]["type"] == "RandomChoiceResize"
    assert [tuple(s) for s in resize[0]["scales"]] == [
        (160, round(160 * side / 800)) for side in range(640, 801, 32)]
    single = compose_config("configs/decoupled_rcnn/decoupled-rcnn-cascade_r101_fpn_2x_coco.py",
                            data=SYNTH)
    assert [s["type"] for s in single.train_dataloader.dataset.pipeline
            if "Resize" in s["type"]] == ["Resize"]


def test_paper_setting_keeps_the_config_schedule_and_pretrained_init():
    cfg = compose_config("configs/decoupled_rcnn/decoupled-rcnn_r101_fpn_1x_voc0712.py")
    assert cfg.train_cfg.type == "EpochBasedTrainLoop" and cfg.train_cfg.max_epochs == 12
    assert cfg.model.backbone.init_cfg.checkpoint == "torchvision://resnet101"


def test_no_warmup_means_no_warmup_scheduler():
    """``warmup_iters: 0`` (the schema's minimum) trains: mmengine refuses a 0-length LinearLR."""
    import dataclasses

    for warmup, types in ((0, ["MultiStepLR"]), (2, ["LinearLR", "MultiStepLR"])):
        cfg = compose_config("configs/decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py",
                             data=SYNTH, tiny=True, pretrained=False,
                             schedule=dataclasses.replace(SHORT, warmup_iters=warmup))
        assert [s.type for s in cfg.param_scheduler] == types


def test_load_config_reads_a_package_config_with_overrides():
    from decoupled_rcnn.reproduction.plan.compose import load_config

    cfg = load_config("mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",
                      {"model.roi_head.bbox_head.num_classes": 20})
    assert cfg.filename.endswith("mmdet/.mim/configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py")
    assert cfg.model.roi_head.bbox_head.num_classes == 20  # the override, not COCO's 80
    assert cfg.train_cfg.max_epochs == 12  # from its mmdet::_base_ schedule


def test_load_config_finds_a_relative_path_from_the_working_directory(tmp_path, monkeypatch):
    from decoupled_rcnn.reproduction.plan.compose import load_config

    (tmp_path / "mine.py").write_text("answer = 41\n")
    monkeypatch.chdir(tmp_path)
    assert load_config("mine.py", {"answer": 42}).answer == 42
    with pytest.raises(FileNotFoundError):
        load_config("absent.py")  # neither here nor under the repository root
