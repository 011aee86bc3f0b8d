"""Evaluation: COCO-style AP at the IoU thresholds and area bands the paper reports."""

from decoupled_rcnn.evaluation.coco_metrics import (
    METRIC_KEYS,
    coco_box_metrics,
    evaluate_detections_file,
)

__all__ = ["METRIC_KEYS", "coco_box_metrics", "evaluate_detections_file"]
