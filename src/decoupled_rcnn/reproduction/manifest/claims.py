"""Parse and validate the manifest's ``claims:`` section into :class:`Claim` objects.

A claim is the paper's qualitative statement about one table, as data::

    - id: t5_nms_reg_085_beats_070            # names the claim in reports and errors
      table: V
      text: "With cascaded regression, NMS_reg 0.85 beats 0.7"
      expect: positive                        # positive: statistic > 0; not_positive: <= 0
      terms: [{row: 2, column: AP, weight: 1}, {row: 1, column: AP, weight: -1}]

or, instead of ``terms``, ``trend: {rows: [1, 2, 3, 4], column: AP}``: the least-squares slope
of that column against the numeric values of the table's ``sweep`` label over those rows.

The paper's delta is the same statistic on the manifest's own ``paper:`` values; a claim
whose paper delta disagrees with ``expect`` misstates the paper and is an error, as are
unknown tables, rows and columns, published-only rows (nothing to measure), cells the paper
gives as n/a, and trends over non-numeric or constant sweep labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from decoupled_rcnn.reproduction.manifest.checks import check_id, require, unknown_keys
from decoupled_rcnn.reproduction.manifest.model import (
    EXPECTS,
    POSITIVE,
    Claim,
    ClaimTerm,
    Table,
)

_CLAIM_KEYS = {"id", "table", "text", "expect", "terms", "trend", "note"}
_TERM_KEYS = {"row", "column", "weight"}
_TREND_KEYS = {"rows", "column"}
#: Paper deltas are rounded to this many decimals, so 54.8 - 54.8 is 0, not 1e-15.
PAPER_DELTA_DECIMALS = 6


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def _check_cell(table: Table, row: Any, column: Any, where: str, errors: list[str]) -> bool:
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
    if target.published:
        errors.append(f"{where}: {target.name} is published-only; nothing to measure")
        return False
    if target.paper.get(column) is None:
        errors.append(f"{where}: the paper gives no value for {target.name} {column}")
        return False
    return True


def _parse_terms(raw: Any, table: Table, where: str, errors: list[str]) -> tuple | None:
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
        if _check_cell(table, item["row"], item["column"], twhere, errors) and weight_ok:
            terms.append(ClaimTerm(row=item["row"], column=item["column"],
                                   weight=float(item["weight"])))
        else:
            ok = False
    cells = [(t.row, t.column) for t in terms]
    for cell in dict.fromkeys(c for c in cells if cells.count(c) > 1):
        errors.append(f"{where}.terms: cell row {cell[0]} {cell[1]} appears twice")
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


def _parse_claim(entry: Mapping, where: str, tables: Mapping[str, Table],
                 errors: list[str]) -> Claim | None:
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
    if ("terms" in entry) == ("trend" in entry):
        errors.append(f"{where}: give exactly one of terms: (a weighted sum of cells) or "
                      "trend: (a slope along the sweep)")
        return None
    common = dict(id=entry["id"], table=table.id, text=str(entry["text"]),
                  expect=entry["expect"], note=str(entry.get("note", "")))
    if "terms" in entry:
        terms = _parse_terms(entry["terms"], table, where, errors)
        if terms is None:
            return None
        claim = Claim(**common, paper_delta=0.0, terms=terms)
    else:
        trend = _parse_trend(entry["trend"], table, where, errors)
        if trend is None:
            return None
        rows, column, xs = trend
        claim = Claim(**common, paper_delta=0.0, trend_rows=rows, trend_column=column,
                      trend_x=xs, sweep=table.sweep)
    paper = {(r, c): table.row(r).paper[c] for r, c in claim.cells()}
    delta = round(claim.statistic(paper), PAPER_DELTA_DECIMALS) + 0.0  # no -0.0
    holds = delta > 0 if claim.expect == POSITIVE else delta <= 0
    if not holds:
        errors.append(f"{where}: misstates the paper: the paper's values give {delta:+g}, "
                      f"which is not {claim.expect} ({claim.text!r})")
        return None
    return replace(claim, paper_delta=delta)


def parse_claims(raw: Any, tables: Mapping[str, Table], errors: list[str]) -> dict[str, Claim]:
    """The ``claims:`` list as ``{id: Claim}``; problems are appended to ``errors``.

    Args:
        raw: the YAML value of ``claims:`` (a list of mappings).
        tables: the already-parsed tables, by id.
        errors: where each problem is appended, naming ``claims.<id>`` and the key.

    Returns:
        The valid claims in manifest order (invalid ones are left out; ``errors`` says why).
    """
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
        claim = _parse_claim(entry, where, tables, errors)
        if claim is not None:
            out[claim.id] = claim
    return out
