"""Parse and validate the manifest's ``claims:`` and ``decision:`` sections.

A claim is the paper's statement about one table, as data::

    - id: t5_nms_reg_085_beats_070            # names the claim in reports and errors
      table: V
      text: "With cascaded regression, NMS_reg 0.85 beats 0.7"
      expect: positive                        # see model.EXPECTS
      terms: [{row: 2, column: AP, weight: 1}, {row: 1, column: AP, weight: -1}]

or, instead of ``terms``, ``trend: {rows: [1, 2, 3, 4], column: AP}``: the least-squares slope
of that column against the numeric values of the table's ``sweep`` label over those rows; or,
for a cost claim (``expect: cost_*``), ``ratio: {rows: [2, 1], column: gflops}``: row 2's
value over row 1's. A term may name another table (``{table: II, row: 2, ...}``).
``not_testable: <reason>`` marks a claim no run of this reproduction can decide (its terms
may then use published-only rows); ``stand_in_limit: <reason>`` one the generated stand-in
cannot decide; ``tiny_limit: <reason>`` one the tiny model setting cannot.

The paper's delta is the same statistic on the manifest's own ``paper:`` values; a claim
whose paper delta disagrees with ``expect`` (``positive``: > 0; ``equivalent``: within the
margin, :func:`margin`; ``cost_small`` / ``cost_large``: at most / at least
``decision.cost_ratio``; ``cost_lower``: < 1) misstates the paper and is an error, as are
unknown tables, rows and columns, published-only rows (nothing to measure), cells the paper
gives as n/a, and trends over non-numeric or constant sweep labels.

``decision:`` holds the procedure's constants (:class:`Decision`), each with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from decoupled_rcnn.reproduction.manifest.checks import check_id, require, unknown_keys
from decoupled_rcnn.reproduction.manifest.claim_types import (
    COST_EXPECTS,
    COST_LARGE,
    COST_SMALL,
    EQUIVALENT,
    EXPECTS,
    POSITIVE,
    Claim,
    ClaimTerm,
    Decision,
)
from decoupled_rcnn.reproduction.manifest.model import Table

_CLAIM_KEYS = {"id", "table", "text", "expect", "terms", "trend", "ratio", "note",
               "not_testable", "stand_in_limit", "tiny_limit"}
_TERM_KEYS = {"row", "column", "weight", "table"}
_TREND_KEYS = {"rows", "column"}
_DECISION_KEYS = {"q", "delta_ap", "cost_ratio", "reasons"}
#: Paper deltas are rounded to this many decimals, so 54.8 - 54.8 is 0, not 1e-15.
PAPER_DELTA_DECIMALS = 6


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _check_cell(table: Table, row: Any, column: Any, where: str, errors: list[str],
                published_ok: bool = False) -> bool:
    """A claim cell must exist, be measured (not published-only) and have a paper value."""
    if isinstance(row, bool) or not isinstance(row, int) or not 1 <= row <= len(table.rows):
        errors.append(f"{where}: row {row!r} is not a row of Table {table.id} "
                      f"(rows 1-{len(table.rows)})")
        return False
    keys = [c.key for c in table.columns]
    if column not in keys:
        errors.append(f"{where}: Table {table.id} has no column {column!r} "
                      f"(columns: {', '.join(keys)})")
        return False
    target = table.row(row)
    if target.published and not published_ok:
        errors.append(f"{where}: {target.name} is published-only; nothing to measure")
        return False
    if target.paper.get(column) is None:
        errors.append(f"{where}: the paper gives no value for {target.name} {column}")
        return False
    return True


def _parse_terms(raw: Any, table: Table, where: str, errors: list[str],
                 tables: Mapping[str, Table], published_ok: bool) -> tuple | None:
    if not isinstance(raw, list) or not raw:
        errors.append(f"{where}.terms: a non-empty list of {{row, column, weight}}")
        return None
    terms, ok = [], True
    for i, item in enumerate(raw):
        twhere = f"{where}.terms[{i}]"
        if not isinstance(item, Mapping):
            errors.append(f"{twhere}: must be a mapping {{row, column, weight}}")
            ok = False
            continue
        unknown_keys(item, _TERM_KEYS, twhere, errors)
        if not require(item, ("row", "column", "weight"), twhere, errors):
            ok = False
            continue
        weight_ok = _is_number(item["weight"]) and item["weight"] != 0
        if not weight_ok:
            errors.append(f"{twhere}.weight: {item['weight']!r} is not a non-zero number")
        own = tables.get(str(item.get("table", table.id)))
        if own is None:
            errors.append(f"{twhere}.table: unknown table {item['table']!r}")
            ok = False
            continue
        if _check_cell(own, item["row"], item["column"], twhere, errors,
                       published_ok) and weight_ok:
            terms.append(ClaimTerm(row=item["row"], column=item["column"],
                                   weight=float(item["weight"]),
                                   table="" if own.id == table.id else own.id))
        else:
            ok = False
    cells = [(t.table or table.id, t.row, t.column) for t in terms]
    for cell in dict.fromkeys(c for c in cells if cells.count(c) > 1):
        errors.append(f"{where}.terms: cell Table {cell[0]} row {cell[1]} {cell[2]} "
                      "appears twice")
        ok = False
    return tuple(terms) if ok else None


def _parse_trend(raw: Any, table: Table, where: str,
                 errors: list[str]) -> tuple[tuple[int, ...], str, tuple[float, ...]] | None:
    twhere = f"{where}.trend"
    if not isinstance(raw, Mapping):
        errors.append(f"{twhere}: must be a mapping {{rows, column}}")
        return None
    unknown_keys(raw, _TREND_KEYS, twhere, errors)
    if not require(raw, ("rows", "column"), twhere, errors):
        return None
    if table.sweep is None:
        errors.append(f"{twhere}: Table {table.id} has no sweep label column to run a trend "
                      "along (set the table's sweep:)")
        return None
    rows = raw["rows"]
    if not isinstance(rows, list) or len(rows) < 2:
        errors.append(f"{twhere}.rows: a trend needs a list of at least two rows")
        return None
    if len(set(map(repr, rows))) != len(rows):
        errors.append(f"{twhere}.rows: a row appears twice")
        return None
    if not all(_check_cell(table, r, raw["column"], twhere, errors) for r in rows):
        return None
    xs = []
    for r in rows:
        x = table.row(r).labels.get(table.sweep)
        if not _is_number(x):
            errors.append(f"{twhere}: {table.row(r).name} has sweep label {table.sweep}={x!r},"
                          " not a number")
            return None
        xs.append(float(x))
    if len(set(xs)) < 2:
        errors.append(f"{twhere}: the rows' {table.sweep} values are all {xs[0]:g}; "
                      "a slope needs two distinct values")
        return None
    return tuple(rows), str(raw["column"]), tuple(xs)


def _parse_ratio(raw: Any, table: Table, where: str, errors: list[str],
                 published_ok: bool) -> tuple[tuple[int, int], str] | None:
    rwhere = f"{where}.ratio"
    if not isinstance(raw, Mapping) or not require(raw, ("rows", "column"), rwhere, errors):
        if not isinstance(raw, Mapping):
            errors.append(f"{rwhere}: must be a mapping {{rows: [numerator, denominator], "
                          "column}")
        return None
    unknown_keys(raw, _TREND_KEYS, rwhere, errors)
    rows = raw["rows"]
    if not isinstance(rows, list) or len(rows) != 2 or rows[0] == rows[1]:
        errors.append(f"{rwhere}.rows: two different rows [numerator, denominator]")
        return None
    if not all(_check_cell(table, r, raw["column"], rwhere, errors, published_ok)
               for r in rows):
        return None
    return (rows[0], rows[1]), str(raw["column"])


def margin(claim: Claim, decision: Decision) -> float:
    """The claim's minimum effect of interest / equivalence margin (NaN for cost ratios).

    ``decision.delta_ap`` for a weighted sum of cells (AP points); for a trend, the same
    AP points over the swept span, per unit of the sweep (``delta_ap / (max x - min x)``).
    """
    if claim.is_ratio:
        return float("nan")
    if claim.is_trend:
        return decision.delta_ap / (max(claim.trend_x) - min(claim.trend_x))
    return decision.delta_ap


def _holds(claim: Claim, delta: float, decision: Decision) -> tuple[bool, str]:
    """Whether the paper's own value satisfies ``expect``, and what was expected."""
    if claim.expect == POSITIVE:
        return delta > 0, "> 0"
    if claim.expect == EQUIVALENT:
        bound = margin(claim, decision)
        return abs(delta) <= bound, f"within +-{bound:g} (the margin)"
    if claim.expect == COST_SMALL:
        return delta <= decision.cost_ratio, f"<= {decision.cost_ratio:g}"
    if claim.expect == COST_LARGE:
        return delta >= decision.cost_ratio, f">= {decision.cost_ratio:g}"
    return delta < 1, "< 1"


