"""complexity, bench and the train rule build the same network for one experiment."""

from __future__ import annotations

import json

import pytest

from decoupled_rcnn.measure import complexity
from decoupled_rcnn.reproduction.pipeline import run_benchmark
from decoupled_rcnn.reproduction.plan.compose import experiment_config
from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config


@pytest.fixture(scope="module")
def wcfg(tmp_path_factory):
    root = tmp_path_factory.mktemp("one_network")
    return load_workflow_config(overrides={
        "results_dir": str(root / "results"), "report": str(root / "reports" / "index.html"),
        "benchmark": {"size": [64, 64], "repeats": 1, "warmup": 0, "threads": 1,
                      "flops": False, "device": "cpu"}})


@pytest.mark.parametrize("experiment", ["coco1x_r50_dec_c3", "voc_r101_faster"])
def test_same_parameter_count_everywhere(wcfg, experiment, tmp_path, capsys):
    from decoupled_rcnn import cli
    from decoupled_rcnn.reproduction.run.runs import build_runner

    # The train rule: the Runner the training builds from the composed config.
    cfg = experiment_config(wcfg, experiment, work_dir=tmp_path / "work")
    runner = build_runner(cfg)
    trained = sum(p.numel() for p in runner.model.parameters() if p.requires_grad)

    # decoupled-rcnn complexity --experiment under the same workflow config.
    counted = complexity.measure_complexity(experiment_config(wcfg, experiment),
                                            count_flops=False)["params_trainable"]
    # The benchmark rule.
    layout = Layout.from_config(wcfg)
    out = layout.path("benchmark", experiment=experiment)
    run_benchmark(wcfg, tmp_path / "bench.json", [out])
    benched = json.loads(out.read_text())["entries"][0]["params_trainable"]

    assert trained == counted == benched
    assert trained < 10e6  # the tiny setting (a few M), not the paper's 83.22 M

    capsys.readouterr()
    assert cli.main(["complexity", "--experiment", experiment, "--params-only", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed[0]["params_trainable"] == trained  # the default workflow config is wcfg's
