"""Training with more than one process (the path taken for ``gpus > 1``), on 2 CPU processes.

``resources.train.processes: 2`` sends a training through the same ``torchrun`` launch as
several GPUs do, with the gloo backend. One tiny experiment is started, interrupted (SIGTERM
to its process group, as Slurm does on a time limit) once rank 0 has written its first
checkpoint, and run again, which must resume from that checkpoint.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
from mmengine.config import Config

from decoupled_rcnn.checkpoint import load_checkpoint_file
from decoupled_rcnn.reproduction.pipeline import prepare_data
from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

pytestmark = pytest.mark.slow

EXPERIMENT = "voc_r101_dec_c3_reg085_l100"
ITERS, INTERVAL, IMAGES_PER_ITER = 40, 5, 4
TRAIN = """
import json, sys
from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.pipeline import run_training
wcfg = json.loads(open(sys.argv[1]).read())
layout = Layout.from_config(wcfg)
paths = dict(experiment=sys.argv[2], seed=0)
run_training(wcfg, sys.argv[2], 0, layout.path("checkpoint", **paths),
             layout.path("train_info", **paths))
"""


def _start(wcfg_file: Path, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-c", TRAIN, str(wcfg_file), EXPERIMENT],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"training exited ({proc.returncode}) before {path.name}"
        assert time.monotonic() < deadline, f"no {path.name} after {timeout} s"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("distributed")
    wcfg = load_workflow_config(overrides={
        "tables": ["V"], "results_dir": str(root / "results"),
        "report": str(root / "reports" / "index.html"),
        "data": {"source": "synthetic",
                 "synthetic": {"seed": 0, "num_train": 12, "num_val": 6, "size": 96}},
        "model": {"tiny": True, "pretrained": False},
        "schedule": {"kind": "short",
                     "short": {"iters": ITERS, "lr": 0.01, "batch_size": IMAGES_PER_ITER,
                               "warmup_iters": 1, "checkpoint_interval": INTERVAL}},
        "resources": {"train": {"processes": 2}},
    })
    layout = Layout.from_config(wcfg)
    prepare_data(wcfg, layout.path("data_ready"))
    wcfg_file = root / "wcfg.json"
    wcfg_file.write_text(json.dumps(wcfg))
    train_dir = layout.path("checkpoint", experiment=EXPERIMENT, seed=0).parent
    work = train_dir / "work"

    first_log = root / "first.log"
    proc = _start(wcfg_file, first_log)
    _wait_for(work / "last_checkpoint", proc, timeout=300)  # rank 0 saved iter_5 in full
    workers = psutil.Process(proc.pid).children(recursive=True)
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=60)
    _, alive = psutil.wait_procs(workers, timeout=30)
    interrupted = {"finished": (train_dir / "model.pth").exists(),
                   "workers": len(workers), "alive": [p.pid for p in alive],
                   "log": first_log.read_text()}

    second_log = root / "second.log"
    proc = _start(wcfg_file, second_log)
    assert proc.wait(timeout=600) == 0, second_log.read_text()[-4000:]
    return {"wcfg": wcfg, "train_dir": train_dir, "interrupted": interrupted,
            "log": second_log.read_text(),
            "info": json.loads((train_dir / "train.json").read_text())}


def test_two_cpu_processes_train_through_torchrun(runs):
    first = runs["interrupted"]
    # torchrun, its agent and 2 workers (python -c -> torchrun -> 2 x decoupled_rcnn.cli).
    assert first["workers"] >= 3
    assert "Distributed launcher: pytorch" in first["log"]
    assert "Distributed training: True" in first["log"]
    assert "GPU number: 2" in first["log"]  # mmengine's name for the world size
    assert runs["info"]["processes"] == 2
    assert runs["info"]["iterations"] == ITERS


def test_the_interrupted_run_resumes_from_rank_0s_checkpoint(runs):
    first, info = runs["interrupted"], runs["info"]
    assert not first["finished"], "the first run ended before it was interrupted"
    assert first["alive"] == [], "a training worker outlived the interruption"
    # Only rank 0 saves: one save per checkpoint in the whole job's log.
    assert first["log"].count(f"Saving checkpoint at {INTERVAL} iterations") == 1
    resumed = Path(info["resumed_from"])
    step = int(re.fullmatch(r"iter_(\d+)\.pth", resumed.name).group(1))
    assert INTERVAL <= step < ITERS
    assert f"resumed epoch: 0, iter: {step}" in runs["log"]
    assert f"[{ITERS}/{ITERS}]" in runs["log"] and f"[{step}/{ITERS}]" not in runs["log"]
    work = runs["train_dir"] / "work"
    for ckpt in work.glob("iter_*.pth"):  # they carry mmengine's message hub's types
        state = load_checkpoint_file(str(ckpt), map_location="cpu")
        assert state["meta"]["iter"] == int(ckpt.stem.split("_")[1])
    final = torch.load(runs["train_dir"] / "model.pth", map_location="cpu", weights_only=True)
    assert final["meta"]["iter"] == ITERS
    assert not any(".module." in k or k.startswith("module.") for k in final["state_dict"])


def test_effective_batch_is_the_configured_images_per_iteration(runs):
    saved = Config.fromfile(runs["train_dir"] / "work" / "config.py",
                            import_custom_modules=False)
    assert saved.train_dataloader.batch_size == IMAGES_PER_ITER // 2  # each process's share
    # Summed over the process group after training: what one iteration took in all.
    assert runs["info"]["images_per_iter"] == IMAGES_PER_ITER
    assert runs["wcfg"]["schedule"]["short"]["batch_size"] == IMAGES_PER_ITER
