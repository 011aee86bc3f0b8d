"""A checkpoint before the job's time limit, then a distinct exit code and a new allocation.

Under Slurm a training job reads its own end time (``squeue -h -j $SLURM_JOB_ID -o %e``:
start plus time limit) before it starts. :class:`TimeLimitCheckpointHook` then stops at the
end of the first iteration after which fewer than ``margin_s`` seconds plus one iteration's
time would be left, or after SIGUSR1 (``sbatch --signal=USR1@<s>``, or ``scancel -s USR1``
to the training process): it saves ``iter_<n>.pth`` in the work dir, adds the stop to the
record there (every allocation's stop) and exits with :data:`REQUEUE_EXIT`. Every rank stops
at the same iteration (the flag is all-reduced). The train rule's ``retries`` give the next
allocation, which resumes from that checkpoint
(:func:`decoupled_rcnn.reproduction.run.runs.last_good_checkpoint`) with the iteration
counter continuous.

A clock rather than Slurm's signal is the trigger on purpose: the signal goes to Snakemake's
job-step process, which is not the training and dies of it; the end time is known from the
start, whatever runs in between.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from decoupled_rcnn.provenance import write_json_atomic

__all__ = ["REQUEUE_EXIT", "STOP_RECORD", "TimeLimitCheckpointHook", "add_time_limit_hook",
           "slurm_job_deadline", "stop_margin", "stopped_in_this_job", "time_limit_stops"]

#: Exit status of a training stopped before its time limit after saving (EX_TEMPFAIL).
REQUEUE_EXIT = 75
#: File in the work dir saying where and why the last allocation stopped.
STOP_RECORD = "time_limit_stop.json"


def slurm_job_deadline(environ: dict[str, str] | None = None,
                       run: Callable[..., Any] = subprocess.run) -> float | None:
    """The Unix time at which this Slurm job's time limit ends; None outside Slurm.

    Args:
        environ: the environment (``SLURM_JOB_ID``); default ``os.environ``.
        run: how to call ``squeue`` (tests pass a fake).

    Returns:
        ``squeue``'s expected end time of the job as seconds since the epoch, or None when
        there is no job id, no ``squeue``, no limit (``UNLIMITED``/``N/A``) or no answer.
    """
    job = (environ if environ is not None else os.environ).get("SLURM_JOB_ID")
    if not job:
        return None
    try:
        out = run(["squeue", "-h", "-j", job, "-o", "%e"], capture_output=True, text=True,
                  timeout=30, check=True).stdout.strip()
        return time.mktime(datetime.strptime(out, "%Y-%m-%dT%H:%M:%S").timetuple())
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def stop_margin(margin_s: float, seconds_left: float) -> float:
    """Seconds to leave before the limit: ``margin_s``, but at most a quarter of what the
    allocation has left at the start (a 10-minute test job with the default 600 s would
    otherwise stop after its first iteration, in every allocation)."""
    return max(0.0, min(float(margin_s), seconds_left / 4))


def time_limit_stops(work_dir: str | Path) -> list[dict[str, Any]]:
    """Every stop at a time limit recorded in ``work_dir``, oldest first (iteration, reason,
    Slurm job id, time)."""
    path = Path(work_dir) / STOP_RECORD
    return json.loads(path.read_text()) if path.is_file() else []


def stopped_in_this_job(work_dir: str | Path, environ: dict[str, str] | None = None) -> bool:
    """Whether this Slurm job's training stopped at its time limit (torchrun reports 1)."""
    job = (environ if environ is not None else os.environ).get("SLURM_JOB_ID")
    return job is not None and any(s.get("slurm_job_id") == job
                                   for s in time_limit_stops(work_dir))


@HOOKS.register_module(force=True)
class TimeLimitCheckpointHook(Hook):
    """Save ``iter_<n>.pth`` and exit with :data:`REQUEUE_EXIT` before the job's time limit.

    Args:
        deadline: Unix time of the job's limit (None: only the signal stops it).
        margin_s: seconds to leave before the deadline (saving must fit in them).
        signum: a signal that stops the training at the end of the current iteration.
        clock: seconds since the epoch (tests pass a fake clock).
    """

    priority = "LOWEST"  # after every other hook of the iteration (loss checks, logging)

    def __init__(self, deadline: float | None = None, margin_s: float = 600.0,
                 signum: int = signal.SIGUSR1, clock: Callable[[], float] = time.time) -> None:
        self.deadline = deadline
        self.clock = clock
        self.margin_s = float(margin_s)
        self.signum = int(signum)
        self.received = False
        self._last = None
        self._iter_s = 0.0

    def _note(self, signum, frame) -> None:
        self.received = True

    def before_train(self, runner: Any) -> None:
        signal.signal(self.signum, self._note)
        self._last = self.clock()

    def _due(self) -> bool:
        now = self.clock()
        self._iter_s = 0.0 if self._last is None else now - self._last
        self._last = now
        return self.received or (self.deadline is not None
                                 and now + self._iter_s + self.margin_s >= self.deadline)

    def _any_rank_due(self) -> bool:
        import torch
        from mmengine.dist import all_reduce, get_world_size

        due = self._due()
        if get_world_size() == 1:
            return due
        flag = torch.tensor([1 if due else 0])
        all_reduce(flag, op="sum")
        return bool(flag.item())

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        step = runner.iter + 1  # the loop counts this iteration after the hooks
        if not self._any_rank_due() or step >= runner.max_iters:  # the last one: just finish
            return
        from mmengine.dist import is_main_process

        why = (f"signal {signal.Signals(self.signum).name}" if self.received else
               f"{self.deadline - self.clock():.0f} s left of the job's time limit")
        runner.logger.warning(f"{why}: saving iter_{step}.pth and exiting with {REQUEUE_EXIT}; "
                              "the next allocation resumes there")
        runner.save_checkpoint(runner.work_dir, filename=f"iter_{step}.pth", by_epoch=False)
        if is_main_process():
            stops = time_limit_stops(runner.work_dir) + [
                {"iteration": step, "reason": why, "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
                 "time": self.clock()}]
            write_json_atomic(stops, Path(runner.work_dir) / STOP_RECORD)
        raise SystemExit(REQUEUE_EXIT)


def add_time_limit_hook(cfg: Any, deadline: float | None, margin_s: float,
                        signum: int = signal.SIGUSR1) -> None:
    """Add :class:`TimeLimitCheckpointHook` to a composed config's ``custom_hooks`` (once),
    and this module to its ``custom_imports`` (torchrun workers build the hook from the file).
    Add it after the run-definition digest is taken: the deadline changes every allocation."""
    imports = dict(cfg.get("custom_imports") or {})
    names = list(imports.get("imports", []))
    if __name__ not in names:
        names.append(__name__)
    cfg.custom_imports = {**imports, "imports": names,
                          "allow_failed_imports": imports.get("allow_failed_imports", False)}
    hooks = [h for h in cfg.get("custom_hooks") or [] if h.get("type") != "TimeLimitCheckpointHook"]
    hooks.append({"type": "TimeLimitCheckpointHook", "deadline": deadline,
                  "margin_s": float(margin_s), "signum": int(signum)})
    cfg.custom_hooks = hooks
