# Decoupled R-CNN (Section IV): mmdet's Faster R-CNN R50-FPN with the Decoupled Sampling
# Strategy in the RPN, unshared-FC classification / regression heads and K regression stages.
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'

custom_imports = dict(imports=['decoupled_rcnn.models'], allow_failed_imports=False)

rcnn_assigner = dict(
    type='MaxIoUAssigner',
    pos_iou_thr=0.5,
    neg_iou_thr=0.5,
    min_pos_iou=0.5,
    match_low_quality=False,
    ignore_iof_thr=-1)
box_coder = dict(
    type='DeltaXYWHBBoxCoder',
    target_means=[0., 0., 0., 0.],
    target_stds=[0.1, 0.1, 0.2, 0.2])

model = dict(
    type='DecoupledRCNN',
    rpn_head=dict(type='DecoupledRPNHead'),
    roi_head=dict(
        _delete_=True,
        type='DecoupledRoIHead',
        num_stages=1,  # K regression stages (Tables IV, V)
        reg_loss_weight=1.0,  # lambda of Eq. 8 (Table VI)
        # regression stage k's loss also weighs 0.5 ** (k - 1): the official code's
        # stage_loss_weights [1, 0.5, 0.25] (1.0: Eq. 8's plain sum)
        reg_stage_loss_decay=0.5,
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32]),
        # classification branch: 2 FC 1024 + classifier
        cls_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            with_reg=False,
            bbox_coder=box_coder,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        # regression stage 1: 2 FC 1024 + class-specific deltas; stages > 1 are derived
        # in code (class-agnostic, target stds / k)
        reg_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            with_cls=False,
            reg_class_agnostic=False,
            bbox_coder=box_coder,
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn_proposal=dict(
            nms_pre=2000,
            max_per_img=1000,
            nms=dict(type='nms', iou_threshold=0.7),  # NMS_cls
            reg_nms=dict(type='nms', iou_threshold=0.85),  # NMS_reg
            reg_max_per_img=1000,
            min_bbox_size=0),
        rcnn=dict(
            _delete_=True,
            cls=dict(
                assigner=rcnn_assigner,
                sampler=dict(
                    type='RandomSampler',
                    num=512,
                    pos_fraction=0.25,
                    neg_pos_ub=-1,
                    add_gt_as_proposals=True),
                pos_weight=-1,
                debug=False),
            reg=dict(
                assigner=rcnn_assigner,
                sampler=dict(type='PositiveOnlySampler', num=512, pad_with_negatives=True,
                             add_gt_as_proposals=False),
                pos_weight=-1,
                debug=False),
            stage_iou_thrs=None,  # None: 0.5 at every stage; e.g. [0.5, 0.6, 0.7]
            share_samples=False)),
    test_cfg=dict(
        rpn=dict(
            nms_pre=1000,
            max_per_img=1000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(
            score_thr=0.05,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=100,
            reg_stage=None,  # None: the last regression stage
            cls_stages=None)))  # None: all classifiers (one unless cascade_cls)
