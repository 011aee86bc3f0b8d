"""Cascaded regression (Eq. 7), the loss of Eq. 8 and its keys."""

from __future__ import annotations

import math

import pytest
import torch
from mmdet.structures.bbox import bbox_overlaps
from models_testlib import build_model, load_cfg, make_batch

CASCADE = "decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py"


@pytest.fixture(scope="module")
def cascade():
    cfg = load_cfg(CASCADE, dense=True)
    return cfg, build_model(cfg)


def _loss(model, seed: int = 0, **batch_kwargs):
    inputs, samples = make_batch(**batch_kwargs)
    torch.manual_seed(seed)
    return model.loss(inputs, samples)


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_stage_heads_are_built_from_scalar_keys(cascade):
    cfg, model = cascade
    heads = [model.roi_head.reg_head(k) for k in range(3)]
    assert [h.reg_class_agnostic for h in heads] == [False, True, True]
    stds = [list(h.bbox_coder.stds) for h in heads]
    assert stds == [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067]]
    assert len(model.roi_head.cls_heads) == 1
    assert not model.roi_head.cls_heads[0].with_reg
    assert all(not h.with_cls for h in heads)


@pytest.mark.parametrize("num_stages", [1, 2, 4])
def test_k_stages_give_keys_s0_to_sk(num_stages):
    cfg = load_cfg(CASCADE, dense=True)
    cfg.model.roi_head.num_stages = num_stages
    model = build_model(cfg)
    losses = _loss(model, num_imgs=1)
    reg_keys = sorted(k for k in losses if k.endswith(".loss_bbox"))
    assert reg_keys == [f"s{k}.loss_bbox" for k in range(num_stages)]
    assert all(f"s{k}.num_pos_reg" in losses for k in range(num_stages))
    assert [k for k in losses if k.endswith("loss_cls")] == ["s0.loss_cls"]


def test_next_stage_inputs_are_previous_stage_decoded_outputs(cascade, monkeypatch):
    """Eq. 7: stage k+1 samples from regressor k applied to regressor k's own samples."""
    _, model = cascade
    roi_head = model.roi_head
    calls = []
    sampled = []
    original_refine = roi_head.refine_reg_samples
    original_sample = roi_head.sample_reg

    def refine(stage, sampling_results, bbox_pred, metas):
        out = original_refine(stage, sampling_results, bbox_pred, metas)
        calls.append((stage, sampling_results, bbox_pred.detach().clone(), out))
        return out

    def sample(stage, candidates, *args, **kwargs):
        out = original_sample(stage, candidates, *args, **kwargs)
        sampled.append((stage, candidates, out))
        return out

    monkeypatch.setattr(roi_head, "refine_reg_samples", refine)
    monkeypatch.setattr(roi_head, "sample_reg", sample)
    _loss(model, num_imgs=2, num_gt=3, seed=0)
    assert [c[0] for c in calls] == [0, 1]
    assert [s[0] for s in sampled] == [0, 1, 2]
    for stage, sampling_results, bbox_pred, (candidates, forced) in calls:
        head = roi_head.reg_head(stage)
        preds = bbox_pred.split([len(r.pos_priors) for r in sampling_results])
        for res, pred, cand, n_forced in zip(sampling_results, preds, candidates, forced):
            n_pos = len(res.pos_priors)
            deltas = pred
            if not head.reg_class_agnostic:
                deltas = deltas.view(n_pos, -1, 4)[torch.arange(n_pos), res.pos_gt_labels]
            decoded = head.bbox_coder.decode(res.pos_priors, deltas, max_shape=(128, 128))
            assert torch.allclose(cand.priors[:n_pos], decoded)
            assert torch.equal(cand.priors[n_pos:], res.neg_priors)
            assert n_forced == len(res.neg_priors)
        # the next stage samples exactly from these candidates; its positives are decoded boxes
        _, next_candidates, next_sampling = sampled[stage + 1]
        assert next_candidates is candidates
        for res, cand, n_forced in zip(next_sampling, candidates, forced):
            n_from_pos = len(cand.priors) - n_forced
            assert (res.pos_inds < n_from_pos).all()
            assert n_from_pos > 0
            assert (bbox_overlaps(res.pos_priors, res.pos_gt_bboxes, is_aligned=True) >= 0.5).all()


def test_lambda_scales_exactly_the_regression_losses(cascade):
    _, model = cascade
    roi_head = model.roi_head
    roi_head.reg_loss_weight = 1.0
    full = _loss(model, seed=5)
    roi_head.reg_loss_weight = 0.5
    half = _loss(model, seed=5)
    roi_head.reg_loss_weight = 0.5  # the config's value, restored for other tests
    for key, value in full.items():
        if key.endswith("loss_bbox"):
            assert value.item() > 0
            assert torch.allclose(half[key], 0.5 * value, rtol=1e-6, atol=0)
        else:
            same = [torch.equal(a, b) for a, b in zip(_as_list(half[key]), _as_list(value))]
            assert all(same), key


def test_images_without_ground_truth(cascade):
    _, model = cascade
    losses = _loss(model, num_imgs=2, empty=(0, 1))
    assert math.isfinite(losses["s0.loss_cls"].item()) and losses["s0.loss_cls"].item() > 0
    for k in range(3):
        assert losses[f"s{k}.loss_bbox"].item() == 0.0
        assert losses[f"s{k}.num_pos_reg"].item() == 0.0
    total, _ = model.parse_losses(losses)
    total.backward()


def test_mixed_batch_one_image_without_ground_truth(cascade):
    _, model = cascade
    losses = _loss(model, num_imgs=2, empty=(1,))
    assert math.isfinite(model.parse_losses(losses)[0].item())
    assert losses["s0.num_pos_reg"].item() > 0


