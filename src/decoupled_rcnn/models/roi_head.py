"""RoI head of Decoupled R-CNN: decoupled sampling, unshared heads, cascaded regression."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from mmdet.models.roi_heads import BaseRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import ConfigType, InstanceList, OptConfigType, OptMultiConfig
from mmengine.config import ConfigDict
from mmengine.model import ModuleList
from mmengine.structures import InstanceData
from torch import Tensor, nn

from decoupled_rcnn.models.roi_head_inference import DecoupledInferenceMixin
from decoupled_rcnn.models.roi_head_sampling import DecoupledSamplingMixin
from decoupled_rcnn.models.stages import assigner_at, stage_loss_weights, stage_target_stds

__all__ = ["REFINE_STAGE_INITS", "DecoupledRoIHead", "stage_target_stds"]

#: Stage > 0 regressor inits: "pytorch" (the official code's effective one: nn.Linear's
#: default for the FCs) or "xavier" (mmdet's ConvFCBBoxHead default, as stage 0).
REFINE_STAGE_INITS = ("pytorch", "xavier")
_FC_HEADS = ("Shared2FCBBoxHead", "Shared4Conv1FCBBoxHead", "ConvFCBBoxHead")


@MODELS.register_module()
class DecoupledRoIHead(DecoupledSamplingMixin, DecoupledInferenceMixin, BaseRoIHead):
    """Classification and (cascaded) regression heads trained on separate sample sets.

    Stages are numbered from 0, as in mmdet (loss keys ``s{k}.*``, ``stage`` arguments and
    ``test_cfg.reg_stage`` / ``test_cfg.cls_stages``); the paper's stage k is stage k - 1 here.

    Training (Section IV, Eq. 7-8), a short loop around :meth:`cls_loss` and :meth:`reg_loss`
    as mmdet's ``CascadeRoIHead.loss`` around ``bbox_loss``:

    - classifier: ``train_cfg.cls`` assigns ``Proposals_cls`` (+ gt boxes, via the sampler) and
      randomly samples 512 RoIs at 1:3; cross-entropy.
    - regressor 0: ``train_cfg.reg`` assigns ``Proposals_reg`` and keeps only positives
      (:class:`PositiveOnlySampler`, 512 per image, zero-weight negative padding); L1.
    - regressor k > 0: its candidates are regressor k-1's decoded outputs for its own
      positive samples (Eq. 7; gt boxes dropped as in Cascade R-CNN); the padding negatives
      of stage k-1 are carried over unchanged and forced negative, so every positive of
      stage k descends from a positive of stage k-1. Class-agnostic deltas, target stds
      ``base / (k + 1)``.
    - loss (Eq. 8): ``L_cls + reg_loss_weight * sum_k w_k * L_loc_k`` with the stage weights
      ``w_k = reg_stage_loss_decay ** k`` (1, 0.5, 0.25: the official implementation's
      ``stage_loss_weights``); each L1 is the summed L1 of the positives divided by the
      regression mini-batch (512 per image, padding included; :meth:`reg_loss`); keys
      ``s{k}.loss_*`` plus the per-stage sample counts ``s{k}.num_pos_reg`` /
      ``s{k}.num_reg`` and ``s{j}.num_pos_cls`` (logged only).

    Variants (all from the same code): ``share_fcs`` (Table II shared-FC: the classifier's FCs
    also regress stage 0), ``train_cfg.share_samples`` (Table II Faster R-CNN with unshared FC:
    the regressor trains on the classifier's samples), a ``RandomSampler`` as
    ``train_cfg.reg.sampler`` (Table I toy), a conv regressor (Table XI Double-Head) and
    ``cascade_cls`` (Table X: one classifier per stage, trained on the cls samples refined by
    the regressors, like Cascade R-CNN).

    Inference: classifier j scores the input boxes of stage j; stage 0 regresses by the
    argmax class, later stages class-agnostically; the boxes of stage ``test_cfg.reg_stage``
    (default: the last) are scored by the mean probability of classifiers
    ``test_cfg.cls_stages`` (default: all) and go through mmdet's per-class NMS
    (:class:`~decoupled_rcnn.models.roi_head_inference.DecoupledInferenceMixin`). When the
    final regressor is class-specific (K = 1) each class keeps its own box, exactly as Faster
    R-CNN's post-processing.

    Args:
        bbox_roi_extractor: RoI feature extractor shared by all heads (no parameters).
        cls_head: classifier config (e.g. ``Shared2FCBBoxHead`` with ``with_reg=False``).
        reg_head: config of regression stage 0; later stages copy it with
            ``reg_class_agnostic=True`` and stds from :func:`stage_target_stds`.
        num_stages: number K of regression stages (1-4 in the paper).
        reg_loss_weight: lambda of Eq. 8.
        reg_stage_loss_decay: ratio of consecutive regression-stage weights inside Eq. 8's
            sum (see :func:`~decoupled_rcnn.models.stages.stage_loss_weights`); 0.5 is the
            official code's ``[1, 0.5, 0.25]``, 1.0 an unweighted sum.
        refine_stage_init: initialisation of the FC regressors of stages > 0: ``"pytorch"``
            (nn.Linear's default, ``fc_reg`` N(0, 0.001): what the official refine heads
            effectively use) or ``"xavier"`` (mmdet's default, as stage 0).
        share_fcs: classifier and stage-0 regressor are one head (``cls_head`` must then
            regress, and ``reg_head`` only describes stages > 0).
        cascade_cls: one classifier per stage (Table X).
        cls_stage_loss_weights: weights of the classifiers' losses; default 1 each.
        reg_roi_scale_factor: enlarge the RoIs of the regressor's features (Double-Head uses
            1.3); ``None`` keeps them.
        skip_zero_weight_samples: in training, run the regressors only on the samples with
            box weight (positives). The zero-weight padding of positive-only sampling adds
            nothing to the L1 loss, which keeps its normaliser (every sample of the fixed-size
            mini-batch), so losses and gradients are unchanged. Regressors with BatchNorm (the
            Double-Head branch) always see every sample, as their batch statistics would
            otherwise change.
        train_cfg: ``cls`` and ``reg`` (each ``assigner``, ``sampler``, ``pos_weight``),
            ``stage_iou_thrs`` (per-stage IoU, or None to keep the assigners' 0.5) and
            ``share_samples``.
        test_cfg: mmdet's rcnn test config plus optional ``reg_stage`` and ``cls_stages``
            (0-based, :func:`~decoupled_rcnn.models.stages.select_stages`).
        init_cfg: initialisation config.
    """

    def __init__(self,
                 bbox_roi_extractor: ConfigType,
                 cls_head: ConfigType,
                 reg_head: ConfigType,
                 num_stages: int = 1,
                 reg_loss_weight: float = 1.0,
                 reg_stage_loss_decay: float = 0.5,
                 refine_stage_init: str = "pytorch",
                 share_fcs: bool = False,
                 cascade_cls: bool = False,
                 cls_stage_loss_weights: Sequence[float] | None = None,
                 reg_roi_scale_factor: float | None = None,
                 skip_zero_weight_samples: bool = True,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        assert num_stages >= 1, "at least one regression stage"
        self.num_stages = num_stages
        self.reg_loss_weight = reg_loss_weight
        self.reg_stage_loss_weights = stage_loss_weights(num_stages, reg_stage_loss_decay)
        assert refine_stage_init in REFINE_STAGE_INITS, refine_stage_init
        self.refine_stage_init = refine_stage_init
        self.share_fcs = share_fcs
        self.num_cls_stages = num_stages if cascade_cls else 1
        self.cls_stage_loss_weights = (
            list(cls_stage_loss_weights) if cls_stage_loss_weights is not None
            else [1.0] * self.num_cls_stages)
        assert len(self.cls_stage_loss_weights) == self.num_cls_stages
        assert not (share_fcs and cascade_cls), "shared FCs are a single-classifier variant"
        self.reg_roi_scale_factor = reg_roi_scale_factor
        self.skip_zero_weight_samples = skip_zero_weight_samples
        self._cls_head_cfg = cls_head
        self._reg_head_cfg = reg_head
        super().__init__(
            bbox_roi_extractor=bbox_roi_extractor,
            bbox_head=dict(cls=cls_head, reg=reg_head),
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            init_cfg=init_cfg)

    # ------------------------------------------------------------------ building
    def reg_head_cfgs(self) -> list[ConfigDict]:
        """Configs of the K regression stages, derived from the stage-0 config."""
        base = ConfigDict(copy.deepcopy(self._reg_head_cfg))
        base_stds = base.get("bbox_coder", {}).get("target_stds", [0.1, 0.1, 0.2, 0.2])
        cfgs = [base]
        for stage in range(1, self.num_stages):
            cfg = copy.deepcopy(base)
            cfg.reg_class_agnostic = True
            cfg.bbox_coder = dict(
                cfg.get("bbox_coder", dict(type="DeltaXYWHBBoxCoder")),
                target_means=[0.0, 0.0, 0.0, 0.0],
                target_stds=stage_target_stds(base_stds, stage))
            if self.refine_stage_init == "pytorch" and cfg.get("type") in _FC_HEADS:
                # The official refine heads' own init is never called (name-mangled
                # ``__init_weights``): their FCs keep nn.Linear's default init and only
                # ``fc_reg`` gets BBoxHead's N(0, 0.001). An explicit init_cfg stops mmdet's
                # ConvFCBBoxHead from adding its Xavier init.
                cfg.init_cfg = [dict(type="Normal", std=0.001, override=dict(name="fc_reg"))]
            cfgs.append(cfg)
        return cfgs

    def init_bbox_head(self, bbox_roi_extractor: ConfigType, bbox_head: dict) -> None:
        """Build the extractor, the classifier(s) and the regression stages."""
        self.bbox_roi_extractor = MODELS.build(bbox_roi_extractor)
        self.cls_heads = ModuleList(
            [MODELS.build(copy.deepcopy(bbox_head["cls"])) for _ in range(self.num_cls_stages)])
        reg_cfgs = self.reg_head_cfgs()
        if self.share_fcs:
            assert self.cls_heads[0].with_reg, "share_fcs needs a cls_head that also regresses"
            reg_cfgs = reg_cfgs[1:]
        self.reg_heads = ModuleList([MODELS.build(cfg) for cfg in reg_cfgs])

    def init_mask_head(self, *args, **kwargs) -> None:
        """Masks are not part of Decoupled R-CNN."""
        raise NotImplementedError("DecoupledRoIHead has no mask branch")

    def init_assigner_sampler(self) -> None:
        """Per-stage assigners and samplers from the scalar train config."""
        self.cls_assigners, self.cls_samplers = [], []
        self.reg_assigners, self.reg_samplers = [], []
        if not self.train_cfg:
            return
        thrs = self.train_cfg.get("stage_iou_thrs")
        if thrs is not None:
            assert len(thrs) >= self.num_stages, "one IoU threshold per stage"
        for stage in range(self.num_stages):
            thr = None if thrs is None else thrs[stage]
            self.reg_assigners.append(
                TASK_UTILS.build(assigner_at(self.train_cfg.reg.assigner, thr)))
            self.reg_samplers.append(
                TASK_UTILS.build(self.train_cfg.reg.sampler, default_args=dict(context=self)))
            if stage < self.num_cls_stages:
                self.cls_assigners.append(
                    TASK_UTILS.build(assigner_at(self.train_cfg.cls.assigner, thr)))
                self.cls_samplers.append(
                    TASK_UTILS.build(self.train_cfg.cls.sampler, default_args=dict(context=self)))

    @property
    def with_bbox(self) -> bool:
        """Always true: the head predicts boxes."""
        return True

    def reg_head(self, stage: int) -> nn.Module:
        """The regressor of ``stage`` (0-based)."""
        if self.share_fcs:
            return self.cls_heads[0] if stage == 0 else self.reg_heads[stage - 1]
        return self.reg_heads[stage]

    def _skips_padding(self, stage: int) -> bool:
        """Whether regressor ``stage`` is trained on its weighted samples only."""
        return self.skip_zero_weight_samples and not any(
            isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.reg_head(stage).modules())

    # ------------------------------------------------------------------ forward pieces
    def _roi_feats(self, x: tuple[Tensor], rois: Tensor, scale: float | None = None) -> Tensor:
        """RoI features of shape (n, C, 7, 7) for ``rois`` of shape (n, 5)."""
        extractor = self.bbox_roi_extractor
        if scale is None:
            return extractor(x[:extractor.num_inputs], rois)
        return extractor(x[:extractor.num_inputs], rois, roi_scale_factor=scale)

    def _cls_forward(self, stage: int, feats: Tensor) -> Tensor:
        """Class logits (n, num_classes + 1) of classifier ``stage``."""
        return self.cls_heads[stage](feats)[0]

    def _reg_forward(self, stage: int, x: tuple[Tensor], rois: Tensor,
                     feats: Tensor | None = None) -> Tensor:
        """Box deltas of regressor ``stage``: (n, 4) class-agnostic or (n, 4 * classes)."""
        if feats is None or self.reg_roi_scale_factor is not None:
            feats = self._roi_feats(x, rois, self.reg_roi_scale_factor)
        return self.reg_head(stage)(feats)[1]

    # ------------------------------------------------------------------ training
    def cls_loss(self, stage: int, x: tuple[Tensor], sampling_results: list[SamplingResult]
                 ) -> dict:
        """Cross-entropy of classifier ``stage`` on its samples (mmdet's ``BBoxHead.loss``).

        Normalised by the classification mini-batch (every sample has weight 1).

        Returns:
            ``loss`` (``loss_cls``, ``acc``, ``num_pos_cls``: unweighted) and, for the refinement
            of the next classifier's samples, ``rois``, ``feats``, ``cls_score`` and ``labels``.
        """
        rois = bbox2roi([res.priors for res in sampling_results])
        feats = self._roi_feats(x, rois)
        cls_score = self._cls_forward(stage, feats)
        head = self.cls_heads[stage]
        targets = head.get_targets(sampling_results, self.train_cfg.cls)
        head_losses = head.loss(cls_score, None, rois, *targets)
        num_pos = torch.tensor(float(sum(len(res.pos_inds) for res in sampling_results)),
                               device=rois.device)
        return dict(
            loss=dict(loss_cls=head_losses["loss_cls"], acc=head_losses["acc"],
                      num_pos_cls=num_pos),
            rois=rois, feats=feats, cls_score=cls_score, labels=targets[0])

    def reg_loss(self, stage: int, x: tuple[Tensor], sampling_results: list[SamplingResult]
                 ) -> dict:
        """L1 loss of regressor ``stage``, normalised by the regression mini-batch.

        Eq. 8's L_loc of a stage is the summed L1 of its positives divided by the number of
        regression samples, positives and zero-weight padding alike (``num_reg``: 512 per image
        in the paper): that divisor is given to the loss as ``avg_factor``, whichever rows the
        regressor ran on (the positives only, see ``skip_zero_weight_samples``, or all).
        Positives come first in every image's samples, so the first ``num_pos`` rows of each
        image are the positives.

        Returns:
            ``loss`` (``loss_bbox``, ``num_pos_reg``, ``num_reg``: unweighted) and
            ``pos_bbox_pred``, the deltas of the positives of every image, concatenated.
        """
        head = self.reg_head(stage)
        assert not head.reg_decoded_bbox, "losses on decoded boxes are not supported"
        num_pos = [len(res.pos_priors) for res in sampling_results]  # shapes: no host sync
        num_reg = sum(len(res.priors) for res in sampling_results)
        pos_only = self._skips_padding(stage)
        rois = bbox2roi([res.pos_priors if pos_only else res.priors for res in sampling_results])
        bbox_pred = self._reg_forward(stage, x, rois)
        if not pos_only:
            bbox_pred = _first_rows(
                bbox_pred.split([len(res.priors) for res in sampling_results]), num_pos)
        labels, _, bbox_targets, bbox_weights = (
            _first_rows(per_image, num_pos)
            for per_image in head.get_targets(sampling_results, self.train_cfg.reg, concat=False))
        deltas = bbox_pred
        if not head.reg_class_agnostic:  # the deltas of each positive's gt class
            n, classes = len(bbox_pred), head.num_classes
            deltas = bbox_pred.view(n, classes, bbox_pred.shape[1] // classes)[
                torch.arange(n, device=bbox_pred.device), labels]
        loss_bbox = head.loss_bbox(deltas, bbox_targets, bbox_weights, avg_factor=max(num_reg, 1))
        device = bbox_pred.device
        return dict(
            loss=dict(loss_bbox=loss_bbox,
                      num_pos_reg=torch.tensor(float(sum(num_pos)), device=device),
                      num_reg=torch.tensor(float(num_reg), device=device)),
            pos_bbox_pred=bbox_pred)

    def loss(self, x: tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList,
             reg_results_list: InstanceList | None = None) -> dict:
        """Losses of the classifier(s) and of every regression stage (Eq. 8).

        Args:
            x: FPN features, each (N, C, H_l, W_l).
            rpn_results_list: ``Proposals_cls`` per image (``bboxes`` (n, 4)).
            batch_data_samples: data samples with ``gt_instances``.
            reg_results_list: ``Proposals_reg`` per image; defaults to ``rpn_results_list``.

        Returns:
            ``s{j}.loss_cls`` (times the classifier's weight), ``s{j}.acc``,
            ``s{k}.loss_bbox`` (times lambda and the stage weight) and the sample counts
            ``s{j}.num_pos_cls``, ``s{k}.num_pos_reg``, ``s{k}.num_reg``; j, k 0-based.
        """
        batch_gt, batch_gt_ignore, batch_img_metas = unpack_gt_instances(batch_data_samples)
        losses: dict[str, Tensor] = {}
        candidates = [InstanceData(priors=res.bboxes) for res in rpn_results_list]
        cls_samplings = []
        for stage in range(self.num_cls_stages):
            sampling = self.sample_cls(stage, candidates, batch_gt, batch_gt_ignore)
            cls_samplings.append(sampling)
            results = self.cls_loss(stage, x, sampling)
            _add_stage_losses(losses, stage, results["loss"], self.cls_stage_loss_weights[stage])
            if stage < self.num_cls_stages - 1:
                with torch.no_grad():
                    bbox_pred = self._reg_forward(stage, x, results["rois"], results["feats"])
                    candidates = self.refine_cls_samples(
                        stage, sampling, results["cls_score"], bbox_pred, results["labels"],
                        batch_img_metas)

        if self.train_cfg.get("share_samples", False):
            sampling = cls_samplings[0]
        else:
            if reg_results_list is None:
                reg_results_list = rpn_results_list
            candidates = [InstanceData(priors=res.bboxes) for res in reg_results_list]
            sampling = self.sample_reg(0, candidates, batch_gt, batch_gt_ignore)
        for stage in range(self.num_stages):
            results = self.reg_loss(stage, x, sampling)
            weight = self.reg_loss_weight * self.reg_stage_loss_weights[stage]
            _add_stage_losses(losses, stage, results["loss"], weight)
            if stage < self.num_stages - 1:
                with torch.no_grad():
                    candidates, forced = self.refine_reg_samples(
                        stage, sampling, results["pos_bbox_pred"], batch_img_metas)
                sampling = self.sample_reg(stage + 1, candidates, batch_gt, batch_gt_ignore,
                                           forced)
        return losses


def _first_rows(per_image: Sequence[Tensor], num_first: Sequence[int]) -> Tensor:
    """The first ``num_first[i]`` rows of every image's ``per_image[i]``, concatenated."""
    return torch.cat([rows[:n] for rows, n in zip(per_image, num_first, strict=True)])


def _add_stage_losses(losses: dict, stage: int, stage_losses: dict, weight: float) -> None:
    """Add ``s{stage}.<name>`` entries; the ones named ``loss_*`` times ``weight`` (as mmdet)."""
    for name, value in stage_losses.items():
        losses[f"s{stage}.{name}"] = value * weight if name.startswith("loss") else value
