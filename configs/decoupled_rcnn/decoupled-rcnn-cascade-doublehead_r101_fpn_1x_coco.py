# Table XI: Double-Head conv regressor at each of the 3 cascaded regression stages,
# lambda = 0.5, r101, COCO 1x.
_base_ = './decoupled-rcnn-doublehead_r101_fpn_1x_coco.py'

model = dict(roi_head=dict(num_stages=3, reg_loss_weight=0.5))
