"""What each workflow job asks the scheduler for, from the workflow config's ``resources:``.

Every rule's ``resources:`` and ``threads:`` come from here (nothing fixed in a rule), so a
cluster user changes one file. GPU jobs (training, evaluation, a CUDA benchmark) go to
``resources.partitions.gpu`` on one node (``nodes: 1``: torchrun runs ``--standalone`` on the
node it starts on); the CPU-only rules (data, pre-training, tables, figures, report) go to
``resources.partitions.cpu``. One resource name carries the GPU count end to end: ``gpu``,
the one snakemake-executor-plugin-slurm turns into ``sbatch --gpus=N`` and the train script
reads back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoupled_rcnn.paths import REPO_ROOT

__all__ = ["CPU_KINDS", "job_resources", "job_threads", "train_runtime"]

#: Resource groups of the CPU-only rules (``summary``: tables, figures, curves, report).
CPU_KINDS = ("prepare_data", "pretrain", "summary")


def _gpus(wcfg: Mapping[str, Any], kind: str) -> int:
    if kind == "benchmark":
        return 1 if wcfg["benchmark"]["device"] == "cuda" else 0
    return int(wcfg["resources"][kind].get("gpus", 0))


def job_resources(wcfg: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The scheduler resources of one group of rules.

    Args:
        wcfg: the validated workflow config.
        kind: ``train``, ``evaluate``, ``benchmark`` or one of :data:`CPU_KINDS`.

    Returns:
        ``gpu``, ``nodes``, ``mem_mb``, ``runtime`` (minutes) and ``slurm_partition``;
        training's ``runtime`` is the configured limit (see :func:`train_runtime` for the
        per-experiment one).
    """
    res = wcfg["resources"]
    gpus = _gpus(wcfg, kind)
    spec = res[kind]
    runtime = spec.get("runtime_min")
    if kind == "train":
        runtime = min(runtime or spec["max_runtime_min"], spec["max_runtime_min"])
    return {"gpu": gpus, "nodes": 1, "mem_mb": int(spec["mem_mb"]), "runtime": int(runtime),
            "slurm_partition": res["partitions"]["gpu" if gpus else "cpu"]}


def job_threads(wcfg: Mapping[str, Any], kind: str) -> int:
    """CPU threads of one group of rules (the benchmark's are ``benchmark.threads``)."""
    if kind == "benchmark":
        return int(wcfg["benchmark"]["threads"])
    return int(wcfg["resources"][kind]["threads"])


def train_runtime(wcfg: Mapping[str, Any], experiment_id: str, manifest=None) -> int:
    """One training job's wall-time limit in minutes.

    ``resources.train.runtime_min`` when set; null: the cost model's estimate of this
    experiment (its schedule, or the short schedule's iterations) on ``gpu_speed`` GPUs, with
    a margin; either way capped by ``max_runtime_min`` (the partition's limit). A training
    longer than its allocation checkpoints at Slurm's signal and continues in the next.
    """
    from decoupled_rcnn.reproduction.manifest import load_manifest
    from decoupled_rcnn.reproduction.plan.cost import train_runtime_min

    spec = wcfg["resources"]["train"]
    cap = int(spec["max_runtime_min"])
    if spec.get("runtime_min") is not None:
        return min(int(spec["runtime_min"]), cap)
    manifest = manifest or load_manifest(REPO_ROOT / wcfg["manifest"])
    schedule = wcfg["schedule"]
    short = schedule["short"]["iters"] if schedule["kind"] == "short" else None
    return train_runtime_min(manifest, experiment_id, max_runtime_min=cap, short_iters=short,
                             speed=float(spec.get("gpu_speed", 1.0)))
