"""The paper's constants, pinned on the full-size configs every manifest experiment trains.

Every expected value below is typed from the paper's text (``shared/paper``), with the section
it comes from; none is read from our configs. The configs are composed as the workflow's paper
profile composes them: ``compose_config(experiment.config, experiment.overrides)``, plus the
test setting's overrides for the test-time values. The sampling constants are also checked on
the samplers' behaviour on hand-made boxes whose IoUs can be read off by eye.
"""

from __future__ import annotations

import functools
import json

import pytest
import torch
from mmdet.models.task_modules.samplers import SamplingResult
from mmengine.config import Config
from mmengine.structures import InstanceData

from decoupled_rcnn.reproduction.manifest import Experiment, load_manifest
from decoupled_rcnn.reproduction.plan.compose import compose_config

# --- the paper's values -------------------------------------------------------------------
CLS_BATCH = 512  # Sec. V-B: "For the classification branch, we select 512 region proposals"
CLS_POS_FRACTION = 0.25  # Sec. IV-A: "a fixed fg-bg ratio (1:3) from Proposals_cls"
REG_BATCH = 512  # Sec. V-B: "a large mini-batch size of 512 to only select positive proposals"
IOU_P = 0.5  # Sec. IV-A, Eq. 5: "without loss of generality, we set p = 0.5"
NMS_CLS = 0.7  # Sec. III-A: NMS on RPN proposals "usually set to 0.7"; Table I's NMS_cls base
NMS_REG = 0.85  # Sec. V-C-2 / Table III: best at 0.85, "fixed in the following experiments"
TEST_PROPOSALS = 1000  # Sec. V-B: "we use at most 1k top-scoring proposals for detection"
TEST_NMS = 0.5  # Sec. V-B: "followed by NMS with a threshold of 0.5"
SCORE_THR = 0.05  # Sec. V-B: "Unless otherwise claimed, we set score_thr as 0.05"
SCORE_THR_TESTDEV = 0.001  # Table IX, footnote 4: "set the score_thr to 0.001"
LAMBDA_SINGLE = 1.0  # Sec. V-C-5: "When using a single regressor ... we empirically set λ = 1"
LAMBDA_CASCADE = 0.5  # Sec. V-C-5: "we set λ = 0.5 in the following experiments"
TABLE_X_IOUS = [0.5, 0.6, 0.7]  # Table X caption: "the increasing IoU thresholds ... as
# same as Cascade R-CNN" (Cascade R-CNN's 0.5/0.6/0.7)
# The paper gives no number of *training* proposals per set; 1000 each is the official code's
# ``rpn_proposal.max_num=1000`` (configs/decoupled_rcnn/coco/*.py) applied to both NMS outputs.
TRAIN_PROPOSALS_PER_SET = 1000

MANIFEST = load_manifest()
USING = MANIFEST.tables_using()
#: Models with the Decoupled RoI head and DSS (the Table I toy samples regression 1:3 by design,
#: the Table II "FPN unshared-FC" baseline shares one sample set by design).
DECOUPLED = {
    "decoupled_rcnn", "decoupled_rcnn_shared_fc", "decoupled_rcnn_cascade",
    "decoupled_rcnn_cascade_cls", "decoupled_rcnn_doublehead", "decoupled_rcnn_cascade_doublehead",
}
EXPERIMENTS = [e for e in MANIFEST.unique_experiments() if e.model in DECOUPLED]
#: Tables run after Table VI fixed lambda and Table III fixed NMS_reg (Sec. V-C, V-D).
MAIN_TABLES = {"VII", "VIII", "IX", "X", "XI"}
MAIN = [e for e in EXPERIMENTS if set(USING[e.id]) & MAIN_TABLES]
EVALUATIONS = [ev for ev in MANIFEST.evaluations()
               if MANIFEST.experiments[ev.experiment].model in DECOUPLED]


def _ids(items: list) -> list[str]:
    return [getattr(i, "id", None) or f"{i.experiment}/{i.test}" for i in items]


