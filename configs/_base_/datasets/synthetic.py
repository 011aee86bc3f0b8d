# The generated shapes benchmark of the embedded default (`decoupled-rcnn make-synthetic`),
# read by mmdet's CocoDataset. Layout under data_root: annotations/{train,val}.json and
# images/{train,val}/*.png. Point it elsewhere with the keys that
# decoupled_rcnn.datasets.dataset_cfg_options('synthetic', root) returns (config variables
# below are resolved when this file is parsed, so overriding `data_root` alone changes nothing).
dataset_type = 'CocoDataset'
data_root = 'data/synthetic/'
# Must equal decoupled_rcnn.datasets.SYNTHETIC_CLASSES (a test checks it).
classes = ('ellipse', 'rectangle', 'triangle', 'ring', 'cross')
metainfo = dict(classes=classes)
img_scale = (160, 160)  # the generator's default image size: no resampling of the boxes
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# num_workers=0: on the 2-core default machine worker processes cost more than they save.
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/val.json',
    metric='bbox',
    format_only=False,
    backend_args=backend_args)
test_evaluator = val_evaluator
