"""Dataset preparation: COCO root checks, VOC to COCO conversion, the generated benchmark.

All three produce or check COCO-format json that mmdet's ``CocoDataset`` reads (see the
dataset config fragments under ``configs/_base_/datasets/``). Problems with user data raise
:class:`DatasetError` with a one-line message naming the file.
"""

from decoupled_rcnn.datasets.cfg_options import DATASET_FRAGMENTS, dataset_cfg_options
from decoupled_rcnn.datasets.coco import (
    COCO_SPLITS,
    CocoSplitSummary,
    check_coco_json,
    check_coco_root,
)
from decoupled_rcnn.datasets.common import DatasetError, load_json
from decoupled_rcnn.datasets.synthetic import (
    SYNTHETIC_CLASSES,
    SyntheticSummary,
    generate_synthetic,
)
from decoupled_rcnn.datasets.voc import (
    VOC_CLASSES,
    VocConversionSummary,
    convert_voc0712,
    convert_voc_to_coco,
)

__all__ = [
    "DATASET_FRAGMENTS",
    "COCO_SPLITS",
    "SYNTHETIC_CLASSES",
    "VOC_CLASSES",
    "CocoSplitSummary",
    "DatasetError",
    "SyntheticSummary",
    "VocConversionSummary",
    "check_coco_json",
    "check_coco_root",
    "convert_voc0712",
    "convert_voc_to_coco",
    "dataset_cfg_options",
    "generate_synthetic",
    "load_json",
]
