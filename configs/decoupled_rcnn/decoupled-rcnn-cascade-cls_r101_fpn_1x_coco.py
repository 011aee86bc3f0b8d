# Table X: Decoupled R-CNN with cascaded regression AND cascaded classification, R101, COCO 1x.
# One classifier per stage; Cascade R-CNN's IoU schedule 0.5/0.6/0.7 for classifiers and
# regressors; all regressors class-agnostic; classifier losses weighted 1/0.5/0.25 as Cascade
# R-CNN's stages. Evaluate column (i, j) with
#   --cfg-options model.test_cfg.rcnn.reg_stage=i-1 model.test_cfg.rcnn.cls_stages=[j-1]
# (0-based stage indices, as the loss keys s0..s2) and "(3, 1-3)" with cls_stages=[0,1,2]
# (the default).
_base_ = './decoupled-rcnn-cascade_r101_fpn_1x_coco.py'

model = dict(
    roi_head=dict(
        cascade_cls=True,
        cls_stage_loss_weights=[1.0, 0.5, 0.25],
        reg_head=dict(reg_class_agnostic=True)),
    train_cfg=dict(rcnn=dict(stage_iou_thrs=[0.5, 0.6, 0.7])))
