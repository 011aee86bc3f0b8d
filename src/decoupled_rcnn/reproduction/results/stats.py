"""The statistics behind every verdict and coloured cell: a paired t-test over seeds, BH.

Runs of one seed share what the seed fixes (the data order, the evaluation set, the stand-in
data), so a comparison of two rows is *paired by seed*: the per-seed differences
``d_1 .. d_n`` are tested with a one-sample t-test (``df = n - 1``). A t-test rather than an
exact sign-flip test: with ``n = 5`` the smallest sign-flip p is ``1/32``, which no
multiple-comparison correction over tens of claims lets through, while the t-test's p shrinks
with the size of a consistent effect.

Multiple comparisons: Benjamini-Hochberg over the distinct claims decided in one run
(:func:`bh_adjust`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as _scipy_stats

#: Two-sided confidence level of every interval the report shows.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedT:
    """A one-sample t-test of per-seed differences against ``shift`` (default 0).

    Attributes:
        mean: the mean difference.
        ci_low, ci_high: its two-sided :data:`CONFIDENCE` interval (t, ``df = n - 1``); NaN
            for ``n < 2``.
        p_greater: one-sided p of H1: mean > shift; NaN for ``n < 2``.
        p_less: one-sided p of H1: mean < shift; NaN for ``n < 2``.
        n: the number of seeds.
        sd: the sample standard deviation (``ddof=1``); NaN for ``n < 2``.
    """

    mean: float
    ci_low: float
    ci_high: float
    p_greater: float
    p_less: float
    n: int
    sd: float

    @property
    def decided(self) -> bool:
        """Whether the interval excludes 0 (the cell's colour rule)."""
        return self.n >= 2 and (self.ci_low > 0 or self.ci_high < 0)


def paired_t(values: Sequence[float], shift: float = 0.0) -> PairedT:
    """Test per-seed differences ``values`` (finite floats) against ``shift``.

    Zero spread with ``n >= 2`` gives p = 0 or 1 (the sign of ``mean - shift``; 0.5 each if
    equal) and a zero-width interval, as the t statistic's limit would.

    Example: ``paired_t([1, 2, 3])`` has mean 2, sd 1, se 1/sqrt(3), t = 2 sqrt(3) = 3.46 with
    2 df, so ``p_greater`` = 0.037.
    """
    xs = [float(v) for v in values]
    if any(not math.isfinite(v) for v in xs):
        raise ValueError(f"paired_t: non-finite value in {xs}")
    n = len(xs)
    if n == 0:
        nan = float("nan")
        return PairedT(nan, nan, nan, nan, nan, 0, nan)
    mean = sum(xs) / n
    if n == 1:
        nan = float("nan")
        return PairedT(mean, nan, nan, nan, nan, 1, nan)
    sd = math.sqrt(sum((v - mean) ** 2 for v in xs) / (n - 1))
    se = sd / math.sqrt(n)
    df = n - 1
    half = float(_scipy_stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * se
    diff = mean - shift
    if se == 0:
        p_greater = 0.0 if diff > 0 else (1.0 if diff < 0 else 0.5)
        p_less = 0.0 if diff < 0 else (1.0 if diff > 0 else 0.5)
    else:
        t = diff / se
        p_greater = float(_scipy_stats.t.sf(t, df))
        p_less = float(_scipy_stats.t.cdf(t, df))
    return PairedT(mean, mean - half, mean + half, p_greater, p_less, n, sd)


def bh_adjust(pvalues: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values, in the input order (NaN stays NaN, not counted).

    The adjusted p of the i-th smallest of m p-values is ``min_{j >= i} p_(j) * m / j``, capped
    at 1; a claim is rejected at FDR level q when its adjusted p is <= q.

    Example: ``bh_adjust([0.01, 0.04, 0.03])`` gives ``[0.03, 0.04, 0.04]`` (m = 3: 0.01 * 3,
    then min(0.03 * 3/2, 0.04 * 3/3) = 0.04 for both others).
    """
    indexed = [(p, i) for i, p in enumerate(pvalues) if not math.isnan(p)]
    m = len(indexed)
    out = [float("nan")] * len(pvalues)
    running = 1.0
    for rank, (p, i) in reversed(list(enumerate(sorted(indexed), start=1))):
        running = min(running, p * m / rank)
        out[i] = min(running, 1.0)
    return out
