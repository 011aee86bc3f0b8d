"""GPU-hour estimates of the paper's experiments (``decoupled-rcnn plan``).

The manifest's ``cost_model`` holds LABELLED ESTIMATES (order-of-magnitude step times on a
V100-class GPU), never measurements; replace them with your cluster's numbers.
"""

from __future__ import annotations

import math

import pandas as pd

from decoupled_rcnn.reproduction.manifest import Manifest

__all__ = ["estimate_gpu_hours", "plan_table"]


def estimate_gpu_hours(manifest: Manifest, experiment_id: str) -> float:
    """Estimated GPU-hours to train and evaluate one experiment (``cost_model``; see manifest).

    Training: epochs x ceil(train images / total batch) iterations x s/iteration for the
    backbone x the variant's factor, on ``gpus_per_run`` GPUs. Evaluation: each of the
    experiment's test settings over its split on one GPU. These are labelled estimates.
    """
    cost = manifest.cost_model
    exp = manifest.experiments[experiment_id]
    schedule = manifest.schedules[exp.schedule]
    gpus = int(cost["gpus_per_run"])
    batch = gpus * int(cost["images_per_gpu"])
    iters = schedule.epochs * math.ceil(cost["train_images"][exp.dataset] / batch)
    factor = float(cost["model_factor"].get(exp.model, 1.0))
    if schedule.multiscale:
        factor *= float(cost.get("multiscale_factor", 1.0))
    train_h = iters * float(cost["s_per_iter"][exp.backbone]) * factor * gpus / 3600
    eval_h = 0.0
    for ev in manifest.evaluations():
        if ev.experiment != experiment_id:
            continue
        split = manifest.tests[ev.test].split
        key = exp.dataset if split == "val" else f"{exp.dataset}_{split}"
        eval_h += cost["eval_images"][key] * cost["test_s_per_img"][exp.backbone] * factor / 3600
    return train_h + eval_h


def plan_table(manifest: Manifest, tables: list[str] | None = None) -> pd.DataFrame:
    """Per table: rows, experiments, evaluations, shared experiments and estimated GPU-hours.

    ``gpu_hours_alone`` counts every experiment the table needs; ``gpu_hours_new`` counts
    only those no earlier (selected) table needs, so the column sums to the estimate of
    running the selected tables (default: all).
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
            "gpu_hours_alone": sum(estimate_gpu_hours(manifest, e) for e in exps),
            "gpu_hours_new": sum(estimate_gpu_hours(manifest, e) for e in new),
        })
    return pd.DataFrame.from_records(records)