@functools.cache
def _compose(config: str, overrides_json: str) -> Config:
    return compose_config(config, json.loads(overrides_json))


def composed(exp: Experiment, test_id: str | None = None) -> Config:
    """The full-size config of a manifest experiment (and test setting) as the workflow runs it."""
    overrides = dict(exp.overrides)
    if test_id is not None:
        overrides.update(MANIFEST.tests[test_id].overrides)
    return _compose(exp.config, json.dumps(overrides, sort_keys=True))


def _num_stages(cfg: Config) -> int:
    return cfg.model.roi_head.get("num_stages", 1)


# --- configs ------------------------------------------------------------------------------
@pytest.mark.parametrize("exp", EXPERIMENTS, ids=_ids(EXPERIMENTS))
def test_classification_minibatch_is_512_at_1_to_3_with_gt_added(exp):
    cls = composed(exp).model.train_cfg.rcnn.cls
    sampler = cls.sampler
    assert sampler.type == "RandomSampler"
    assert (sampler.num, sampler.pos_fraction) == (CLS_BATCH, CLS_POS_FRACTION)
    assert sampler.add_gt_as_proposals is True
    assert (cls.assigner.pos_iou_thr, cls.assigner.neg_iou_thr) == (IOU_P, IOU_P)


@pytest.mark.parametrize("exp", EXPERIMENTS, ids=_ids(EXPERIMENTS))
def test_regression_minibatch_is_512_positives_padded_with_zero_weight_negatives(exp):
    rcnn = composed(exp).model.train_cfg.rcnn
    sampler = rcnn.reg.sampler
    assert sampler.type == "PositiveOnlySampler"
    assert sampler.num == REG_BATCH and sampler.pad_with_negatives is True
    assert rcnn.share_samples is False  # DSS: regression samples come from Proposals_reg
    assigner = rcnn.reg.assigner
    assert (assigner.pos_iou_thr, assigner.neg_iou_thr, assigner.min_pos_iou) == (IOU_P,) * 3
    assert assigner.match_low_quality is False  # only IoU > p is positive (Eq. 5)


@pytest.mark.parametrize("exp", EXPERIMENTS, ids=_ids(EXPERIMENTS))
def test_nms_cls_07_and_1000_proposals_per_set(exp):
    cfg = composed(exp).model
    proposal = cfg.train_cfg.rpn_proposal
    assert proposal.nms.iou_threshold == NMS_CLS
    assert proposal.reg_nms is not None  # two proposal sets (Fig. 2)
    assert proposal.max_per_img == proposal.reg_max_per_img == TRAIN_PROPOSALS_PER_SET
    assert cfg.test_cfg.rpn.max_per_img == TEST_PROPOSALS


@pytest.mark.parametrize("exp", MAIN, ids=_ids(MAIN))
def test_nms_reg_is_085_after_table_iii(exp):
    assert composed(exp).model.train_cfg.rpn_proposal.reg_nms.iou_threshold == NMS_REG


@pytest.mark.parametrize("exp", EXPERIMENTS, ids=_ids(EXPERIMENTS))
def test_every_regression_stage_assigns_at_a_fixed_iou_05(exp):
    """Sec. VI-A: "a fixed IoU threshold of 0.5 for all the cascaded regression stages"."""
    rcnn = composed(exp).model.train_cfg.rcnn
    if exp.model == "decoupled_rcnn_cascade_cls":  # Table X: Cascade R-CNN's schedule
        assert list(rcnn.stage_iou_thrs) == TABLE_X_IOUS
    else:
        assert rcnn.stage_iou_thrs is None  # None: every stage keeps the 0.5 assigner


@pytest.mark.parametrize("exp", MAIN, ids=_ids(MAIN))
def test_lambda_is_05_with_cascade_and_1_for_one_voc_regressor(exp):
    cfg = composed(exp)
    weight = cfg.model.roi_head.reg_loss_weight
    if _num_stages(cfg) > 1:
        assert weight == LAMBDA_CASCADE
    elif exp.dataset == "voc0712":
        assert weight == LAMBDA_SINGLE
    # COCO single-regressor rows: see test_coco_single_regressor_lambda_follows_official_code


