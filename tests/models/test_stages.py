"""Per-stage settings: the test-time stage selection (0-based)."""

from __future__ import annotations

import pytest
from mmengine.config import ConfigDict

from decoupled_rcnn.models.stages import select_stages


def test_defaults_are_the_last_regressor_and_every_classifier():
    assert select_stages(None, 3, 1) == (2, [0])
    assert select_stages(ConfigDict(reg_stage=None, cls_stages=None), 3, 3) == (2, [0, 1, 2])


def test_indices_are_zero_based():
    # the paper's Table X column "(3, 2)": third regressor, second classifier
    assert select_stages(dict(reg_stage=2, cls_stages=[1]), 3, 3) == (2, [1])
    # stage 0 is a valid choice, not "unset"
    assert select_stages(dict(reg_stage=0, cls_stages=0), 3, 3) == (0, [0])


@pytest.mark.parametrize("cfg", [
    dict(reg_stage=3),  # only stages 0..2
    dict(reg_stage=-1),
    dict(reg_stage=1, cls_stages=[2]),  # classifier 2 scores stage 2's boxes, after regressor 1
    dict(cls_stages=[]),
])
def test_out_of_range_selections_are_refused(cfg):
    with pytest.raises(AssertionError):
        select_stages(cfg, 3, 3)
