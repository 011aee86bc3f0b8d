# Table IX "Ours*" (x101-64x4d): cascaded regression, multi-scale training (shorter side one
# of 640, 672, ..., 800 as the official code), COCO 2x, soft-NMS and score_thr 0.001 at test.
_base_ = './decoupled-rcnn-cascade_x101-32x4d_fpn_ms-2x_coco.py'

model = dict(
    backbone=dict(
        groups=64,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnext101_64x4d')))