COCO_SINGLE = [e for e in MAIN if e.dataset == "coco" and e.model in
               {"decoupled_rcnn", "decoupled_rcnn_doublehead"}]


@pytest.mark.parametrize("exp", COCO_SINGLE, ids=_ids(COCO_SINGLE))
def test_coco_single_regressor_lambda_follows_official_code(exp):
    """Sec. V-C-5 sets λ = 0.5 "in the following experiments" (Tables VII-XI); the official
    ``DecoupledBBoxHead.loss`` comment "without refine on coco: avg_factor = 2048 (1024 per
    batch)" is λ = 0.5 against 512 samples per image, and "without refine on voc ... (512 per
    batch)" λ = 1 (kept for VOC, Sec. V-C-5's single-regressor λ = 1)."""
    assert composed(exp).model.roi_head.reg_loss_weight == LAMBDA_CASCADE


@pytest.mark.parametrize("ev", EVALUATIONS, ids=_ids(EVALUATIONS))
def test_test_time_nms_05_and_score_thr(ev):
    exp = MANIFEST.experiments[ev.experiment]
    test = MANIFEST.tests[ev.test]
    rcnn = composed(exp, ev.test).model.test_cfg.rcnn
    assert rcnn.nms.iou_threshold == TEST_NMS
    assert rcnn.nms.type == ("soft_nms" if test.nms == "soft_nms" else "nms")
    assert rcnn.score_thr == (SCORE_THR_TESTDEV if test.split == "test-dev" else SCORE_THR)


def test_testdev_settings_are_the_only_score_thr_0001():
    thrs = {t.id: t.overrides["model.test_cfg.rcnn.score_thr"] for t in MANIFEST.tests.values()
            if "model.test_cfg.rcnn.score_thr" in t.overrides}
    assert {k: v for k, v in thrs.items() if v != SCORE_THR} == {
        "testdev": SCORE_THR_TESTDEV, "testdev_softnms": SCORE_THR_TESTDEV}


def test_built_cascade_head_assigns_every_stage_at_05_and_weighs_lambda_05():
    """The built head of a full-size cascade config, 4 stages: one 0.5 assigner per stage."""
    from mmdet.registry import MODELS

    import decoupled_rcnn.models  # noqa: F401

    exp = MANIFEST.experiments["coco1x_r50_dec_c3"]
    cfg = composed(exp).model
    head_cfg = dict(cfg.roi_head, train_cfg=cfg.train_cfg.rcnn, test_cfg=cfg.test_cfg.rcnn,
                    num_stages=4)
    head = MODELS.build(head_cfg)
    assert [(a.pos_iou_thr, a.neg_iou_thr, a.min_pos_iou) for a in head.reg_assigners] == [
        (IOU_P, IOU_P, IOU_P)] * 4
    assert head.reg_loss_weight == LAMBDA_CASCADE
    assert [s.num for s in head.reg_samplers] == [REG_BATCH] * 4


# --- sampler behaviour on hand-made boxes ---------------------------------------------------
def _sampling_parts(exp_id: str = "voc_r101_dec_reg085") -> tuple:
    """Assigner and samplers of a full-size config (built by mmdet's registry)."""
    from mmdet.registry import TASK_UTILS
    from mmdet.utils import register_all_modules

    import decoupled_rcnn.models  # noqa: F401

    register_all_modules()
    rcnn = composed(MANIFEST.experiments[exp_id]).model.train_cfg.rcnn
    build = TASK_UTILS.build
    return (build(rcnn.reg.assigner), build(rcnn.reg.sampler), build(rcnn.cls.assigner),
            build(rcnn.cls.sampler), rcnn)


GT = InstanceData(bboxes=torch.tensor([[0.0, 0.0, 10.0, 10.0]]), labels=torch.tensor([3]))


