"""Model size and FLOPs counting (decoupled_rcnn.measure.complexity, ``decoupled-rcnn complexity``).

Values called ``paper_*`` come from the paper (via the packaged row table); every other
expectation is derived here from layer shapes.
"""

from __future__ import annotations

import json

import pytest

from decoupled_rcnn import cli
from decoupled_rcnn.measure import complexity
from decoupled_rcnn.paths import REPO_ROOT

FPN_R50 = "configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py"
DECOUPLED_R50 = "configs/decoupled_rcnn/decoupled-rcnn_r50_fpn_1x_coco.py"
DECOUPLED_CASCADE_R50 = "configs/decoupled_rcnn/decoupled-rcnn-cascade_r50_fpn_1x_coco.py"
DECOUPLED_DOUBLEHEAD_R50 = "configs/decoupled_rcnn/decoupled-rcnn-doublehead_r50_fpn_1x_coco.py"

# A small image keeps FLOPs counting cheap: the RoI-head FLOPs per RoI do not depend on it.
SMALL_SHAPE = (3, 160, 256)
NUM_ROIS = 64

# Multiply-adds of one RoI through a 2-FC branch (RoIAlign 256x7x7 -> FC 1024 -> FC 1024),
# and of the output layers: 81-way classifier, 80x4 class-specific and 4 agnostic deltas.
TWO_FC_MACS = 256 * 7 * 7 * 1024 + 1024 * 1024
CLS_MACS = 1024 * 81
REG_MACS = 1024 * 80 * 4
AGNOSTIC_REG_MACS = 1024 * 4


def _paper_rows(table: str) -> list[dict]:
    return [row for row in complexity.paper_rows() if row["table"] == table]


@pytest.mark.parametrize("row", _paper_rows("VIII"), ids=lambda r: r["row"])
def test_table_viii_trainable_params_equal_papers(row):
    """Build only (CPU, no weights): trainable parameters in M equal the paper's to 2 decimals."""
    measured = complexity.measure_complexity(row["config"], count_flops=False)
    assert measured["params_trainable_m"] == pytest.approx(row["paper_params_m"], abs=1e-9)
    # The frozen stem and stage 1 (about 0.22 M) are excluded from the paper's count.
    frozen = measured["params_total"] - measured["params_trainable"]
    assert 0.2e6 < frozen < 0.25e6


def test_paper_rows_come_from_the_manifest():
    rows = complexity.paper_rows()
    counts = {table: sum(r["table"] == table for r in rows) for table in ("VIII", "IX", "X", "XI")}
    assert counts == {"VIII": 9, "IX": 6, "X": 2, "XI": 8}  # IX: our rows only
    soft = [r for r in rows if r["cfg_options"].get("model.test_cfg.rcnn.nms.type") == "soft_nms"]
    assert soft and all(r["table"] == "IX" for r in soft)  # Ours+ / Ours*: test settings
    for row in rows:
        assert (REPO_ROOT / row["config"]).is_file()


def _roi_head_flops(config: str) -> int:
    from decoupled_rcnn.reproduction.plan.compose import compose_config

    detector = complexity.build_detector(compose_config(config))
    _, by_module = complexity.count_flops_of(detector, SMALL_SHAPE, NUM_ROIS)
    return by_module["roi_head"]


def test_roi_head_flops_match_layer_shapes():
    """FPN head, + one 2-FC branch (Decoupled), + 2 agnostic stages (cascade), per RoI."""
    fpn = _roi_head_flops(FPN_R50)
    decoupled = _roi_head_flops(DECOUPLED_R50)
    cascade = _roi_head_flops(DECOUPLED_CASCADE_R50)
    assert fpn == NUM_ROIS * (TWO_FC_MACS + CLS_MACS + REG_MACS)
    assert decoupled - fpn == NUM_ROIS * TWO_FC_MACS
    assert cascade - decoupled == NUM_ROIS * 2 * (TWO_FC_MACS + AGNOSTIC_REG_MACS)


def _bn_conv_macs(c_in: int, c_out: int, k: int) -> int:
    """Conv kxk (no bias) + affine BatchNorm (2 FLOPs per output) on a 7x7 RoI feature."""
    return 49 * (c_in * c_out * k * k + 2 * c_out)


