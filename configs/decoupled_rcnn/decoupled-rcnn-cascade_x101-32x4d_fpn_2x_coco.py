# Table IX "Ours" (x101-32x4d): cascaded regression, COCO 2x, score_thr 0.001 (test-dev).
# "Ours+" is this model tested with soft-NMS: --cfg-options model.test_cfg.rcnn.nms.type=soft_nms
_base_ = './decoupled-rcnn-cascade_x101-32x4d_fpn_1x_coco.py'

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[16, 22],
         gamma=0.1),
]
model = dict(test_cfg=dict(rcnn=dict(score_thr=0.001)))
