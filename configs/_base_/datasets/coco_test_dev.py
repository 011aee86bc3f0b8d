# COCO test-dev2017 (Table IX): no public labels, so the test loop only writes detections
# (<outfile_prefix>.bbox.json) for the evaluation server. Layout under data_root:
# annotations/image_info_test-dev2017.json and test2017/.
_base_ = './coco_detection.py'

data_root = 'data/coco/'
backend_args = None
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
test_dataloader = dict(
    dataset=dict(
        data_root=data_root,
        ann_file='annotations/image_info_test-dev2017.json',
        data_prefix=dict(img='test2017/'),
        pipeline=test_pipeline))
test_evaluator = dict(
    type='CocoMetric',
    metric='bbox',
    format_only=True,
    ann_file=data_root + 'annotations/image_info_test-dev2017.json',
    outfile_prefix='./work_dirs/coco_test_dev/detections')
