# Decoupled R-CNN, R50-FPN, COCO 1x (Table VIII; Table XI row without cascade / Double-Head).
_base_ = [
    '../_base_/models/decoupled-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]
