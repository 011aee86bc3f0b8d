"""The stage loop shared by the Decoupled and Cascade R-CNN heads, with images without RoIs."""

from __future__ import annotations

import copy

import pytest
import torch
from mmengine.structures import InstanceData
from models_testlib import (
    inference_roi_head,
    make_batch,
    roi_features,
    roi_head_of,
    roi_proposals,
)

from decoupled_rcnn.models.refine import StageOutput, regress_rois, run_stages

CASCADE = "decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py"
CASCADE_RCNN = "cascade_rcnn/cascade-rcnn_r101_fpn_1x_coco.py"
META = dict(img_shape=(128, 128))


def _no_boxes() -> InstanceData:
    return InstanceData(bboxes=torch.zeros(0, 4), scores=torch.zeros(0))


def test_regress_rois_skips_images_without_rois():
    roi_head, _ = inference_roi_head(CASCADE)
    head = roi_head.reg_head(1)  # class-agnostic: deltas (n, 4)
    rois = torch.tensor([[1.0, 10, 10, 50, 50], [1.0, 20, 20, 60, 80]])
    deltas = torch.zeros(2, 4)
    deltas[1, 0] = 1.0  # dx = 1 * std 0.05 * width 40 = +2 px
    out = regress_rois(head, rois, torch.zeros(2, dtype=torch.long), deltas, [0, 2], [META] * 2)
    torch.testing.assert_close(out, torch.tensor([[1.0, 10, 10, 50, 50], [1.0, 22, 20, 62, 80]]))
    empty = torch.zeros(0, 5)
    assert regress_rois(head, empty, torch.zeros(0, dtype=torch.long), torch.zeros(0, 4), [0, 0],
                        [META] * 2).shape == (0, 5)


def test_run_stages_feeds_each_stage_the_previous_stage_boxes():
    roi_head, _ = inference_roi_head(CASCADE)
    seen = []

    def forward_stage(stage, rois):
        seen.append(rois.clone())
        deltas = torch.zeros(len(rois), 4 if stage else 4 * 80)
        deltas[:, 0] = 1.0  # every stage shifts right by std_x * width
        return StageOutput(torch.full((len(rois), 81), float(stage)), deltas,
                           torch.zeros(len(rois), 81))

    rois = torch.tensor([[0.0, 10, 10, 50, 50]])
    out, scores, _ = run_stages(forward_stage, roi_head.reg_head, rois, [1], [META], 2)
    # stds 0.1 then 0.05 (Cascade R-CNN's), width 40: +4 px, then +2 px
    assert [r[0, 1].item() for r in seen] == [10.0, 14.0, 16.0]
    assert torch.equal(out, seen[-1])
    assert [s[0, 0].item() for s in scores] == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(("config", "selection"), [
    (CASCADE, {}), (CASCADE, dict(reg_stage=1, cls_stages=[0])),
    (CASCADE_RCNN, {}), (CASCADE_RCNN, dict(reg_stage=1, cls_stages=[0, 1])),
])
def test_an_image_without_proposals_gets_no_detections_and_leaves_the_other(config, selection):
    roi_head, cfg = inference_roi_head(config)
    roi_head.test_cfg.update(selection)
    _, samples = make_batch(num_imgs=2, size=128, num_gt=2, seed=4)
    x = roi_features(cfg.model.roi_head.bbox_roi_extractor.out_channels, seed=4)
    proposals = roi_proposals(samples, seed=4)
    proposals[0] = _no_boxes()
    with torch.no_grad():
        both = roi_head.predict(x, copy.deepcopy(proposals), samples, rescale=False)
        alone = roi_head.predict(tuple(t[1:] for t in x), copy.deepcopy(proposals[1:]),
                                 samples[1:], rescale=False)
        none = roi_head.predict(x, [_no_boxes(), _no_boxes()], samples, rescale=False)
    assert len(both[0]) == 0 and both[0].bboxes.shape == (0, 4)
    assert len(alone[0]) > 5
    torch.testing.assert_close(both[1].bboxes, alone[0].bboxes)
    torch.testing.assert_close(both[1].scores, alone[0].scores)
    assert torch.equal(both[1].labels, alone[0].labels)
    assert [len(r) for r in none] == [0, 0]


def test_training_with_an_image_without_proposals_and_ground_truth():
    roi_head, cfg = roi_head_of(CASCADE)
    _, samples = make_batch(num_imgs=2, size=128, num_gt=2, seed=7, empty=(0,))
    x = roi_features(cfg.model.roi_head.bbox_roi_extractor.out_channels, seed=7)
    proposals = roi_proposals(samples, seed=7)
    proposals[0] = _no_boxes()
    torch.manual_seed(0)
    losses = roi_head.loss(x, proposals, samples)
    # image 0 adds no sample: the regression mini-batch (64 per image in the tiny setting)
    # is image 1's 60 proposals (20 around each of its 2 gt boxes, 20 random), at every stage
    assert len(proposals[1]) == 60
    for k in range(3):
        assert losses[f"s{k}.num_reg"].item() == 60
        assert losses[f"s{k}.num_pos_reg"].item() > 0
    sum(v for key, v in losses.items() if "loss" in key).backward()
    assert roi_head.reg_head(2).fc_reg.weight.grad.abs().sum() > 0