def _statistic_form(entry: Mapping, table: Table, where: str, tables: Mapping[str, Table],
                    errors: list[str]) -> dict[str, Any] | None:
    """The claim's statistic fields (terms, trend or ratio), or None after an error."""
    forms = [k for k in ("terms", "trend", "ratio") if k in entry]
    if len(forms) != 1:
        errors.append(f"{where}: give exactly one of terms: (a weighted sum of cells), "
                      "trend: (a slope along the sweep) or ratio: (a cost ratio)")
        return None
    cost = entry["expect"] in COST_EXPECTS
    if (forms[0] == "ratio") != cost:
        errors.append(f"{where}: expect {entry['expect']} needs "
                      f"{'ratio:' if cost else 'terms: or trend:'}")
        return None
    if forms[0] == "terms":
        terms = _parse_terms(entry["terms"], table, where, errors, tables,
                             published_ok=bool(entry.get("not_testable")))
        return None if terms is None else {"terms": terms}
    if forms[0] == "ratio":
        ratio = _parse_ratio(entry["ratio"], table, where, errors,
                             published_ok=bool(entry.get("not_testable")))
        return None if ratio is None else {"ratio_rows": ratio[0], "ratio_column": ratio[1]}
    trend = _parse_trend(entry["trend"], table, where, errors)
    if trend is None:
        return None
    rows, column, xs = trend
    return {"trend_rows": rows, "trend_column": column, "trend_x": xs, "sweep": table.sweep}


