# COCO "2x" (Section V-B): as 1x, 24 epochs, lr x0.1 after epochs 16 and 22.
_base_ = 'mmdet::_base_/schedules/schedule_2x.py'

optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(enable=False, base_batch_size=8)
