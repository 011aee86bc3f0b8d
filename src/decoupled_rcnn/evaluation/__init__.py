"""Evaluation: COCO-style AP and VOC 2007 11-point AP at the IoU thresholds the paper reports."""

from decoupled_rcnn.evaluation.by_dataset import box_metrics_for, evaluate_detections_file
from decoupled_rcnn.evaluation.coco_metrics import METRIC_KEYS, coco_box_metrics
from decoupled_rcnn.evaluation.voc_metrics import VOC_IOU_THRS, voc07_box_metrics, voc_box_metrics

__all__ = [
    "METRIC_KEYS",
    "VOC_IOU_THRS",
    "box_metrics_for",
    "coco_box_metrics",
    "evaluate_detections_file",
    "voc07_box_metrics",
    "voc_box_metrics",
]