def _strips(ious: list[float]) -> torch.Tensor:
    """Boxes ``[0, 0, 10, 10 * iou]`` inside the gt box: their IoU with it is exactly ``iou``."""
    return torch.tensor([[0.0, 0.0, 10.0, 10.0 * v] for v in ious])


def _far(n: int) -> torch.Tensor:
    """``n`` boxes far from the gt (IoU 0)."""
    x = 20.0 + torch.arange(n, dtype=torch.float32)[:, None] % 50
    return torch.cat([x, x, x + 5, x + 5], dim=1)


def _sample(assigner, sampler, priors: torch.Tensor) -> SamplingResult:
    candidates = InstanceData(priors=priors)
    return sampler.sample(assigner.assign(candidates, GT), candidates, GT)


def test_regression_takes_every_proposal_above_iou_05_and_pads_to_512():
    reg_assigner, reg_sampler, *_ = _sampling_parts()
    # IoUs 0.3, 0.49 | 0.51, 0.6, 0.9, 1.0, then 600 sure negatives
    priors = torch.cat([_strips([0.3, 0.49, 0.51, 0.6, 0.9, 1.0]), _far(600)])
    torch.manual_seed(0)
    res = _sample(reg_assigner, reg_sampler, priors)
    assert sorted(res.pos_inds.tolist()) == [2, 3, 4, 5]  # exactly the IoU > 0.5 ones
    assert not res.pos_is_gt.any()  # gt boxes are not regression candidates
    assert len(res.neg_inds) == 512 - 4  # padding fills the mini-batch to 512
    assert len(res.priors) == 512


def test_regression_caps_positives_at_512_without_negatives():
    reg_assigner, reg_sampler, *_ = _sampling_parts()
    gen = torch.Generator().manual_seed(0)
    ious = (0.52 + 0.48 * torch.rand(600, generator=gen)).tolist()
    torch.manual_seed(0)
    res = _sample(reg_assigner, reg_sampler, torch.cat([_strips(ious), _far(100)]))
    assert len(res.pos_inds) == 512 and len(res.neg_inds) == 0
    assert len(set(res.pos_inds.tolist())) == 512 and (res.pos_inds < 600).all()


def test_padding_negatives_carry_zero_regression_weight():
    from mmdet.registry import MODELS

    reg_assigner, reg_sampler, _, _, rcnn = _sampling_parts()
    torch.manual_seed(0)
    res = _sample(reg_assigner, reg_sampler, torch.cat([_strips([0.6, 0.9]), _far(600)]))
    head_cfg = composed(MANIFEST.experiments["voc_r101_dec_reg085"]).model.roi_head.reg_head
    labels, _, _, bbox_weights = MODELS.build(head_cfg).get_targets([res], rcnn.reg)
    assert bbox_weights.shape == (512, 4)
    assert (bbox_weights[:2] == 1).all() and (bbox_weights[2:] == 0).all()
    assert labels[:2].tolist() == [3, 3] and (labels[2:] == 20).all()  # 20 VOC classes: bg


def test_classification_samples_512_at_1_to_3_with_the_gt_added():
    *_, cls_assigner, cls_sampler, _ = _sampling_parts()
    torch.manual_seed(0)
    few = _sample(cls_assigner, cls_sampler, torch.cat([_strips([0.6, 0.9]), _far(600)]))
    # 2 positive proposals + the gt itself; the rest of the 512 are negatives
    assert len(few.pos_inds) == 3 and int(few.pos_is_gt.sum()) == 1
    assert len(few.neg_inds) == 512 - 3
    gen = torch.Generator().manual_seed(0)
    many = _strips((0.52 + 0.48 * torch.rand(300, generator=gen)).tolist())
    torch.manual_seed(0)
    lots = _sample(cls_assigner, cls_sampler, torch.cat([many, _far(600)]))
    assert (len(lots.pos_inds), len(lots.neg_inds)) == (128, 384)  # 512 at 1:3
