"""Positive-only sampling for the regression branch (Section IV-A and V-B)."""

from __future__ import annotations

from mmdet.models.task_modules.samplers import RandomSampler
from mmdet.registry import TASK_UTILS

__all__ = ["PositiveOnlySampler"]


@TASK_UTILS.register_module()
class PositiveOnlySampler(RandomSampler):
    """Sample only positives, padding the mini-batch with zero-weight negatives.

    Up to ``num`` positives (512 per image in the paper) are drawn at random. When fewer exist,
    the batch is filled with randomly drawn negatives (``pad_with_negatives=True``, the paper's
    setting); the regression head gives negatives zero weight, so they only fix the size of
    the mini-batch that normalizes the L1 loss (mmdet divides the box loss by the number of
    sampled RoIs). This is mmdet's :class:`RandomSampler` with ``pos_fraction=1``.

    Ground-truth boxes are not added by default (``add_gt_as_proposals=False``): the paper's
    regression samples are positive RPN proposals from the denser ``Proposals_reg``, and a gt
    box used as its own proposal has a zero regression target that teaches nothing about the
    translation sensitivity DSS is built for; with NMS_reg = 0.85 and 1000 proposals there are
    plenty of positives per object once the RPN has warmed up.

    Args:
        num: mini-batch size per image.
        pad_with_negatives: fill the batch up to ``num`` with negatives.
        add_gt_as_proposals: add the gt boxes to the candidates.
    """

    def __init__(self,
                 num: int = 512,
                 pad_with_negatives: bool = True,
                 add_gt_as_proposals: bool = False,
                 **kwargs) -> None:
        super().__init__(
            num=num,
            pos_fraction=1.0,
            neg_pos_ub=-1 if pad_with_negatives else 0,
            add_gt_as_proposals=add_gt_as_proposals,
            **kwargs)
        self.pad_with_negatives = pad_with_negatives
