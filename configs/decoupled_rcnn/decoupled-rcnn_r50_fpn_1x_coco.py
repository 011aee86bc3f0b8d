# Decoupled R-CNN, R50-FPN, COCO 1x (Table VIII; Table XI row without cascade / Double-Head).
_base_ = [
    '../_base_/models/decoupled-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
]

# lambda = 0.5 on COCO with a single regressor, as the official code trains it
# (DecoupledBBoxHead.loss: "without refine on coco: avg_factor = 2048 (1024 per batch)");
# the paper's Sec. V-C-5 says 1 for one regressor: override reg_loss_weight=1.0 for that.
model = dict(roi_head=dict(reg_loss_weight=0.5))
