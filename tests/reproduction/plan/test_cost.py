"""GPU-hour estimates from the manifest's labelled cost model."""

from __future__ import annotations

import pytest

from decoupled_rcnn.reproduction.plan.cost import estimate_gpu_hours, plan_table


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
