"""The report's claims block: one view per claim row and the procedure's constants.

Reads only ``claims.csv`` (:func:`~decoupled_rcnn.reproduction.results.claims.evaluate_claims`)
and the manifest's ``decision:``; the verdict counts come from
:func:`~decoupled_rcnn.reproduction.results.claims.claims_summary`, never counted here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from decoupled_rcnn.reproduction.manifest import COST_EXPECTS, EQUIVALENT, Manifest
from decoupled_rcnn.reproduction.results.claims import claims_summary
from decoupled_rcnn.reproduction.results.decide import NOT_DECIDED, PROCEDURE, SAME_AS

_RULE_NAMES = {EQUIVALENT: "equivalence (TOST)"}


def _num(value: Any, decimals: int, signed: bool = False) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if math.isnan(number):
        return ""
    return f"{number:+.{decimals}f}" if signed else f"{number:.{decimals}f}"


def _p(value: Any) -> str:
    text = _num(value, 3)
    if text == "0.000":
        return "<0.001"
    return text


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def slug(verdict: str) -> str:
    """A CSS-safe name of a verdict: ``sign only (1 seed)`` -> ``sign-only-1-seed``."""
    return re.sub(r"[^a-z0-9]+", "-", verdict.lower()).strip("-")


def claim_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """What one row of the claims table shows (strings, ready to print)."""
    expect = str(record.get("expect", ""))
    cost = expect in COST_EXPECTS
    n = int(record.get("n") or 0)
    low, high = _num(record.get("ci95_low"), 2, True), _num(record.get("ci95_high"), 2, True)
    ours = _num(record.get("mean"), 3 if cost else 2, signed=not cost)
    if ours and low and high:
        ours += f" [{low}, {high}]"
    p_raw, p_bh = _p(record.get("p_reproduce")), _p(record.get("p_reproduce_bh"))
    return {
        **record,
        "verdict_class": slug(str(record.get("verdict", ""))),
        "why": _text(record.get("why")),
        "same_as": _text(record.get("same_as")),
        "rule_name": ("cost ratio" if cost else _RULE_NAMES.get(expect, "directional")),
        "paper_text": _num(record.get("paper_delta"), 3 if cost else 2, signed=not cost),
        "ours": ours,
        "n_text": "1 measurement" if cost and n else str(n),
        "p_text": f"{p_raw} / {p_bh}" if p_raw else "",
        "p_contra": (f"against: {_p(record.get('p_contradict'))} / "
                     f"{_p(record.get('p_contradict_bh'))}" if p_raw else ""),
        "delta_text": _num(record.get("delta_margin"), 2),
    }


def claims_context(manifest: Manifest, claims: pd.DataFrame | None,
                   floor: float | None = None) -> dict[str, Any]:
    """The template's claims variables: views, counts, the procedure and its constants.

    Returns:
        ``claims`` (one view per row, in order), ``verdicts`` (verdict -> count of distinct
        claims, zero counts and duplicates left out), ``claim_total`` (distinct claims),
        ``claim_same`` (rows shown as "same as"), ``procedure`` (the text) and
        ``constants`` ((name, value, reason) rows: q, delta, the cost threshold and the
        learnability floor when given) and ``gated`` (each distinct reason a table's claims
        were not decided, e.g. its baseline did not learn).
    """
    if claims is None or claims.empty:
        return {"claims": [], "verdicts": {}, "claim_total": 0, "claim_same": 0,
                "procedure": PROCEDURE, "constants": [], "gated": []}
    summary = claims_summary(claims)
    decision = manifest.decision
    constants = [
        ("q (Benjamini-Hochberg FDR level)", f"{decision.q:g}", decision.reasons.get("q", "")),
        ("δ (minimum effect, equivalence margin)", f"{decision.delta_ap:.1f} AP",
         decision.reasons.get("delta_ap", "")),
        ("cost ratio threshold", f"{decision.cost_ratio:g}",
         decision.reasons.get("cost_ratio", "")),
    ]
    if floor is not None:
        constants.append(("learnability floor", f"AP50 ≥ {floor:g} % (baseline row, mean over "
                          "seeds)", "workflow config claims.learnability_floor_ap50"))
    return {
        "claims": [claim_view(r) for r in claims.to_dict("records")],
        "verdicts": {v: n for v, n in summary.items() if n and v not in ("total", SAME_AS)},
        "claim_total": summary["total"], "claim_same": summary[SAME_AS],
        "procedure": PROCEDURE, "constants": constants,
        "gated": list(dict.fromkeys(str(w) for w in claims.loc[claims["verdict"] == NOT_DECIDED,
                                                                 "why"])),
    }
