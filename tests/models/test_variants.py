"""Every variant and baseline trains one step and predicts on CPU in the tiny setting."""

from __future__ import annotations

import math

import pytest
import torch
from models_testlib import build_model, load_cfg, make_batch

VARIANTS = [
    "decoupled_rcnn/decoupled-rcnn_r50_fpn_1x_coco.py",
    "decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py",
    "decoupled_rcnn/decoupled-rcnn-cascade-cls_r101_fpn_1x_coco.py",
    "decoupled_rcnn/decoupled-rcnn-doublehead_r50_fpn_1x_coco.py",
    "decoupled_rcnn/decoupled-rcnn-cascade-doublehead_r50_fpn_1x_coco.py",
    "decoupled_rcnn/decoupled-rcnn-shared-fc_r101_fpn_1x_voc0712.py",
    "decoupled_rcnn/faster-rcnn-unshared-fc_r101_fpn_1x_voc0712.py",
    "decoupled_rcnn/decoupled-rcnn-toy_r101_fpn_1x_voc0712.py",
    "decoupled_rcnn/decoupled-rcnn-cascade_x101-64x4d_fpn_ms-2x_coco.py",
    "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py",
    "cascade_rcnn/cascade-rcnn_r101_fpn_1x_coco.py",
]


def _num_classes(cfg) -> int:
    roi = cfg.model.roi_head
    head = roi.get("cls_head") or roi.bbox_head
    return (head[0] if isinstance(head, list) else head).num_classes


