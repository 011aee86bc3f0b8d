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

__all__ = ["CPU_KINDS", "job_resources", "job_threads", "train_retries", "train_runtime"]

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


def _uncapped_runtime(wcfg: Mapping[str, Any], experiment_id: str, manifest) -> int:
    """Minutes one train job needs: every seed of the experiment, without the partition cap."""
    from decoupled_rcnn.reproduction.manifest import load_manifest
    from decoupled_rcnn.reproduction.plan.cost import train_runtime_min

    spec = wcfg["resources"]["train"]
    if spec.get("runtime_min") is not None:
        return int(spec["runtime_min"])
    manifest = manifest or load_manifest(REPO_ROOT / wcfg["manifest"])
    schedule = wcfg["schedule"]
    short = schedule["short"]["iters"] if schedule["kind"] == "short" else None
    return train_runtime_min(manifest, experiment_id, max_runtime_min=10**9, short_iters=short,
                             speed=float(spec.get("gpu_speed", 1.0)), runs=int(wcfg["seeds"]))


def train_runtime(wcfg: Mapping[str, Any], experiment_id: str, manifest=None) -> int:
    """One training job's wall-time limit in minutes.

    ``resources.train.runtime_min`` when set; null: the cost model's estimate of this
    experiment's job (its schedule, or the short schedule's iterations, times the seeds it
    trains) on ``gpu_speed`` GPUs, with a margin; either way capped by ``max_runtime_min``
    (the partition's limit). A training longer than its allocation checkpoints before the
    limit and continues in the next (:func:`train_retries`).
    """
    cap = int(wcfg["resources"]["train"]["max_runtime_min"])
    return min(_uncapped_runtime(wcfg, experiment_id, manifest), cap)


def train_retries(wcfg: Mapping[str, Any], experiments, manifest=None) -> int:
    """The train rule's ``retries``: further allocations a training job may take.

    ``resources.train.allocations`` - 1 when set; null: from the longest of ``experiments``'
    jobs at ``max_runtime_min`` (ceil(runtime / cap) allocations, one spare when more than
    one is needed). A retry only continues a training stopped at its time limit
    (:func:`decoupled_rcnn.reproduction.run.failures.refuse_retry`).
    """
    spec = wcfg["resources"]["train"]
    if spec.get("allocations") is not None:
        return int(spec["allocations"]) - 1
    cap = int(spec["max_runtime_min"])
    needed = max((-(-_uncapped_runtime(wcfg, e, manifest) // cap) for e in experiments),
                 default=1)
    return 0 if needed <= 1 else needed  # needed - 1 retries, plus one spare
