"""The paper's claims as data: what a claim computes and the procedure's constants.

A :class:`Claim` is a statistic over table cells (a weighted sum, a slope along a sweep or
a ratio of costs) and what the paper says of it (``expect``); :class:`Decision` holds the
decision procedure's constants, fixed in the manifest before any run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: ``expect:`` of a claim. ``positive``: the paper says the statistic is > 0 ("A beats B",
#: "X helps", "degrades" with the weights turned so); ``equivalent``: its size is under the
#: margin ("little influence", "does not help"); ``cost_small`` / ``cost_large``: a ratio of
#: two deterministic costs (FLOPs, parameters, speed) is at most / at least the manifest's
#: ``decision.cost_ratio`` ("negligible overhead" / "a great increase"); ``cost_lower``: the
#: ratio is under 1 ("fewer parameters").
POSITIVE, EQUIVALENT = "positive", "equivalent"
COST_SMALL, COST_LARGE, COST_LOWER = "cost_small", "cost_large", "cost_lower"
EXPECTS = (POSITIVE, EQUIVALENT, COST_SMALL, COST_LARGE, COST_LOWER)
COST_EXPECTS = (COST_SMALL, COST_LARGE, COST_LOWER)


@dataclass(frozen=True)
class Decision:
    """The decision procedure's constants (the manifest's ``decision:``), fixed before any run.

    Attributes:
        q: the false-discovery level of Benjamini-Hochberg over the run's distinct claims.
        delta_ap: the minimum effect of interest and equivalence margin for statistics in
            AP points (a trend's margin is ``delta_ap`` over its swept span, per unit).
        cost_ratio: the boundary between a small and a large cost ratio.
        reasons: why each constant has its value (key -> sentence).
    """

    q: float = 0.05
    delta_ap: float = 1.0
    cost_ratio: float = 1.5
    reasons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClaimTerm:
    """One cell of a claim's weighted sum: ``weight * value(table, row, column)``."""

    row: int  # 1-based row index in the term's table
    column: str  # a value column key of that table
    weight: float
    table: str = ""  # the claim's own table where empty


@dataclass(frozen=True)
class Claim:
    """A claim of the paper: a statistic over table cells and what the paper says of it.

    The statistic is a weighted sum of cells (``terms``: "A beats B" is ``A - B``, "the gain
    is larger at AP90 than at AP50" a difference in differences; a term may name another
    table), the least-squares slope of one column against the table's numeric ``sweep``
    label (``trend_rows``, ``trend_x``) or the ratio of two cells (``ratio_rows``, cost
    claims). ``paper_delta`` is it on the paper's values, computed at load time (never typed
    in); ``expect`` is one of :data:`EXPECTS`. ``not_testable`` (a reason) marks a claim this
    reproduction cannot decide anywhere (Table IX needs the COCO server); ``stand_in_limit``
    (a reason) one it cannot decide on the generated stand-in while the workflow config's
    ``claims.stand_in_limits`` is on; ``tiny_limit`` (a reason) one the tiny model setting
    cannot decide (its costs are not the paper's architecture's).
    """

    id: str
    table: str
    text: str
    expect: str  # one of EXPECTS
    paper_delta: float
    terms: tuple[ClaimTerm, ...] = ()
    trend_rows: tuple[int, ...] = ()
    trend_column: str | None = None
    trend_x: tuple[float, ...] = ()  # the sweep label value of each trend row
    sweep: str | None = None  # the label column the trend runs along
    ratio_rows: tuple[int, ...] = ()  # (numerator row, denominator row) of a cost claim
    ratio_column: str | None = None
    not_testable: str = ""
    stand_in_limit: str = ""
    tiny_limit: str = ""
    note: str = ""

    @property
    def is_trend(self) -> bool:
        return bool(self.trend_rows)

    @property
    def is_ratio(self) -> bool:
        return bool(self.ratio_rows)

    def cells(self) -> list[tuple[str, int, str]]:
        """The (table, row, column) cells the statistic reads, each once, in order."""
        if self.is_trend:
            return [(self.table, r, str(self.trend_column)) for r in self.trend_rows]
        if self.is_ratio:
            return [(self.table, r, str(self.ratio_column)) for r in self.ratio_rows]
        return list(dict.fromkeys((t.table or self.table, t.row, t.column)
                                  for t in self.terms))

    def weights(self) -> list[float]:
        """The statistic as weights on :meth:`cells` (trends and sums are linear in them).

        Raises:
            ValueError: for a ratio, which is not a weighted sum.
        """
        if self.is_ratio:
            raise ValueError(f"claim {self.id}: a ratio has no weights")
        if self.is_trend:
            mean_x = sum(self.trend_x) / len(self.trend_x)
            sxx = sum((x - mean_x) ** 2 for x in self.trend_x)
            return [(x - mean_x) / sxx for x in self.trend_x]
        index = {cell: i for i, cell in enumerate(self.cells())}
        out = [0.0] * len(index)
        for t in self.terms:
            out[index[(t.table or self.table, t.row, t.column)]] += t.weight
        return out

    def statistic(self, values: Mapping[tuple[str, int, str], float]) -> float:
        """The statistic on ``values`` ((table, row, column) -> number, e.g. one seed's)."""
        cells = self.cells()
        if self.is_ratio:
            return float(values[cells[0]] / values[cells[1]])
        if self.is_trend:
            return slope(self.trend_x, [values[c] for c in cells])
        return float(sum(w * values[c] for w, c in zip(self.weights(), cells)))


def slope(xs: tuple[float, ...] | list[float], ys: list[float]) -> float:
    """Least-squares slope of ``ys`` against ``xs`` (at least two distinct ``xs``)."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys))
    return float(sxy / sxx)
