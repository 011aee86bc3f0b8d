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

from decoupled_rcnn.datasets.coco import check_coco_doc
from decoupled_rcnn.datasets.common import DatasetError, is_finite_number, load_json

__all__ = ["METRIC_KEYS", "check_detections", "coco_box_metrics", "ground_truth_doc"]

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



def check_detections(dets: Any, source: Path | None, gt_doc: dict) -> list[dict]:
    """Validate detections against their ground truth.

    Args:
        dets: the decoded detections (a list of ``{image_id, category_id, bbox, score}``).
        source: the file they were read from, for the messages (None: given in memory).
        gt_doc: the ground truth (:func:`ground_truth_doc`).

    Returns:
        ``dets``, unchanged.

    Raises:
        DatasetError: not a list, a box that is not four finite numbers, no numeric score, an
            image or category the ground truth lacks.
    """
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


def ground_truth_doc(ground_truth: str | os.PathLike | dict) -> dict:
    """COCO ground truth, validated, with the fields COCOeval needs filled in.

    Args:
        ground_truth: a COCO json path or its loaded dict.

    Returns:
        The document with every annotation given an ``id`` (if it has none), ``iscrowd=0``
        and ``area = w * h`` unless it has them: a bbox-only json may omit them.

    Raises:
        DatasetError: as :func:`~decoupled_rcnn.datasets.coco.check_coco_doc` (annotations
            may be empty; image files are not checked).
    """
    source = None if isinstance(ground_truth, dict) else Path(ground_truth)
    doc = ground_truth if source is None else load_json(source)
    check_coco_doc(doc, source, require_annotations=False)
    annotations = [{"id": index + 1, "iscrowd": 0, "area": ann["bbox"][2] * ann["bbox"][3],
                    **ann} for index, ann in enumerate(doc.get("annotations", []))]
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

    gt_doc = ground_truth_doc(ground_truth)
    det_source = None if not isinstance(detections, str | os.PathLike) else Path(detections)
    dets = check_detections(
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
