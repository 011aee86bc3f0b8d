"""Training samples of :class:`~decoupled_rcnn.models.DecoupledRoIHead` (Section IV, Eq. 7)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.structures.bbox import bbox2roi, get_box_tensor
from mmdet.utils import InstanceList
from mmengine.structures import InstanceData
from torch import Tensor

__all__ = ["DecoupledSamplingMixin"]


class DecoupledSamplingMixin:
    """Sampling of the classifier's and the regressors' training samples (mixed into
    ``DecoupledRoIHead``), per stage (0-based).

    Classification samples: assigner + sampler of ``train_cfg.cls`` on ``Proposals_cls`` (gt
    boxes added by the sampler); for a cascaded classifier (Table X), refined by the regressor
    of the stage before. Regression samples: ``train_cfg.reg`` on ``Proposals_reg`` for stage
    0, then Eq. 7: the decoded outputs of the previous regressor on its own positives, its
    padding negatives carried over and forced negative. The host class provides
    ``cls_assigners``, ``cls_samplers``, ``reg_assigners``, ``reg_samplers`` and
    ``reg_head(stage)``.
    """

    def _sample(self, assigner, sampler, candidates: InstanceData, gt: InstanceData,
                gt_ignore: InstanceData | None, num_forced_neg: int = 0) -> SamplingResult:
        """Assign ``candidates.priors`` to ``gt`` and sample.

        The last ``num_forced_neg`` candidates are made negative whatever their IoU (Eq. 7's
        carried-over padding).
        """
        assign_result = assigner.assign(candidates, gt, gt_ignore)
        if num_forced_neg > 0:
            assign_result.gt_inds[-num_forced_neg:] = 0
            assign_result.labels[-num_forced_neg:] = -1
        return sampler.sample(assign_result, candidates, gt)

    def sample_cls(self, stage: int, candidates: InstanceList, batch_gt: InstanceList,
                   batch_gt_ignore: list) -> list[SamplingResult]:
        """Classification samples (1:3, gt added) of every image for classifier ``stage``."""
        return [
            self._sample(self.cls_assigners[stage], self.cls_samplers[stage], cand, gt, ign)
            for cand, gt, ign in zip(candidates, batch_gt, batch_gt_ignore)
        ]

    def sample_reg(self, stage: int, candidates: InstanceList, batch_gt: InstanceList,
                   batch_gt_ignore: list, num_forced_neg: Sequence[int] | None = None
                   ) -> list[SamplingResult]:
        """Regression samples (positives + zero-weight padding) for regressor ``stage``."""
        forced = num_forced_neg or [0] * len(candidates)
        return [
            self._sample(self.reg_assigners[stage], self.reg_samplers[stage], cand, gt, ign, n)
            for cand, gt, ign, n in zip(candidates, batch_gt, batch_gt_ignore, forced)
        ]

    def refine_reg_samples(self, stage: int, sampling_results: list[SamplingResult],
                           pos_bbox_pred: Tensor, batch_img_metas: list[dict]
                           ) -> tuple[InstanceList, list[int]]:
        """Eq. 7: the next stage's candidates from regressor ``stage``'s own samples.

        Args:
            stage: regressor that produced ``pos_bbox_pred``.
            sampling_results: its samples, one per image (positives first).
            pos_bbox_pred: its deltas for the positive samples of every image, concatenated,
                (sum p_i, 4) or (sum p_i, 4 * classes).
            batch_img_metas: image metas (for clipping to the image).

        Returns:
            Per image an :class:`InstanceData` whose ``priors`` are the decoded boxes of the
            non-gt positives followed by the unchanged negatives, and per image the number of
            trailing candidates to force negative.
        """
        head = self.reg_head(stage)
        preds = pos_bbox_pred.split([len(res.pos_priors) for res in sampling_results])
        candidates, forced = [], []
        for res, pred, meta in zip(sampling_results, preds, batch_img_metas):
            keep = res.pos_is_gt == 0
            refined = head.regress_by_class(
                res.pos_priors[keep], res.pos_gt_labels[keep], pred[keep], meta)
            refined = get_box_tensor(refined).detach()
            candidates.append(InstanceData(priors=torch.cat([refined, res.neg_priors])))
            forced.append(len(res.neg_priors))
        return candidates, forced

    def refine_cls_samples(self, stage: int, sampling_results: list[SamplingResult],
                           cls_score: Tensor, bbox_pred: Tensor, labels: Tensor,
                           batch_img_metas: list[dict]) -> InstanceList:
        """Cascade R-CNN's refinement of the classification samples by regressor ``stage``."""
        bbox_results = dict(
            rois=bbox2roi([res.priors for res in sampling_results]),
            cls_score=cls_score, bbox_pred=bbox_pred, bbox_targets=(labels,))
        refined = self.reg_head(stage).refine_bboxes(
            sampling_results, bbox_results, batch_img_metas)
        return [InstanceData(priors=res.bboxes.detach()) for res in refined]
