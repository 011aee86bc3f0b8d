"""VOC 2007 11-point AP over 0.50:0.05:0.95 on hand-made detections worked out by hand.

11-point AP of one class: the mean over recall levels r = 0, 0.1, ..., 1 of the highest
precision reached at a recall >= r (0 where none is reached).
"""

from __future__ import annotations

import json

import pytest

from decoupled_rcnn.datasets import DatasetError
from decoupled_rcnn.evaluation import (
    METRIC_KEYS,
    VOC_IOU_THRS,
    box_metrics_for,
    coco_box_metrics,
    evaluate_detections_file,
    voc07_box_metrics,
    voc_box_metrics,
)

# four disjoint 40x40 objects in a 300x300 image, and a box far from all of them
A, B, C, D = [10, 10, 40, 40], [100, 10, 40, 40], [10, 100, 40, 40], [100, 100, 40, 40]
AWAY = [220, 220, 40, 40]


def gt_doc(boxes, categories=(1,), difficult=(), images=(1,)) -> dict:
    """``boxes`` are (category_id, [x, y, w, h]) or (category_id, box, image_id)."""
    anns = []
    for i, item in enumerate(boxes):
        c, b, img = item if len(item) == 3 else (*item, images[0])
        anns.append({"id": i + 1, "image_id": img, "category_id": c, "bbox": b,
                     "area": b[2] * b[3], "iscrowd": int(i in difficult)})
    return {
        "images": [{"id": i, "file_name": f"{i}.jpg", "width": 300, "height": 300}
                   for i in images],
        "annotations": anns,
        "categories": [{"id": c, "name": f"c{c}"} for c in categories],
    }


def det(box, score, category_id=1, image_id=1) -> dict:
    return {"image_id": image_id, "category_id": category_id, "bbox": box, "score": score}


def every_threshold(metrics: dict, value: float) -> None:
    for key in ("AP", "AP50", "AP60", "AP70", "AP75", "AP80", "AP90"):
        assert metrics[key] == pytest.approx(value, abs=1e-6), key
    assert metrics["APs"] is metrics["APm"] is metrics["APl"] is None


def test_iou_grid_is_050_to_095():
    assert VOC_IOU_THRS == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def test_eleven_point_interpolation():
    # 4 objects; ranked: TP (r 0.25, p 1), FP (0.25, 0.5), TP (0.5, 2/3).
    # r = 0, 0.1, 0.2 -> 1; r = 0.3, 0.4, 0.5 -> 2/3; r >= 0.6 -> 0: AP = (3 + 3 * 2/3) / 11.
    gt = gt_doc([(1, A), (1, B), (1, C), (1, D)])
    dets = [det(A, 0.9), det(AWAY, 0.8), det(B, 0.7)]
    metrics = voc07_box_metrics(gt, dets)
    assert tuple(metrics) == METRIC_KEYS
    every_threshold(metrics, 5 / 11)
    # the area under the curve (VOC 2010+) would be 0.25 + 0.25 * 2/3 = 5/12, COCO's
    # 101-point value (26 + 25 * 2/3) / 101: both differ from VOC 2007's 5/11
    coco = coco_box_metrics(gt, dets)
    assert coco["AP"] == pytest.approx((26 + 25 * 2 / 3) / 101, abs=1e-6)
    assert metrics["AP"] - coco["AP"] == pytest.approx(5 / 11 - (26 + 50 / 3) / 101, abs=1e-6)


def test_ap_is_the_mean_over_the_iou_grid():
    # a 100x100 object and a detection 82 px high inside it: IoU 0.82, a hit at
    # t = 0.50 ... 0.80 (7 thresholds, AP_t = 1), a false positive at 0.85, 0.90, 0.95 (0)
    gt = gt_doc([(1, [50, 50, 100, 100])])
    metrics = voc07_box_metrics(gt, [det([50, 50, 100, 82], 0.9)])
    for key in ("AP50", "AP60", "AP70", "AP75", "AP80"):
        assert metrics[key] == pytest.approx(1.0, abs=1e-6), key
    assert metrics["AP90"] == 0.0
    assert metrics["AP"] == pytest.approx(7 / 10, abs=1e-6)


