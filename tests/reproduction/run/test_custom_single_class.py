"""A dataset of one's own with a single class trains and evaluates (AP defined)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from decoupled_rcnn.reproduction.plan.compose import experiment_config
from decoupled_rcnn.reproduction.plan.config_parts import num_classes
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

#: Decoupled R-CNN with three cascaded regression stages: class-specific regressors in every
#: stage, the classifier over one class plus background.
EXPERIMENT = "voc_r101_dec_c3_reg085_l100"


def _single_class_dataset(root: Path) -> None:
    """Six 80x64 RGB/grayscale images with one or two "crack" boxes (one touching the border)."""
    (root / "annotations").mkdir(parents=True)
    for split, count in (("train", 4), ("val", 2)):
        (root / "images" / split).mkdir(parents=True)
        images, anns = [], []
        for k in range(count):
            img = np.full((64, 80, 3), 20, np.uint8)
            boxes = [[10, 8, 30, 30], [50, 0, 30, 40]][: 1 + k % 2]  # the second: at the border
            for x, y, w, h in boxes:
                img[y:y + h, x:x + w] = 220
            name = f"{k}.png"
            cv2.imwrite(str(root / "images" / split / name),
                        img[..., 0] if k == 0 else img)  # one grayscale image
            images.append({"id": k + 1, "file_name": name, "width": 80, "height": 64})
            for box in boxes:
                anns.append({"id": len(anns) + 1, "image_id": k + 1, "category_id": 1,
                             "bbox": box, "area": box[2] * box[3], "iscrowd": 0})
        (root / "annotations" / f"{split}.json").write_text(json.dumps(
            {"images": images, "annotations": anns,
             "categories": [{"id": 1, "name": "crack"}]}))


def test_a_single_class_dataset_trains_and_evaluates(tmp_path: Path):
    from decoupled_rcnn.reproduction.run.runs import evaluate_experiment, train_experiment

    _single_class_dataset(tmp_path / "cracks")
    wcfg = load_workflow_config(overrides={
        "results_dir": str(tmp_path / "results"), "tables": ["V"],
        "data": {"source": "custom", "custom": {"name": "cracks", "format": "coco",
                                                "root": str(tmp_path / "cracks")}},
        "model": {"tiny": True, "pretrained": False},
        "schedule": {"kind": "short", "short": {"iters": 4, "lr": 0.01, "batch_size": 2,
                                                "warmup_iters": 1, "checkpoint_interval": 4}}})
    train_dir = tmp_path / "train"
    cfg = experiment_config(wcfg, EXPERIMENT, work_dir=train_dir / "work")
    assert num_classes(cfg.model) == 1
    assert cfg.model.roi_head.reg_head.num_classes == 1
    cfg.train_dataloader.num_workers = 0
    train_experiment(cfg, train_dir / "model.pth", train_dir / "train.json")
    test_cfg = experiment_config(wcfg, EXPERIMENT, test_id="default",
                                 work_dir=tmp_path / "eval" / "work")
    test_cfg.test_dataloader.num_workers = 0
    # Four iterations teach little: keep every box, so the label -> category path is exercised.
    test_cfg.model.test_cfg.rcnn.score_thr = 0.0
    result = evaluate_experiment(test_cfg, train_dir / "model.pth", tmp_path / "metrics.json",
                                 tmp_path / "eval" / "detections")
    metrics = result["metrics"]
    for key in ("AP", "AP50", "AP90"):
        assert metrics[key] is not None and 0.0 <= metrics[key] <= 1.0, (key, metrics)
    detections = json.loads(Path(result["detections"]).read_text())
    assert detections and {d["category_id"] for d in detections} == {1}
