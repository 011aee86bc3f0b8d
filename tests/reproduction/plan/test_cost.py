"""GPU-hour estimates from the manifest's labelled cost model."""

from __future__ import annotations

import re

import pytest

from decoupled_rcnn.reproduction.plan.cost import (
    estimate_gpu_hours,
    plan_table,
    train_runtime_min,
)


def test_plan_and_gpu_hours(manifest):
    plan = plan_table(manifest).set_index("table")
    total = sum(estimate_gpu_hours(manifest, e.id) for e in manifest.unique_experiments())
    assert plan["gpu_hours_new"].sum() == pytest.approx(total)
    assert plan.loc["VII", "gpu_hours_alone"] > plan.loc["VII", "gpu_hours_new"]
    assert plan.loc["IX", "experiments"] == 5 and plan.loc["X", "evaluations"] == 12
    assert plan.loc["I", "shared"] == 0 and plan.loc["VIII", "shared"] == 4
    # 12 epochs x ceil(16551 / 8) iterations x 0.30 s x factor 1.3 on 4 GPUs, plus one pass
    # over the 4952 VOC07 test images at 0.10 s x 1.3 (the manifest's labelled estimates).
    voc = estimate_gpu_hours(manifest, "voc_r101_dec_c3_reg085_l050")
    assert voc == pytest.approx((12 * 2069 * 0.30 * 1.3 * 4 + 4952 * 0.10 * 1.3) / 3600)
    one_x = estimate_gpu_hours(manifest, "coco1x_r101_dec_c3")
    assert 6.5 < one_x / voc < 7.5  # COCO train2017 has ~7x the images of VOC07+12
    two_x = estimate_gpu_hours(manifest, "coco2x_r101_dec_c3")
    assert 1.9 < two_x / one_x < 2.1


def test_smoke_estimate_replaces_only_the_training_iterations(manifest):
    # 300 iterations x 0.30 s x 1.3 on 4 GPUs, plus the same full VOC07 test pass.
    smoke = estimate_gpu_hours(manifest, "voc_r101_dec_c3_reg085_l050", short_iters=300)
    assert smoke == pytest.approx((300 * 0.30 * 1.3 * 4 + 4952 * 0.10 * 1.3) / 3600)
    full = plan_table(manifest)["gpu_hours_new"].sum()
    assert 0 < plan_table(manifest, short_iters=300)["gpu_hours_new"].sum() < full / 50


def test_training_wall_time_from_the_cost_model_capped_by_the_partition(manifest):
    # 12 x 2069 iterations x 0.30 s x 1.3 = 161.4 min; x 1.5 = 242.1 -> 243, + 20 min.
    voc = "voc_r101_dec_c3_reg085_l050"
    assert train_runtime_min(manifest, voc, max_runtime_min=2880) == 263
    assert train_runtime_min(manifest, voc, max_runtime_min=120) == 120
    # 300 iterations: 300 x 0.39 s = 1.95 min; x 1.5 = 2.9 -> 3, + 20 min.
    assert train_runtime_min(manifest, voc, max_runtime_min=2880, short_iters=300) == 23
    # COCO 2x multi-scale ResNeXt-101-64x4d: days of training, so the 24 h cap applies.
    assert train_runtime_min(manifest, "cocoms2x_x101_64x4d_dec_c3", max_runtime_min=1440) \
        == 1440


def test_plan_prints_the_smoke_and_the_full_estimate(capsys):
    from decoupled_rcnn import cli

    assert cli.main(["plan"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"smoke run first \(paper-smoke.yaml: 300 iterations per training, the "
                      r"full evaluation\): ([\d,]+) GPU-hours; then the full run: ([\d,]+) "
                      r"GPU-hours", out)
    assert found, out
    smoke, full = (int(g.replace(",", "")) for g in found.groups())
    assert 0 < smoke < full and f"estimated total: {full:,} GPU-hours" in out
