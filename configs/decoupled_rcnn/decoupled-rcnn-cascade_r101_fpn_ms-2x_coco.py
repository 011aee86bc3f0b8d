# Table IX "Ours*" (r101): cascaded regression, multi-scale training (shorter side one of
# 640, 672, ..., 800 as the official code), COCO 2x, soft-NMS and score_thr 0.001 at test.
_base_ = './decoupled-rcnn-cascade_r101_fpn_2x_coco.py'

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    # official decoupled_refine_rcnn_x101_64x4d_fpn_mstrain_2x_coco.py: Resize with
    # multiscale_mode='value', i.e. one of six shorter sides 640, 672, ..., 800 per image
    dict(type='RandomChoiceResize',
         scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736), (1333, 768), (1333, 800)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(test_cfg=dict(rcnn=dict(nms=dict(type='soft_nms', iou_threshold=0.5,
                                             min_score=0.001))))
