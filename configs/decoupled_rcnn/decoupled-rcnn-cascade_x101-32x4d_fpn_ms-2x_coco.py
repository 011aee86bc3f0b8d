# Table IX "Ours*" (x101-32x4d): cascaded regression, multi-scale training (shorter side drawn
# from 640..800, as mmdet's ms configs), COCO 2x, soft-NMS and score_thr 0.001 at test.
_base_ = './decoupled-rcnn-cascade_x101-32x4d_fpn_2x_coco.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=[(1333, 640), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(test_cfg=dict(rcnn=dict(nms=dict(type='soft_nms', iou_threshold=0.5))))