@pytest.mark.parametrize("config", VARIANTS, ids=lambda p: p.split("/")[-1][:-3])
def test_variant_trains_and_predicts(config):
    cfg = load_cfg(config, dense=True)
    model = build_model(cfg)
    num_classes = _num_classes(cfg)
    inputs, samples = make_batch(num_imgs=2, num_classes=num_classes, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    torch.manual_seed(0)
    losses = model.loss(inputs, samples)
    total, _ = model.parse_losses(losses)
    assert math.isfinite(total.item())
    before = [p.detach().clone() for p in model.parameters() if p.requires_grad]
    optimizer.zero_grad()
    total.backward()
    optimizer.step()
    after = [p for p in model.parameters() if p.requires_grad]
    changed = sum(not torch.equal(a, b) for a, b in zip(before, after))
    assert changed > 0.5 * len(before)

    model.eval()
    model.roi_head.test_cfg.score_thr = 0.0  # an untrained model scores everything ~1/81
    with torch.no_grad():
        results = model.predict(inputs, samples)
    assert len(results) == 2
    for res in results:
        pred = res.pred_instances
        n = len(pred)
        assert 0 < n <= cfg.model.test_cfg.rcnn.max_per_img
        assert pred.bboxes.shape == (n, 4) and pred.scores.shape == (n,)
        assert ((pred.labels >= 0) & (pred.labels < num_classes)).all()
        assert (pred.bboxes[:, 2:] >= pred.bboxes[:, :2]).all()
    # the raw forward used for FLOP counting runs every head on all proposals
    with torch.no_grad():
        raw = model(inputs, samples, mode="tensor")
    assert len(raw) > 0


def test_shared_fc_regresses_with_the_classifier_fcs():
    cfg = load_cfg("decoupled_rcnn/decoupled-rcnn-shared-fc_r101_fpn_1x_voc0712.py")
    roi_head = build_model(cfg).roi_head
    assert roi_head.reg_head(0) is roi_head.cls_heads[0]
    assert len(roi_head.reg_heads) == 0
    assert cfg.model.train_cfg.rpn_proposal.reg_nms.iou_threshold == 0.7
    assert cfg.model.train_cfg.rcnn.reg.sampler.type == "PositiveOnlySampler"


def _sampling_record(model, monkeypatch):
    record = {}
    for task in ("cls", "reg"):
        original = getattr(model.roi_head, f"sample_{task}")

        def wrapper(*args, _orig=original, _task=task, **kwargs):
            out = _orig(*args, **kwargs)
            record.setdefault(_task, out)
            return out

        monkeypatch.setattr(model.roi_head, f"sample_{task}", wrapper)
    return record


def test_faster_rcnn_unshared_fc_uses_one_sample_set(monkeypatch):
    cfg = load_cfg("decoupled_rcnn/faster-rcnn-unshared-fc_r101_fpn_1x_voc0712.py", dense=True)
    model = build_model(cfg)
    record = _sampling_record(model, monkeypatch)
    captured = {}
    original = model.roi_head.reg_head(0).get_targets

    def targets(sampling_results, *args, **kwargs):
        captured["reg"] = sampling_results
        return original(sampling_results, *args, **kwargs)

    monkeypatch.setattr(model.roi_head.reg_head(0), "get_targets", targets)
    inputs, samples = make_batch(num_classes=20)
    model.loss(inputs, samples)
    assert "reg" not in record  # no separate regression sampling
    assert captured["reg"] is record["cls"]
    assert model.roi_head.reg_head(0) is not model.roi_head.cls_heads[0]


def test_table1_toy_samples_both_sets_one_to_three(monkeypatch):
    cfg = load_cfg("decoupled_rcnn/decoupled-rcnn-toy_r101_fpn_1x_voc0712.py", dense=True)
    model = build_model(cfg)
    record = _sampling_record(model, monkeypatch)
    inputs, samples = make_batch(num_classes=20)
    model.loss(inputs, samples)
    num = cfg.model.train_cfg.rcnn.reg.sampler.num
    for res in record["reg"]:
        assert len(res.pos_inds) <= 0.25 * num
        assert len(res.priors) == num


def test_table10_every_stage_pair_from_one_model():
    cfg = load_cfg("decoupled_rcnn/decoupled-rcnn-cascade-cls_r101_fpn_1x_coco.py")
    model = build_model(cfg).eval()
    roi_head = model.roi_head
    assert len(roi_head.cls_heads) == 3
    assert all(roi_head.reg_head(k).reg_class_agnostic for k in range(3))
    assert [a.pos_iou_thr for a in roi_head.reg_assigners] == [0.5, 0.6, 0.7]
    assert [a.pos_iou_thr for a in roi_head.cls_assigners] == [0.5, 0.6, 0.7]
    roi_head.test_cfg.score_thr = 0.0
    inputs, samples = make_batch(num_imgs=1)
    outputs = {}
    for pair in [(0, [0]), (1, [0]), (2, [0]), (2, [1]), (2, [2]), (2, [0, 1, 2])]:  # 0-based
        roi_head.test_cfg.reg_stage, roi_head.test_cfg.cls_stages = pair
        with torch.no_grad():
            outputs[str(pair)] = model.predict(inputs, samples)[0].pred_instances
    assert len({tuple(o.scores.tolist()[:5]) for o in outputs.values()}) > 1


def test_cascade_rcnn_baseline_stage_selection_defaults_to_mmdet():
    cfg = load_cfg("cascade_rcnn/cascade-rcnn_r101_fpn_1x_coco.py")
    from mmdet.models.roi_heads import CascadeRoIHead

    model = build_model(cfg).eval()
    model.roi_head.test_cfg.score_thr = 0.0
    inputs, samples = make_batch(num_imgs=1)
    ours_cls = type(model.roi_head)
    with torch.no_grad():
        ours = model.predict(inputs, [s.clone() for s in samples])[0].pred_instances
        model.roi_head.__class__ = CascadeRoIHead
        reference = model.predict(inputs, [s.clone() for s in samples])[0].pred_instances
        model.roi_head.__class__ = ours_cls
        model.roi_head.test_cfg.reg_stage, model.roi_head.test_cfg.cls_stages = 0, [0]
        first = model.predict(inputs, [s.clone() for s in samples])[0].pred_instances
    assert len(ours) > 0
    assert not torch.equal(first.scores, ours.scores)
    assert torch.equal(ours.bboxes, reference.bboxes)
    assert torch.equal(ours.scores, reference.scores)


def test_custom_imports_register_every_module():
    from mmdet.registry import MODELS, TASK_UTILS
    from mmengine.utils import import_modules_from_strings

    cfg = load_cfg("decoupled_rcnn/decoupled-rcnn_r50_fpn_1x_coco.py", tiny=False)
    assert cfg.custom_imports == dict(imports=["decoupled_rcnn.models"],
                                      allow_failed_imports=False)
    import_modules_from_strings(**cfg.custom_imports)
    for name in ("DecoupledRCNN", "DecoupledRPNHead", "DecoupledRoIHead", "DoubleConvRegHead",
                 "SelectableCascadeRoIHead"):
        assert MODELS.get(name) is not None, name
    assert TASK_UTILS.get("PositiveOnlySampler") is not None
