"""Decoupled R-CNN: a sensitivity-specific two-stage detector as an MMDetection 3 plugin.

Importing the package allow-lists the types that mmengine Runner checkpoints contain, so
they load under torch's ``weights_only=True`` default (see :mod:`decoupled_rcnn.checkpoint`).
Model modules are registered by ``custom_imports=dict(imports=['decoupled_rcnn.models'])``.
"""

import warnings

# mmengine 0.10.7 imports pkg_resources (hence the pinned setuptools < 81); its deprecation
# notice says nothing actionable to a user of this package.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

from decoupled_rcnn.checkpoint import install_checkpoint_safety  # noqa: E402

__version__ = "0.1.0"

install_checkpoint_safety()
