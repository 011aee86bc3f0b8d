"""PASCAL VOC 2007 11-point AP over the IoU grid 0.50:0.05:0.95, as the paper's VOC tables.

The official implementation (``mmdet/datasets/voc.py``, ``VOCDataset.evaluate``) runs mmdet's
``eval_map`` with VOC 2007's 11-point interpolation once per IoU threshold 0.50, 0.55, ...,
0.95, reports each mean over classes as ``mAP_<iou>`` and their mean as ``AP``; Tables I-VII
print that AP and the 0.5, 0.6, 0.7, 0.8 and 0.9 values. Here the same ``eval_map`` (mmdet 3:
:func:`mmdet.evaluation.functional.eval_map`, ``eval_mode='11points'``) runs on the COCO json
the VOC conversion writes:

* ground-truth boxes ``[x, y, w, h]`` become ``[x, y, x + w, y + h]`` (the conversion already
  subtracted 1 from ``xmin``/``ymin`` as mmdet's ``XMLDataset``; IoUs without the legacy +1,
  as mmdet 2.4's ``eval_map`` the official code used);
* ``iscrowd=1`` objects (VOC's *difficult*) are ignored: a detection matched to one is neither
  a true nor a false positive, and they do not count as ground truth;
* the class mean runs over classes with at least one non-difficult object.

Values are fractions in [0, 1] under the keys of :data:`METRIC_KEYS`; VOC has no area bands, so
APs/APm/APl are ``None``. The official code rounds each per-IoU value to 3 decimals before
averaging; we do not (a difference below 0.0005).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from decoupled_rcnn.datasets.common import load_json
from decoupled_rcnn.evaluation.coco_metrics import (
    METRIC_KEYS,
    check_detections,
    coco_box_metrics,
    ground_truth_doc,
)

__all__ = [
    "VOC_IOU_THRS",
    "voc07_box_metrics",
    "voc_box_metrics",
]

#: The IoU grid of the AP column (0.50, 0.55, ..., 0.95).
VOC_IOU_THRS: tuple[float, ...] = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))

#: Single-threshold metrics and their IoU.
_AT_IOU: dict[str, float] = {
    "AP50": 0.5, "AP60": 0.6, "AP70": 0.7, "AP75": 0.75, "AP80": 0.8, "AP90": 0.9}

def _eval_map_inputs(gt_doc: dict, dets: Sequence[dict]) -> tuple[list, list, int]:
    """Per-image, per-class detections and annotations in ``eval_map``'s format.

    Returns:
        ``(det_results, annotations, num_gts)``: ``det_results[i][c]`` is an (n, 5) array of
        ``x1, y1, x2, y2, score``; ``annotations[i]`` has ``bboxes`` (m, 4), ``labels`` (m,),
        ``bboxes_ignore`` (k, 4), ``labels_ignore`` (k,); ``num_gts`` counts the non-ignored
        ground-truth boxes.
    """
    cat_index = {cat["id"]: i for i, cat in enumerate(gt_doc["categories"])}
    img_index = {img["id"]: i for i, img in enumerate(gt_doc["images"])}
    num_cls = len(cat_index)

    def xyxy(box: Sequence[float]) -> list[float]:
        x, y, w, h = (float(v) for v in box)
        return [x, y, x + w, y + h]

    per_image: list[list[list]] = [[[] for _ in range(num_cls)] for _ in img_index]
    for det in dets:
        row = xyxy(det["bbox"]) + [float(det["score"])]
        per_image[img_index[det["image_id"]]][cat_index[det["category_id"]]].append(row)
    det_results = [[np.array(rows, dtype=np.float32).reshape(-1, 5) for rows in image]
                   for image in per_image]

    boxes: list[dict[str, list]] = [
        {"bboxes": [], "labels": [], "bboxes_ignore": [], "labels_ignore": []} for _ in img_index]
    for ann in gt_doc["annotations"]:
        entry = boxes[img_index[ann["image_id"]]]
        suffix = "_ignore" if ann.get("iscrowd", 0) else ""
        entry["bboxes" + suffix].append(xyxy(ann["bbox"]))
        entry["labels" + suffix].append(cat_index[ann["category_id"]])
    annotations = [
        {key: (np.array(val, dtype=np.float32).reshape(-1, 4) if key.startswith("bboxes")
               else np.array(val, dtype=np.int64)) for key, val in entry.items()}
        for entry in boxes]
    num_gts = sum(len(entry["labels"]) for entry in boxes)
    return det_results, annotations, num_gts


def voc07_box_metrics(
    ground_truth: str | os.PathLike | dict,
    detections: str | os.PathLike | Sequence[dict],
) -> dict[str, float | None]:
    """VOC 2007 11-point box AP of detections, averaged over the IoU grid 0.50:0.05:0.95.

    Args:
        ground_truth: a COCO json path (as ``decoupled-rcnn voc2coco`` writes) or its loaded
            dict; ``iscrowd=1`` annotations are VOC's difficult objects, ignored.
        detections: a json path or list of ``{"image_id", "category_id", "bbox": [x, y, w, h],
            "score"}`` (what mmdet's ``CocoMetric`` writes to ``<prefix>.bbox.json``).

    Returns:
        ``{name: value}`` for :data:`METRIC_KEYS`: ``AP`` the mean of the 10 per-IoU mAPs,
        ``AP50`` ... ``AP90`` the 11-point mAP at that IoU, fractions in [0, 1]; ``APs``,
        ``APm``, ``APl`` are ``None``, and every value is ``None`` when the ground truth has no
        non-difficult object.

    Raises:
        DatasetError: unreadable or malformed files, a detection for an image or category the
            ground truth lacks, ground truth without images.
    """
    from mmdet.evaluation.functional import eval_map

    gt_doc = ground_truth_doc(ground_truth)
    det_source = None if not isinstance(detections, str | os.PathLike) else Path(detections)
    dets = check_detections(
        list(detections) if det_source is None else load_json(det_source), det_source, gt_doc)

    results: dict[str, float | None] = dict.fromkeys(METRIC_KEYS)
    det_results, annotations, num_gts = _eval_map_inputs(gt_doc, dets)
    if num_gts == 0:
        return results
    per_iou = {
        thr: float(eval_map(det_results, annotations, iou_thr=thr, eval_mode="11points",
                            nproc=1, logger="silent")[0])
        for thr in VOC_IOU_THRS
    }
    results["AP"] = float(np.mean(list(per_iou.values())))
    for name, thr in _AT_IOU.items():
        results[name] = per_iou[thr]
    return results


def voc_box_metrics(
    ground_truth: str | os.PathLike | dict,
    detections: str | os.PathLike | Sequence[dict],
) -> dict[str, Any]:
    """The VOC tables' metrics: 11-point values as the primary keys, COCO-style ones beside.

    Args:
        ground_truth: as :func:`voc07_box_metrics`.
        detections: as :func:`voc07_box_metrics`.

    Returns:
        :func:`voc07_box_metrics`'s dict plus ``"coco_style"``: :func:`coco_box_metrics` of
        the same detections (101-point interpolation, area bands).
    """
    if not isinstance(detections, str | os.PathLike):
        detections = list(detections)
    metrics: dict[str, Any] = dict(voc07_box_metrics(ground_truth, detections))
    metrics["coco_style"] = coco_box_metrics(ground_truth, detections)
    return metrics
