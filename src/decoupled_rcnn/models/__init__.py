"""Registered MMDetection 3 modules of Decoupled R-CNN.

Enable them in a config with
``custom_imports = dict(imports=['decoupled_rcnn.models'], allow_failed_imports=False)``.
Importing this package makes mmengine load local checkpoints with ``weights_only`` on and the
Runner's types allow-listed (:func:`decoupled_rcnn.checkpoint.register_safe_loader`) and
replaces mmengine's ``torchvision://`` checkpoint loader by one that does not need torchvision
(:mod:`decoupled_rcnn.models.pretrained`).
"""

from decoupled_rcnn.checkpoint import register_safe_loader
from decoupled_rcnn.models.bbox_heads import DoubleConvRegHead
from decoupled_rcnn.models.cascade_roi_head import SelectableCascadeRoIHead
from decoupled_rcnn.models.detector import DecoupledRCNN
from decoupled_rcnn.models.pretrained import install_torchvision_scheme
from decoupled_rcnn.models.roi_head import DecoupledRoIHead
from decoupled_rcnn.models.rpn_head import DecoupledRPNHead
from decoupled_rcnn.models.samplers import PositiveOnlySampler

register_safe_loader()
install_torchvision_scheme()

__all__ = [
    "DecoupledRCNN",
    "DecoupledRPNHead",
    "DecoupledRoIHead",
    "DoubleConvRegHead",
    "PositiveOnlySampler",
    "SelectableCascadeRoIHead",
]
