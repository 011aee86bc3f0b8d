"""Checks that the installed stack is the one the pipeline needs (used by set-up and tests)."""

from __future__ import annotations

import platform


class InstallError(RuntimeError):
    """The environment lacks something the pipeline needs; the message says how to fix it."""


def check_stack() -> dict[str, str]:
    """Import the stack and run one compiled mmcv op.

    Returns:
        Versions and devices, keyed by component name.

    Raises:
        InstallError: mmcv has no compiled ops, or a component is missing.
    """
    import torch

    try:
        from mmcv.ops import RoIAlign, nms
    except (ImportError, ModuleNotFoundError) as err:
        raise InstallError(
            f"mmcv has no compiled ops ({err}). Rebuild it: pip cache remove mmcv && "
            "MMCV_WITH_OPS=1 pip install --no-build-isolation --no-cache-dir mmcv==2.1.0 "
            "(or run `make setup`, which does this)."
        ) from err
    import mmcv
    import mmdet
    import mmengine

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    if keep.tolist() != [0, 2]:
        raise InstallError(f"mmcv.ops.nms returned {keep.tolist()}, expected [0, 2]")
    RoIAlign((7, 7), spatial_scale=1.0, sampling_ratio=0)
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda or "none (CPU build)",
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "mmengine": mmengine.__version__,
        "mmcv": f"{mmcv.__version__} (ops compiled)",
        "mmdet": mmdet.__version__,
    }
