"""The dataset config fragments parse, agree with the library, and can be re-rooted."""

from __future__ import annotations

from pathlib import Path

import pytest

from decoupled_rcnn.datasets import (
    DATASET_FRAGMENTS,
    SYNTHETIC_CLASSES,
    VOC_CLASSES,
    dataset_cfg_options,
)

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "_base_" / "datasets"


def load(name: str):
    from mmengine.config import Config

    return Config.fromfile(str(CONFIG_DIR / f"{name}.py"))


def test_classes_match_the_library():
    assert tuple(load("synthetic").classes) == SYNTHETIC_CLASSES
    voc = load("voc0712")
    assert tuple(voc.train_dataloader.dataset.metainfo.classes) == VOC_CLASSES
    assert tuple(voc.test_dataloader.dataset.metainfo.classes) == VOC_CLASSES


def test_voc_follows_the_paper_setting():
    cfg = load("voc0712")
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == "CocoDataset" and dataset.data_prefix.img == ""
    steps = {step.type: step for step in dataset.pipeline}
    assert steps["Resize"].scale == (1333, 800) and steps["Resize"].keep_ratio  # 800-px side
    augment = set(steps) - {"LoadImageFromFile", "LoadAnnotations", "Resize", "PackDetInputs"}
    assert augment == {"RandomFlip"}  # flip is the only augmentation
    assert cfg.val_evaluator.type == "CocoMetric"


@pytest.mark.parametrize("fragment", sorted(DATASET_FRAGMENTS))
def test_cfg_options_move_every_path(fragment: str, tmp_path: Path):
    cfg = load(fragment)
    options = dataset_cfg_options(fragment, tmp_path / "root",
                                  val_ann_file=tmp_path / "elsewhere" / "val.json")
    cfg.merge_from_dict(options)
    for split in ("train", "val", "test"):
        assert cfg[f"{split}_dataloader"].dataset.data_root == str(tmp_path / "root")
    assert cfg.val_dataloader.dataset.ann_file == str(tmp_path / "elsewhere" / "val.json")
    assert cfg.val_evaluator.ann_file == str(tmp_path / "elsewhere" / "val.json")
    train_default, _, test_default = DATASET_FRAGMENTS[fragment]
    assert cfg.train_dataloader.dataset.ann_file == train_default
    if fragment == "coco_test_dev":
        assert cfg.test_evaluator.ann_file == str(tmp_path / "root" / test_default)
        assert cfg.test_evaluator.format_only
    else:
        assert cfg.test_evaluator.ann_file == cfg.val_evaluator.ann_file
