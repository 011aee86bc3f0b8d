"""Every job's scheduler resources from the workflow config's ``resources:``."""

from __future__ import annotations

from decoupled_rcnn.paths import REPO_ROOT
from decoupled_rcnn.reproduction.plan.resources import (
    CPU_KINDS,
    job_resources,
    job_threads,
    train_retries,
    train_runtime,
)
from decoupled_rcnn.reproduction.plan.workflow_config import load_workflow_config

PAPER = REPO_ROOT / "configs" / "workflow" / "paper.yaml"


def test_gpu_jobs_on_one_node_of_the_gpu_partition_cpu_jobs_on_the_cpu_one():
    wcfg = load_workflow_config(PAPER, {"resources": {"partitions": {"gpu": "a100",
                                                                     "cpu": "short"}}})
    train = job_resources(wcfg, "train")
    assert (train["gpu"], train["nodes"], train["slurm_partition"]) == (4, 1, "a100")
    assert job_resources(wcfg, "evaluate")["gpu"] == 1
    assert job_resources(wcfg, "benchmark")["slurm_partition"] == "a100"  # device: cuda
    for kind in CPU_KINDS:
        res = job_resources(wcfg, kind)
        assert (res["gpu"], res["slurm_partition"]) == (0, "short"), kind
    prepare = job_resources(wcfg, "prepare_data")
    assert (prepare["mem_mb"], prepare["runtime"], job_threads(wcfg, "prepare_data")) == (
        16000, 180, 4)  # paper.yaml's, not a number fixed in the rule
    assert job_threads(wcfg, "benchmark") == wcfg["benchmark"]["threads"]


def test_a_cpu_training_goes_to_the_cpu_partition():
    wcfg = load_workflow_config()  # the embedded default: gpus 0
    assert job_resources(wcfg, "train")["slurm_partition"] == "cpu"


def test_training_wall_time_per_experiment_capped_by_the_partition():
    wcfg = load_workflow_config(PAPER, {"resources": {"train": {"max_runtime_min": 1440}}})
    # 12 x 2069 iterations x 0.22 s x 1.05 = 95.6 min; x 1.5 = 143.4 -> 144, + 20 min.
    assert train_runtime(wcfg, "voc_r50_dec") == 164
    assert train_runtime(wcfg, "coco2x_x101_32x4d_dec_c3") == 1440  # ~49 h: capped
    fast = load_workflow_config(PAPER, {"resources": {"train": {"gpu_speed": 2.0}}})
    # 95.6 / 2 = 47.8 min; x 1.5 = 71.7 -> 72, + 20 min.
    assert train_runtime(fast, "voc_r50_dec") == 92
    fixed = load_workflow_config(PAPER, {"resources": {"train": {"runtime_min": 600,
                                                                 "max_runtime_min": 300}}})
    assert train_runtime(fixed, "voc_r50_dec") == 300  # a fixed limit is capped too


def test_a_job_trains_every_seed_so_its_runtime_counts_them():
    wcfg = load_workflow_config(PAPER, {"seeds": 2})
    # 2 x 95.6 min = 191.2; x 1.5 = 286.8 -> 287, + 20 min.
    assert train_runtime(wcfg, "voc_r50_dec") == 307


def test_retries_give_the_longest_job_enough_allocations_plus_one_spare():
    day = load_workflow_config(PAPER, {"resources": {"train": {"max_runtime_min": 1440}}})
    assert train_retries(day, ["voc_r50_dec"]) == 0  # 164 min fit one allocation
    # cocoms2x_x101_64x4d_dec_c3: 66.96 h x 60 x 1.5 -> 6027, + 20 = 6047 min: 5 allocations
    # of 1440 min, so 4 retries, plus a spare.
    assert train_retries(day, ["voc_r50_dec", "cocoms2x_x101_64x4d_dec_c3"]) == 5
    assert train_retries(load_workflow_config(), ["voc_r50_dec"]) == 0  # the laptop default
    fixed = load_workflow_config(PAPER, {"resources": {"train": {"allocations": 4}}})
    assert train_retries(fixed, ["voc_r50_dec"]) == 3
