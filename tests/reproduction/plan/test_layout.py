"""The results layout: templates, concrete paths and parsing a declared path back."""

from __future__ import annotations

from pathlib import Path

import pytest

from decoupled_rcnn.reproduction.plan.layout import Layout, MetricsKey

LAYOUT = Layout(Path("results"), Path("reports/index.html"))


def test_templates_keep_the_snakemake_wildcards():
    assert LAYOUT.template("metrics") == (
        "results/experiments/{experiment}/seed{seed}/{test}/metrics.json")
    assert LAYOUT.template("figure") == "reports/figures/{name}.png"


def test_path_and_parse_round_trip():
    path = LAYOUT.path("checkpoint", experiment="voc_r101_dec_reg085", seed=1)
    assert path == Path("results/experiments/voc_r101_dec_reg085/seed1/train/model.pth")
    assert LAYOUT.parse("checkpoint", path) == {"experiment": "voc_r101_dec_reg085", "seed": "1"}
    metrics = LAYOUT.path("metrics", experiment="e", seed=0, test="stage_3_1")
    assert LAYOUT.metrics_key(metrics) == MetricsKey("e", 0, "stage_3_1")
    assert LAYOUT.metrics_key(metrics).evaluation == "e/stage_3_1"
    assert LAYOUT.metrics_key("results/experiments/e/benchmark.json") == MetricsKey("e", None, None)


def test_a_path_of_another_kind_is_refused():
    with pytest.raises(ValueError, match="is not a train_info file"):
        LAYOUT.parse("train_info", "results/experiments/e/seed0/default/metrics.json")
    with pytest.raises(ValueError):
        LAYOUT.metrics_key("elsewhere/metrics.json")  # neither a metrics nor a benchmark file


def test_from_config_reads_results_dir_and_report():
    layout = Layout.from_config({"results_dir": "/tmp/r", "report": "/tmp/out/index.html"})
    assert layout.path("cells") == Path("/tmp/r/tables/cells.csv")
    assert layout.path("curves", experiment="x") == Path("/tmp/out/figures/curves/x.png")
