# FPN baseline, R101, VOC (Table VII "FPN"; Table II FPN shared-FC).
_base_ = './faster-rcnn_r50_fpn_1x_voc0712.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
