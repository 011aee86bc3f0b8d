"""Decoupled R-CNN: a sensitivity-specific two-stage detector as an MMDetection 3 plugin.

Model modules are registered by ``custom_imports=dict(imports=['decoupled_rcnn.models'])``.
Importing :mod:`decoupled_rcnn.models` (as every config of ours does) or
:mod:`decoupled_rcnn.reproduction.run.runs` (what every training and evaluation runs through)
makes mmengine load local checkpoints with ``weights_only=True`` and, only during those
loads, the types a Runner checkpoint contains allow-listed (see :mod:`decoupled_rcnn.checkpoint`).
The package root itself imports nothing heavy, so the workflow's DAG and ``--help`` stay fast.
"""

import warnings

# mmengine 0.10.7 imports pkg_resources (hence the pinned setuptools < 81); its deprecation
# notice says nothing actionable to a user of this package.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

__version__ = "0.1.0"
