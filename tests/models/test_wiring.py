"""Wiring of the detector and the RoI head, checked against independent computations.

- training: the detector gives the regressors the NMS_reg proposal set and the classifier the
  NMS_cls set, each equal to mmdet's plain RPN output at that threshold;
- inference: for a test stage (i, j) the detections equal an oracle built by hand from the
  heads' raw outputs (regressors 1..i applied in sequence, classifier j's probabilities,
  mmdet's per-class NMS);
- a 1-stage Decoupled head whose two branches carry the same weights, trained on shared
  samples, equals mmdet's ``StandardRoIHead`` with those weights: predictions, losses and
  gradients.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from models_testlib import (
    build_model,
    build_module,
    load_cfg,
    make_batch,
    roi_features,
    roi_head_of,
    roi_proposals,
    spread_weights,
)

BASE = "decoupled_rcnn/decoupled-rcnn_r50_fpn_1x_coco.py"
CASCADE = "decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py"
CASCADE_CLS = "decoupled_rcnn/decoupled-rcnn-cascade-cls_r101_fpn_1x_coco.py"
SIZE = 128


# --- (a) training: which proposal set goes where ----------------------------------------
def _plain_rpn(rpn_head, x: tuple[torch.Tensor, ...], metas: list[dict], cfg: ConfigDict,
               nms_thr: float) -> list[InstanceData]:
    """mmdet's RPN proposals at one NMS threshold (no second set)."""
    plain = ConfigDict(nms_pre=cfg.nms_pre, max_per_img=cfg.max_per_img, min_bbox_size=0,
                       nms=dict(type="nms", iou_threshold=nms_thr))
    with torch.no_grad():
        return rpn_head.predict_by_feat(*rpn_head(x), batch_img_metas=metas, cfg=plain)


def test_detector_gives_regressors_the_nms_reg_set_and_the_classifier_the_nms_cls_set(
        monkeypatch):
    cfg = load_cfg(BASE, dense=True)
    proposal = cfg.model.train_cfg.rpn_proposal
    proposal.nms.iou_threshold = 0.3  # far apart, so that the two sets are easy to tell apart
    proposal.reg_nms.iou_threshold = 0.95
    model = build_model(cfg)
    seen: dict = {"cls": [], "reg": []}
    rpn_call = model.rpn_head.loss_and_predict_decoupled

    def rpn_wrapper(x, *args, **kwargs):
        seen["x"] = tuple(t.detach() for t in x)
        return rpn_call(x, *args, **kwargs)

    monkeypatch.setattr(model.rpn_head, "loss_and_predict_decoupled", rpn_wrapper)
    for task in ("cls", "reg"):
        call = getattr(model.roi_head, f"sample_{task}")

        def wrapper(stage, candidates, *args, _call=call, _task=task, **kwargs):
            seen[_task].append((stage, [c.priors.clone() for c in candidates]))
            return _call(stage, candidates, *args, **kwargs)

        monkeypatch.setattr(model.roi_head, f"sample_{task}", wrapper)
    inputs, samples = make_batch(num_imgs=2, size=SIZE, seed=3)
    torch.manual_seed(0)
    model.loss(inputs, samples)

    metas = [s.metainfo for s in samples]
    ref_cls = _plain_rpn(model.rpn_head, seen["x"], metas, proposal, 0.3)
    ref_reg = _plain_rpn(model.rpn_head, seen["x"], metas, proposal, 0.95)
    (cls_stage, cls_sets), = seen["cls"]
    (reg_stage, reg_sets), = seen["reg"]
    assert cls_stage == reg_stage == 0
    for got_cls, got_reg, want_cls, want_reg in zip(cls_sets, reg_sets, ref_cls, ref_reg):
        assert len(want_reg) > 2 * len(want_cls) > 0
        assert torch.equal(got_reg, want_reg.bboxes)
        assert torch.equal(got_cls, want_cls.bboxes)


# --- (b) inference oracle for a test stage (i, j) ---------------------------------------
def _spread_weights(roi_head, seed: int = 1) -> None:
    spread_weights([h.fc_cls for h in roi_head.cls_heads],
                   [roi_head.reg_head(k).fc_reg for k in range(roi_head.num_stages)], seed)


