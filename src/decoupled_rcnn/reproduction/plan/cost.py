"""GPU-hour estimates of the paper's experiments (``decoupled-rcnn plan``).

The manifest's ``cost_model`` holds LABELLED ESTIMATES (order-of-magnitude step times on a
V100-class GPU), never measurements; replace them with your cluster's numbers.
"""

from __future__ import annotations

import math

import pandas as pd

from decoupled_rcnn.reproduction.manifest import Manifest

__all__ = ["estimate_gpu_hours", "estimate_train_hours", "plan_table", "train_runtime_min"]


def _train_iterations(manifest: Manifest, experiment_id: str, short_iters: int | None) -> int:
    cost = manifest.cost_model
    exp = manifest.experiments[experiment_id]
    if short_iters is not None:
        return int(short_iters)
    batch = int(cost["gpus_per_run"]) * int(cost["images_per_gpu"])
    epochs = manifest.schedules[exp.schedule].epochs
    return epochs * math.ceil(cost["train_images"][exp.dataset] / batch)


def _factor(manifest: Manifest, experiment_id: str) -> float:
    cost = manifest.cost_model
    exp = manifest.experiments[experiment_id]
    factor = float(cost["model_factor"].get(exp.model, 1.0))
    if manifest.schedules[exp.schedule].multiscale:
        factor *= float(cost.get("multiscale_factor", 1.0))
    return factor


def estimate_train_hours(manifest: Manifest, experiment_id: str,
                         short_iters: int | None = None) -> float:
    """Estimated wall-clock hours of one training on ``gpus_per_run`` GPUs (a labelled estimate).

    Args:
        manifest: the loaded manifest.
        experiment_id: a manifest experiment.
        short_iters: a short schedule's iterations (the smoke setting) instead of the paper's
            epochs; the batch is the cost model's (``gpus_per_run x images_per_gpu``).
    """
    cost = manifest.cost_model
    iters = _train_iterations(manifest, experiment_id, short_iters)
    step = float(cost["s_per_iter"][manifest.experiments[experiment_id].backbone])
    return iters * step * _factor(manifest, experiment_id) / 3600


def train_runtime_min(manifest: Manifest, experiment_id: str, *, max_runtime_min: int,
                      short_iters: int | None = None, speed: float = 1.0,
                      margin: float = 1.5, overhead_min: int = 20, runs: int = 1) -> int:
    """The wall-time limit (minutes) a training job asks Slurm for, capped by the partition's.

    The cost model's estimate for ``runs`` trainings (the job's seeds) x ``margin`` plus
    ``overhead_min`` (start-up, data loading, checkpoints), never more than
    ``max_runtime_min``: a longer training continues in the next allocation from the
    checkpoint it saves before the limit. ``speed``: the cluster's GPU relative to the cost
    model's V100-class one (an A100 is roughly 2).
    """
    hours = runs * estimate_train_hours(manifest, experiment_id, short_iters) / float(speed)
    return min(int(max_runtime_min), math.ceil(hours * 60 * margin) + int(overhead_min))


def estimate_gpu_hours(manifest: Manifest, experiment_id: str,
                       short_iters: int | None = None) -> float:
    """Estimated GPU-hours to train and evaluate one experiment (``cost_model``; see manifest).

    Training: epochs x ceil(train images / total batch) iterations (or ``short_iters``, the
    smoke setting's) x s/iteration for the backbone x the variant's factor, on
    ``gpus_per_run`` GPUs. Evaluation: each of the experiment's test settings over its split
    on one GPU (the same in the smoke setting). These are labelled estimates.
    """
    cost = manifest.cost_model
    exp = manifest.experiments[experiment_id]
    gpus = int(cost["gpus_per_run"])
    factor = _factor(manifest, experiment_id)
    train_h = estimate_train_hours(manifest, experiment_id, short_iters) * gpus
    eval_h = 0.0
    for ev in manifest.evaluations():
        if ev.experiment != experiment_id:
            continue
        split = manifest.tests[ev.test].split
        key = exp.dataset if split == "val" else f"{exp.dataset}_{split}"
        eval_h += cost["eval_images"][key] * cost["test_s_per_img"][exp.backbone] * factor / 3600
    return train_h + eval_h


def plan_table(manifest: Manifest, tables: list[str] | None = None,
               short_iters: int | None = None) -> pd.DataFrame:
    """Per table: rows, experiments, evaluations, shared experiments and estimated GPU-hours.

    ``gpu_hours_alone`` counts every experiment the table needs; ``gpu_hours_new`` counts
    only those no earlier (selected) table needs, so the column sums to the estimate of
    running the selected tables (default: all). ``short_iters``: the smoke setting's
    iterations per training instead of the paper's schedules.
    """
    counts = manifest.counts_per_table()
    seen: set[str] = set()
    records = []
    for tid in tables or list(manifest.tables):
        table = manifest.tables[tid]
        exps = table.experiments()
        new = [e for e in exps if e not in seen]
        seen.update(exps)
        records.append({
            "table": tid, **counts[tid], "new_experiments": len(new),
            "gpu_hours_alone": sum(estimate_gpu_hours(manifest, e, short_iters) for e in exps),
            "gpu_hours_new": sum(estimate_gpu_hours(manifest, e, short_iters) for e in new),
        })
    return pd.DataFrame.from_records(records)
