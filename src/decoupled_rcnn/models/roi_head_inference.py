"""Inference of :class:`~decoupled_rcnn.models.DecoupledRoIHead`: stage selection and scoring."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmdet.models.utils import empty_instances
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor

from decoupled_rcnn.models.refine import StageOutput, run_stages
from decoupled_rcnn.models.stages import select_stages

__all__ = ["DecoupledInferenceMixin"]


class DecoupledInferenceMixin:
    """Test-time forward of the decoupled head (mixed into ``DecoupledRoIHead``).

    Classifier j scores the input boxes of stage j; stage 0 regresses by the argmax class of
    classifier 0, later stages class-agnostically; the boxes of stage ``test_cfg.reg_stage``
    (default: the last) are scored by the mean probability of classifiers
    ``test_cfg.cls_stages`` (default: all) and go through mmdet's per-class NMS. Stage indices
    are 0-based (:func:`~decoupled_rcnn.models.stages.select_stages`). The host class provides
    ``num_stages``, ``num_cls_stages``, ``test_cfg``, ``reg_head(stage)``, ``_roi_feats``,
    ``_cls_forward`` and ``_reg_forward``.
    """

    def infer_stages(self, x: tuple[Tensor], rois: Tensor, num_per_img: Sequence[int],
                     batch_img_metas: list[dict], reg_stage: int, cls_stages: Sequence[int]
                     ) -> tuple[Tensor, Tensor, Tensor]:
        """Run the classifiers and regressors on test RoIs.

        Args:
            x: FPN features.
            rois: (n, 5) proposals with their image index in column 0, images in order.
            num_per_img: number of proposals of each image.
            batch_img_metas: image metas.
            reg_stage: the regressor (0-based) whose outputs are the final boxes.
            cls_stages: the classifiers (0-based) whose probabilities are averaged.

        Returns:
            ``(rois, probs, bbox_pred)``: the input RoIs of the final regressor (n, 5), the
            class probabilities (n, num_classes + 1) and its deltas.
        """
        def forward_stage(stage: int, stage_rois: Tensor) -> StageOutput:
            feats = self._roi_feats(x, stage_rois)
            probs = None
            # classifier 0 also gives the class of stage 0's class-specific deltas
            if stage < self.num_cls_stages and (stage in cls_stages or stage == 0):
                probs = F.softmax(self._cls_forward(stage, feats), dim=-1)
            bbox_pred = self._reg_forward(stage, x, stage_rois, feats)
            return StageOutput(probs if stage in cls_stages else None, bbox_pred, probs)

        rois, scores, bbox_pred = run_stages(
            forward_stage, self.reg_head, rois, num_per_img, batch_img_metas, reg_stage)
        probs = torch.stack([s for s in scores if s is not None]).mean(dim=0)
        return rois, probs, bbox_pred

    def predict_bbox(self, x: tuple[Tensor], batch_img_metas: list[dict],
                     rpn_results_list: InstanceList, rcnn_test_cfg: ConfigType,
                     rescale: bool = False) -> InstanceList:
        """Detections per image: ``bboxes`` (m, 4), ``scores`` (m,), ``labels`` (m,)."""
        proposals = [res.bboxes for res in rpn_results_list]
        rois = bbox2roi(proposals)
        reg_stage, cls_stages = select_stages(rcnn_test_cfg, self.num_stages,
                                              self.num_cls_stages)
        final_head = self.reg_head(reg_stage)
        if rois.shape[0] == 0:
            return empty_instances(
                batch_img_metas, rois.device, task_type="bbox",
                box_type=final_head.predict_box_type, num_classes=final_head.num_classes,
                score_per_cls=rcnn_test_cfg is None)
        num_per_img = tuple(len(p) for p in proposals)
        rois, probs, bbox_pred = self.infer_stages(
            x, rois, num_per_img, batch_img_metas, reg_stage, cls_stages)
        # mmdet's post-processing applies softmax; softmax(log p) == p for normalised p
        logits = probs.clamp(min=1e-12).log()
        return final_head.predict_by_feat(
            rois=rois.split(num_per_img),
            cls_scores=logits.split(num_per_img),
            bbox_preds=bbox_pred.split(num_per_img),
            batch_img_metas=batch_img_metas,
            rcnn_test_cfg=rcnn_test_cfg,
            rescale=rescale)

    def predict_mask(self, *args, **kwargs):
        """Masks are not part of Decoupled R-CNN."""
        raise NotImplementedError("DecoupledRoIHead has no mask branch")

    def forward(self, x: tuple[Tensor], rpn_results_list: InstanceList,
                batch_data_samples: SampleList) -> tuple:
        """Raw head outputs for all proposals (used by FLOP counting): probs and deltas."""
        batch_img_metas = [sample.metainfo for sample in batch_data_samples]
        proposals = [res.bboxes for res in rpn_results_list]
        reg_stage, cls_stages = select_stages(self.test_cfg, self.num_stages,
                                              self.num_cls_stages)
        _, probs, bbox_pred = self.infer_stages(
            x, bbox2roi(proposals), [len(p) for p in proposals], batch_img_metas, reg_stage,
            cls_stages)
        return probs, bbox_pred
