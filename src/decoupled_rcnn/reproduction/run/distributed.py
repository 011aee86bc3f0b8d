"""Multi-process training: one launcher for several GPUs (NCCL) and several CPU processes (gloo).

More than one training process always goes through ``torchrun`` and
``decoupled-rcnn train <config> --launcher pytorch``; the paper's "4 GPUs x 2 images" is a
setting of that path (4 processes, 2 images each), not a code path of its own. On a machine
without CUDA the workers use the gloo backend: mmengine's own set-up would call
``torch.cuda.set_device`` and hand DDP a GPU id, so :func:`setup_cpu_distributed` starts the
process group itself and wraps the model in a DDP wrapper that passes no device ids.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["PAPER_TOTAL_BATCH", "GpuPlacementError", "check_visible_gpus", "images_per_iteration",
           "paper_total_batch", "rank_device", "run_workers", "setup_cpu_distributed",
           "torchrun_command", "training_processes", "visible_gpus"]

_CPU_DDP = "CPUDistributedDataParallel"
#: The paper's total batch: 4 GPUs x 2 images (Section V-B); mmengine's auto_scale_lr base.
PAPER_TOTAL_BATCH = 8


class GpuPlacementError(RuntimeError):
    """The GPUs a training job sees are not the GPUs it asked for (one-line message)."""


def visible_gpus() -> int:
    """CUDA devices torch sees; creates no CUDA context (the count comes from the driver)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def check_visible_gpus(asked: int) -> None:
    """Refuse to train unless the job sees exactly the GPUs it asked Slurm for.

    Called in the job's own process before ``torchrun`` starts. A driver too old for torch's
    CUDA build shows 0 GPUs: the job stops, never trains on CPU workers instead.

    Args:
        asked: the rule's ``gpu`` resource (what ``sbatch --gpus`` got); 0: a CPU training.

    Raises:
        GpuPlacementError: one line naming both numbers and ``CUDA_VISIBLE_DEVICES``.
    """
    if asked <= 0:
        return
    seen = visible_gpus()
    if seen != asked:
        devices = os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>")
        raise GpuPlacementError(
            f"the job asked for {asked} GPU(s) but torch sees {seen} "
            f"(CUDA_VISIBLE_DEVICES={devices}); not training (no CPU fallback when GPUs are "
            "asked for): check the job's --gpus, `nvidia-smi` and that the driver supports "
            "torch's CUDA build")


def rank_device() -> str:
    """This worker's own GPU: ``cuda:<LOCAL_RANK>`` (torchrun sets it), ``cuda`` alone."""
    return f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"


def paper_total_batch(cfg: Any, processes: int, policy: str) -> str:
    """Hold a paper schedule's total batch at the paper's 8, or scale the learning rate.

    Args:
        cfg: the composed config (``train_dataloader.batch_size``: images per GPU).
        processes: training processes, one per GPU.
        policy: ``check`` (refuse another total) or ``scale_lr`` (enable mmengine's
            ``auto_scale_lr`` with base batch 8: lr x total / 8); ``resources.train.batch``.

    Returns:
        The one line the training log gets.

    Raises:
        ValueError: ``check`` and a total other than 8 (one line, naming the fix).
    """
    per_gpu = int(cfg.train_dataloader.batch_size)
    total = processes * per_gpu
    text = f"total batch {total} = {processes} GPU(s) x {per_gpu} images"
    cfg.auto_scale_lr = {"enable": False, "base_batch_size": PAPER_TOTAL_BATCH}
    if total == PAPER_TOTAL_BATCH:
        return f"{text}, the paper's (4 GPUs x 2 images); learning rate as configured"
    if policy == "check":
        raise ValueError(
            f"{text}, not the paper's {PAPER_TOTAL_BATCH} (4 GPUs x 2 images): set "
            "resources.train.gpus to 4, or resources.train.batch: scale_lr to scale the "
            "learning rate linearly (mmengine auto_scale_lr, base batch 8)")
    if policy != "scale_lr":
        raise ValueError(f"resources.train.batch must be check or scale_lr, not {policy!r}")
    cfg.auto_scale_lr["enable"] = True
    return (f"{text}, not the paper's {PAPER_TOTAL_BATCH}: learning rate scaled by "
            f"{total}/{PAPER_TOTAL_BATCH} (mmengine auto_scale_lr, resources.train.batch: "
            "scale_lr)")


