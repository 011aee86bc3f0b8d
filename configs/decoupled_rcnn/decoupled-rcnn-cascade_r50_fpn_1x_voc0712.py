# Decoupled R-CNN with cascaded regression (3 stages, lambda 0.5), r50, VOC
# (Tables IV-VI sweep stages / NMS_reg / lambda on the R101 one; Table VII).
_base_ = './decoupled-rcnn_r50_fpn_1x_voc0712.py'

model = dict(roi_head=dict(num_stages=3, reg_loss_weight=0.5))
