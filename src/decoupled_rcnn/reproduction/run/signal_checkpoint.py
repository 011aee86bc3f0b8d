"""A checkpoint when the scheduler says time is nearly up, then a distinct exit code.

With ``sbatch --signal=USR1@<s>`` Slurm sends SIGUSR1 ``s`` seconds before a job's limit.
:class:`SignalCheckpointHook` notes the signal, and at the end of the iteration running then
(on every rank at the same iteration: the flag is all-reduced) saves ``iter_<n>.pth`` in the
work dir and exits with :data:`REQUEUE_EXIT`, so the next allocation resumes from that
checkpoint (:func:`decoupled_rcnn.reproduction.run.runs.last_good_checkpoint`) with the
iteration counter continuous, and a log shows "checkpointed at the time limit", not a crash.
Not yet wired into the Slurm profile (``--signal``) nor demonstrated on Slurm (README).
"""

from __future__ import annotations

import signal
from typing import Any

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

__all__ = ["REQUEUE_EXIT", "SignalCheckpointHook", "add_signal_checkpoint_hook"]

#: Exit status of a training stopped at the scheduler's signal after saving (EX_TEMPFAIL).
REQUEUE_EXIT = 75


@HOOKS.register_module(force=True)
class SignalCheckpointHook(Hook):
    """Save a checkpoint and exit with :data:`REQUEUE_EXIT` after a signal (default SIGUSR1)."""

    priority = "LOWEST"  # after every other hook of the iteration (loss checks, logging)

    def __init__(self, signum: int = signal.SIGUSR1) -> None:
        self.signum = int(signum)
        self.received = False

    def _note(self, signum, frame) -> None:
        self.received = True

    def before_train(self, runner: Any) -> None:
        signal.signal(self.signum, self._note)

    def _any_rank_received(self) -> bool:
        import torch
        from mmengine.dist import all_reduce, get_world_size

        if get_world_size() == 1:
            return self.received
        flag = torch.tensor([1 if self.received else 0])
        all_reduce(flag, op="sum")
        return bool(flag.item())

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if not self._any_rank_received():
            return
        step = runner.iter + 1  # the loop counts this iteration after the hooks
        runner.logger.warning(
            f"signal {signal.Signals(self.signum).name}: saving iter_{step}.pth and exiting "
            f"with {REQUEUE_EXIT}; the next allocation resumes there")
        runner.save_checkpoint(runner.work_dir, filename=f"iter_{step}.pth", by_epoch=False)
        raise SystemExit(REQUEUE_EXIT)


def add_signal_checkpoint_hook(cfg: Any, signum: int = signal.SIGUSR1) -> None:
    """Add :class:`SignalCheckpointHook` to a composed config's ``custom_hooks`` (once), and
    this module to its ``custom_imports`` (torchrun workers build the hook from the file)."""
    imports = dict(cfg.get("custom_imports") or {})
    names = list(imports.get("imports", []))
    if __name__ not in names:
        names.append(__name__)
    cfg.custom_imports = {**imports, "imports": names,
                          "allow_failed_imports": imports.get("allow_failed_imports", False)}
    hooks = list(cfg.get("custom_hooks") or [])
    if not any(h.get("type") == "SignalCheckpointHook" for h in hooks):
        hooks.append({"type": "SignalCheckpointHook", "signum": int(signum)})
    cfg.custom_hooks = hooks