def test_difficult_objects_are_neither_hits_nor_misses():
    # A normal, B difficult. Ranked: FP, det on B (ignored), TP on A -> one object found at
    # precision 1/2: AP 0.5. Counting B as an object would give 2/3, counting the det on B as a
    # false positive 1/3.
    gt = gt_doc([(1, A), (1, B)], difficult=(1,))
    dets = [det(AWAY, 0.9), det(B, 0.8), det(A, 0.7)]
    every_threshold(voc07_box_metrics(gt, dets), 0.5)
    plain = gt_doc([(1, A), (1, B)])
    every_threshold(voc07_box_metrics(plain, dets), 2 / 3)


def test_class_mean_skips_classes_with_only_difficult_objects():
    # class 1: one object found first (AP 1); class 2: only a difficult object; class 3: no
    # object at all. The mean runs over class 1 alone.
    gt = gt_doc([(1, A), (2, B)], categories=(1, 2, 3), difficult=(1,))
    dets = [det(A, 0.9), det(B, 0.8, category_id=2), det(C, 0.7, category_id=3)]
    every_threshold(voc07_box_metrics(gt, dets), 1.0)


def test_two_classes_and_two_images_average_per_class():
    # class 1: objects in images 1 and 2, both found after an FP in image 2:
    #   FP (0, 0), TP (0.5, 1/2), TP (1, 2/3) -> 2/3 at every recall level;
    # class 2: found at once -> 1. mAP = (2/3 + 1) / 2 = 5/6.
    gt = gt_doc([(1, A, 1), (1, A, 2), (2, C, 1)], categories=(1, 2), images=(1, 2))
    dets = [det(AWAY, 0.95, image_id=2), det(A, 0.9, image_id=1), det(A, 0.8, image_id=2),
            det(C, 0.5, category_id=2, image_id=1)]
    every_threshold(voc07_box_metrics(gt, dets), 5 / 6)


def test_no_detections_and_no_objects():
    every_threshold(voc07_box_metrics(gt_doc([(1, A)]), []), 0.0)
    only_difficult = voc07_box_metrics(gt_doc([(1, A)], difficult=(0,)), [det(A, 0.9)])
    assert only_difficult == dict.fromkeys(METRIC_KEYS)


def test_voc_metrics_keep_coco_style_beside():
    gt = gt_doc([(1, A), (1, B), (1, C), (1, D)])
    dets = [det(A, 0.9), det(AWAY, 0.8), det(B, 0.7)]
    metrics = voc_box_metrics(gt, dets)
    assert list(metrics) == [*METRIC_KEYS, "coco_style"]
    assert {k: metrics[k] for k in METRIC_KEYS} == voc07_box_metrics(gt, dets)
    assert metrics["coco_style"] == coco_box_metrics(gt, dets)


def test_metric_function_per_dataset():
    assert box_metrics_for("voc0712") is voc_box_metrics
    assert box_metrics_for("coco") is coco_box_metrics
    assert box_metrics_for("coco_detection") is coco_box_metrics


def test_files_and_malformed_input(tmp_path):
    gt_file, dets_file = tmp_path / "gt.json", tmp_path / "dets.json"
    gt_file.write_text(json.dumps(gt_doc([(1, A)])))
    dets_file.write_text(json.dumps([det(A, 0.9)]))
    out = tmp_path / "m.json"
    metrics = evaluate_detections_file(gt_file, dets_file, out, dataset="voc0712")
    assert metrics["AP"] == pytest.approx(1.0) and "coco_style" in metrics
    assert json.loads(out.read_text()) == metrics
    assert evaluate_detections_file(gt_file, dets_file) == coco_box_metrics(gt_file, dets_file)
    with pytest.raises(DatasetError, match="unknown category"):
        voc07_box_metrics(gt_file, [det(A, 0.9, category_id=7)])
