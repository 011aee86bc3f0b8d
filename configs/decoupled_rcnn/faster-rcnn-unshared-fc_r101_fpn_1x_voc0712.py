# Table II: Faster R-CNN (FPN) with UNSHARED FC: one proposal set (NMS 0.7), one 1:3 sample
# set used by both branches, separate 2-FC classification and regression branches. R101, VOC.
_base_ = './decoupled-rcnn_r101_fpn_1x_voc0712.py'

model = dict(
    train_cfg=dict(
        rpn_proposal=dict(reg_nms=None),
        rcnn=dict(share_samples=True)))
