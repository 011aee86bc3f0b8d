"""The box metric each dataset is reported with, and evaluating a detections file with it.

VOC datasets get the VOC tables' 11-point AP (:mod:`decoupled_rcnn.evaluation.voc_metrics`,
COCO-style AP beside), every other dataset COCO-style AP
(:mod:`decoupled_rcnn.evaluation.coco_metrics`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from decoupled_rcnn.evaluation.coco_metrics import coco_box_metrics
from decoupled_rcnn.evaluation.voc_metrics import voc_box_metrics
from decoupled_rcnn.provenance import write_json_atomic

__all__ = ["box_metrics_for", "evaluate_detections_file"]

MetricsFn = Callable[[Any, Any], dict[str, Any]]


def box_metrics_for(dataset: str) -> MetricsFn:
    """The box-metric function for a paper dataset name or dataset config fragment.

    Args:
        dataset: ``voc0712`` (or any name starting with ``voc``) for the VOC tables, anything
            else (``coco``, ``coco_detection``, ...) for COCO's.

    Returns:
        :func:`voc_box_metrics` for VOC, :func:`coco_box_metrics` otherwise; both take
        ``(ground_truth, detections)``.
    """
    return voc_box_metrics if dataset.lower().startswith("voc") else coco_box_metrics


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
        dataset: picks the metric (:func:`box_metrics_for`):
            COCO-style AP by default, VOC 2007 11-point AP (COCO-style beside) for ``voc*``.

    Returns:
        The metrics dict.
    """
    metrics = box_metrics_for(dataset)(Path(gt_file), Path(dets_file))
    if out_file is not None:
        write_json_atomic(metrics, out_file)
    return metrics
