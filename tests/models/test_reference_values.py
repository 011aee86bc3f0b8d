"""Losses, gradients and detections of the RoI heads on fixed seeds, against recorded values.

``reference_values.json`` was recorded by ``python tests/models/test_reference_values.py
--record`` with the code of commit e0b348e, before the RoI heads were restructured (issue 19:
per-stage losses, one stage-index convention, one refine loop). These tests prove the
restructured code computes the same numbers: the losses, the gradient norm of every head, and
the detections (boxes, scores, labels) of the Decoupled heads, of its cascaded-classifier
variant and of Cascade R-CNN, at several test-time stage selections. The inputs are the
tiny configs' RoI heads on random FPN features and jittered proposals (fixed seeds), so a
run costs seconds. Recorded on CPU with one thread; other hardware may differ in the last
float bits, hence the tolerances (1e-6 relative on losses and gradient norms).

Stage pairs are given as the paper's Table X labels (1-based ``(i, [j, ...])``: regressor i,
classifiers j); :func:`stage_cfg` turns them into the heads' ``test_cfg`` keys.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest
import torch
from models_testlib import (
    inference_roi_head,
    make_batch,
    roi_features,
    roi_head_of,
    roi_proposals,
)

REFERENCE = Path(__file__).with_name("reference_values.json")
BASE = "decoupled_rcnn/decoupled-rcnn_r50_fpn_1x_coco.py"
CASCADE = "decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py"
CASCADE_CLS = "decoupled_rcnn/decoupled-rcnn-cascade-cls_r101_fpn_1x_coco.py"
DOUBLEHEAD = "decoupled_rcnn/decoupled-rcnn-cascade-doublehead_r50_fpn_1x_coco.py"
SHARED_FC = "decoupled_rcnn/decoupled-rcnn-shared-fc_r101_fpn_1x_voc0712.py"
TOY = "decoupled_rcnn/decoupled-rcnn-toy_r101_fpn_1x_voc0712.py"
CASCADE_RCNN = "cascade_rcnn/cascade-rcnn_r101_fpn_1x_coco.py"

#: name: (config, head overrides, train_cfg overrides, make_batch kwargs)
TRAIN = {
    "base": (BASE, {}, {}, {}),
    "base_share_samples": (BASE, {}, {"share_samples": True}, {}),
    "cascade": (CASCADE, {}, {}, {}),
    "cascade_no_skip": (CASCADE, {"skip_zero_weight_samples": False}, {}, {}),
    "cascade_one_image_empty": (CASCADE, {}, {}, {"empty": (1,)}),
    "cascade_all_empty": (CASCADE, {}, {}, {"empty": (0, 1)}),
    "cascade_cls": (CASCADE_CLS, {}, {}, {}),
    "cascade_doublehead": (DOUBLEHEAD, {}, {}, {}),
    "shared_fc": (SHARED_FC, {}, {}, {"num_classes": 20}),
    "toy": (TOY, {}, {}, {"num_classes": 20}),
}

#: name: (config, Table X stage pair (1-based) or None for the test config's default)
PREDICT = {
    "base": (BASE, None),
    "cascade": (CASCADE, None),
    "cascade_reg1": (CASCADE, (1, [1])),
    "cascade_reg2": (CASCADE, (2, [1])),
    "cascade_cls": (CASCADE_CLS, None),
    "cascade_cls_3_2": (CASCADE_CLS, (3, [2])),
    "cascade_cls_2_12": (CASCADE_CLS, (2, [1, 2])),
    "cascade_cls_1_1": (CASCADE_CLS, (1, [1])),
    "cascade_rcnn": (CASCADE_RCNN, None),
    "cascade_rcnn_1_1": (CASCADE_RCNN, (1, [1])),
    "cascade_rcnn_2_12": (CASCADE_RCNN, (2, [1, 2])),
    "cascade_rcnn_3_3": (CASCADE_RCNN, (3, [3])),
}


def stage_cfg(pair: tuple[int, list[int]] | None) -> dict:
    """``test_cfg`` keys selecting the paper's stage pair ``(i, [j, ...])`` (1-based)."""
    if pair is None:
        return {}
    reg_stage, cls_stages = pair
    return dict(reg_stage=reg_stage - 1, cls_stages=[j - 1 for j in cls_stages])


