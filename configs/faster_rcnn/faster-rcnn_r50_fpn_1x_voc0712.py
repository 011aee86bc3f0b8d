# FPN baseline: mmdet's Faster R-CNN (shared FC), R50, VOC (Table VII "FPN").
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_voc_1x.py',
    'mmdet::_base_/default_runtime.py',
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
