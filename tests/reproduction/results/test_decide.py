"""The decision procedure on values a reader can check, and its error rate on simulated nulls."""

from __future__ import annotations

import math

import numpy as np
import pytest

from decoupled_rcnn.reproduction.results.decide import (
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_MEASURED,
    PROCEDURE,
    REPRODUCED,
    SIGN_ONLY,
    SeedTest,
    decide,
    decide_cost,
    rule,
    seed_test,
    sign_agrees,
)

Q = 0.05
#: Tolerance on a simulated rate: 3 binomial standard errors at p = 0.05 over 2,000 draws
#: (sqrt(0.05 * 0.95 / 2000) = 0.0049).
TOLERANCE = 0.015


def _alone(values: list[float], expect: str = "positive", delta: float = 1.0) -> str:
    """The verdict of one claim decided on its own (BH over one claim is the raw p)."""
    return decide([seed_test(values, expect, delta)], Q)[0][0]


def test_null_claims_are_reproduced_at_most_at_the_design_rate():
    """2,000 seeded null claims (true mean 0, symmetric noise, n = 5), decided one at a time.

    A one-sided t-test at 0.05 reproduces a null claim with probability 0.05; the rate must
    stay under 0.05 + 0.015. The rule it replaces, "reproduced if mean > se", is a one-sided
    test at t > 1 with 4 df, i.e. P(T_4 > 1) = 0.187: it reproduces almost one null claim in
    five, and fails the same bound (asserted below on the same draws).
    """
    rng = np.random.default_rng(20)
    draws = rng.normal(0.0, 1.0, size=(2000, 5))
    verdicts = [_alone(list(d)) for d in draws]
    rate = verdicts.count(REPRODUCED) / len(verdicts)
    assert rate <= Q + TOLERANCE
    assert verdicts.count(CONTRADICTED) / len(verdicts) <= Q + TOLERANCE
    se = draws.std(axis=1, ddof=1) / math.sqrt(5)
    old_rate = float((draws.mean(axis=1) > se).mean())
    assert old_rate > Q + TOLERANCE  # today's rule fails the bound (about 0.19)


def test_equivalence_at_the_margin_is_reproduced_at_most_at_the_design_rate():
    """Null of TOST: the true effect sits exactly on the margin (1.0); 2,000 draws, n = 5."""
    rng = np.random.default_rng(21)
    draws = rng.normal(1.0, 0.5, size=(2000, 5))
    verdicts = [_alone(list(d), "equivalent", 1.0) for d in draws]
    assert verdicts.count(REPRODUCED) / len(verdicts) <= Q + TOLERANCE


def test_a_large_true_effect_is_reproduced():
    # 2.0, 2.5, 1.5, 2.2, 1.8: mean 2.0, sd 0.381, t = 11.7 with 4 df, p = 1.5e-4
    tested = seed_test([2.0, 2.5, 1.5, 2.2, 1.8], "positive", 1.0)
    assert tested.mean == pytest.approx(2.0) and tested.n == 5
    assert tested.p_reproduce < 1e-3 and tested.ci_low > 0
    assert _alone([2.0, 2.5, 1.5, 2.2, 1.8]) == REPRODUCED
    assert _alone([-2.0, -2.5, -1.5, -2.2, -1.8]) == CONTRADICTED


def test_the_t_test_by_hand():
    # 1, 2, 3: mean 2, sd 1, se 1/sqrt(3), t = 2 sqrt(3) = 3.46 with 2 df: p = 0.0371;
    # the 95 % interval is 2 +- 4.303 / sqrt(3) = [-0.484, 4.484]
    tested = seed_test([1.0, 2.0, 3.0], "positive", 1.0)
    assert tested.p_reproduce == pytest.approx(0.0371, abs=1e-4)
    assert tested.p_contradict == pytest.approx(1 - 0.0371, abs=1e-4)
    assert (tested.ci_low, tested.ci_high) == (pytest.approx(-0.484, abs=1e-3),
                                               pytest.approx(4.484, abs=1e-3))
    assert _alone([1.0, 2.0, 3.0]) == REPRODUCED  # p 0.037 <= 0.05, even though the CI has 0
    assert _alone([0.1, -0.2, 0.4]) == INCONCLUSIVE


def test_tost_by_hand():
    # 0.1, -0.1, 0.0: mean 0, sd 0.1, se 0.0577; against -1: t = 17.3, against +1: t = -17.3
    tested = seed_test([0.1, -0.1, 0.0], "equivalent", 1.0)
    assert tested.p_reproduce == pytest.approx(0.00166, abs=1e-4)
    assert tested.p_contradict == pytest.approx(1.0)
    assert _alone([0.1, -0.1, 0.0], "equivalent") == REPRODUCED


