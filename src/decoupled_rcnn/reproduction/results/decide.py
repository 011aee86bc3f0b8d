"""The decision procedure: one verdict per claim from its per-seed statistic.

Runs of one seed share the data order and the evaluation set, so each claim's statistic
``d_s`` (a weighted sum of cells, or a slope) is computed seed by seed and tested *paired by
seed*: a one-sample t-test on ``d_1 .. d_n`` (``df = n - 1``, :func:`~.stats.paired_t`). Every
claim of a run is decided by the same rules, with the constants the manifest declares before
any run (``decision:``: ``q``, the margin ``delta``, the cost boundary):

* **Directional** (``expect: positive``; "A beats B", "X helps", "degrades"): ``p_reproduce``
  is the one-sided p of H1: mean > 0, ``p_contradict`` the reverse one-sided p (mean < 0).
* **Equivalence** (``expect: equivalent``; "little influence", "does not help"): TOST with
  margin ``delta``. ``p_reproduce`` is the larger of the one-sided p of H1: mean > -delta and
  of H1: mean < +delta (both must reject); ``p_contradict`` is twice the smaller of the
  one-sided p of H1: mean > +delta and of H1: mean < -delta (capped at 1): a large effect
  either way contradicts "little influence", and the factor 2 pays for looking both ways.
* Benjamini-Hochberg at level ``q`` over the distinct decidable claims of the run, each
  family (all ``p_reproduce``, all ``p_contradict``) adjusted separately: **reproduced** if
  the adjusted ``p_reproduce`` <= q, else **contradicted** if the adjusted ``p_contradict``
  <= q, else **inconclusive**.
* One seed: no spread, no test; the verdict is **sign only (1 seed)**, never reproduced or
  contradicted. No seed: **not measured**.
* **Cost claims** (FLOPs, parameters, s/image) are single deterministic measurements per
  experiment: decided by the stated threshold on the measured ratio, not by a test, and
  outside the BH families.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from decoupled_rcnn.reproduction.manifest import (
    COST_LARGE,
    COST_SMALL,
    EQUIVALENT,
    POSITIVE,
)
from decoupled_rcnn.reproduction.results.stats import CONFIDENCE, bh_adjust, paired_t

REPRODUCED, CONTRADICTED, INCONCLUSIVE = "reproduced", "contradicted", "inconclusive"
SIGN_ONLY = "sign only (1 seed)"
NOT_MEASURED = "not measured"
NOT_DECIDED = "not decided"  # the table's baseline did not learn (the ``why`` says so)
NOT_TESTABLE = "not testable"  # here, or on the stand-in (the ``why`` says why)
SAME_AS = "same as"  # the same statistic from the same runs as another claim
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, SIGN_ONLY, NOT_MEASURED, NOT_DECIDED,
            NOT_TESTABLE, SAME_AS)


@dataclass(frozen=True)
class SeedTest:
    """One claim's test on its per-seed values (p-values NaN for ``n < 2``).

    Attributes:
        n: seeds with every needed cell.
        mean, sd: of the per-seed statistic (``sd`` NaN for ``n < 2``).
        ci_low, ci_high: the two-sided :data:`~.stats.CONFIDENCE` t interval of the mean.
        p_reproduce: one-sided p in the paper's direction (directional) or the TOST p
            (equivalence).
        p_contradict: one-sided p against the paper (see the module docstring).
    """

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    p_reproduce: float
    p_contradict: float


def seed_test(values: Sequence[float], expect: str, delta: float) -> SeedTest:
    """The test of ``values`` (one statistic per seed) for a claim with ``expect``.

    Example: ``seed_test([1, 2, 3], "positive", 1.0)`` has mean 2, t = 3.46 with 2 df,
    ``p_reproduce`` = 0.037 and ``p_contradict`` = 0.963.
    """
    if expect not in (POSITIVE, EQUIVALENT):
        raise ValueError(f"expect {expect!r} is not tested over seeds")
    base = paired_t(values)
    if expect == POSITIVE:
        p_rep, p_con = base.p_greater, base.p_less
    else:
        lower, upper = paired_t(values, shift=-delta), paired_t(values, shift=delta)
        p_rep = max(lower.p_greater, upper.p_less)
        p_con = min(1.0, 2 * min(upper.p_greater, lower.p_less))
    return SeedTest(base.n, base.mean, base.sd, base.ci_low, base.ci_high, p_rep, p_con)


def decide(tested: Sequence[SeedTest], q: float) -> list[tuple[str, float, float]]:
    """``(verdict, adjusted p_reproduce, adjusted p_contradict)`` for each claim, in order.

    BH runs over the claims with ``n >= 2`` (the decidable ones); a claim with ``n == 1``
    reads :data:`SIGN_ONLY` and ``n == 0`` :data:`NOT_MEASURED` (their adjusted p: NaN).
    """
    decidable = [t.n >= 2 for t in tested]
    adj_rep = bh_adjust([t.p_reproduce if ok else math.nan for t, ok in zip(tested, decidable)])
    adj_con = bh_adjust([t.p_contradict if ok else math.nan
                         for t, ok in zip(tested, decidable)])
    out = []
    for t, rep, con in zip(tested, adj_rep, adj_con):
        if t.n == 0:
            out.append((NOT_MEASURED, math.nan, math.nan))
        elif t.n == 1:
            out.append((SIGN_ONLY, math.nan, math.nan))
        elif rep <= q:
            out.append((REPRODUCED, rep, con))
        elif con <= q:
            out.append((CONTRADICTED, rep, con))
        else:
            out.append((INCONCLUSIVE, rep, con))
    return out


def sign_agrees(expect: str, value: float, delta: float) -> bool:
    """Whether one seed's value has the paper's sign (within the margin, for equivalence)."""
    return value > 0 if expect == POSITIVE else abs(value) <= delta


def decide_cost(expect: str, ratio: float, boundary: float) -> str:
    """A cost claim's verdict from its measured ratio (no test: one measurement).

    ``cost_small``: reproduced if ``ratio <= boundary``; ``cost_large``: if ``ratio >=
    boundary``; ``cost_lower``: if ``ratio < 1``; contradicted otherwise; NaN: not measured.
    """
    if not math.isfinite(ratio):
        return NOT_MEASURED
    if expect == COST_SMALL:
        holds = ratio <= boundary
    elif expect == COST_LARGE:
        holds = ratio >= boundary
    else:
        holds = ratio < 1
    return REPRODUCED if holds else CONTRADICTED


def rule(expect: str, q: float, delta: float, boundary: float) -> str:
    """The rule a claim with ``expect`` is decided by, in one sentence (the CSV's ``rule``)."""
    if expect == POSITIVE:
        return (f"directional: paired one-sided t-test over seeds; reproduced if BH-adjusted "
                f"p(mean > 0) <= {q:g}, contradicted if BH-adjusted p(mean < 0) <= {q:g}")
    if expect == EQUIVALENT:
        return (f"equivalence: TOST with margin {delta:g}; reproduced if BH-adjusted "
                f"max p(mean > -{delta:g}, mean < {delta:g}) <= {q:g}, contradicted if "
                f"BH-adjusted 2 min p(mean > {delta:g}, mean < -{delta:g}) <= {q:g}")
    wanted = {COST_SMALL: f"<= {boundary:g}", COST_LARGE: f">= {boundary:g}"}.get(expect, "< 1")
    return f"cost ratio, one measurement, no test: reproduced if ratio {wanted}, else contradicted"


#: The procedure as the report and the README print it.
PROCEDURE = (
    "Each claim's statistic (a weighted sum of table cells, or a slope) is computed per "
    "seed from that seed's runs; runs of one seed share the data order and the evaluation "
    "set, so the test is paired by seed: a one-sample t-test on the n per-seed values "
    f"(df = n - 1; mean and its {CONFIDENCE:.0%} t interval shown). Directional claims "
    "(A beats B, X helps, degrades): reproduced if the Benjamini-Hochberg-adjusted one-sided "
    "p of mean > 0 is <= q; contradicted if the adjusted p of the reverse test is <= q; "
    "otherwise inconclusive. 'Little influence' claims: equivalence by TOST with margin "
    "delta (reproduced if both one-sided tests against -delta and +delta reject, adjusted "
    "max p <= q); contradicted if mean > delta or mean < -delta is shown (adjusted, the "
    "smaller p doubled for looking both ways). BH runs over the distinct decidable claims "
    "of this run, the reproduced and the contradicted p-values adjusted separately. One "
    "seed: 'sign only (1 seed)', never reproduced or contradicted; no seed or failed runs: "
    "'not measured'. Claims whose table's baseline row did not reach the learnability "
    "floor (AP50, mean over seeds) are 'not decided' and left out of BH. Claims that "
    "compute the same statistic from the same runs are decided once ('same as'). Cost "
    "claims (FLOPs, parameters, s/image: one measurement per experiment) are decided by "
    "a stated threshold on the measured ratio, not by a test. q, delta and the cost "
    "threshold are declared in the manifest before any run, never per claim."
)
