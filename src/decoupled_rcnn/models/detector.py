"""Two-stage detector that passes both DSS proposal sets from the RPN to the RoI head."""

from __future__ import annotations

import copy

import torch
from mmdet.models.detectors import TwoStageDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from torch import Tensor

__all__ = ["DecoupledRCNN"]


@MODELS.register_module()
class DecoupledRCNN(TwoStageDetector):
    """Decoupled R-CNN (and its Table I/II variants): Faster R-CNN with two proposal sets.

    In training the RPN (:class:`~decoupled_rcnn.models.DecoupledRPNHead`) returns
    ``Proposals_cls`` and ``Proposals_reg``; the RoI head
    (:class:`~decoupled_rcnn.models.DecoupledRoIHead`) samples the classification batch from
    the first and the regression batch from the second. Inference is mmdet's: one proposal
    set from ``test_cfg.rpn``.
    """

    def loss(self, batch_inputs: Tensor, batch_data_samples: SampleList) -> dict:
        """Losses of the RPN and of the decoupled RoI head.

        Args:
            batch_inputs: images of shape (N, C, H, W).
            batch_data_samples: data samples with ``gt_instances``.

        Returns:
            Loss and log items; RPN keys start with ``loss_rpn_``, RoI-head keys with ``s{k}.``.
        """
        assert self.with_rpn, "DecoupledRCNN needs an RPN to produce the two proposal sets"
        x = self.extract_feat(batch_inputs)
        proposal_cfg = self.train_cfg.get("rpn_proposal", self.test_cfg.rpn)
        rpn_data_samples = copy.deepcopy(batch_data_samples)
        for data_sample in rpn_data_samples:
            data_sample.gt_instances.labels = torch.zeros_like(data_sample.gt_instances.labels)
        rpn_losses, proposals_cls, proposals_reg = self.rpn_head.loss_and_predict_decoupled(
            x, rpn_data_samples, proposal_cfg=proposal_cfg)
        losses = {}
        for key, value in rpn_losses.items():
            if "loss" in key and "rpn" not in key:
                key = f"rpn_{key}"
            losses[key] = value
        losses.update(self.roi_head.loss(
            x, proposals_cls, batch_data_samples, reg_results_list=proposals_reg))
        return losses
