# Decoupled R-CNN, R50-FPN, PASCAL VOC 07+12, 12 epochs (Table VII).
_base_ = [
    '../_base_/models/decoupled-rcnn_r50_fpn.py',
    '../_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_voc_1x.py',
    'mmdet::_base_/default_runtime.py',
]

model = dict(roi_head=dict(cls_head=dict(num_classes=20), reg_head=dict(num_classes=20)))
