# Table I toy (Section III-A): Faster R-CNN with two proposal sets (NMS_cls / NMS_reg), each
# sampled 1:3 (512 RoIs, gt added) for its own task, unshared FC. R101, VOC. The rows set
#   model.train_cfg.rpn_proposal.nms.iou_threshold      (NMS_cls)
#   model.train_cfg.rpn_proposal.reg_nms.iou_threshold  (NMS_reg)
_base_ = './decoupled-rcnn_r101_fpn_1x_voc0712.py'

model = dict(
    train_cfg=dict(
        rpn_proposal=dict(reg_nms=dict(iou_threshold=0.7)),
        rcnn=dict(
            reg=dict(
                sampler=dict(
                    _delete_=True,
                    type='RandomSampler',
                    num=512,
                    pos_fraction=0.25,
                    neg_pos_ub=-1,
                    add_gt_as_proposals=True)))))