def training_processes(train_resources: Mapping[str, Any], gpus: int) -> int:
    """How many processes one training job runs: one per GPU, else ``processes`` (CPU).

    Args:
        train_resources: the workflow config's ``resources.train``.
        gpus: the GPUs the job was given (the rule's ``gpus`` resource).
    """
    if gpus > 0:
        return gpus
    return max(1, int(train_resources.get("processes", 1)))


def torchrun_command(config: str | Path, checkpoint: str | Path, info: str | Path,
                     processes: int) -> list[str]:
    """The ``torchrun`` call that trains a saved config with ``processes`` workers.

    ``--standalone`` picks a free rendezvous port, so two training jobs on one node never
    collide on torchrun's default port.
    """
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={processes}", "-m", "decoupled_rcnn.cli", "train", str(config),
            "--launcher", "pytorch", "--checkpoint", str(checkpoint), "--info", str(info)]


def _descriptor(stream: Any) -> int | None:
    """The file descriptor behind ``stream``, or None (inherit) where it has none."""
    try:
        return stream.fileno()
    except (AttributeError, io.UnsupportedOperation):
        return None


def run_workers(command: Sequence[str]) -> None:
    """Run a launch (:func:`torchrun_command`) with its output where this process's goes.

    Under the train rule that is the rule's ``train.log``
    (:func:`~decoupled_rcnn.reproduction.pipeline.log_to` redirects ``sys.stdout`` and
    ``sys.stderr`` only, and a child process writes to file descriptors, not to Python's
    streams): the workers' logs and tracebacks land beside the parent's.

    Raises:
        subprocess.CalledProcessError: a worker failed (the failure record says see the log).
    """
    sys.stdout.flush()
    sys.stderr.flush()
    subprocess.run(list(command), check=True, env=os.environ.copy(),
                   stdout=_descriptor(sys.stdout), stderr=_descriptor(sys.stderr))


def _register_cpu_ddp() -> None:
    """Register ``CPUDistributedDataParallel``: mmengine's DDP wrapper without device ids."""
    from mmengine.model import MMDistributedDataParallel
    from mmengine.registry import MODEL_WRAPPERS

    if _CPU_DDP in MODEL_WRAPPERS.module_dict:
        return

    @MODEL_WRAPPERS.register_module(name=_CPU_DDP)
    class CPUDistributedDataParallel(MMDistributedDataParallel):
        """DDP of a model on the CPU: mmengine passes ``device_ids``, CPU modules take none."""

        def __init__(self, module, device_ids=None, **kwargs):
            super().__init__(module=module, device_ids=None, **kwargs)


def setup_cpu_distributed(cfg: Any) -> bool:
    """Prepare a ``launcher='pytorch'`` config to run on CPU workers (gloo); no-op on CUDA.

    Starts the gloo process group from torchrun's environment (mmengine then keeps it) and
    sets ``model_wrapper_cfg`` to the CPU DDP wrapper.

    Returns:
        Whether the config was set up for CPU workers.
    """
    import torch

    if cfg.get("launcher", "none") != "pytorch" or torch.cuda.is_available():
        return False
    import torch.distributed as dist

    cfg.setdefault("env_cfg", {}).setdefault("dist_cfg", {})["backend"] = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    _register_cpu_ddp()
    cfg.model_wrapper_cfg = {"type": _CPU_DDP}
    return True


def images_per_iteration(runner: Any) -> int:
    """Images one training iteration takes over all processes (call it on every rank)."""
    import torch
    from mmengine.dist import all_reduce

    loader = runner.train_dataloader
    # mmdet's loaders batch through a batch sampler (aspect-ratio grouping); DataLoader's own
    # batch_size is then None.
    per_process = loader.batch_size or loader.batch_sampler.batch_size
    count = torch.tensor([int(per_process)])
    all_reduce(count, op="sum")
    return int(count.item())
