"""Multi-process launches: the workers' output lands in the training log the rule names."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from decoupled_rcnn.reproduction.pipeline import log_to
from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.run.distributed import run_workers, training_processes
from decoupled_rcnn.reproduction.run.failures import recording_failure

WORKER = "import sys; print('worker out'); print('worker err', file=sys.stderr)"


def test_the_workers_output_goes_where_the_rule_log_is(tmp_path):
    log = tmp_path / "train.log"
    with log_to(log):
        print("parent before")
        run_workers([sys.executable, "-c", WORKER])
        print("parent after")
    assert log.read_text().splitlines() == [
        "parent before", "worker out", "worker err", "parent after"]


def test_a_failed_worker_is_recorded_and_its_traceback_is_in_the_log_it_names(tmp_path):
    layout = Layout(tmp_path / "results", tmp_path / "reports" / "index.html")
    found = {"experiment": "exp", "seed": "0"}
    broken = [sys.executable, "-c", "raise RuntimeError('rank 1 broke')"]
    with pytest.raises(subprocess.CalledProcessError), \
            log_to(layout.path("train_log", **found)), \
            recording_failure(layout, found, "exp", 0, processes=2):
        run_workers(broken)
    record = json.loads(layout.path("train_failed", **found).read_text())
    assert record["error"] == ("exp seed 0: 2 training processes failed (exit status 1); "
                               "see the training log")
    with open(record["log"], encoding="utf-8") as named:
        assert "RuntimeError: rank 1 broke" in named.read()


def test_processes_one_per_gpu_else_the_configured_cpu_workers():
    assert training_processes({"processes": 2}, gpus=4) == 4
    assert training_processes({"processes": 2}, gpus=0) == 2
    assert training_processes({}, gpus=0) == 1
