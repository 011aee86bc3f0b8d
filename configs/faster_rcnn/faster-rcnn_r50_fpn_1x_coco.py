# FPN baseline: mmdet's Faster R-CNN, r50, COCO 1x (Table VIII "FPN").
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]

