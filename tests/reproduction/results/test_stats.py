"""The paired t-test and Benjamini-Hochberg on values a reader can check by hand."""

import math

import pytest

from decoupled_rcnn.reproduction.results.stats import bh_adjust, paired_t


def test_paired_t_hand_case():
    # mean 2, sd 1, se 1/sqrt(3), t = 3.464 with 2 df; t_{0.975, 2} = 4.303
    r = paired_t([1.0, 2.0, 3.0])
    assert r.mean == 2.0 and r.sd == 1.0 and r.n == 3
    assert r.p_greater == pytest.approx(0.03709, abs=1e-5)
    assert r.p_less == pytest.approx(1 - 0.03709, abs=1e-5)
    assert r.ci_low == pytest.approx(2 - 4.3027 / math.sqrt(3), abs=1e-3)
    assert not r.decided  # the interval (-0.48, 4.48) contains 0


def test_paired_t_shift_and_zero_spread():
    assert paired_t([2.0, 2.0, 2.0]).p_greater == 0.0
    assert paired_t([2.0, 2.0, 2.0]).decided
    assert paired_t([2.0, 2.0, 2.0], shift=3.0).p_less == 0.0
    assert paired_t([1.0, 1.0], shift=1.0).p_greater == 0.5


def test_paired_t_one_and_no_seed():
    one = paired_t([1.5])
    assert one.mean == 1.5 and one.n == 1 and math.isnan(one.p_greater) and not one.decided
    assert paired_t([]).n == 0


def test_paired_t_refuses_non_finite():
    with pytest.raises(ValueError, match="non-finite"):
        paired_t([1.0, float("nan")])


def test_bh_hand_case():
    assert bh_adjust([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.04, 0.04])
    # NaN is not counted in m: two p-values, m = 2
    out = bh_adjust([0.02, float("nan"), 0.5])
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.5)
    assert bh_adjust([]) == []
    assert bh_adjust([0.9, 0.8]) == pytest.approx([0.9, 0.9])
