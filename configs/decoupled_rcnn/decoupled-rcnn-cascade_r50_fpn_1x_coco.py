# Decoupled R-CNN with 3 cascaded regression stages and lambda = 0.5 (Section IV-B, V-C),
# r50 backbone, COCO 1x (Table VIII; Table XI).
_base_ = './decoupled-rcnn_r50_fpn_1x_coco.py'

model = dict(roi_head=dict(num_stages=3, reg_loss_weight=0.5))
