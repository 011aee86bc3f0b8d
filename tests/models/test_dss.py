"""Decoupled Sampling Strategy: two proposal sets in the RPN, separate samples per task."""

from __future__ import annotations

import copy

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from models_testlib import build_model, jitter, load_cfg, make_batch

BASE = "decoupled_rcnn/decoupled-rcnn_r50_fpn_1x_coco.py"


@pytest.fixture(scope="module")
def tiny_model():
    cfg = load_cfg(BASE, dense=True)
    return cfg, build_model(cfg)


def _rpn_outputs(rpn_head, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    feats = tuple(torch.randn(1, 32, 64 // 2**i, 64 // 2**i, generator=gen) for i in range(5))
    return feats, rpn_head(feats)


def _proposal_cfg(nms_cls: float, nms_reg: float | None) -> ConfigDict:
    cfg = dict(nms_pre=300, max_per_img=2000, nms=dict(type="nms", iou_threshold=nms_cls),
               min_bbox_size=0)
    if nms_reg is not None:
        cfg.update(reg_nms=dict(type="nms", iou_threshold=nms_reg), reg_max_per_img=2000)
    return ConfigDict(cfg)


def _rpn_sets(rpn_head, nms_cls, nms_reg):
    _, outs = _rpn_outputs(rpn_head)
    metas = [dict(img_shape=(256, 256), scale_factor=(1.0, 1.0))]
    preds = rpn_head.predict_by_feat(*outs, batch_img_metas=metas,
                                     cfg=_proposal_cfg(nms_cls, nms_reg))
    return preds[0]


def test_rpn_two_sets_equal_plain_rpn_at_each_threshold(tiny_model):
    """Proposals_cls / Proposals_reg are exactly mmdet's RPN output at NMS_cls / NMS_reg."""
    _, model = tiny_model
    rpn = model.rpn_head
    proposals_cls, proposals_reg = _rpn_sets(rpn, 0.7, 0.85)
    plain_cls = _rpn_sets(rpn, 0.7, None)
    plain_reg = _rpn_sets(rpn, 0.85, None)
    assert torch.equal(proposals_cls.bboxes, plain_cls.bboxes)
    assert torch.equal(proposals_reg.bboxes, plain_reg.bboxes)
    assert len(proposals_reg) > len(proposals_cls) > 0


def test_raising_nms_reg_keeps_cls_set_and_enlarges_reg_set(tiny_model):
    _, model = tiny_model
    cls_a, reg_a = _rpn_sets(model.rpn_head, 0.7, 0.8)
    cls_b, reg_b = _rpn_sets(model.rpn_head, 0.7, 0.9)
    assert torch.equal(cls_a.bboxes, cls_b.bboxes)
    assert len(reg_b) > len(reg_a)


def test_test_time_rpn_gives_one_set(tiny_model):
    cfg, model = tiny_model
    _, outs = _rpn_outputs(model.rpn_head)
    metas = [dict(img_shape=(256, 256), scale_factor=(1.0, 1.0))]
    preds = model.rpn_head.predict_by_feat(*outs, batch_img_metas=metas, cfg=cfg.model.test_cfg.rpn)
    assert isinstance(preds[0], InstanceData)
    assert len(preds[0]) <= cfg.model.test_cfg.rpn.max_per_img


def _iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise IoU of two (n, 4) box tensors."""
    lt = torch.max(a[:, :2], b[:, :2])
    rb = torch.min(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    area = lambda t: (t[:, 2:] - t[:, :2]).prod(dim=1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def _hand_made_sets(samples, seed=0):
    """Per image: a sparse Proposals_cls and a denser, disjoint Proposals_reg around the gt."""
    gen = torch.Generator().manual_seed(seed)
    sets_cls, sets_reg = [], []
    for sample in samples:
        gt = sample.gt_instances.bboxes
        # tiny boxes: IoU < 0.5 with every gt, i.e. sure negatives
        background = torch.rand(300, 2, generator=gen) * 110
        background = torch.cat([background, background + 3 + torch.rand(300, 2, generator=gen)
                                * 5], dim=1)
        cls = torch.cat([jitter(gt, 40, 0.3, gen), background])
        reg = torch.cat([jitter(gt, 12, 0.15, gen), background + 0.5])
        sets_cls.append(InstanceData(bboxes=cls, scores=torch.ones(len(cls))))
        sets_reg.append(InstanceData(bboxes=reg, scores=torch.ones(len(reg))))
    return sets_cls, sets_reg


def _capture_samples(roi_head, monkeypatch):
    """Record the sampling results the RoI head draws, per task and stage."""
    record = {"cls": [], "reg": []}
    for task in ("cls", "reg"):
        original = getattr(roi_head, f"sample_{task}")

        def wrapper(*args, _orig=original, _task=task, **kwargs):
            result = _orig(*args, **kwargs)
            record[_task].append(result)
            return result

        monkeypatch.setattr(roi_head, f"sample_{task}", wrapper)
    return record


def test_regression_samples_are_positive_proposals_reg_with_zero_weight_padding(
        tiny_model, monkeypatch):
    cfg, model = tiny_model
    roi_head = model.roi_head
    _, samples = make_batch(num_imgs=2, size=128, num_gt=3, seed=1)
    sets_cls, sets_reg = _hand_made_sets(samples)
    record = _capture_samples(roi_head, monkeypatch)
    feats = tuple(torch.randn(2, 32, 128 // 2**(i + 2), 128 // 2**(i + 2)) for i in range(5))
    losses = roi_head.loss(feats, copy.deepcopy(sets_cls), samples,
                           reg_results_list=copy.deepcopy(sets_reg))
    num = cfg.model.train_cfg.rcnn.reg.sampler.num
    (reg_sampling,) = record["reg"]
    for res, proposals in zip(reg_sampling, sets_reg):
        # every regression sample (positive or padding) is a row of Proposals_reg
        eq = (res.priors[:, None, :] == proposals.bboxes[None]).all(-1)
        assert eq.any(1).all()
        assert not res.pos_is_gt.any()
        assert len(res.priors) == num  # fixed mini-batch: positives padded with negatives
        assert 0 < len(res.pos_inds) < num
        ious = _iou(res.pos_priors, res.pos_gt_bboxes)
        assert (ious >= 0.5).all()
    labels, _, _, bbox_weights = roi_head.reg_head(0).get_targets(
        reg_sampling, cfg.model.train_cfg.rcnn.reg, concat=False)
    for res, weights in zip(reg_sampling, bbox_weights):
        n_pos = len(res.pos_inds)
        assert (weights[:n_pos] == 1).all()
        assert (weights[n_pos:] == 0).all()  # the padding carries zero weight
    assert losses["s0.num_pos_reg"].item() == sum(len(r.pos_inds) for r in reg_sampling)
    assert losses["s0.num_reg"].item() == 2 * num


def test_classification_samples_come_from_proposals_cls_at_most_quarter_positive(
        tiny_model, monkeypatch):
    cfg, model = tiny_model
    roi_head = model.roi_head
    _, samples = make_batch(num_imgs=2, size=128, num_gt=3, seed=2)
    sets_cls, sets_reg = _hand_made_sets(samples, seed=2)
    record = _capture_samples(roi_head, monkeypatch)
    feats = tuple(torch.randn(2, 32, 128 // 2**(i + 2), 128 // 2**(i + 2)) for i in range(5))
    roi_head.loss(feats, copy.deepcopy(sets_cls), samples, reg_results_list=copy.deepcopy(sets_reg))
    sampler = cfg.model.train_cfg.rcnn.cls.sampler
    (cls_sampling,) = record["cls"]
    for res, proposals, reg_set, sample in zip(cls_sampling, sets_cls, sets_reg, samples):
        candidates = torch.cat([sample.gt_instances.bboxes, proposals.bboxes])
        eq = (res.priors[:, None, :] == candidates[None]).all(-1)
        assert eq.any(1).all()
        from_reg_only = (res.priors[:, None, :] == reg_set.bboxes[None]).all(-1).any(1)
        assert not from_reg_only.any()
        assert len(res.priors) == sampler.num
        assert len(res.pos_inds) <= sampler.num * sampler.pos_fraction
        assert len(res.pos_inds) > 0


def test_full_model_nms_reg_changes_only_the_regression_set(monkeypatch):
    """Through the whole detector: same seed, NMS_reg 0.85 -> 0.95."""
    results = {}
    for nms_reg in (0.85, 0.95):
        cfg = load_cfg(BASE)
        cfg.model.train_cfg.rpn_proposal.reg_nms.iou_threshold = nms_reg
        cfg.model.train_cfg.rpn_proposal.max_per_img = 2000
        cfg.model.train_cfg.rpn_proposal.reg_max_per_img = 2000
        model = build_model(cfg, seed=0)
        captured = {}
        original = model.rpn_head.loss_and_predict_decoupled

        def wrapper(*args, _orig=original, _captured=captured, **kwargs):
            out = _orig(*args, **kwargs)
            _captured["sets"] = out[1:]
            return out

        monkeypatch.setattr(model.rpn_head, "loss_and_predict_decoupled", wrapper)
        inputs, samples = make_batch(num_imgs=1, size=128, seed=3)
        torch.manual_seed(0)
        model.loss(inputs, samples)
        results[nms_reg] = captured["sets"]
    (cls_a,), (reg_a,) = results[0.85]
    (cls_b,), (reg_b,) = results[0.95]
    assert torch.equal(cls_a.bboxes, cls_b.bboxes)
    assert len(reg_b.bboxes) > len(reg_a.bboxes)