def _oracle(roi_head, x: tuple[torch.Tensor, ...], boxes: torch.Tensor, img_id: int,
            meta: dict, reg_stage: int, cls_stages: list[int]
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Detections of one image for test stage (reg_stage, cls_stages), from raw head outputs.

    Stages are 0-based: the paper's Table X column "(3, 2)" is ``reg_stage=2, cls_stages=[1]``.
    """
    from mmdet.models.layers import multiclass_nms

    cfg = roi_head.test_cfg
    probs: dict[int, torch.Tensor] = {}
    n = len(boxes)
    for stage in range(reg_stage + 1):
        rois = torch.cat([boxes.new_full((n, 1), float(img_id)), boxes], dim=1)
        feats = roi_head.bbox_roi_extractor(x[:4], rois)
        if stage < len(roi_head.cls_heads):
            probs[stage] = F.softmax(roi_head.cls_heads[stage](feats)[0], dim=1)
        head = roi_head.reg_head(stage)
        deltas = head(feats)[1]
        if stage == reg_stage:
            break
        if not head.reg_class_agnostic:  # stage 1 regresses by classifier 1's argmax class
            label = probs[0][:, :-1].argmax(dim=1)
            deltas = deltas.view(n, -1, 4)[torch.arange(n), label]
        boxes = head.bbox_coder.decode(boxes, deltas, max_shape=meta["img_shape"])
    scores = torch.stack([probs[j] for j in cls_stages]).mean(dim=0)
    final = roi_head.reg_head(reg_stage)
    num_classes = final.num_classes
    if final.reg_class_agnostic:
        decoded = final.bbox_coder.decode(boxes, deltas, max_shape=meta["img_shape"])
    else:  # every class keeps its own box
        decoded = final.bbox_coder.decode(
            boxes.repeat_interleave(num_classes, dim=0), deltas.reshape(-1, 4),
            max_shape=meta["img_shape"]).view(n, -1)
    dets, labels = multiclass_nms(decoded, scores, cfg.score_thr, cfg.nms, cfg.max_per_img)
    return dets[:, :4], dets[:, 4], labels


CASES = [  # 0-based (reg_stage, cls_stages)
    (CASCADE_CLS, 2, [1]),
    (CASCADE_CLS, 1, [0]),
    (CASCADE_CLS, 0, [0]),
    (CASCADE_CLS, 2, [0, 1, 2]),
    (CASCADE, 2, [0]),
    (BASE, 0, [0]),
]


@pytest.mark.parametrize(("config", "reg_stage", "cls_stages"), CASES)
def test_predictions_equal_the_hand_made_oracle_of_stage_pair(config, reg_stage, cls_stages):
    roi_head, cfg = roi_head_of(config)
    _spread_weights(roi_head)
    roi_head.eval()
    roi_head.test_cfg.update(reg_stage=reg_stage, cls_stages=cls_stages, score_thr=0.02,
                             max_per_img=50)
    _, samples = make_batch(num_imgs=2, size=SIZE, num_gt=2, seed=4)
    x = roi_features(cfg.model.roi_head.bbox_roi_extractor.out_channels)
    proposals = roi_proposals(samples)
    with torch.no_grad():
        results = roi_head.predict(x, copy.deepcopy(proposals), samples, rescale=False)
        for img_id, (res, props, sample) in enumerate(zip(results, proposals, samples)):
            boxes, scores, labels = _oracle(roi_head, x, props.bboxes, img_id, sample.metainfo,
                                            reg_stage, cls_stages)
            assert len(boxes) > 10  # enough detections to tell stages apart
            torch.testing.assert_close(res.bboxes, boxes, rtol=0, atol=1e-4)
            torch.testing.assert_close(res.scores, scores, rtol=0, atol=1e-6)
            assert torch.equal(res.labels, labels)


def test_stage_pairs_give_different_detections():
    """The oracle test above could not tell two stage pairs apart if they coincided."""
    roi_head, cfg = roi_head_of(CASCADE_CLS)
    _spread_weights(roi_head)
    roi_head.eval()
    _, samples = make_batch(num_imgs=1, size=SIZE, num_gt=2, seed=4)
    x = roi_features(cfg.model.roi_head.bbox_roi_extractor.out_channels, num_imgs=1)
    (props,) = roi_proposals(samples)
    roi_head.test_cfg.update(score_thr=0.02, max_per_img=50)
    with torch.no_grad():
        outs = {(i, tuple(js)): _oracle(roi_head, x, props.bboxes, 0, samples[0].metainfo, i, js)
                for i, js in [(2, [2]), (2, [1]), (1, [1]), (2, [0, 1, 2])]}
    first = outs[(2, (2,))]
    for pair, other in outs.items():
        if pair != (2, (2,)):
            same = len(other[0]) == len(first[0]) and torch.allclose(other[0], first[0])
            assert not same or not torch.allclose(other[1], first[1]), pair


# --- (c) 1 stage with identical branches == mmdet's StandardRoIHead -----------------------
def _twin_heads(seed: int = 0) -> tuple:
    """A 1-stage Decoupled head with equal FCs in both branches and the mmdet head it equals."""
    cfg = load_cfg(BASE)
    rh = cfg.model.roi_head
    rcnn = cfg.model.train_cfg.rcnn
    # lambda = 1: mmdet's head has no balancing weight (the COCO config's official 0.5 would
    # halve the regression loss).
    decoupled, _ = roi_head_of(BASE, seed=seed, num_stages=1, reg_loss_weight=1.0)
    decoupled.train_cfg.share_samples = True  # the classifier's samples train the regressor
    bbox_head = dict(rh.reg_head, with_cls=True, loss_cls=rh.cls_head.loss_cls)
    standard = build_module(dict(
        type="StandardRoIHead", bbox_roi_extractor=rh.bbox_roi_extractor, bbox_head=bbox_head,
        train_cfg=ConfigDict(assigner=rcnn.cls.assigner, sampler=rcnn.cls.sampler,
                             pos_weight=-1, debug=False),
        test_cfg=cfg.model.test_cfg.rcnn), seed + 1)
    cls_head, reg_head = decoupled.cls_heads[0], decoupled.reg_head(0)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in cls_head.shared_fcs.parameters():
            param.add_(torch.randn(param.shape, generator=gen) * 0.01)
        reg_head.shared_fcs.load_state_dict(cls_head.shared_fcs.state_dict())
        cls_head.fc_cls.weight.mul_(20)  # scores far from uniform, so the NMS order is firm
        reg_head.fc_reg.weight.copy_(torch.randn(reg_head.fc_reg.weight.shape, generator=gen)
                                     * 0.3)
    standard.bbox_head.shared_fcs.load_state_dict(cls_head.shared_fcs.state_dict())
    standard.bbox_head.fc_cls.load_state_dict(cls_head.fc_cls.state_dict())
    standard.bbox_head.fc_reg.load_state_dict(reg_head.fc_reg.state_dict())
    return decoupled, standard, cfg


def test_one_stage_with_identical_branches_predicts_as_mmdet_standardroi_head_of():
    decoupled, standard, cfg = _twin_heads()
    decoupled.eval()
    standard.eval()
    for head in (decoupled, standard):
        head.test_cfg.update(score_thr=0.02, max_per_img=50)
    _, samples = make_batch(num_imgs=2, size=SIZE, num_gt=2, seed=5)
    x = roi_features(cfg.model.roi_head.bbox_roi_extractor.out_channels, seed=5)
    proposals = roi_proposals(samples, seed=5)
    with torch.no_grad():
        ours = decoupled.predict(x, copy.deepcopy(proposals), samples, rescale=False)
        theirs = standard.predict(x, copy.deepcopy(proposals), samples, rescale=False)
    for a, b in zip(ours, theirs):
        assert len(b) > 10
        assert torch.equal(a.labels, b.labels)
        torch.testing.assert_close(a.bboxes, b.bboxes, rtol=0, atol=1e-4)
        torch.testing.assert_close(a.scores, b.scores, rtol=0, atol=1e-6)


def test_one_stage_with_shared_samples_has_mmdet_standard_losses_and_gradients():
    decoupled, standard, cfg = _twin_heads()
    _, samples = make_batch(num_imgs=2, size=SIZE, num_gt=2, seed=6)
    x = roi_features(cfg.model.roi_head.bbox_roi_extractor.out_channels, seed=6)
    proposals = roi_proposals(samples, seed=6)
    torch.manual_seed(0)
    ours = decoupled.loss(x, copy.deepcopy(proposals), samples)
    torch.manual_seed(0)  # the same random draw of the 512 samples per image
    theirs = standard.loss(x, copy.deepcopy(proposals), samples)
    assert theirs["loss_bbox"].item() > 0
    torch.testing.assert_close(ours["s0.loss_cls"], theirs["loss_cls"], rtol=1e-6, atol=0)
    torch.testing.assert_close(ours["s0.loss_bbox"], theirs["loss_bbox"], rtol=1e-5, atol=0)
    (ours["s0.loss_cls"] + ours["s0.loss_bbox"]).backward()
    (theirs["loss_cls"] + theirs["loss_bbox"]).backward()
    # mmdet's shared FCs get both tasks' gradients; ours split them between the two copies
    for name, param in standard.bbox_head.shared_fcs.named_parameters():
        cls_grad = dict(decoupled.cls_heads[0].shared_fcs.named_parameters())[name].grad
        reg_grad = dict(decoupled.reg_head(0).shared_fcs.named_parameters())[name].grad
        torch.testing.assert_close(cls_grad + reg_grad, param.grad, rtol=1e-4, atol=1e-7)
