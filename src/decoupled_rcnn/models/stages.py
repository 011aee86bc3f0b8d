"""Per-stage settings of the cascaded regression, derived from scalar config keys.

Stage indices are 0-based everywhere in the models, as in mmdet: the loss keys ``s{k}.*``,
the ``stage`` arguments and the test-time selection ``test_cfg.reg_stage`` /
``test_cfg.cls_stages``. The paper's Table X numbers its stages from 1: its column "(3, 2)" is
``reg_stage=2, cls_stages=[1]``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from mmdet.utils import ConfigType
from mmengine.config import ConfigDict

__all__ = ["assigner_at", "select_stages", "stage_loss_weights", "stage_target_stds"]


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


def select_stages(test_cfg: ConfigType | None, num_reg_stages: int, num_cls_stages: int
                  ) -> tuple[int, list[int]]:
    """The test-time stage selection ``(reg_stage, cls_stages)``, 0-based.

    Classifier ``j`` scores the input boxes of stage ``j``, so it must not come after the
    final regressor.

    Args:
        test_cfg: the RoI head's test config; ``reg_stage`` (default: the last regressor) and
            ``cls_stages`` (an index or a list; default: every classifier) are read from it.
        num_reg_stages: number of regression stages.
        num_cls_stages: number of classifiers.

    Returns:
        The index of the regressor whose boxes are output and the indices of the classifiers
        whose scores are averaged.
    """
    cfg = test_cfg or {}
    reg_stage = cfg.get("reg_stage")
    reg_stage = num_reg_stages - 1 if reg_stage is None else int(reg_stage)
    cls_stages = cfg.get("cls_stages")
    if cls_stages is None:
        cls_stages = list(range(num_cls_stages))
    cls_stages = [cls_stages] if isinstance(cls_stages, int) else [int(j) for j in cls_stages]
    assert 0 <= reg_stage < num_reg_stages, (
        f"reg_stage {reg_stage} out of range 0..{num_reg_stages - 1} (0-based)")
    last_cls = min(reg_stage, num_cls_stages - 1)
    assert cls_stages and all(0 <= j <= last_cls for j in cls_stages), (
        f"cls_stages {cls_stages} must lie in 0..{last_cls} (0-based; classifier j scores "
        "the input boxes of stage j)")
    return reg_stage, cls_stages
