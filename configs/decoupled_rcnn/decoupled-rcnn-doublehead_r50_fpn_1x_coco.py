# Table XI: Decoupled R-CNN whose regressor is Double-Head's conv branch (1 residual block
# + 4 bottlenecks, 1024 channels, RoIs enlarged 1.3x as in mmdet's DoubleHeadRoIHead); the
# classifier keeps its 2 FC. r50, COCO 1x.
_base_ = './decoupled-rcnn_r50_fpn_1x_coco.py'

model = dict(
    roi_head=dict(
        reg_roi_scale_factor=1.3,
        reg_head=dict(
            _delete_=True,
            type='DoubleConvRegHead',
            num_convs=4,
            conv_out_channels=1024,
            in_channels=256,
            roi_feat_size=7,
            num_classes=80,
            reg_class_agnostic=False,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))))
