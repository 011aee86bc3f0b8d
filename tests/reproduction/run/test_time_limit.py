"""The checkpoint before a job's time limit: a real mmengine Runner (a 1-parameter model) is
stopped by a fake clock or a signal, and resumed."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

from decoupled_rcnn.checkpoint import load_checkpoint_file
from decoupled_rcnn.reproduction.run.runs import last_good_checkpoint
from decoupled_rcnn.reproduction.run.time_limit import (
    REQUEUE_EXIT,
    TimeLimitCheckpointHook,
    add_time_limit_hook,
    slurm_job_deadline,
    stop_margin,
    stopped_in_this_job,
    time_limit_stops,
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
        first = _runner(tmp_path, [_SignalAt(2), TimeLimitCheckpointHook()])
        with pytest.raises(SystemExit) as stop:
            first.train()
        assert stop.value.code == REQUEUE_EXIT
    finally:
        signal.signal(signal.SIGUSR1, previous)
    saved = last_good_checkpoint(tmp_path)
    assert saved == tmp_path / "iter_3.pth"  # iterations 1-3 ran; nothing else was saved
    assert [s["iteration"] for s in time_limit_stops(tmp_path)] == [3]
    assert time_limit_stops(tmp_path)[0]["reason"] == "signal SIGUSR1"
    assert load_checkpoint_file(str(saved), map_location="cpu")["meta"]["iter"] == 3
    second = _runner(tmp_path, [TimeLimitCheckpointHook()], resume_from=str(saved))
    second.train()
    assert second.iter == 6  # iterations 4-6: continuous, none trained twice


class _Clock:
    """A clock that advances one second per reading, from 0."""

    def __init__(self):
        self.now = -1.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_the_clock_stops_the_training_once_margin_and_one_iteration_would_pass_the_deadline(
        tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "41")
    # Readings: before_train 0, then one per iteration (1, 2, ...): each iteration takes 1 s.
    # Due when now + 1 s + margin 5 s >= deadline 10, i.e. at the reading 4: after iteration 4.
    hook = TimeLimitCheckpointHook(deadline=10.0, margin_s=5.0, clock=_Clock())
    with pytest.raises(SystemExit) as stop:
        _runner(tmp_path, [hook]).train()
    assert stop.value.code == REQUEUE_EXIT
    assert last_good_checkpoint(tmp_path) == tmp_path / "iter_4.pth"
    (record,) = time_limit_stops(tmp_path)
    assert (record["iteration"], record["slurm_job_id"]) == (4, "41")
    assert stopped_in_this_job(tmp_path)
    assert not stopped_in_this_job(tmp_path, {"SLURM_JOB_ID": "42"})  # the next allocation
    second = _runner(tmp_path, [TimeLimitCheckpointHook(deadline=None)],
                     resume_from=str(tmp_path / "iter_4.pth"))
    second.train()  # no deadline: only a signal would stop it
    assert second.iter == 6


def test_no_deadline_no_stop(tmp_path):
    runner = _runner(tmp_path, [TimeLimitCheckpointHook(deadline=None, clock=_Clock())])
    runner.train()
    assert runner.iter == 6 and time_limit_stops(tmp_path) == []


def _squeue(answer: str | None):
    def run(cmd, **kwargs):
        assert cmd == ["squeue", "-h", "-j", "7", "-o", "%e"]
        if answer is None:
            raise FileNotFoundError("squeue")
        return SimpleNamespace(stdout=answer + "\n")
    return run


def test_the_deadline_is_the_jobs_end_time_from_squeue():
    expected = time.mktime((2026, 12, 5, 4, 10, 0, 0, 0, -1))
    assert slurm_job_deadline({"SLURM_JOB_ID": "7"}, _squeue("2026-12-05T04:10:00")) == expected
    assert slurm_job_deadline({"SLURM_JOB_ID": "7"}, _squeue("UNLIMITED")) is None
    assert slurm_job_deadline({"SLURM_JOB_ID": "7"}, _squeue(None)) is None  # no squeue
    assert slurm_job_deadline({}, _squeue("2026-12-05T04:10:00")) is None  # not under Slurm

    def failing(cmd, **kwargs):
        raise subprocess.CalledProcessError(1, cmd)
    assert slurm_job_deadline({"SLURM_JOB_ID": "7"}, failing) is None


def test_the_hook_is_added_once_with_its_import_and_the_newest_deadline():
    cfg = Config({"custom_imports": {"imports": ["decoupled_rcnn.models"]}})
    add_time_limit_hook(cfg, 100.0, 600)
    add_time_limit_hook(cfg, 200.0, 600)  # the next allocation's deadline replaces the first
    assert [(h["type"], h["deadline"]) for h in cfg.custom_hooks] == [
        ("TimeLimitCheckpointHook", 200.0)]
    assert cfg.custom_imports["imports"] == [
        "decoupled_rcnn.models", "decoupled_rcnn.reproduction.run.time_limit"]


def test_the_margin_is_at_most_a_quarter_of_the_allocation():
    assert stop_margin(600, 3600) == 600  # an hour left: the configured margin
    assert stop_margin(600, 600) == 150  # a 10-minute job: a quarter, not all of it
    assert stop_margin(10, 55) == 10
    assert stop_margin(600, -5) == 0.0  # past the end already: stop after one iteration


def test_due_at_the_last_iteration_the_training_just_finishes(tmp_path):
    # Due at the reading 6 (6 + 1 + 5 >= 12), after iteration 6 of 6: nothing left to resume.
    runner = _runner(tmp_path, [TimeLimitCheckpointHook(deadline=12.0, margin_s=5.0,
                                                        clock=_Clock())])
    runner.train()
    assert runner.iter == 6 and time_limit_stops(tmp_path) == []
