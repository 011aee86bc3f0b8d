"""The signal-time checkpoint: a real mmengine Runner (a 1-parameter model) is signalled."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from decoupled_rcnn.reproduction.run.runs import last_good_checkpoint
from decoupled_rcnn.reproduction.run.signal_checkpoint import (
    REQUEUE_EXIT,
    SignalCheckpointHook,
    add_signal_checkpoint_hook,
)


class _Model(BaseModel):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, mode="loss"):
        return {"loss": ((self.w - inputs) ** 2).mean()}


class _SignalAt(Hook):
    """Sends SIGUSR1 to this process during iteration ``at`` (0-based), as Slurm would."""

    priority = "VERY_HIGH"

    def __init__(self, at: int):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter == self.at:
            os.kill(os.getpid(), signal.SIGUSR1)


def _runner(work_dir, hooks, resume_from=None) -> Runner:
    return Runner(
        model=_Model(), work_dir=str(work_dir),
        train_dataloader={"dataset": [{"inputs": torch.tensor(float(i))} for i in range(8)],
                          "sampler": {"type": "InfiniteSampler", "shuffle": False},
                          "batch_size": 1, "collate_fn": {"type": "default_collate"}},
        train_cfg={"type": "IterBasedTrainLoop", "max_iters": 6},
        optim_wrapper={"optimizer": {"type": "SGD", "lr": 0.1}},
        custom_hooks=hooks, default_hooks={"checkpoint": {"type": "CheckpointHook",
                                                          "interval": 100, "by_epoch": False}},
        resume=resume_from is not None, load_from=resume_from,
        default_scope="mmengine", experiment_name=f"run{len(hooks)}")


def test_a_signalled_training_saves_exits_75_and_resumes_with_continuous_iterations(tmp_path):
    previous = signal.getsignal(signal.SIGUSR1)
    try:
        first = _runner(tmp_path, [_SignalAt(2), SignalCheckpointHook()])
        with pytest.raises(SystemExit) as stop:
            first.train()
        assert stop.value.code == REQUEUE_EXIT
    finally:
        signal.signal(signal.SIGUSR1, previous)
    saved = last_good_checkpoint(tmp_path)
    assert saved == tmp_path / "iter_3.pth"  # iterations 1-3 ran; nothing else was saved
    assert torch.load(saved, weights_only=False)["meta"]["iter"] == 3
    second = _runner(tmp_path, [SignalCheckpointHook()], resume_from=str(saved))
    second.train()
    assert second.iter == 6  # iterations 4-6: continuous, none trained twice


def test_the_hook_is_added_once_with_its_import():
    cfg = Config({"custom_imports": {"imports": ["decoupled_rcnn.models"]}})
    add_signal_checkpoint_hook(cfg)
    add_signal_checkpoint_hook(cfg)
    assert [h["type"] for h in cfg.custom_hooks] == ["SignalCheckpointHook"]
    assert cfg.custom_imports["imports"] == [
        "decoupled_rcnn.models", "decoupled_rcnn.reproduction.run.signal_checkpoint"]
