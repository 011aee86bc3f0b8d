# Table II: Decoupled R-CNN with SHARED FC (one pair of FCs for both tasks, each task still
# on its own samples), NMS_reg = 0.7 as in Section V-C-1, R101, VOC.
_base_ = './decoupled-rcnn_r101_fpn_1x_voc0712.py'

model = dict(
    roi_head=dict(
        share_fcs=True,
        cls_head=dict(
            with_reg=True,
            reg_class_agnostic=False,
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(rpn_proposal=dict(reg_nms=dict(iou_threshold=0.7))))
