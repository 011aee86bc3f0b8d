"""A NaN / inf loss stops the training at once, and the experiment reads as failed."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml

from decoupled_rcnn.reproduction.pipeline import (
    make_report,
    make_tables,
    prepare_data,
    run_training,
)
from decoupled_rcnn.reproduction.plan.declared import declared_results
from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config
from decoupled_rcnn.reproduction.run.failures import EarlierFailureError
from decoupled_rcnn.reproduction.run.finite_loss import (
    FiniteLossHook,
    NonFiniteLossError,
    add_finite_loss_hook,
)

ROOT = Path(__file__).resolve().parents[3]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
#: Table V's rows: NMS_reg 0.7 / 0.85 / (0.85 again in Table VI) with 3 stages.
EXPERIMENT = "voc_r101_dec_c3_reg085_l100"
OTHER = "voc_r101_dec_c3_reg070_l100"


def _settings(tmp: Path, lr: float) -> dict:
    """A Table V subset on 4 generated images; ``lr=1e8`` makes AdamW's first step blow up
    the weights, so iteration 2's loss is NaN (deterministic: fixed seeds, CPU)."""
    return {"tables": ["V"], "results_dir": str(tmp / "results"),
            "report": str(tmp / "reports" / "index.html"),
            "data": {"source": "synthetic",
                     "synthetic": {"seed": 0, "num_train": 4, "num_val": 2, "size": 96}},
            "model": {"tiny": True, "pretrained": False},
            "schedule": {"kind": "short",
                         "short": {"iters": 4, "lr": lr, "batch_size": 2, "warmup_iters": 1,
                                   "checkpoint_interval": 2, "clip_grad": None}}}


def _runner_at(iteration: int) -> SimpleNamespace:
    return SimpleNamespace(iter=iteration)


def test_the_hook_names_the_run_the_iteration_and_the_bad_terms():
    hook = FiniteLossHook(label="exp seed 3")
    outputs = {"loss": torch.tensor(math.nan), "loss_rpn_cls": torch.tensor(0.7),
               "s1.loss_bbox": torch.tensor(math.nan), "s0.acc": torch.tensor(math.nan)}
    with pytest.raises(NonFiniteLossError) as err:
        hook.after_train_iter(_runner_at(36), 36, outputs=outputs)
    message = str(err.value)
    assert message == ("exp seed 3: loss is nan at iteration 37 (s1.loss_bbox=nan, loss=nan); "
                       "training stopped")
    assert "\n" not in message and "loss_rpn_cls" not in message and "acc" not in message


def test_an_infinite_loss_stops_too_and_a_finite_one_does_not():
    hook = FiniteLossHook(label="exp seed 0")
    hook.after_train_iter(_runner_at(0), 0, outputs={"loss": torch.tensor(1.5)})
    with pytest.raises(NonFiniteLossError, match=r"loss is inf at iteration 5 \(loss_cls=inf"):
        hook.after_train_iter(_runner_at(4), 4, outputs={"loss_cls": torch.tensor(math.inf),
                                                         "loss": torch.tensor(math.inf)})


def test_every_training_gets_the_hook_once():
    from mmengine.config import Config

    cfg = Config({"work_dir": "w", "custom_hooks": [{"type": "EMAHook"}]})
    add_finite_loss_hook(cfg)
    add_finite_loss_hook(cfg, "exp seed 1")
    assert [h["type"] for h in cfg.custom_hooks] == ["EMAHook", "FiniteLossHook"]
    assert cfg.custom_hooks[1]["label"] == "exp seed 1"


@pytest.fixture(scope="module")
def nan_run(tmp_path_factory):
    """One real training through the train rule's function, with a NaN at iteration 2."""
    tmp = tmp_path_factory.mktemp("nan")
    wcfg = load_workflow_config(None, _settings(tmp, lr=1e8))
    layout = Layout.from_config(wcfg)
    prepare_data(wcfg, layout.path("data_ready"))
    paths = {k: layout.path(k, experiment=EXPERIMENT, seed=0)
             for k in ("checkpoint", "train_info", "train_failed", "train_work")}
    with pytest.raises(NonFiniteLossError) as err:
        run_training(wcfg, EXPERIMENT, 0, paths["checkpoint"], paths["train_info"])
    return wcfg, layout, paths, str(err.value)