def test_double_head_regressor_flops_match_layer_shapes():
    """Table XI Double-Head: 2-FC classifier + residual block and 4 bottlenecks regressor."""
    res_block = _bn_conv_macs(256, 256, 3) + 2 * _bn_conv_macs(256, 1024, 1)
    bottleneck = (
        _bn_conv_macs(1024, 256, 1) + _bn_conv_macs(256, 256, 3) + _bn_conv_macs(256, 1024, 1)
    )
    # the 7x7 average pool before fc_reg is not a counted op (aten::avg_pool2d)
    reg_branch = res_block + 4 * bottleneck + REG_MACS
    expected = NUM_ROIS * (TWO_FC_MACS + CLS_MACS + reg_branch)
    assert _roi_head_flops(DECOUPLED_DOUBLEHEAD_R50) == expected


def test_proposals_are_fixed_and_inside_the_image():
    boxes = complexity.paper_proposals(1000, (800, 1333))
    assert boxes.shape == (1000, 4)
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    assert boxes[:, 0::2].max() <= 1332 and boxes[:, 1::2].max() <= 799 and boxes.min() >= 0
    assert (complexity.paper_proposals(1000, (800, 1333)) == boxes).all()


def test_cli_json_structure(capsys):
    args = ["complexity", FPN_R50, "--json", "--shape", "224", "352", "--num-proposals", "8"]
    assert cli.main(args) == 0
    entries = json.loads(capsys.readouterr().out)
    assert len(entries) == 1
    entry = entries[0]
    assert entry["config"] == FPN_R50
    assert entry["input_shape"] == [3, 224, 352] and entry["num_proposals"] == 8
    assert entry["params_trainable_m"] == round(entry["params_trainable"] / 1e6, 2)
    assert entry["params_total_m"] == round(entry["params_total"] / 1e6, 2)
    assert entry["params_total"] > entry["params_trainable"] > 0
    assert entry["gflops"] == round(entry["flops"] / 1e9, 2)
    assert entry["flops"] == sum(entry["flops_by_module"].values())
    assert set(entry["flops_by_module"]) == {"backbone", "neck", "rpn_head", "roi_head"}
    assert entry["flops_by_module"]["roi_head"] == 8 * (TWO_FC_MACS + CLS_MACS + REG_MACS)


def test_cli_paper_rows_json(tmp_path, capsys):
    rows = tmp_path / "rows.yaml"
    rows.write_text(
        "rows:\n"
        f"  - {{table: VIII, row: FPN, config: {FPN_R50}, paper_params_m: 41.53, "
        "paper_gflops: 215.82}\n"
    )
    args = ["complexity", "--paper", "--rows", str(rows), "--json", "--params-only", "--check"]
    assert cli.main(args) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["table"] == "VIII" and entry["row"] == "FPN" and entry["config"] == FPN_R50
    assert entry["paper_params_m"] == 41.53 and entry["diff_params_m"] == 0.0
    assert entry["params_match"] is True
    assert "gflops" not in entry


def test_compare_with_paper_flags_differences():
    measured = {"params_trainable_m": 41.54, "flops": 220e9, "gflops": 220.0}
    row = {
        "table": "VIII",
        "row": "x",
        "config": "c",
        "paper_params_m": 41.53,
        "paper_gflops": 215.82,
    }
    out = complexity.compare_with_paper(row, measured)
    assert out["diff_params_m"] == 0.01 and out["params_match"] is False
    assert out["flops_within_tol"] is False and out["diff_gflops_pct"] == pytest.approx(1.937, 1e-3)


@pytest.mark.slow
def test_fpn_r50_full_size_flops_within_one_percent_of_papers():
    (row,) = [r for r in _paper_rows("VIII") if r["config"] == FPN_R50]
    measured = complexity.measure_complexity(FPN_R50)
    assert abs(measured["flops"] / 1e9 - row["paper_gflops"]) <= 0.01 * row["paper_gflops"]
    # Backbone + neck + RPN do not depend on the proposals; RoI head = 1000 RoIs.
    assert measured["flops_by_module"]["roi_head"] == 1000 * (TWO_FC_MACS + CLS_MACS + REG_MACS)
