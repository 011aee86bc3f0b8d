"""The workflow's benchmark step: which experiments, and files the tables can read."""

from __future__ import annotations

import json

from decoupled_rcnn.manifest import load_manifest
from decoupled_rcnn.pipeline import benchmark_experiments, run_benchmark
from decoupled_rcnn.tables import build_cells, load_results

MANIFEST = load_manifest()


def test_only_tables_with_speed_flops_or_params_are_benchmarked():
    assert benchmark_experiments(MANIFEST, ["III", "V"]) == []
    assert benchmark_experiments(MANIFEST, ["X"]) == ["coco1x_r101_cascade_rcnn",
                                                      "coco1x_r101_dec_c3_cls"]
    vii = benchmark_experiments(MANIFEST, ["VII"])
    assert len(vii) == 6 and len(set(vii)) == 6


def test_benchmark_files_fill_the_table_cells(tmp_path):
    wcfg = {
        "manifest": "configs/paper/manifest.yaml",
        "model": {"tiny": True},
        "benchmark": {"size": [64, 64], "repeats": 1, "warmup": 0, "threads": 1,
                      "flops": False, "device": "cpu"},
    }
    root = tmp_path / "experiments"
    per_exp = {e: root / e / "benchmark.json" for e in benchmark_experiments(MANIFEST, ["X"])}
    run_benchmark(wcfg, tmp_path / "benchmark.json", per_exp)

    summary = json.loads((tmp_path / "benchmark.json").read_text())
    assert summary["header"]["threads"] == 1 and summary["header"]["hardware"]
    # No Faster R-CNN among Table X's experiments: the first entry is the baseline.
    assert summary["entries"][0]["ratio_infer"] == 1.0
    cells = build_cells(MANIFEST, load_results(MANIFEST, root))
    speed = cells[(cells["table"] == "X") & (cells["metric"] == "s_per_img")]
    assert len(speed) == 2 and (speed["status"] == "ok").all()
    assert (speed["measured"] > 0).all()
    params = cells[(cells["table"] == "X") & (cells["metric"] == "params_trainable_m")]
    cascade_cls, cascade = sorted(params["measured"], reverse=True)
    assert cascade_cls > cascade  # the decoupled cascade-cls head has more parameters
