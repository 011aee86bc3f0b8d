# Cascade R-CNN baseline: mmdet's model, R101, COCO 1x (Table X). Its RoI head is mmdet's
# CascadeRoIHead with test-time stage selection added (SelectableCascadeRoIHead): column
# (i, j) via model.test_cfg.rcnn.reg_stage=i-1 model.test_cfg.rcnn.cls_stages=[j-1] (0-based
# stage indices, as the loss keys s0..s2); the default
# (all stages, all classifiers) is exactly mmdet's inference.
_base_ = [
    'mmdet::_base_/models/cascade-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]

custom_imports = dict(imports=['decoupled_rcnn.models'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')),
    roi_head=dict(type='SelectableCascadeRoIHead'))
