"""Per-stage settings of the cascaded regression, derived from scalar config keys."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from mmdet.utils import ConfigType
from mmengine.config import ConfigDict

__all__ = ["assigner_at", "stage_loss_weights", "stage_target_stds"]


def stage_target_stds(base: Sequence[float], stage: int) -> list[float]:
    """Box-delta normalisation of regression stage ``stage`` (0-based), as in Cascade R-CNN.

    Stage k uses ``base / (k + 1)`` rounded to 3 decimals, which reproduces Cascade R-CNN's
    (and the official Decoupled R-CNN configs') ``[0.1, 0.1, 0.2, 0.2]``,
    ``[0.05, 0.05, 0.1, 0.1]``, ``[0.033, 0.033, 0.067, 0.067]``.

    Args:
        base: the stds of stage 0, 4 values.
        stage: 0-based stage index.

    Returns:
        The 4 stds of ``stage``.
    """
    return [round(float(s) / (stage + 1), 3) for s in base]


def stage_loss_weights(num_stages: int, decay: float) -> list[float]:
    """Weights of the K regression losses inside Eq. 8's sum: ``decay ** k`` for stage k.

    The official implementation (``DecoupledRefineRoIHead.forward_train``) multiplies stage
    k's losses by ``stage_loss_weights = [1, 0.5, 0.25]`` (Cascade R-CNN's values) on top of
    lambda, which it applies through the L1 normaliser. ``decay = 0.5`` gives exactly those
    three weights (and continues them geometrically: 0.125 for a fourth stage); ``decay = 1``
    is Eq. 8 read literally (an unweighted sum).

    Args:
        num_stages: number K of regression stages.
        decay: ratio between the weights of consecutive stages.

    Returns:
        K weights, the first one 1.
    """
    assert num_stages >= 1 and decay > 0
    return [float(decay) ** k for k in range(num_stages)]


def assigner_at(assigner: ConfigType, iou_thr: float | None) -> ConfigDict:
    """A max-IoU assigner config with positive/negative threshold ``iou_thr`` (if given).

    Args:
        assigner: the base assigner config (thresholds 0.5 in the paper).
        iou_thr: the stage's IoU threshold, or None to keep the base thresholds.

    Returns:
        A new config; ``assigner`` is not modified.
    """
    cfg = copy.deepcopy(ConfigDict(assigner))
    if iou_thr is not None:
        cfg.update(pos_iou_thr=iou_thr, neg_iou_thr=iou_thr, min_pos_iou=iou_thr)
    return cfg
