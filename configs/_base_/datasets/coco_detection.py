# MS COCO 2017 as in the paper (train2017 / val2017, 800-px shorter side, flip only): mmdet's
# own fragment with the root as a variable. Layout under data_root: annotations/
# instances_{train,val}2017.json, train2017/, val2017/. Point it elsewhere with the keys that
# decoupled_rcnn.datasets.dataset_cfg_options('coco_detection', root) returns.
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

data_root = 'data/coco/'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json')
test_evaluator = val_evaluator
