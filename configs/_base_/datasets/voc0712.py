# PASCAL VOC as in the paper: train on VOC2007+2012 trainval, test on VOC2007 test. The
# paper's metric is VOC 2007 11-point AP over IoU 0.50:0.05:0.95 (official code):
# decoupled_rcnn.evaluation.voc_box_metrics on the detections the CocoMetric below writes
# (COCO-style AP kept beside). The XML annotations are first converted to COCO json by
# `decoupled-rcnn voc2coco` (difficult objects become iscrowd=1 ignore regions), then read by
# mmdet's CocoDataset with VOC's 20 classes. Images are resized to an 800-px shorter side
# with horizontal flip as the only augmentation (paper, Sec. V-A). Image file names in the
# json are relative to the VOCdevkit folder (VOC2007/JPEGImages/...), the data_root here.
# Point it elsewhere with decoupled_rcnn.datasets.dataset_cfg_options('voc0712', root, ...).
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

data_root = 'data/VOCdevkit/'
classes = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
           'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep',
           'sofa', 'train', 'tvmonitor')
metainfo = dict(classes=classes)

train_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='voc0712_trainval.json',
        data_prefix=dict(img='')))
val_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='voc07_test.json',
        data_prefix=dict(img='')))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'voc07_test.json')
test_evaluator = val_evaluator
