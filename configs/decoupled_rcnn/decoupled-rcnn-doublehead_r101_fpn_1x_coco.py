# Table XI: Decoupled R-CNN with Double-Head's conv regressor, r101, COCO 1x.
_base_ = './decoupled-rcnn-doublehead_r50_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
