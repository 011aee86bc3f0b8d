"""RPN head that yields the two proposal sets of the Decoupled Sampling Strategy (DSS)."""

from __future__ import annotations

import copy

from mmdet.models.dense_heads import RPNHead
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import InstanceList
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

__all__ = ["DecoupledRPNHead"]

#: Keys of ``train_cfg.rpn_proposal`` that describe the regression proposal set.
REG_KEYS = ("reg_nms", "reg_max_per_img")


@MODELS.register_module()
class DecoupledRPNHead(RPNHead):
    """mmdet's RPN head whose training proposals come as two differently dense sets.

    Scoring, decoding and the per-level ``nms_pre`` top-k run once per image. The resulting
    candidates are then suppressed twice (Section IV-A, Fig. 2):

    - ``Proposals_cls``: NMS at ``cfg.nms`` (NMS_cls, 0.7), the top ``cfg.max_per_img`` (1000);
    - ``Proposals_reg``: NMS at ``cfg.reg_nms`` (NMS_reg, 0.85), the top
      ``cfg.reg_max_per_img`` (1000; defaults to ``max_per_img``).

    Without ``reg_nms`` in the config (the test config, or a baseline) the head behaves exactly
    like :class:`~mmdet.models.dense_heads.RPNHead` and both sets are the same object.
    """

    def _bbox_post_process(self,
                           results: InstanceData,
                           cfg: ConfigDict,
                           rescale: bool = False,
                           with_nms: bool = True,
                           img_meta: dict | None = None) -> InstanceData | tuple:
        """Suppress the scored candidates once, or twice when ``cfg.reg_nms`` is set.

        Returns:
            The proposal set, or the pair ``(proposals_cls, proposals_reg)``.
        """
        if cfg.get("reg_nms") is None:
            return super()._bbox_post_process(results, cfg, rescale, with_nms, img_meta)
        cls_cfg = ConfigDict({k: v for k, v in cfg.items() if k not in REG_KEYS})
        reg_cfg = copy.deepcopy(cls_cfg)
        reg_cfg.nms = cfg.reg_nms
        reg_cfg.max_per_img = cfg.get("reg_max_per_img", cfg.max_per_img)
        proposals_cls = super()._bbox_post_process(
            results.clone(), cls_cfg, rescale, with_nms, img_meta)
        proposals_reg = super()._bbox_post_process(
            results.clone(), reg_cfg, rescale, with_nms, img_meta)
        return proposals_cls, proposals_reg

    def loss_and_predict_decoupled(
            self, x: tuple[Tensor], batch_data_samples: SampleList,
            proposal_cfg: ConfigDict) -> tuple[dict, InstanceList, InstanceList]:
        """RPN losses and both proposal sets of a training batch.

        Args:
            x: FPN features, each of shape (N, C, H_l, W_l).
            batch_data_samples: data samples with class-agnostic ``gt_instances``.
            proposal_cfg: ``train_cfg.rpn_proposal``; ``reg_nms`` switches DSS on.

        Returns:
            ``(losses, proposals_cls, proposals_reg)``; each proposal list holds one
            :class:`InstanceData` per image with ``bboxes`` (n, 4) and ``scores`` (n,). Without
            ``reg_nms`` the two lists are the same.
        """
        losses, predictions = self.loss_and_predict(x, batch_data_samples, proposal_cfg)
        if predictions and isinstance(predictions[0], tuple):
            proposals_cls = [pair[0] for pair in predictions]
            proposals_reg = [pair[1] for pair in predictions]
            return losses, proposals_cls, proposals_reg
        return losses, predictions, predictions
