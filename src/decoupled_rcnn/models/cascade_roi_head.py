"""mmdet's Cascade R-CNN RoI head with test-time selection of the stage pair (Table X)."""

from __future__ import annotations

from mmdet.models.roi_heads import CascadeRoIHead
from mmdet.models.utils import empty_instances
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor

from decoupled_rcnn.models.refine import StageOutput, run_stages
from decoupled_rcnn.models.stages import select_stages

__all__ = ["SelectableCascadeRoIHead"]


@MODELS.register_module()
class SelectableCascadeRoIHead(CascadeRoIHead):
    """:class:`~mmdet.models.roi_heads.CascadeRoIHead` whose test output can stop early.

    ``test_cfg.reg_stage = i`` (0-based, as mmdet's ``s{i}`` loss keys) takes the boxes of
    regressor i and ``test_cfg.cls_stages = [j, ...]`` averages the logits of those
    classifiers, each scoring the input boxes of its own stage, as mmdet does for all of them;
    unset, both default to the full cascade and the output is mmdet's. The stage loop is the
    one shared with :class:`~decoupled_rcnn.models.DecoupledRoIHead`
    (:func:`~decoupled_rcnn.models.refine.run_stages`). Training is unchanged.
    """

    def _stage_output(self, x: tuple[Tensor], stage: int, rois: Tensor) -> StageOutput:
        """Class logits and deltas of stage ``stage`` for ``rois`` (as mmdet's training forward)."""
        extractor = self.bbox_roi_extractor[stage]
        head = self.bbox_head[stage]
        cls_score, bbox_pred = head(extractor(x[:extractor.num_inputs], rois))
        label_score = (head.loss_cls.get_activation(cls_score) if head.custom_activation
                       else cls_score)
        return StageOutput(cls_score, bbox_pred, label_score)

    def select_and_refine(self, x: tuple[Tensor], proposals: list[Tensor],
                          batch_img_metas: list[dict]) -> tuple[Tensor, Tensor, Tensor, int]:
        """Run the stages up to the selected regressor.

        Returns:
            ``(rois, cls_score, bbox_pred, reg_stage)``: the input RoIs of regressor
            ``reg_stage`` (n, 5), the mean logits of the selected classifiers and its deltas.
        """
        reg_stage, cls_stages = select_stages(self.test_cfg, self.num_stages, self.num_stages)
        rois, scores, bbox_pred = run_stages(
            lambda stage, rois: self._stage_output(x, stage, rois),
            lambda stage: self.bbox_head[stage], bbox2roi(proposals),
            [len(p) for p in proposals], batch_img_metas, reg_stage)
        cls_score = sum(scores[j] for j in cls_stages) / float(len(cls_stages))
        return rois, cls_score, bbox_pred, reg_stage

    def predict_bbox(self, x: tuple[Tensor], batch_img_metas: list[dict],
                     rpn_results_list: InstanceList, rcnn_test_cfg: ConfigType,
                     rescale: bool = False, **kwargs) -> InstanceList:
        """Detections from regressor ``reg_stage`` scored by classifiers ``cls_stages``."""
        proposals = [res.bboxes for res in rpn_results_list]
        num_per_img = tuple(len(p) for p in proposals)
        if sum(num_per_img) == 0:
            reg_stage, _ = select_stages(self.test_cfg, self.num_stages, self.num_stages)
            head = self.bbox_head[reg_stage]
            return empty_instances(
                batch_img_metas, proposals[0].device, task_type="bbox",
                box_type=head.predict_box_type, num_classes=head.num_classes,
                score_per_cls=rcnn_test_cfg is None)
        rois, cls_score, bbox_pred, reg_stage = self.select_and_refine(
            x, proposals, batch_img_metas)
        return self.bbox_head[reg_stage].predict_by_feat(
            rois=rois.split(num_per_img), cls_scores=cls_score.split(num_per_img),
            bbox_preds=bbox_pred.split(num_per_img), batch_img_metas=batch_img_metas,
            rescale=rescale, rcnn_test_cfg=rcnn_test_cfg)

    def forward(self, x: tuple[Tensor], rpn_results_list: InstanceList,
                batch_data_samples: SampleList) -> tuple:
        """Raw outputs of the selected stages for all proposals (used by FLOP counting)."""
        assert not self.with_mask, "masks are not part of the Table X baseline"
        proposals = [res.bboxes for res in rpn_results_list]
        batch_img_metas = [sample.metainfo for sample in batch_data_samples]
        num_per_img = [len(p) for p in proposals]
        _, cls_score, bbox_pred, _ = self.select_and_refine(x, proposals, batch_img_metas)
        return cls_score.split(num_per_img), bbox_pred.split(num_per_img)