def _batch(cfg, batch_kwargs: dict, seed: int) -> tuple:
    _, samples = make_batch(num_imgs=2, size=128, num_gt=2, seed=seed, **batch_kwargs)
    x = roi_features(cfg.model.roi_head.bbox_roi_extractor.out_channels, seed=seed)
    return x, samples, roi_proposals(samples, seed=seed)


def train_outputs(name: str) -> tuple[dict, dict]:
    """Losses and per-head gradients of one training scenario."""
    config, overrides, train_overrides, batch_kwargs = TRAIN[name]
    roi_head, cfg = roi_head_of(config, **overrides)
    roi_head.train_cfg.update(train_overrides)
    roi_head.train()
    x, samples, proposals = _batch(cfg, batch_kwargs, seed=7)
    torch.manual_seed(0)
    losses = roi_head.loss(x, copy.deepcopy(proposals), samples)
    sum(v for k, v in losses.items() if "loss" in k).backward()
    grads = {n: p.grad.detach().clone() for n, p in roi_head.named_parameters()
             if p.grad is not None}
    return {k: v.detach() for k, v in losses.items()}, grads


def grad_norms(grads: dict) -> dict[str, float]:
    """Gradient norm of every head (parameter names up to the head index)."""
    squares: dict[str, float] = {}
    for name, grad in grads.items():
        head = ".".join(name.split(".")[:2])
        squares[head] = squares.get(head, 0.0) + float(grad.double().pow(2).sum())
    return {head: value ** 0.5 for head, value in sorted(squares.items())}


def predict_outputs(name: str) -> list[dict[str, torch.Tensor]]:
    """Detections of one inference scenario, per image."""
    config, pair = PREDICT[name]
    roi_head, cfg = inference_roi_head(config)
    roi_head.test_cfg.update(stage_cfg(pair))
    x, samples, proposals = _batch(cfg, {}, seed=4)
    with torch.no_grad():
        results = roi_head.predict(x, copy.deepcopy(proposals), samples, rescale=False)
    return [dict(bboxes=r.bboxes, scores=r.scores, labels=r.labels) for r in results]


def _record() -> dict:
    train = {}
    for name in TRAIN:
        losses, grads = train_outputs(name)
        train[name] = dict(losses={k: v.tolist() for k, v in losses.items()},
                           grad_norms=grad_norms(grads))
    predict = {name: [{k: v.tolist() for k, v in det.items()} for det in predict_outputs(name)]
               for name in PREDICT}
    return dict(train=train, predict=predict)


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


@pytest.mark.parametrize("name", list(TRAIN))
def test_losses_and_gradients_equal_the_recorded_values(reference, name):
    want = reference["train"][name]
    losses, grads = train_outputs(name)
    assert sorted(losses) == sorted(want["losses"])
    for key, value in want["losses"].items():
        torch.testing.assert_close(losses[key].double(), torch.tensor(value, dtype=torch.float64),
                                   rtol=1e-6, atol=1e-9, msg=key)
    got = grad_norms(grads)
    assert sorted(got) == sorted(want["grad_norms"])
    for head, norm in want["grad_norms"].items():
        assert got[head] == pytest.approx(norm, rel=1e-6, abs=1e-12), head


@pytest.mark.parametrize("name", list(PREDICT))
def test_detections_equal_the_recorded_values(reference, name):
    want = reference["predict"][name]
    got = predict_outputs(name)
    assert len(got) == len(want) == 2
    for det, ref in zip(got, want):
        assert len(ref["scores"]) > 5  # enough detections to tell two outputs apart
        assert det["labels"].tolist() == ref["labels"]
        torch.testing.assert_close(det["bboxes"], torch.tensor(ref["bboxes"]), rtol=0, atol=1e-4)
        torch.testing.assert_close(det["scores"], torch.tensor(ref["scores"]), rtol=1e-6,
                                   atol=1e-7)


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    torch.set_num_threads(1)
    REFERENCE.write_text(json.dumps(_record(), indent=1) + "\n")
