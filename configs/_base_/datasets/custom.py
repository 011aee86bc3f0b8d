# Your own dataset (workflow config `data.source: custom`, decoupled_rcnn.datasets.custom):
# mmdet's COCO fragment (CocoDataset, 1333 x 800, flip only) on COCO json (a VOC-format
# dataset is converted first). The classes are placeholders: the workflow sets every dataset's
# `metainfo` and every head's `num_classes` from the data when it composes an experiment
# (decoupled_rcnn.reproduction.plan.config_parts.use_dataset). LoadImageFromFile's default
# color_type='color' gives grayscale images three channels; min_size=0 (mmdet's COCO: 32)
# keeps images of any size; persistent_workers=False lets num_workers be 0.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

data_root = 'data/custom/'
metainfo = dict(classes=('object', ))
train_dataloader = dict(
    persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/train.json',
                 data_prefix=dict(img='images/train/'),
                 filter_cfg=dict(filter_empty_gt=True, min_size=0)))
val_dataloader = dict(
    persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, ann_file='annotations/val.json',
                 data_prefix=dict(img='images/val/')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
