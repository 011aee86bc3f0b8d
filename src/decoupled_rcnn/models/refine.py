"""The test-time stage loop shared by the Decoupled and the Cascade R-CNN RoI heads.

Stage ``s`` (0-based) runs on the RoIs regressed by stages ``0 .. s-1``; the loop stops at the
selected regression stage. Written once here for :class:`~decoupled_rcnn.models.DecoupledRoIHead`
and :class:`~decoupled_rcnn.models.SelectableCascadeRoIHead`; each head supplies its own
forward of one stage and its own way of combining the classifiers' scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor, nn

__all__ = ["StageOutput", "regress_rois", "run_stages"]


class StageOutput(NamedTuple):
    """What one stage's forward gives the loop.

    Attributes:
        cls_score: the classifier output to combine across stages (n, num_classes + 1), or
            None where this stage's classifier is not used.
        bbox_pred: the regressor's deltas, (n, 4) or (n, 4 * num_classes).
        label_score: the scores whose argmax picks the class of class-specific deltas; None
            keeps the latest one given by an earlier stage.
    """

    cls_score: Tensor | None
    bbox_pred: Tensor
    label_score: Tensor | None


def regress_rois(head: nn.Module, rois: Tensor, labels: Tensor, bbox_pred: Tensor,
                 num_per_img: Sequence[int], batch_img_metas: list[dict]) -> Tensor:
    """Apply regressor ``head`` to ``rois`` image by image (mmdet's ``regress_by_class``).

    Images without RoIs are skipped (``regress_by_class`` is not called on empty input), as
    in mmdet's ``CascadeRoIHead``.

    Args:
        head: a :class:`~mmdet.models.roi_heads.bbox_heads.BBoxHead`.
        rois: (n, 5) RoIs, the image index in column 0, images in order.
        labels: (n,) class of each RoI (used only by class-specific regressors).
        bbox_pred: the head's deltas for ``rois``.
        num_per_img: number of RoIs of each image.
        batch_img_metas: image metas (for clipping to the image).

    Returns:
        The regressed RoIs (n, 5), in the same order.
    """
    refined = []
    for img_rois, img_labels, img_pred, meta in zip(
            rois.split(num_per_img), labels.split(num_per_img), bbox_pred.split(num_per_img),
            batch_img_metas):
        if len(img_rois) == 0:
            continue
        boxes = get_box_tensor(head.regress_by_class(img_rois[:, 1:], img_labels, img_pred, meta))
        refined.append(torch.cat([img_rois[:, :1], boxes], dim=1))
    return torch.cat(refined) if refined else rois


def run_stages(forward_stage: Callable[[int, Tensor], StageOutput],
               reg_head: Callable[[int], nn.Module], rois: Tensor,
               num_per_img: Sequence[int], batch_img_metas: list[dict], last_stage: int
               ) -> tuple[Tensor, list[Tensor | None], Tensor]:
    """Run stages ``0 .. last_stage``, each on the RoIs regressed by the stage before.

    Args:
        forward_stage: ``(stage, rois) -> StageOutput``.
        reg_head: ``stage -> BBoxHead`` that decodes that stage's deltas.
        rois: (n, 5) input RoIs of stage 0.
        num_per_img: number of RoIs of each image.
        batch_img_metas: image metas.
        last_stage: the regression stage (0-based) whose deltas are the output.

    Returns:
        ``(rois, cls_scores, bbox_pred)``: the input RoIs of stage ``last_stage``, every
        stage's ``cls_score`` (None where unused) and the deltas of stage ``last_stage``.
    """
    cls_scores: list[Tensor | None] = []
    label_score = None
    for stage in range(last_stage + 1):
        out = forward_stage(stage, rois)
        cls_scores.append(out.cls_score)
        if out.label_score is not None:
            label_score = out.label_score
        if stage == last_stage:
            return rois, cls_scores, out.bbox_pred
        labels = label_score[:, :-1].argmax(dim=1)
        rois = regress_rois(reg_head(stage), rois, labels, out.bbox_pred, num_per_img,
                            batch_img_metas)
    raise ValueError(f"last_stage must be >= 0, got {last_stage}")