def test_a_nan_loss_stops_the_training_with_one_line(nan_run):
    _, _, paths, message = nan_run
    assert re.fullmatch(rf"{EXPERIMENT} seed 0: loss is nan at iteration 2 \(.*loss=nan\); "
                        "training stopped", message), message
    assert not paths["checkpoint"].exists() and not paths["train_info"].exists()
    # Stopped before the checkpoint hook of iteration 2: no NaN weights to resume from.
    assert not list(paths["train_work"].glob("iter_*.pth"))
    record = json.loads(paths["train_failed"].read_text())
    assert record["status"] == "failed" and record["error"] == message


def test_tables_and_report_show_the_experiment_failed_never_a_number(nan_run):
    wcfg, layout, _, message = nan_run
    files = declared_results(wcfg)
    failed = layout.path("metrics", experiment=EXPERIMENT, seed=0, test="default")
    assert failed in files["metrics"] and not failed.exists()
    make_tables(wcfg, files["metrics"], files["benchmarks"], files["tables"], files["cells"],
                files["runs"], files["claims"])
    import pandas as pd

    cells = pd.read_csv(files["cells"])
    mine = cells[cells["evaluation"] == f"{EXPERIMENT}/default"]
    assert not mine.empty and set(mine["status"]) == {"failed"}
    assert mine["measured"].isna().all()
    assert set(cells[cells["evaluation"] == f"{OTHER}/default"]["status"]) == {"missing"}
    make_report(wcfg, wcfg["report"], cells=files["cells"], runs=files["runs"],
                claims=files["claims"], metrics=files["metrics"], figures=[])
    html = Path(wcfg["report"]).read_text(encoding="utf-8")
    assert f"training failed: {message}" in html
    assert re.search(r'<span class="badge">failed</span> 1', html)


def test_a_retry_after_the_nan_refuses_at_once_naming_the_failure(nan_run):
    wcfg, _, paths, message = nan_run
    # Snakemake's retries (allocation 2) are for trainings stopped at their time limit.
    with pytest.raises(EarlierFailureError) as err:
        run_training(wcfg, EXPERIMENT, 0, paths["checkpoint"], paths["train_info"], allocation=2)
    assert str(err.value) == (f"allocation 2: not retrying, the previous allocation failed: "
                              f"{message} (retries continue trainings stopped at their time "
                              "limit only)")
    assert json.loads(paths["train_failed"].read_text())["error"] == message  # kept


def test_a_later_successful_training_removes_the_failure_record(nan_run):
    wcfg, layout, paths, _ = nan_run
    good = load_workflow_config(None, {**_settings(Path(wcfg["results_dir"]).parent, lr=1e-3),
                                       "schedule": {"kind": "short", "short": {
                                           "iters": 1, "batch_size": 2, "warmup_iters": 1}}})
    run_training(good, EXPERIMENT, 0, paths["checkpoint"], paths["train_info"])
    assert paths["checkpoint"].is_file() and not paths["train_failed"].exists()


@pytest.mark.workflow
def test_the_train_rule_fails_naming_the_experiment_and_iteration(tmp_path):
    config = tmp_path / "nan.yaml"
    settings = _settings(Path("."), lr=1e8)
    settings.update(results_dir="results", report="reports/index.html")
    config.write_text(yaml.safe_dump(settings))
    target = f"results/experiments/{EXPERIMENT}/seed0/train/model.pth"
    result = subprocess.run(
        [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(config), "--cores", "1", target],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode != 0
    assert re.search(rf"{EXPERIMENT} seed 0: loss is nan at iteration 2 \(", result.stderr), \
        result.stderr[-3000:]
    assert (tmp_path / f"results/experiments/{EXPERIMENT}/seed0/train/failed.json").is_file()
    assert not (tmp_path / target).exists()
