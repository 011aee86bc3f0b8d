"""On your own dataset a VOC row and a COCO row of one model are the same run: it trains once."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from custom_testlib import make_voc_dataset, voc_custom  # noqa: E402

from decoupled_rcnn.reproduction.plan.selection import select  # noqa: E402
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config  # noqa: E402


def test_identical_runs_on_custom_data_train_once_with_full_models(tmp_path: Path):
    root = make_voc_dataset(tmp_path / "widgets")
    wcfg = load_workflow_config(overrides={
        "results_dir": str(tmp_path / "results"), "tables": ["VII", "VIII"],
        "model": {"tiny": False, "pretrained": False},
        "data": {"source": "custom", "custom": voc_custom(root)}})
    selection = select(wcfg)
    # Table VIII's COCO 1x R50 / R101 FPN rows are Table VII's VOC rows once both are the
    # widgets data with the short schedule.
    assert selection.aliases["coco1x_r50_faster"] == "voc_r50_faster"
    assert selection.aliases["coco1x_r101_faster"] == "voc_r101_faster"
    assert "coco1x_r50_faster" not in selection.experiments