def _parse_claim(entry: Mapping, where: str, tables: Mapping[str, Table],
                 errors: list[str], decision: Decision) -> Claim | None:
    unknown_keys(entry, _CLAIM_KEYS, where, errors)
    if not require(entry, ("id", "table", "text", "expect"), where, errors):
        return None
    if entry["expect"] not in EXPECTS:
        errors.append(f"{where}.expect: {entry['expect']!r} is not one of {', '.join(EXPECTS)}")
        return None
    table = tables.get(str(entry["table"]))
    if table is None:
        errors.append(f"{where}.table: unknown table {entry['table']!r} "
                      f"(known: {', '.join(tables)})")
        return None
    form = _statistic_form(entry, table, where, tables, errors)
    if form is None:
        return None
    claim = Claim(id=entry["id"], table=table.id, text=str(entry["text"]),
                  expect=entry["expect"], note=str(entry.get("note", "")), paper_delta=0.0,
                  not_testable=str(entry.get("not_testable") or ""),
                  stand_in_limit=str(entry.get("stand_in_limit") or ""),
                  tiny_limit=str(entry.get("tiny_limit") or ""), **form)
    paper = {(t, r, c): tables[t].row(r).paper[c] for t, r, c in claim.cells()}
    delta = round(claim.statistic(paper), PAPER_DELTA_DECIMALS) + 0.0  # no -0.0
    holds, wanted = _holds(claim, delta, decision)
    if not holds:
        errors.append(f"{where}: misstates the paper: the paper's values give {delta:+g}, "
                      f"not {wanted} as expect {claim.expect} says ({claim.text!r})")
        return None
    return replace(claim, paper_delta=delta)


def parse_decision(raw: Any, errors: list[str]) -> Decision:
    """The ``decision:`` mapping as :class:`Decision` (defaults where a key is absent)."""
    if not isinstance(raw, Mapping):
        errors.append("decision: must be a mapping {q, delta_ap, cost_ratio, reasons}")
        return Decision()
    unknown_keys(raw, _DECISION_KEYS, "decision", errors)
    out = Decision()
    values = {}
    for key, low, high in (("q", 0.0, 1.0), ("delta_ap", 0.0, None), ("cost_ratio", 1.0, None)):
        value = raw.get(key, getattr(out, key))
        if not _is_number(value) or value <= low or (high is not None and value >= high):
            errors.append(f"decision.{key}: {value!r} is not a number in "
                          f"({low:g}, {'inf' if high is None else f'{high:g}'})")
            value = getattr(out, key)
        values[key] = float(value)
    reasons = raw.get("reasons") or {}
    if not isinstance(reasons, Mapping):
        errors.append("decision.reasons: must be a mapping key -> reason")
        reasons = {}
    return Decision(**values, reasons={str(k): str(v) for k, v in reasons.items()})


def parse_claims(raw: Any, tables: Mapping[str, Table], errors: list[str],
                 decision: Decision | None = None) -> dict[str, Claim]:
    """The ``claims:`` list as ``{id: Claim}``; problems are appended to ``errors``.

    Args:
        raw: the YAML value of ``claims:`` (a list of mappings).
        tables: the already-parsed tables, by id.
        errors: where each problem is appended, naming ``claims.<id>`` and the key.
        decision: the procedure's constants (equivalence margins, the cost boundary).

    Returns:
        The valid claims in manifest order (invalid ones are left out; ``errors`` says why).
    """
    decision = decision or Decision()
    if not isinstance(raw, list):
        errors.append("claims: must be a list of claims")
        return {}
    out: dict[str, Claim] = {}
    for i, entry in enumerate(raw):
        if not isinstance(entry, Mapping):
            errors.append(f"claims[{i}]: must be a mapping")
            continue
        cid = entry.get("id")
        where = f"claims.{cid}" if isinstance(cid, str) else f"claims[{i}]"
        if "id" in entry and not check_id(cid, where, errors):
            continue
        if cid in out:
            errors.append(f"{where}: claim id appears twice")
            continue
        claim = _parse_claim(entry, where, tables, errors, decision)
        if claim is not None:
            out[claim.id] = claim
    return out