def test_table10_classifier_stages_train_on_regressed_cls_samples(monkeypatch):
    """Cascaded classification: classifier k+1 samples regressor k's outputs on cls samples."""
    cfg = load_cfg("decoupled_rcnn/decoupled-rcnn-cascade-cls_r101_fpn_1x_coco.py", dense=True)
    model = build_model(cfg)
    roi_head = model.roi_head
    refined, sampled = [], []
    original_refine = roi_head.refine_cls_samples
    original_sample = roi_head.sample_cls

    def refine(stage, sampling_results, cls_score, bbox_pred, labels, metas):
        out = original_refine(stage, sampling_results, cls_score, bbox_pred, labels, metas)
        refined.append((stage, sampling_results, bbox_pred.clone(), out))
        return out

    def sample(stage, candidates, *args, **kwargs):
        out = original_sample(stage, candidates, *args, **kwargs)
        sampled.append((stage, candidates, out))
        return out

    monkeypatch.setattr(roi_head, "refine_cls_samples", refine)
    monkeypatch.setattr(roi_head, "sample_cls", sample)
    losses = _loss(model, num_imgs=2)
    assert [s[0] for s in sampled] == [0, 1, 2]
    assert sorted(k for k in losses if k.endswith("loss_cls")) == [
        "s0.loss_cls", "s1.loss_cls", "s2.loss_cls"]
    for stage, sampling_results, bbox_pred, out in refined:
        head = roi_head.reg_head(stage)
        preds = bbox_pred.split([len(r.priors) for r in sampling_results])
        for res, pred, cand in zip(sampling_results, preds, out):
            keep = torch.cat([res.pos_is_gt == 0,
                              torch.ones(len(res.neg_priors), dtype=torch.bool)])
            decoded = head.bbox_coder.decode(res.priors[keep], pred[keep], max_shape=(128, 128))
            assert torch.allclose(cand.priors, decoded)
        assert sampled[stage + 1][1] is out
    iou_thrs = [a.pos_iou_thr for a in roi_head.cls_assigners]
    assert iou_thrs == [0.5, 0.6, 0.7]


@pytest.mark.parametrize("num_gt", [3, 0])
def test_skipping_zero_weight_samples_changes_no_loss_and_no_gradient(cascade, num_gt):
    """The regressors run on positives only; the zero-weight padding never mattered."""
    _, model = cascade
    roi_head = model.roi_head
    assert all(roi_head._skips_padding(k) for k in range(roi_head.num_stages))
    runs = []
    for skip in (True, False):
        roi_head.skip_zero_weight_samples = skip
        model.zero_grad()
        losses = _loss(model, seed=0, num_imgs=2, num_gt=num_gt)
        total, _ = model.parse_losses(losses)
        total.backward()
        grads = {n: p.grad.clone() for n, p in roi_head.reg_heads.named_parameters()
                 if p.grad is not None}
        runs.append((losses, grads))
    roi_head.skip_zero_weight_samples = True
    (skipped, grads_skipped), (full, grads_full) = runs
    assert skipped.keys() == full.keys()
    for key in skipped:
        for a, b in zip(_as_list(skipped[key]), _as_list(full[key]), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7, msg=key)
    assert grads_skipped.keys() == grads_full.keys() and grads_full
    for name in grads_full:
        torch.testing.assert_close(grads_skipped[name], grads_full[name], rtol=1e-4, atol=1e-7,
                                   msg=name)
    if num_gt:
        assert skipped["s0.num_pos_reg"] < skipped["s0.num_reg"]  # there was padding to skip


def test_batchnorm_regressors_see_every_sample():
    cfg = load_cfg("decoupled_rcnn/decoupled-rcnn-doublehead_r50_fpn_1x_coco.py", dense=True)
    model = build_model(cfg)
    assert not model.roi_head._skips_padding(0)


@pytest.mark.parametrize("stage", [0, 1])
def test_regression_loss_is_the_summed_l1_over_the_whole_regression_minibatch(stage):
    """Eq. 8's L_loc: sum of |deltas - targets| over the positives / all regression samples."""
    from mmengine.structures import InstanceData
    from models_testlib import roi_features, roi_head_of, roi_proposals

    roi_head, cfg = roi_head_of(CASCADE)
    _, samples = make_batch(num_imgs=2, size=128, num_gt=2, seed=7)
    x = roi_features(cfg.model.roi_head.bbox_roi_extractor.out_channels, seed=7)
    candidates = [InstanceData(priors=p.bboxes) for p in roi_proposals(samples, seed=7)]
    gts = [s.gt_instances for s in samples]
    torch.manual_seed(0)
    sampling = roi_head.sample_reg(stage, candidates, gts, [None, None])
    out = roi_head.reg_loss(stage, x, sampling)
    head = roi_head.reg_head(stage)
    pos_pred = out["pos_bbox_pred"]
    labels = torch.cat([res.pos_gt_labels for res in sampling])
    if not head.reg_class_agnostic:
        pos_pred = pos_pred.view(len(labels), -1, 4)[torch.arange(len(labels)), labels]
    targets = torch.cat([head.bbox_coder.encode(res.pos_priors, res.pos_gt_bboxes)
                         for res in sampling])
    num_reg = sum(len(res.priors) for res in sampling)
    assert 0 < len(labels) < num_reg  # positives and zero-weight padding
    want = (pos_pred - targets).abs().sum() / num_reg * head.loss_bbox.loss_weight
    torch.testing.assert_close(out["loss"]["loss_bbox"], want, rtol=1e-6, atol=0)
    assert out["loss"]["num_reg"].item() == num_reg
    assert out["loss"]["num_pos_reg"].item() == len(labels)
