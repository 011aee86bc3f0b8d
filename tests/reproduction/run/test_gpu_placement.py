"""GPU placement before a training starts, on CPU: torch's device count is faked.

A job that asked Slurm for N GPUs must see exactly N before torchrun starts (never a CPU
fallback); the paper schedule's total batch is held at 8 or the learning rate scaled by
mmengine's auto_scale_lr; the job's own process creates no CUDA context when torchrun
workers train, and each worker checks mmcv's ops on its own GPU.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config

from decoupled_rcnn import install_check
from decoupled_rcnn.reproduction import pipeline
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config
from decoupled_rcnn.reproduction.run import distributed
from decoupled_rcnn.reproduction.run.distributed import (
    GpuPlacementError,
    check_visible_gpus,
    paper_total_batch,
)


def _seen(monkeypatch, count: int, devices: str | None) -> None:
    monkeypatch.setattr(distributed, "visible_gpus", lambda: count)
    if devices is None:
        monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    else:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", devices)


@pytest.mark.parametrize(("seen", "devices"), [(2, "0,1"), (0, None), (8, "0,1,2,3,4,5,6,7")])
def test_other_than_the_gpus_asked_for_is_refused_in_one_line(monkeypatch, seen, devices):
    _seen(monkeypatch, seen, devices)
    with pytest.raises(GpuPlacementError) as err:
        check_visible_gpus(4)
    message = str(err.value)
    assert "\n" not in message
    assert f"asked for 4 GPU(s) but torch sees {seen}" in message
    assert f"CUDA_VISIBLE_DEVICES={devices or '<unset>'}" in message
    assert "no CPU fallback" in message


def test_the_gpus_asked_for_or_a_cpu_job_pass(monkeypatch):
    _seen(monkeypatch, 4, "0,1,2,3")
    check_visible_gpus(4)
    _seen(monkeypatch, 0, None)
    check_visible_gpus(0)  # a CPU training asks for none


def _training_calls(monkeypatch, tmp_path, seen: int):
    """run_training with the training itself and the op check recorded, not run."""
    _seen(monkeypatch, seen, ",".join(map(str, range(seen))) or None)
    calls = {"ops": [], "train": []}
    monkeypatch.setattr(install_check, "require_cuda_ops",
                        lambda device="cuda": calls["ops"].append(device))
    monkeypatch.setattr(pipeline, "_train",
                        lambda *args, **kwargs: calls["train"].append(args[-2:]))
    wcfg = load_workflow_config(overrides={"results_dir": str(tmp_path)})
    checkpoint = tmp_path / "experiments" / "voc_r50_dec" / "seed0" / "train" / "model.pth"
    return wcfg, checkpoint, calls


def test_training_stops_before_torchrun_when_gpus_are_missing(monkeypatch, tmp_path):
    wcfg, checkpoint, calls = _training_calls(monkeypatch, tmp_path, seen=0)
    with pytest.raises(GpuPlacementError, match="asked for 4 GPU"):
        pipeline.run_training(wcfg, "voc_r50_dec", 0, checkpoint, tmp_path / "i.json", gpus=4)
    assert calls == {"ops": [], "train": []}  # nothing started, not even on the CPU
    record = json.loads((checkpoint.parent / "failed.json").read_text())  # the report says why
    assert record["error"].startswith("voc_r50_dec seed 0: the job asked for 4 GPU(s)")


def test_the_job_process_checks_ops_only_when_it_trains_itself(monkeypatch, tmp_path):
    wcfg, checkpoint, calls = _training_calls(monkeypatch, tmp_path, seen=4)
    pipeline.run_training(wcfg, "voc_r50_dec", 0, checkpoint, tmp_path / "i.json", gpus=4)
    # torchrun's 4 workers check their own GPUs; the job process touched none (no context).
    assert calls == {"ops": [], "train": [(4, 4)]}
    wcfg, checkpoint, calls = _training_calls(monkeypatch, tmp_path, seen=1)
    pipeline.run_training(wcfg, "voc_r50_dec", 0, checkpoint, tmp_path / "i.json", gpus=1)
    assert calls == {"ops": ["cuda"], "train": [(1, 1)]}  # one process: it trains itself


def test_a_worker_checks_ops_on_its_own_gpu(monkeypatch):
    devices, current = [], []
    monkeypatch.setattr(install_check, "cuda_available", lambda: True)
    monkeypatch.setattr(install_check, "mmcv_cuda_version", lambda: "12.1")
    monkeypatch.setattr(install_check, "run_ops", devices.append)
    monkeypatch.setattr(install_check, "_set_device", current.append)
    monkeypatch.setenv("LOCAL_RANK", "2")
    install_check.require_cuda_ops(distributed.rank_device())
    assert devices == ["cuda:2"] and current == ["cuda:2"]  # not GPU 0


def _cfg(per_gpu: int) -> Config:
    return Config({"train_dataloader": {"batch_size": per_gpu},
                   "auto_scale_lr": {"enable": False, "base_batch_size": 16}})  # mmdet's


def test_the_papers_total_batch_passes_and_another_is_refused():
    cfg = _cfg(2)
    line = paper_total_batch(cfg, 4, "check")
    assert line.startswith("total batch 8 = 4 GPU(s) x 2 images, the paper's")
    assert cfg.auto_scale_lr == {"enable": False, "base_batch_size": 8}
    with pytest.raises(ValueError) as err:
        paper_total_batch(_cfg(2), 8, "check")  # gpus: 8 would train batch 16 at lr 0.01
    assert "\n" not in str(err.value)
    assert "total batch 16 = 8 GPU(s) x 2 images" in str(err.value)
    assert "resources.train.batch: scale_lr" in str(err.value)


def test_scale_lr_lets_mmengine_scale_the_learning_rate_by_total_over_8():
    from mmengine.optim import OptimWrapper
    from mmengine.runner import Runner

    cfg = _cfg(2)
    line = paper_total_batch(cfg, 8, "scale_lr")
    assert "learning rate scaled by 16/8" in line and "\n" not in line
    model = torch.nn.Linear(2, 1)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    runner = SimpleNamespace(_train_dataloader={"batch_size": 2}, world_size=8,
                             logger=SimpleNamespace(info=lambda *_: None), param_schedulers=None)
    Runner.scale_lr(runner, wrapper, cfg.auto_scale_lr)  # what Runner.train() calls
    assert wrapper.optimizer.param_groups[0]["lr"] == pytest.approx(0.02)


def test_a_paper_schedule_keeps_two_checkpoints_and_checks_its_batch(monkeypatch, tmp_path,
                                                                     capsys):
    from decoupled_rcnn.paths import REPO_ROOT
    from decoupled_rcnn.reproduction.run import runs

    seen = []
    monkeypatch.setattr(runs, "train_experiment", lambda cfg, *a: seen.append(cfg))
    wcfg = load_workflow_config(REPO_ROOT / "configs" / "workflow" / "paper.yaml",
                                {"results_dir": str(tmp_path)})
    args = ("voc_r50_dec", 0, tmp_path / "work", tmp_path / "m.pth", tmp_path / "i.json")
    # 1 GPU x 2 images is not the paper's 8: refused with batch: check (the default) ...
    with pytest.raises(ValueError, match="total batch 2 = 1 GPU"):
        pipeline._train(wcfg, *args, processes=1, gpus=1)
    assert seen == []
    wcfg["resources"]["train"]["batch"] = "scale_lr"
    pipeline._train(wcfg, *args, processes=1, gpus=1)
    assert "scaled by 2/8" in capsys.readouterr().out  # ... with scale_lr, lr x 2/8
    (cfg,) = seen
    assert cfg.auto_scale_lr == {"enable": True, "base_batch_size": 8}
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 2  # not one per epoch forever
