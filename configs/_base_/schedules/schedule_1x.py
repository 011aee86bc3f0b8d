# COCO "1x" (Section V-B): SGD lr 0.01 for a total batch of 8 (4 GPUs x 2 images), momentum
# 0.9, weight decay 1e-4, 12 epochs, lr x0.1 after epochs 8 and 11.
_base_ = 'mmdet::_base_/schedules/schedule_1x.py'

optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(enable=False, base_batch_size=8)