def test_an_equivalence_claim_with_a_large_drop_is_contradicted():
    # mean -3.0, sd 0.37: far below -1, the margin. The lenient "mean <= 0" rule read this
    # "reproduced" ("little influence"); here it is contradicted.
    assert _alone([-3.0, -2.5, -3.5, -3.0, -3.0], "equivalent", 1.0) == CONTRADICTED
    assert _alone([3.0, 2.5, 3.5, 3.0, 3.0], "equivalent", 1.0) == CONTRADICTED
    # a wide spread around 0 shows neither
    assert _alone([2.0, -2.0, 1.0, -1.5, 0.5], "equivalent", 1.0) == INCONCLUSIVE


def test_one_seed_gives_sign_only_and_none_not_measured():
    assert decide([seed_test([5.0], "positive", 1.0)], Q)[0][0] == SIGN_ONLY
    assert decide([seed_test([-5.0], "equivalent", 1.0)], Q)[0][0] == SIGN_ONLY
    verdict, rep, con = decide([seed_test([], "positive", 1.0)], Q)[0]
    assert verdict == NOT_MEASURED and math.isnan(rep) and math.isnan(con)
    assert sign_agrees("positive", 0.3, 1.0) and not sign_agrees("positive", 0.0, 1.0)
    assert sign_agrees("equivalent", -0.9, 1.0) and not sign_agrees("equivalent", 1.2, 1.0)


def _p(p: float, n: int = 5) -> SeedTest:
    return SeedTest(n, 1.0, 1.0, 0.0, 2.0, p, 1 - p)


def test_bh_ordering_by_hand():
    # raw p 0.01, 0.02, 0.20, 0.04 (m = 4). Sorted: 0.01 * 4/1 = 0.04, 0.02 * 4/2 = 0.04,
    # 0.04 * 4/3 = 0.0533, 0.20 * 4/4 = 0.20; running minimum from the top leaves them.
    # 0.04 alone would pass q = 0.05; after BH (0.0533) it does not.
    out = decide([_p(0.01), _p(0.02), _p(0.20), _p(0.04)], Q)
    assert [v for v, _, _ in out] == [REPRODUCED, REPRODUCED, INCONCLUSIVE, INCONCLUSIVE]
    assert [rep for _, rep, _ in out] == pytest.approx([0.04, 0.04, 0.20, 0.04 * 4 / 3])
    # claims with fewer than two seeds are not in the family: m stays 4
    out5 = decide([_p(0.01), _p(0.02), _p(0.20), _p(0.04), _p(0.0, n=1)], Q)
    assert [rep for _, rep, _ in out5[:4]] == pytest.approx([0.04, 0.04, 0.20, 0.04 * 4 / 3])
    assert out5[4][0] == SIGN_ONLY
    assert decide([], Q) == []


def test_cost_claims_by_their_threshold():
    assert decide_cost("cost_small", 1.33, 1.5) == REPRODUCED
    assert decide_cost("cost_small", 1.5, 1.5) == REPRODUCED
    assert decide_cost("cost_small", 1.51, 1.5) == CONTRADICTED
    assert decide_cost("cost_large", 1.84, 1.5) == REPRODUCED
    assert decide_cost("cost_large", 1.2, 1.5) == CONTRADICTED
    assert decide_cost("cost_lower", 0.85, 1.5) == REPRODUCED
    assert decide_cost("cost_lower", 1.0, 1.5) == CONTRADICTED
    assert decide_cost("cost_small", math.nan, 1.5) == NOT_MEASURED


def test_rules_and_procedure_are_stated():
    assert "p(mean > 0) <= 0.05" in rule("positive", 0.05, 1.0, 1.5)
    assert "TOST with margin 1" in rule("equivalent", 0.05, 1.0, 1.5)
    assert "ratio <= 1.5" in rule("cost_small", 0.05, 1.0, 1.5)
    assert "ratio < 1" in rule("cost_lower", 0.05, 1.0, 1.5)
    for phrase in ("paired by seed", "Benjamini-Hochberg", "TOST", "sign only (1 seed)",
                   "not measured", "learnability", "same as", "not by a test"):
        assert phrase in PROCEDURE
    with pytest.raises(ValueError, match="cost_small"):
        seed_test([1.0, 2.0], "cost_small", 1.0)
