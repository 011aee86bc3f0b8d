"""COCO-style box AP at the thresholds the paper reports, from pycocotools' COCOeval.

The VOC tables (I-VII) report AP, AP50, AP60, AP70, AP80, AP90; the COCO tables (VIII, IX)
add AP75 and APs/APm/APl. All come from one COCOeval run: AP at a single IoU threshold ``t``
is the mean of COCOeval's 101-point interpolated precision array at the index of ``t``, over
recall points and categories with ground truth, area "all", 100 detections per image, exactly
as ``COCOeval.summarize`` computes AP50 and AP75. Values are fractions in [0, 1]; a metric with
no ground truth to measure (e.g. APl on a set without large objects) is ``None`` rather than
COCO's ``-1``, so it cannot be averaged by mistake. pycocotools' printing is captured.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from decoupled_rcnn.datasets.common import (
    DatasetError,
    is_finite_number,
    load_json,
    write_json_atomic,
)

__all__ = ["METRIC_KEYS", "coco_box_metrics", "evaluate_detections_file"]

#: Metric name -> (IoU threshold or None for the 0.5:0.95 mean, area range name).
_METRICS: dict[str, tuple[float | None, str]] = {
    "AP": (None, "all"),
    "AP50": (0.5, "all"),
    "AP60": (0.6, "all"),
    "AP70": (0.7, "all"),
    "AP75": (0.75, "all"),
    "AP80": (0.8, "all"),
    "AP90": (0.9, "all"),
    "APs": (None, "small"),
    "APm": (None, "medium"),
    "APl": (None, "large"),
}
METRIC_KEYS: tuple[str, ...] = tuple(_METRICS)



def _check_detections(dets: Any, source: Path | None, gt_doc: dict) -> list[dict]:
    if not isinstance(dets, list):
        raise DatasetError(source, "detections must be a json list of {image_id, category_id, "
                           "bbox, score}")
    img_ids = {img["id"] for img in gt_doc["images"]}
    cat_ids = {cat["id"] for cat in gt_doc["categories"]}
    for index, det in enumerate(dets):
        if not isinstance(det, dict):
            raise DatasetError(source, f"detection {index} is not an object")
        bbox = det.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(map(is_finite_number, bbox))):
            raise DatasetError(source, f"detection {index} bbox is not [x, y, w, h] numbers")
        if not is_finite_number(det.get("score")):
            raise DatasetError(source, f"detection {index} has no numeric score")
        if det.get("image_id") not in img_ids:
            raise DatasetError(
                source, f"detection {index} is for image id {det.get('image_id')!r}, which is not "
                "in the ground truth"
            )
        if det.get("category_id") not in cat_ids:
            raise DatasetError(
                source, f"detection {index} has unknown category id {det.get('category_id')!r}"
            )
    return dets


def _check_ground_truth(doc: Any, source: Path | None) -> dict:
    if not isinstance(doc, dict) or not all(
        isinstance(doc.get(key), list) for key in ("images", "annotations", "categories")
    ):
        raise DatasetError(source, "ground truth is not a COCO json with images, annotations "
                           "and categories")
    if not doc["images"]:
        raise DatasetError(source, "empty split: the ground truth has no images")
    annotations = []
    for index, ann in enumerate(doc["annotations"]):
        if not isinstance(ann, dict) or not {"image_id", "category_id", "bbox"} <= ann.keys():
            raise DatasetError(source, f"annotation {index} lacks image_id/category_id/bbox")
        bbox = ann["bbox"]
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(map(is_finite_number, bbox))):
            raise DatasetError(source, f"annotation {index} bbox is not [x, y, w, h] numbers")
        # COCOeval needs these; a bbox-only json may omit them.
        w, h = ann["bbox"][2:]
        annotations.append({"id": index + 1, "iscrowd": 0, "area": w * h, **ann})
    return {**doc, "annotations": annotations}


def coco_box_metrics(
    ground_truth: str | os.PathLike | dict,
    detections: str | os.PathLike | Sequence[dict],
) -> dict[str, float | None]:
    """Box AP of detections against COCO-format ground truth.

    Args:
        ground_truth: A COCO json path or its loaded dict. Annotations with ``iscrowd=1``
            (VOC's difficult objects) are ignore regions.
        detections: A json path or list of ``{"image_id", "category_id", "bbox": [x, y, w, h],
            "score"}``, the format mmdet's ``CocoMetric`` writes to ``<prefix>.bbox.json``.

    Returns:
        ``{name: value}`` for :data:`METRIC_KEYS`, fractions in [0, 1] or ``None``.

    Raises:
        DatasetError: Unreadable or malformed files, a detection for an image or category the
            ground truth lacks, ground truth without images.
    """
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt_source = None if isinstance(ground_truth, dict) else Path(ground_truth)
    gt_doc = _check_ground_truth(
        ground_truth if gt_source is None else load_json(gt_source), gt_source
    )
    det_source = None if not isinstance(detections, str | os.PathLike) else Path(detections)
    dets = _check_detections(
        list(detections) if det_source is None else load_json(det_source), det_source, gt_doc
    )

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = gt_doc
        gt.createIndex()
        if dets:
            dt = gt.loadRes([dict(d) for d in dets])
        else:  # loadRes cannot take an empty list; no detections means AP 0 where gt exists
            dt = COCO()
            dt.dataset = {"images": gt_doc["images"], "categories": gt_doc["categories"],
                          "annotations": []}
            dt.createIndex()
        coco_eval = COCOeval(gt, dt, iouType="bbox")
        coco_eval.evaluate()
        coco_eval.accumulate()

    params = coco_eval.params
    precision = coco_eval.eval["precision"]  # (iou thrs, recall thrs, categories, areas, maxDets)
    max_det = params.maxDets.index(100)
    results: dict[str, float | None] = {}
    for name, (iou, area) in _METRICS.items():
        p = precision[:, :, :, params.areaRngLbl.index(area), max_det]
        if iou is not None:
            p = p[np.flatnonzero(np.isclose(params.iouThrs, iou))[0]]
        valid = p[p > -1]
        results[name] = float(valid.mean()) if valid.size else None
    return results


def evaluate_detections_file(
    gt_file: str | os.PathLike,
    dets_file: str | os.PathLike,
    out_file: str | os.PathLike | None = None,
    dataset: str = "coco",
) -> dict[str, Any]:
    """Box metrics of two files, optionally writing the metrics json atomically.

    Args:
        gt_file: COCO-format ground truth.
        dets_file: detections json.
        out_file: where to write the metrics, if given.
        dataset: picks the metric (:func:`~decoupled_rcnn.evaluation.box_metrics_for`):
            COCO-style AP by default, VOC 2007 11-point AP (COCO-style beside) for ``voc*``.

    Returns:
        The metrics dict.
    """
    from decoupled_rcnn.evaluation.voc_metrics import box_metrics_for

    metrics = box_metrics_for(dataset)(Path(gt_file), Path(dets_file))
    if out_file is not None:
        write_json_atomic(metrics, out_file)
    return metrics
