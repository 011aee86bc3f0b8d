"""Verdicts on the paper's qualitative claims, from measured cells over seeds (pandas).

The manifest's ``claims:`` (:class:`~decoupled_rcnn.reproduction.manifest.Claim`) state the
sign of a statistic over table cells: a weighted sum ("A beats B", a difference in
differences) or a least-squares slope along the table's sweep. :func:`evaluate_claims` computes
that statistic on measured cells, seed by seed, and gives every claim one verdict by one rule:

* **Paired over seeds.** For each seed, the statistic is computed on that seed's own cells,
  and only on seeds where every cell it needs is a finite number. ``n`` is the number of such
  seeds; ``mean`` and ``std`` (``ddof=1``) are over their values, ``se = std / sqrt(n)``.
  Each per-seed value is rounded to :data:`STAT_DECIMALS` decimals so that float noise never
  decides a sign. With ``n == 1`` there is no spread: ``std`` and ``se`` are reported as NaN
  and the rule below uses ``se = 0`` (the sign of the single value decides). ``n == 0``:
  **missing**.
* **An effect must clear one standard error; its absence need not.** A statistic counts as
  shown positive when ``mean > se`` and shown negative when ``mean < -se``.

  - ``expect: positive`` (the paper says it helps, statistic > 0): **reproduced** if
    ``mean > se``, **contradicted** if ``mean < -se``, otherwise **inconclusive**.
  - ``expect: not_positive`` (the paper says it does not help, statistic <= 0):
    **contradicted** if ``mean > se`` (the seeds show the help the paper denies),
    **reproduced** if ``mean <= 0`` (no gain measured), otherwise (``0 < mean <= se``)
    **inconclusive** (a gain the seeds can neither show nor rule out).

  Both kinds are contradicted only by an effect shown against the paper's sign by more than
  one se. Applied to the paper's own values as a single seed, every claim is reproduced
  (the manifest loader checks that the paper's delta has the claimed sign). The rule is the
  same for every claim; nothing is tuned per claim. One se is a low bar (about a 68 %
  interval): read ``reproduced`` as "agrees in sign beyond one se" (positive claims) or "no
  gain measured" (not_positive claims), neither as a significance test.

``per_seed`` has one record per (table, row, column, seed): ``table`` (str), ``row`` (int,
1-based as in the manifest), ``column`` (a column key), ``seed`` (int) and ``measured``
(float, percent for accuracy; NaN where missing or failed).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from decoupled_rcnn.reproduction.manifest import NOT_POSITIVE, POSITIVE, Claim, Manifest

REPRODUCED, CONTRADICTED, INCONCLUSIVE, MISSING = (
    "reproduced", "contradicted", "inconclusive", "missing")
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, MISSING)
#: The per-claim rule, shortly, by ``expect`` (the ``rule`` column of :func:`evaluate_claims`).
RULES = {
    POSITIVE: "reproduced if mean > se, contradicted if mean < -se, else inconclusive",
    NOT_POSITIVE: "contradicted if mean > se, reproduced if mean <= 0, else inconclusive",
}
#: The verdict rule in full, as the report prints it.
VERDICT_RULE = (
    "Each claim's statistic is computed per seed on that seed's cells (paired over seeds; "
    "only seeds where every needed cell is finite). n = number of such seeds; mean, "
    "std (ddof=1), se = std/sqrt(n); with n = 1, se is taken as 0 (the sign decides); "
    "n = 0 is 'missing'. Claims that something helps (expect positive): reproduced if "
    "mean > se, contradicted if mean < -se, otherwise inconclusive. Claims that something "
    "does not help (expect not_positive): contradicted if mean > se, reproduced if "
    "mean <= 0, otherwise inconclusive. One rule for every claim."
)
#: Per-seed statistics are rounded to this many decimals (of a percentage point).
STAT_DECIMALS = 9
PER_SEED_COLUMNS = ("table", "row", "column", "seed", "measured")
COLUMNS = ("claim", "table", "text", "expect", "statistic", "paper_delta", "n", "mean", "std",
           "se", "verdict", "rule")


def describe(claim: Claim) -> str:
    """The statistic in words: ``AP[r3] - AP[r1]``, or the slope it is for a trend."""
    if claim.is_trend:
        rows = ", ".join(str(r) for r in claim.trend_rows)
        return (f"slope of {claim.trend_column} vs {claim.sweep} over rows {rows} "
                f"(least squares, points per unit {claim.sweep})")
    parts = []
    for i, term in enumerate(claim.terms):
        size = abs(term.weight)
        factor = "" if size == 1 else f"{size:g}*"
        if i == 0:
            sign = "-" if term.weight < 0 else ""
        else:
            sign = " - " if term.weight < 0 else " + "
        parts.append(f"{sign}{factor}{term.column}[r{term.row}]")
    return "".join(parts)


def verdict(expect: str, n: int, mean: float, se: float) -> str:
    """The verdict of the module's rule for ``n`` paired seeds with ``mean`` and ``se``.

    Args:
        expect: ``"positive"`` or ``"not_positive"``.
        n: seeds with every needed cell finite.
        mean: mean of the per-seed statistic (ignored when ``n == 0``).
        se: its standard error (ignored, taken as 0, when ``n == 1``).
    """
    if expect not in RULES:
        raise ValueError(f"expect {expect!r} is not one of {', '.join(RULES)}")
    if n == 0:
        return MISSING
    band = 0.0 if n == 1 else se
    if expect == POSITIVE:
        if mean > band:
            return REPRODUCED
        return CONTRADICTED if mean < -band else INCONCLUSIVE
    if mean > band:
        return CONTRADICTED
    return REPRODUCED if mean <= 0 else INCONCLUSIVE


def _checked(per_seed: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in PER_SEED_COLUMNS if c not in per_seed.columns]
    if missing:
        raise ValueError(f"per_seed lacks column(s) {missing}; it needs {list(PER_SEED_COLUMNS)}")
    frame = pd.DataFrame({
        "table": per_seed["table"].astype(str),
        "row": per_seed["row"].astype(int),
        "column": per_seed["column"].astype(str),
        "seed": per_seed["seed"].astype(int),
        "measured": pd.to_numeric(per_seed["measured"], errors="coerce").astype(float),
    })
    keys = list(PER_SEED_COLUMNS[:4])
    dup = frame[frame.duplicated(keys, keep=False)]
    if not dup.empty:
        first = dup.iloc[0]
        raise ValueError(f"per_seed has {len(dup)} records for repeated (table, row, column, "
                         f"seed), e.g. Table {first['table']} row {first['row']} "
                         f"{first['column']} seed {first['seed']}")
    return frame


def _wide(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """seed x (row, column) -> measured, for one table (empty when the table has no cells)."""
    sub = frame[frame["table"] == table]
    if sub.empty:
        return pd.DataFrame(index=pd.Index([], name="seed"))
    return sub.pivot(index="seed", columns=["row", "column"], values="measured")


def _values(claim: Claim, wide: pd.DataFrame) -> pd.Series:
    cells = claim.cells()
    present = set(wide.columns)
    if any(cell not in present for cell in cells):
        return pd.Series(dtype=float, name=claim.id)
    data = wide.loc[:, cells].to_numpy(dtype=float)
    usable = np.isfinite(data).all(axis=1)  # paired: a seed counts only with every cell
    data, seeds = data[usable], wide.index[usable]
    if claim.is_trend:
        xs = np.asarray(claim.trend_x, dtype=float)
        dx = xs - xs.mean()
        dy = data - data.mean(axis=1, keepdims=True)
        values = (dy * dx).sum(axis=1) / (dx * dx).sum()
    else:
        index = {cell: i for i, cell in enumerate(cells)}
        values = np.zeros(len(data))
        for term in claim.terms:
            values = values + term.weight * data[:, index[(term.row, term.column)]]
    # Rounded so that float noise (50.3 - 50 - 0.3 = 3e-15) never decides a sign.
    return pd.Series(np.round(values, STAT_DECIMALS), index=seeds, name=claim.id, dtype=float)


def claim_values(claim: Claim, per_seed: pd.DataFrame) -> pd.Series:
    """The claim's statistic per usable seed (index: seed); empty when no seed has every cell.

    Raises:
        ValueError: ``per_seed`` lacks a column or repeats a (table, row, column, seed).
    """
    return _values(claim, _wide(_checked(per_seed), claim.table))


def evaluate_claims(manifest: Manifest, per_seed: pd.DataFrame,
                    claims: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per claim with the paper's delta, the spread over seeds and the verdict.

    Args:
        manifest: the loaded manifest (its ``claims``, in manifest order).
        per_seed: one record per (table, row, column, seed); see the module docstring.
        claims: claim ids to evaluate (default: all).

    Returns:
        Columns :data:`COLUMNS`: ``claim`` (id), ``table``, ``text``, ``expect``,
        ``statistic`` (in words), ``paper_delta`` (the statistic on the paper's values),
        ``n`` (seeds used), ``mean``, ``std``, ``se`` (NaN where undefined), ``verdict``
        (one of :data:`VERDICTS`) and ``rule`` (the rule applied, shortly).

    Raises:
        ValueError: ``per_seed`` lacks a column or repeats a (table, row, column, seed).
        KeyError: an unknown claim id.
    """
    frame = _checked(per_seed)
    chosen = list(manifest.claims) if claims is None else list(claims)
    unknown = [c for c in chosen if c not in manifest.claims]
    if unknown:
        raise KeyError(f"unknown claim(s) {unknown}")
    wides: dict[str, pd.DataFrame] = {}
    records = []
    for cid in chosen:
        claim = manifest.claims[cid]
        if claim.table not in wides:
            wides[claim.table] = _wide(frame, claim.table)
        values = _values(claim, wides[claim.table])
        n = len(values)
        mean = float(values.mean()) if n else math.nan
        std = float(values.std(ddof=1)) if n >= 2 else math.nan
        se = std / math.sqrt(n) if n >= 2 else math.nan
        records.append({
            "claim": claim.id, "table": claim.table, "text": claim.text,
            "expect": claim.expect, "statistic": describe(claim),
            "paper_delta": claim.paper_delta, "n": n, "mean": mean, "std": std, "se": se,
            "verdict": verdict(claim.expect, n, mean, se), "rule": RULES[claim.expect],
        })
    return pd.DataFrame.from_records(records, columns=list(COLUMNS))


def claims_summary(df: pd.DataFrame) -> dict[str, int]:
    """Counts per verdict (every verdict present, in :data:`VERDICTS` order) and ``total``."""
    counts = df["verdict"].value_counts() if len(df) else pd.Series(dtype=int)
    unknown = set(counts.index) - set(VERDICTS)
    if unknown:
        raise ValueError(f"unknown verdict(s) {sorted(unknown)}")
    out = {v: int(counts.get(v, 0)) for v in VERDICTS}
    out["total"] = int(len(df))
    return out


def paper_per_seed(manifest: Manifest, seed: int = 0) -> pd.DataFrame:
    """The paper's values of every measured (non-published) cell as one seed's records.

    Handy as a reference: :func:`evaluate_claims` on it reproduces every claim (n == 1).
    """
    records = [
        {"table": t.id, "row": r.index, "column": c.key, "seed": seed,
         "measured": math.nan if r.paper.get(c.key) is None else r.paper[c.key]}
        for t in manifest.tables.values() for r in t.rows if not r.published
        for c in t.columns
    ]
    return pd.DataFrame.from_records(records, columns=list(PER_SEED_COLUMNS))
