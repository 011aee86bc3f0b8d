"""mmdet's Cascade R-CNN RoI head with test-time selection of the stage pair (Table X)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from mmdet.models.roi_heads import CascadeRoIHead
from mmdet.models.utils import empty_instances
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi, get_box_tensor
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor

__all__ = ["SelectableCascadeRoIHead"]


@MODELS.register_module()
class SelectableCascadeRoIHead(CascadeRoIHead):
    """:class:`~mmdet.models.roi_heads.CascadeRoIHead` whose test output can stop early.

    ``test_cfg.reg_stage = i`` (1-based) takes the boxes of the i-th regressor and
    ``test_cfg.cls_stages = [j, ...]`` averages the scores of those classifiers, each scoring
    the input boxes of its own stage, as in mmdet; unset, both default to the full cascade
    and the output is exactly mmdet's (which averages the classifiers' logits). Training is
    unchanged.
    """

    def _selected_stages(self) -> tuple[int, list[int]]:
        cfg = self.test_cfg or {}
        reg_stage = cfg.get("reg_stage") or self.num_stages
        cls_stages = cfg.get("cls_stages") or list(range(1, self.num_stages + 1))
        cls_stages = [cls_stages] if isinstance(cls_stages, int) else list(cls_stages)
        assert 1 <= reg_stage <= self.num_stages
        assert all(1 <= j <= reg_stage for j in cls_stages), "classifier j needs stage j's boxes"
        return reg_stage, cls_stages

    def _refine_roi(self, x: tuple[Tensor], rois: Tensor, batch_img_metas: list[dict],
                    num_proposals_per_img: Sequence[int], **kwargs) -> tuple:
        """mmdet's multi-stage refinement, stopped at ``reg_stage``."""
        reg_stage, cls_stages = self._selected_stages()
        ms_scores = []
        for stage in range(reg_stage):
            bbox_results = self._bbox_forward(stage=stage, x=x, rois=rois, **kwargs)
            cls_scores = bbox_results["cls_score"].split(num_proposals_per_img, 0)
            bbox_preds = bbox_results["bbox_pred"].split(num_proposals_per_img, 0)
            rois = rois.split(num_proposals_per_img, 0)
            if stage + 1 in cls_stages:
                ms_scores.append(cls_scores)
            if stage < reg_stage - 1:
                bbox_head = self.bbox_head[stage]
                refined = []
                for i, meta in enumerate(batch_img_metas):
                    label = cls_scores[i][:, :-1].argmax(dim=1)
                    boxes = get_box_tensor(
                        bbox_head.regress_by_class(rois[i][:, 1:], label, bbox_preds[i], meta))
                    refined.append(torch.cat([rois[i][:, [0]], boxes], dim=1))
                rois = torch.cat(refined)
        cls_scores = [
            sum(score[i] for score in ms_scores) / float(len(ms_scores))
            for i in range(len(batch_img_metas))
        ]
        return rois, cls_scores, bbox_preds

    def predict_bbox(self, x: tuple[Tensor], batch_img_metas: list[dict],
                     rpn_results_list: InstanceList, rcnn_test_cfg: ConfigType,
                     rescale: bool = False, **kwargs) -> InstanceList:
        """Detections from regressor ``reg_stage`` scored by classifiers ``cls_stages``."""
        proposals = [res.bboxes for res in rpn_results_list]
        num_proposals_per_img = tuple(len(p) for p in proposals)
        rois = bbox2roi(proposals)
        reg_stage, _ = self._selected_stages()
        head = self.bbox_head[reg_stage - 1]
        if rois.shape[0] == 0:
            return empty_instances(
                batch_img_metas, rois.device, task_type="bbox", box_type=head.predict_box_type,
                num_classes=head.num_classes, score_per_cls=rcnn_test_cfg is None)
        rois, cls_scores, bbox_preds = self._refine_roi(
            x=x, rois=rois, batch_img_metas=batch_img_metas,
            num_proposals_per_img=num_proposals_per_img, **kwargs)
        return head.predict_by_feat(
            rois=rois, cls_scores=cls_scores, bbox_preds=bbox_preds,
            batch_img_metas=batch_img_metas, rescale=rescale, rcnn_test_cfg=rcnn_test_cfg)
