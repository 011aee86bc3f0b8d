"""COCO metrics on hand-made detections whose values follow from COCO's definition."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from decoupled_rcnn.cli import main
from decoupled_rcnn.datasets import DatasetError
from decoupled_rcnn.evaluation import METRIC_KEYS, coco_box_metrics, evaluate_detections_file

# COCO areas: small < 32**2, medium < 96**2, large otherwise.
SMALL, MEDIUM, LARGE = [5, 5, 20, 20], [40, 40, 70, 70], [120, 10, 110, 100]


def gt_doc(boxes, categories=(1,), crowd=()) -> dict:
    """One 300x300 image; ``boxes`` are (category_id, [x, y, w, h])."""
    anns = [
        {"id": i + 1, "image_id": 1, "category_id": c, "bbox": b, "area": b[2] * b[3],
         "iscrowd": int(i in crowd)}
        for i, (c, b) in enumerate(boxes)
    ]
    return {
        "images": [{"id": 1, "file_name": "a.png", "width": 300, "height": 300}],
        "annotations": anns,
        "categories": [{"id": c, "name": f"c{c}"} for c in categories],
    }


def det(box, score, category_id=1, image_id=1) -> dict:
    return {"image_id": image_id, "category_id": category_id, "bbox": box, "score": score}


def iou(a, b) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_perfect_detections_score_one_everywhere():
    gt = gt_doc([(1, SMALL), (1, MEDIUM), (2, LARGE)], categories=(1, 2))
    dets = [det(SMALL, 0.9), det(MEDIUM, 0.8), det(LARGE, 0.7, category_id=2)]
    metrics = coco_box_metrics(gt, dets)
    assert tuple(metrics) == METRIC_KEYS
    assert metrics == {key: pytest.approx(1.0, abs=1e-12) for key in METRIC_KEYS}


def test_box_at_iou_075_counts_up_to_075_and_misses_above():
    # Two 70x70 gts; det A is exact, det B is gt 2 shifted right by 10 px:
    # IoU = (70-10)*70 / ((70+10)*70) = 60/80 = 0.75 exactly.
    gt1, gt2 = [10, 10, 70, 70], [150, 150, 70, 70]
    shifted = [160, 150, 70, 70]
    assert iou(gt2, shifted) == 0.75
    metrics = coco_box_metrics(gt_doc([(1, gt1), (1, gt2)]), [det(gt1, 0.9), det(shifted, 0.8)])
    # At t <= 0.75 both are hits: precision 1 at every recall, AP_t = 1.
    # At t >= 0.8 B is a false positive after A: recall 0.5 at precision 1, then nothing, so
    # the 101-point interpolation gives precision 1 at recall 0, 0.01, ..., 0.50 (51 points)
    # and 0 at the other 50: AP_t = 51/101.
    missed = 51 / 101
    expected_ap = (6 * 1.0 + 4 * missed) / 10  # thresholds 0.50..0.75 hit, 0.80..0.95 missed
    # (COCOeval divides by tp + fp + machine epsilon, hence approx even for exact values.)
    for key in ("AP50", "AP60", "AP70", "AP75"):
        assert metrics[key] == pytest.approx(1.0, abs=1e-12), key
    assert metrics["AP80"] == pytest.approx(missed, abs=1e-12)
    assert metrics["AP90"] == pytest.approx(missed, abs=1e-12)
    assert metrics["AP"] == pytest.approx(expected_ap, abs=1e-12)  # = 81/101
    assert metrics["APm"] == pytest.approx(expected_ap, abs=1e-12)  # both gts are medium
    assert metrics["APs"] is None and metrics["APl"] is None  # no gt in those bands


def test_lower_scored_correct_box_halves_precision():
    # Same boxes, but the shifted box is scored higher: at t >= 0.8 the ranking is FP, TP,
    # so precision at recall 0.5 is 1/2: AP_t = 51/101 * 1/2.
    gt1, gt2, shifted = [10, 10, 70, 70], [150, 150, 70, 70], [160, 150, 70, 70]
    metrics = coco_box_metrics(gt_doc([(1, gt1), (1, gt2)]), [det(gt1, 0.5), det(shifted, 0.8)])
    assert metrics["AP70"] == pytest.approx(1.0, abs=1e-12)
    assert metrics["AP80"] == pytest.approx(51 / 101 / 2, abs=1e-12)


def test_crowd_region_is_neither_miss_nor_false_positive():
    # gt 2 is a VOC "difficult" object (iscrowd=1): missing it costs nothing ...
    gt = gt_doc([(1, MEDIUM), (1, LARGE)], crowd=(1,))
    assert coco_box_metrics(gt, [det(MEDIUM, 0.9)])["AP"] == pytest.approx(1.0, abs=1e-12)
    # ... and a confident detection on it is not a false positive either.
    with_crowd_hit = coco_box_metrics(gt, [det(LARGE, 0.99), det(MEDIUM, 0.9)])
    assert with_crowd_hit["AP"] == pytest.approx(1.0, abs=1e-12)
    # Control: without the crowd flag the same detections lose recall.
    plain = gt_doc([(1, MEDIUM), (1, LARGE)])
    assert coco_box_metrics(plain, [det(MEDIUM, 0.9)])["AP"] == pytest.approx(51 / 101, abs=1e-12)


def test_no_detections_gives_zero_and_no_gt_band_gives_none():
    metrics = coco_box_metrics(gt_doc([(1, MEDIUM)]), [])
    assert metrics["AP"] == 0.0 and metrics["AP50"] == 0.0 and metrics["APm"] == 0.0
    assert metrics["APs"] is None and metrics["APl"] is None


def test_matches_cocoeval_summarize_on_random_detections():
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(0)
    gts = [(int(rng.integers(1, 3)), [float(v) for v in rng.uniform(0, 150, 2)]
            + [float(v) for v in rng.uniform(8, 140, 2)]) for _ in range(16)]
    gt = gt_doc(gts, categories=(1, 2))
    dets = []
    for c, b in gts:
        jitter = rng.normal(0, 0.03, 4) * np.array([b[2], b[3], b[2], b[3]])
        dets.append(det([float(v) for v in np.array(b) + jitter], float(rng.random()), c))
    metrics = coco_box_metrics(gt, dets)
    coco_gt = COCO()
    coco_gt.dataset = json.loads(json.dumps(gt))
    coco_gt.createIndex()
    ev = COCOeval(coco_gt, coco_gt.loadRes(dets), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    stats = dict(zip(["AP", "AP50", "AP75", "APs", "APm", "APl"], ev.stats[:6], strict=True))
    for key, value in stats.items():
        if value == -1:  # COCO's "undefined"
            assert metrics[key] is None, key
        else:
            assert metrics[key] == pytest.approx(value, abs=1e-12), key
    assert sum(value != -1 for value in stats.values()) >= 5
    assert 0 < metrics["AP90"] < metrics["AP50"]


def test_output_is_captured(capsys):
    coco_box_metrics(gt_doc([(1, MEDIUM)]), [det(MEDIUM, 0.5)])
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_bad_detections_are_one_line_errors_naming_the_file(tmp_path: Path):
    gt_file = tmp_path / "gt.json"
    gt_file.write_text(json.dumps(gt_doc([(1, MEDIUM)])))
    cases = {
        "unknown_image.json": (json.dumps([det(MEDIUM, 0.5, image_id=7)]), "image id 7"),
        "unknown_cat.json": (json.dumps([det(MEDIUM, 0.5, category_id=9)]), "category id 9"),
        "bad_box.json": (json.dumps([det([1, 2, 3], 0.5)]), "bbox"),
        "not_list.json": (json.dumps({"a": 1}), "json list"),
        "broken.json": ("[{", "malformed json"),
    }
    for name, (text, fragment) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(DatasetError) as err:
            coco_box_metrics(gt_file, tmp_path / name)
        assert str(err.value).startswith(str(tmp_path / name)) and fragment in str(err.value)
        assert "\n" not in str(err.value)
    with pytest.raises(DatasetError, match="gt_missing.json: file not found"):
        coco_box_metrics(tmp_path / "gt_missing.json", [])
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({**gt_doc([]), "images": []}))
    with pytest.raises(DatasetError, match="empty.json: empty split"):
        coco_box_metrics(empty, [])


def test_evaluate_command_writes_metrics_json(tmp_path: Path, capsys):
    gt_file, dets_file, out = tmp_path / "gt.json", tmp_path / "dets.json", tmp_path / "m.json"
    gt_file.write_text(json.dumps(gt_doc([(1, MEDIUM)])))
    dets_file.write_text(json.dumps([det(MEDIUM, 0.5)]))
    argv = ["evaluate", "--gt", str(gt_file), "--dets", str(dets_file), "--out", str(out)]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text()) == evaluate_detections_file(gt_file, dets_file)
    assert printed["AP"] == pytest.approx(1.0, abs=1e-12) and printed["APs"] is None
    dets_file.write_text("nonsense")
    assert main(["evaluate", "--gt", str(gt_file), "--dets", str(dets_file)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "dets.json: malformed json" in err
    assert not math.isnan(printed["AP50"])


def test_reads_mmdet_cocometric_output_and_agrees_with_it(tmp_path: Path):
    """mmdet's CocoMetric writes <prefix>.bbox.json; our AP/AP50/AP75 match its own numbers."""
    import torch
    from mmdet.evaluation import CocoMetric

    from decoupled_rcnn.datasets import SYNTHETIC_CLASSES, generate_synthetic

    data = generate_synthetic(tmp_path / "syn", seed=1, num_train=1, num_val=6)
    gt_file = data.ann_file("val")
    doc = json.loads(gt_file.read_text())
    rng = np.random.default_rng(0)
    metric = CocoMetric(ann_file=str(gt_file), metric="bbox",
                        outfile_prefix=str(tmp_path / "preds"))
    metric.dataset_meta = dict(classes=SYNTHETIC_CLASSES)
    samples = []
    for img in doc["images"]:
        boxes = np.array([a["bbox"] for a in doc["annotations"] if a["image_id"] == img["id"]],
                         dtype=float)
        labels = [a["category_id"] - 1 for a in doc["annotations"] if a["image_id"] == img["id"]]
        boxes += rng.normal(0, 0.06, boxes.shape) * boxes[:, [2, 3, 2, 3]]  # imprecise boxes
        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        samples.append(dict(img_id=img["id"], ori_shape=(img["height"], img["width"]),
                            pred_instances=dict(bboxes=torch.tensor(xyxy, dtype=torch.float32),
                                                scores=torch.tensor(rng.random(len(labels))),
                                                labels=torch.tensor(labels))))
    metric.process({}, samples)
    theirs = metric.evaluate(len(samples))
    ours = coco_box_metrics(gt_file, tmp_path / "preds.bbox.json")
    assert 0.0 < ours["AP90"] < ours["AP50"]
    for key, name in (("AP", "bbox_mAP"), ("AP50", "bbox_mAP_50"), ("AP75", "bbox_mAP_75")):
        assert round(ours[key], 3) == pytest.approx(theirs[f"coco/{name}"], abs=1e-9), key


def test_ground_truth_gets_the_dataset_checks(tmp_path: Path):
    """Evaluation validates ground truth with the datasets' COCO check, not a second one."""
    orphan = gt_doc([(1, MEDIUM)])
    orphan["annotations"][0]["image_id"] = 5
    gt_file = tmp_path / "orphan.json"
    gt_file.write_text(json.dumps(orphan))
    with pytest.raises(DatasetError, match=r"orphan.json: annotation 1 points at image id 5"):
        coco_box_metrics(gt_file, [])
    bare = gt_doc([])  # no boxes at all: nothing to measure, not an error
    assert coco_box_metrics(bare, []) == dict.fromkeys(METRIC_KEYS)
