"""Inference of :class:`~decoupled_rcnn.models.DecoupledRoIHead`: stage selection and scoring."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmdet.models.utils import empty_instances
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi, get_box_tensor
from mmdet.utils import ConfigType, InstanceList
from mmengine.config import ConfigDict
from torch import Tensor

__all__ = ["DecoupledInferenceMixin"]


class DecoupledInferenceMixin:
    """Test-time forward of the decoupled head (mixed into ``DecoupledRoIHead``).

    Classifier j scores the input boxes of stage j; stage 1 regresses by the argmax class,
    later stages class-agnostically; the boxes of stage ``test_cfg.reg_stage`` (default: the
    last) are scored by the mean probability of classifiers ``test_cfg.cls_stages`` (1-based;
    default: all) and go through mmdet's per-class NMS. The host class provides
    ``num_stages``, ``num_cls_stages``, ``test_cfg``, ``reg_head(stage)``, ``_roi_feats``,
    ``_cls_forward`` and ``_reg_forward``.
    """

    def _test_stages(self, cfg: ConfigDict | None) -> tuple[int, list[int]]:
        """``(reg_stage, cls_stages)`` (1-based) selected by the test config."""
        cfg = cfg or {}
        reg_stage = cfg.get("reg_stage") or self.num_stages
        cls_stages = cfg.get("cls_stages") or list(range(1, self.num_cls_stages + 1))
        cls_stages = [cls_stages] if isinstance(cls_stages, int) else list(cls_stages)
        assert 1 <= reg_stage <= self.num_stages, f"reg_stage {reg_stage} out of range"
        assert all(1 <= j <= min(reg_stage, self.num_cls_stages) for j in cls_stages), (
            f"cls_stages {cls_stages} must lie in 1..min(reg_stage, {self.num_cls_stages})")
        return reg_stage, cls_stages

    def infer_stages(self, x: tuple[Tensor], rois: Tensor, batch_img_metas: list[dict],
                     reg_stage: int, cls_stages: Sequence[int]) -> tuple[Tensor, Tensor, Tensor]:
        """Run the classifiers and regressors on test RoIs.

        Args:
            x: FPN features.
            rois: (n, 5) proposals with their image index in column 0.
            batch_img_metas: image metas.
            reg_stage: the regressor (1-based) whose outputs are the final boxes.
            cls_stages: the classifiers (1-based) whose probabilities are averaged; classifier
                j scores the input boxes of stage j.

        Returns:
            ``(rois, probs, bbox_pred)``: the input RoIs of the final regressor (n, 5), the
            class probabilities (n, num_classes + 1) and its deltas.
        """
        probs = []
        last_probs = None
        for stage in range(reg_stage):
            feats = self._roi_feats(x, rois)
            if stage < self.num_cls_stages and (stage + 1 in cls_stages or stage == 0):
                last_probs = F.softmax(self._cls_forward(stage, feats), dim=-1)
                if stage + 1 in cls_stages:
                    probs.append(last_probs)
            bbox_pred = self._reg_forward(stage, x, rois, feats)
            if stage == reg_stage - 1:
                break
            head = self.reg_head(stage)
            labels = last_probs[:, :-1].argmax(dim=1)
            refined = []
            for img_id, meta in enumerate(batch_img_metas):
                inds = rois[:, 0] == img_id
                boxes = get_box_tensor(
                    head.regress_by_class(rois[inds, 1:], labels[inds], bbox_pred[inds], meta))
                refined.append(torch.cat([rois[inds, :1], boxes], dim=1))
            rois = torch.cat(refined)
        return rois, torch.stack(probs).mean(dim=0), bbox_pred

    def predict_bbox(self, x: tuple[Tensor], batch_img_metas: list[dict],
                     rpn_results_list: InstanceList, rcnn_test_cfg: ConfigType,
                     rescale: bool = False) -> InstanceList:
        """Detections per image: ``bboxes`` (m, 4), ``scores`` (m,), ``labels`` (m,)."""
        proposals = [res.bboxes for res in rpn_results_list]
        rois = bbox2roi(proposals)
        reg_stage, cls_stages = self._test_stages(rcnn_test_cfg)
        final_head = self.reg_head(reg_stage - 1)
        if rois.shape[0] == 0:
            return empty_instances(
                batch_img_metas, rois.device, task_type="bbox",
                box_type=final_head.predict_box_type, num_classes=final_head.num_classes,
                score_per_cls=rcnn_test_cfg is None)
        rois, probs, bbox_pred = self.infer_stages(
            x, rois, batch_img_metas, reg_stage, cls_stages)
        num_per_img = tuple(len(p) for p in proposals)
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
        rois = bbox2roi([res.bboxes for res in rpn_results_list])
        reg_stage, cls_stages = self._test_stages(self.test_cfg)
        _, probs, bbox_pred = self.infer_stages(x, rois, batch_img_metas, reg_stage, cls_stages)
        return probs, bbox_pred
