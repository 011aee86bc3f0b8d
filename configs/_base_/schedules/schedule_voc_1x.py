# PASCAL VOC (Section V-B): 12 epochs, lr 0.005 (total batch 8), x0.1 after epoch 9.
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'

optim_wrapper = dict(optimizer=dict(lr=0.005))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[9], gamma=0.1),
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
