"""The workflow's benchmark step: which experiments, and files the tables can read."""

from __future__ import annotations

import json

from decoupled_rcnn.reproduction.manifest import load_manifest
from decoupled_rcnn.reproduction.pipeline import run_benchmark
from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.plan.selection import benchmark_experiments
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config
from decoupled_rcnn.reproduction.results.read import read_results
from decoupled_rcnn.reproduction.results.tables import build_cells, build_runs

MANIFEST = load_manifest()


def test_only_tables_with_speed_flops_or_params_are_benchmarked():
    assert benchmark_experiments(MANIFEST, ["III", "V"]) == []
    assert benchmark_experiments(MANIFEST, ["X"]) == ["coco1x_r101_cascade_rcnn",
                                                      "coco1x_r101_dec_c3_cls"]
    vii = benchmark_experiments(MANIFEST, ["VII"])
    assert len(vii) == 6 and len(set(vii)) == 6
    assert benchmark_experiments(MANIFEST, ["VII"], runs=vii[:2]) == vii[:2]


def test_benchmark_files_fill_the_table_cells(tmp_path):
    wcfg = load_workflow_config(overrides={
        "results_dir": str(tmp_path / "results"), "report": str(tmp_path / "r" / "index.html"),
        "tables": ["X"], "model": {"pretrained": False},
        "benchmark": {"size": [64, 64], "repeats": 1, "warmup": 0, "threads": 1,
                      "flops": False, "device": "cpu"}})
    layout = Layout.from_config(wcfg)
    files = [layout.path("benchmark", experiment=e)
             for e in benchmark_experiments(MANIFEST, ["X"])]
    summary = layout.path("bench_summary")
    run_benchmark(wcfg, summary, files)

    header = json.loads(summary.read_text())
    assert header["header"]["threads"] == 1 and header["header"]["hardware"]
    # No Faster R-CNN among Table X's experiments: the first entry is the baseline.
    assert header["entries"][0]["ratio_infer"] == 1.0
    results = read_results(layout, [], files)
    cells = build_cells(MANIFEST, build_runs(MANIFEST, results, [0], ["X"]))
    speed = cells[(cells["table"] == "X") & (cells["metric"] == "s_per_img")]
    assert len(speed) == 2 and (speed["status"] == "ok").all()
    assert (speed["measured"] > 0).all()
    params = cells[(cells["table"] == "X") & (cells["metric"] == "params_trainable_m")]
    cascade_cls, cascade = sorted(params["measured"], reverse=True)
    assert cascade_cls > cascade  # the decoupled cascade-cls head has more parameters
