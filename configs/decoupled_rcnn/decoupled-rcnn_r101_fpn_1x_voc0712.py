# Decoupled R-CNN, R101-FPN, VOC (Table III NMS_reg sweep, default 0.85; Table IV 1 stage;
# Table VII; Table II Decoupled unshared-FC with NMS_reg = 0.7).
_base_ = './decoupled-rcnn_r50_fpn_1x_voc0712.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
