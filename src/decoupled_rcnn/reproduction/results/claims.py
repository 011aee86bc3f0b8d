"""Verdicts on the paper's claims, from measured cells over seeds (pandas).

The manifest's ``claims:`` (:class:`~decoupled_rcnn.reproduction.manifest.Claim`) each name a
statistic over table cells. :func:`evaluate_claims` computes it on measured cells, seed by
seed, resolves which claims compute the same statistic from the same runs, applies the
learnability gate and the stand-in's limits, and decides every claim by the one procedure
of :mod:`.decide` (:data:`~.decide.PROCEDURE`).

``per_seed`` has one record per (table, row, column, seed): ``table`` (str), ``row`` (int,
1-based as in the manifest), ``column`` (a column key), ``seed`` (int) and ``measured``
(float, percent for accuracy; NaN where missing or failed) -- ``runs.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from decoupled_rcnn.reproduction.manifest import COST_EXPECTS, Claim, Manifest
from decoupled_rcnn.reproduction.manifest.claims import margin
from decoupled_rcnn.reproduction.results.decide import (
    NOT_DECIDED,
    NOT_MEASURED,
    NOT_TESTABLE,
    SAME_AS,
    SIGN_ONLY,
    VERDICTS,
    SeedTest,
    decide,
    decide_cost,
    rule,
    seed_test,
    sign_agrees,
)

#: Per-seed statistics are rounded to this many decimals (of a percentage point).
STAT_DECIMALS = 9
#: The learnability floor's default: a table's baseline row must reach this AP50 (percent,
#: mean over seeds) for the table's claims to be decided (workflow config
#: ``claims.learnability_floor_ap50``).
LEARNABILITY_FLOOR_AP50 = 10.0
PER_SEED_COLUMNS = ("table", "row", "column", "seed", "measured")
COLUMNS = ("claim", "table", "text", "expect", "statistic", "paper_delta", "n", "mean", "sd",
           "ci95_low", "ci95_high", "delta_margin", "p_reproduce", "p_reproduce_bh",
           "p_contradict", "p_contradict_bh", "verdict", "why", "same_as", "rule")


def describe(claim: Claim) -> str:
    """The statistic in words: ``AP[r3] - AP[r1]``, a slope, or a ratio."""
    if claim.is_trend:
        rows = ", ".join(str(r) for r in claim.trend_rows)
        return (f"slope of {claim.trend_column} vs {claim.sweep} over rows {rows} "
                f"(least squares, points per unit {claim.sweep})")
    if claim.is_ratio:
        num, den = claim.ratio_rows
        return f"{claim.ratio_column}[r{num}] / {claim.ratio_column}[r{den}]"
    parts = []
    for i, term in enumerate(claim.terms):
        size = abs(term.weight)
        factor = "" if size == 1 else f"{size:g}*"
        sign = ("-" if term.weight < 0 else "") if i == 0 else (
            " - " if term.weight < 0 else " + ")
        where = f"{term.table}:" if term.table else ""
        parts.append(f"{sign}{factor}{term.column}[{where}r{term.row}]")
    return "".join(parts)


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
    frame = frame[frame["seed"] >= 0]  # published rows carry seed -1 and no measurement
    keys = list(PER_SEED_COLUMNS[:4])
    dup = frame[frame.duplicated(keys, keep=False)]
    if not dup.empty:
        first = dup.iloc[0]
        raise ValueError(f"per_seed has {len(dup)} records for repeated (table, row, column, "
                         f"seed), e.g. Table {first['table']} row {first['row']} "
                         f"{first['column']} seed {first['seed']}")
    return frame


def _wide(frame: pd.DataFrame) -> pd.DataFrame:
    """seed x (table, row, column) -> measured (empty when there are no records)."""
    if frame.empty:
        return pd.DataFrame(index=pd.Index([], name="seed"))
    return frame.pivot(index="seed", columns=["table", "row", "column"], values="measured")


def _values(claim: Claim, wide: pd.DataFrame) -> pd.Series:
    """The statistic per seed with every needed cell finite (paired: same seed's cells)."""
    cells = claim.cells()
    if any(cell not in set(wide.columns) for cell in cells):
        return pd.Series(dtype=float, name=claim.id)
    data = wide.loc[:, cells].to_numpy(dtype=float)
    usable = np.isfinite(data).all(axis=1)
    data, seeds = data[usable], wide.index[usable]
    if claim.is_ratio:
        values = data[:, 0] / data[:, 1]
    else:
        values = data @ np.asarray(claim.weights(), dtype=float)
    # Rounded so that float noise (50.3 - 50 - 0.3 = 3e-15) never decides a sign.
    return pd.Series(np.round(values, STAT_DECIMALS), index=seeds, name=claim.id, dtype=float)


def claim_values(claim: Claim, per_seed: pd.DataFrame) -> pd.Series:
    """The claim's statistic per usable seed (index: seed); empty when no seed has every cell.

    Raises:
        ValueError: ``per_seed`` lacks a column or repeats a (table, row, column, seed).
    """
    return _values(claim, _wide(_checked(per_seed)))


def signature(manifest: Manifest, claim: Claim,
              aliases: Mapping[str, str] | None = None) -> tuple:
    """The claim as (run, test setting, metric, weight) terms, for finding duplicates.

    Two claims with equal signatures compute the same statistic from the same runs (an
    alias is resolved to the run it shares, ``Selection.run_of``). Weights on one cell are
    summed and zero weights dropped, so a claim whose rows are one run here has ``()``.
    """
    aliases = aliases or {}
    keys = []
    for tid, row_index, column_key in claim.cells():
        table = manifest.tables[tid]
        row, column = table.row(row_index), table.column(column_key)
        experiment = row.experiment or f"published:{tid}:{row_index}"
        keys.append((aliases.get(experiment, experiment), column.test or row.test,
                     column.metric))
    if claim.is_ratio:
        return ("ratio", *keys) if keys[0] != keys[1] else ()
    summed: dict[tuple, float] = {}
    for key, weight in zip(keys, claim.weights()):
        summed[key] = summed.get(key, 0.0) + weight
    return tuple(sorted((k, round(w, 9)) for k, w in summed.items() if round(w, 9) != 0))


def _tables_of(claim: Claim) -> list[str]:
    return list(dict.fromkeys(t for t, _, _ in claim.cells()))


def _blocked(claim: Claim, limits: tuple[bool, bool], gate: Mapping[str, float] | None,
             floor: float) -> tuple[str, str] | None:
    """(verdict, why) when the claim is not decided for a reason outside its numbers.

    ``limits``: (the stand-in's limits apply, the tiny model setting is on).
    """
    if claim.not_testable:
        return NOT_TESTABLE, f"here: {claim.not_testable}"
    if limits[0] and claim.stand_in_limit:
        return NOT_TESTABLE, f"on the stand-in: {claim.stand_in_limit}"
    if limits[1] and claim.tiny_limit:
        return NOT_TESTABLE, f"with the tiny models: {claim.tiny_limit}"
    if gate is None or claim.expect in COST_EXPECTS:
        return None  # costs do not depend on whether training learned
    for tid in _tables_of(claim):
        ap50 = gate.get(tid, math.nan)
        if not math.isfinite(ap50):
            return NOT_DECIDED, f"Table {tid}'s baseline AP50 was not measured"
        if ap50 < floor:
            return NOT_DECIDED, (f"the baseline did not learn (Table {tid} baseline AP50 "
                                 f"{ap50:.1f} % < {floor:g} %)")
    return None


def _record(claim: Claim, manifest: Manifest) -> dict[str, Any]:
    decision = manifest.decision
    delta = margin(claim, decision)
    nan = math.nan
    return {"claim": claim.id, "table": claim.table, "text": claim.text,
            "expect": claim.expect, "statistic": describe(claim),
            "paper_delta": claim.paper_delta, "n": 0, "mean": nan, "sd": nan,
            "ci95_low": nan, "ci95_high": nan, "delta_margin": delta, "p_reproduce": nan,
            "p_reproduce_bh": nan, "p_contradict": nan, "p_contradict_bh": nan,
            "verdict": NOT_MEASURED, "why": "", "same_as": "",
            "rule": rule(claim.expect, decision.q, delta, decision.cost_ratio)}


def evaluate_claims(manifest: Manifest, per_seed: pd.DataFrame,
                    claims: Iterable[str] | None = None, *,
                    aliases: Mapping[str, str] | None = None,
                    gate: Mapping[str, float] | None = None,
                    floor: float = LEARNABILITY_FLOOR_AP50,
                    stand_in_limits: bool = False, tiny: bool = False) -> pd.DataFrame:
    """One row per claim: its statistic over seeds, the tests, the verdict and why.

    Args:
        manifest: the loaded manifest (its ``claims`` in manifest order, its ``decision``).
        per_seed: one record per (table, row, column, seed); see the module docstring.
        claims: claim ids to evaluate (default: all).
        aliases: experiment -> the experiment whose run it shares (duplicates are found
            through it).
        gate: table id -> its baseline row's AP50 (percent, mean over seeds; NaN if not
            measured), :func:`baseline_ap50`; None applies no learnability gate.
        floor: the learnability floor on that AP50.
        stand_in_limits: the data is the generated stand-in and the workflow config keeps
            the manifest's ``stand_in_limit`` claims undecided.
        tiny: the runs use the tiny model setting: ``tiny_limit`` claims are not decided.

    Returns:
        Columns :data:`COLUMNS`; ``verdict`` is one of :data:`~.decide.VERDICTS`, ``why``
        says more where it is not a test's outcome, ``same_as`` names the claim a duplicate
        was decided as.

    Raises:
        ValueError: ``per_seed`` lacks a column or repeats a (table, row, column, seed).
        KeyError: an unknown claim id.
    """
    wide = _wide(_checked(per_seed))
    chosen = list(manifest.claims) if claims is None else list(claims)
    unknown = [c for c in chosen if c not in manifest.claims]
    if unknown:
        raise KeyError(f"unknown claim(s) {unknown}")
    decision = manifest.decision
    records, tested, first_of = [], {}, {}
    for cid in chosen:
        claim = manifest.claims[cid]
        record = _record(claim, manifest)
        records.append(record)
        blocked = _blocked(claim, (stand_in_limits, tiny), gate, floor)
        values = pd.Series(dtype=float) if blocked and blocked[0] == NOT_TESTABLE else (
            _values(claim, wide))
        _fill_spread(record, values)
        key = signature(manifest, claim, aliases)
        _classify(record, claim, values, key, blocked, first_of, tested, decision.cost_ratio)
    _decide_family(records, tested, decision.q)
    return pd.DataFrame.from_records(records, columns=list(COLUMNS))


def _classify(record: dict[str, Any], claim: Claim, values: pd.Series, key: tuple,
              blocked: tuple[str, str] | None, first_of: dict[tuple, str],
              tested: dict, cost_ratio: float) -> None:
    """Set a claim's verdict unless the family test decides it (then it joins ``tested``).

    Order: not testable here, nothing measured, rows that are one run, a duplicate of an
    earlier claim's statistic, a blocked claim (gate, one seed), else decided on its own.
    """
    cid = claim.id
    if blocked and blocked[0] == NOT_TESTABLE:
        record["verdict"], record["why"] = blocked
    elif not len(values):
        record["why"] = "no seed has every cell this claim needs"
    elif key == ():
        record["verdict"] = NOT_TESTABLE
        record["why"] = "here: the compared rows are one run in this setting"
    elif key in first_of:
        record["verdict"], record["same_as"] = SAME_AS, first_of[key]
        record["why"] = f"same statistic from the same runs as {first_of[key]}"
    elif blocked:
        first_of[key] = cid
        record["verdict"], record["why"] = blocked
    else:
        first_of[key] = cid
        _decide_alone(record, claim, values, cost_ratio, tested)


def _fill_spread(record: dict[str, Any], values: pd.Series) -> None:
    n = len(values)
    record["n"] = n
    if n:
        record["mean"] = float(values.mean())
    if n >= 2:
        record["sd"] = float(values.std(ddof=1))


def _decide_alone(record: dict[str, Any], claim: Claim, values: pd.Series, boundary: float,
                  tested: dict[int, SeedTest]) -> None:
    """Cost claims and single seeds now; claims with a test wait for BH (``tested``)."""
    if claim.expect in COST_EXPECTS:  # one measurement per experiment, copied per seed
        record.update(n=1, sd=math.nan,
                      verdict=decide_cost(claim.expect, record["mean"], boundary),
                      why=f"measured ratio {record['mean']:.3f}")
        return
    if len(values) == 1:
        agrees = sign_agrees(claim.expect, record["mean"], record["delta_margin"])
        record["verdict"] = SIGN_ONLY
        record["why"] = ("the single seed agrees with the paper" if agrees
                         else "the single seed disagrees with the paper")
        return
    result = seed_test(values.tolist(), claim.expect, record["delta_margin"])
    record.update(ci95_low=result.ci_low, ci95_high=result.ci_high,
                  p_reproduce=result.p_reproduce, p_contradict=result.p_contradict)
    tested[id(record)] = result


def _decide_family(records: list[dict[str, Any]], tested: dict[int, SeedTest], q: float) -> None:
    """Benjamini-Hochberg over the claims with a test, then their verdicts."""
    mine = [r for r in records if id(r) in tested]
    for record, (verdict, rep, con) in zip(mine, decide([tested[id(r)] for r in mine], q)):
        record.update(verdict=verdict, p_reproduce_bh=rep, p_contradict_bh=con)


def claims_summary(df: pd.DataFrame) -> dict[str, int]:
    """Counts per verdict of the distinct claims, in :data:`~.decide.VERDICTS` order.

    A duplicate (``same as``) is counted once, as the claim it repeats: it appears under
    ``same as`` only, not in any other count nor in ``total`` (the distinct claims).
    """
    counts = df["verdict"].value_counts() if len(df) else pd.Series(dtype=int)
    unknown = set(counts.index) - set(VERDICTS)
    if unknown:
        raise ValueError(f"unknown verdict(s) {sorted(unknown)}")
    out = {v: int(counts.get(v, 0)) for v in VERDICTS}
    out["total"] = int(len(df)) - out[SAME_AS]
    return out


def baseline_ap50(manifest: Manifest, results: Any, seeds: Iterable[int],
                  tables: Iterable[str]) -> dict[str, float]:
    """Table id -> the lowest AP50 (percent, mean over seeds) of its baseline rows.

    A table with per-backbone baselines (VII, VIII, XI: each backbone's FPN row) learned only
    if every one of them did, so the gate takes the lowest. ``results`` is a
    :class:`~decoupled_rcnn.reproduction.results.read.Results`; a baseline's default
    evaluation (its row's test setting) is read, whatever columns the table shows. NaN where
    some baseline has no seed measured; tables without a baseline row are left out.
    """
    out: dict[str, float] = {}
    for tid in tables:
        table = manifest.tables[tid]
        means = []
        for index in table.baseline_rows():
            row = table.row(index)
            if row.experiment is None:
                continue
            per_seed = results.of(f"{row.experiment}/{row.test}")
            found = [per_seed[s].value("AP50", True) for s in seeds
                     if s in per_seed and "AP50" in per_seed[s].metrics]
            means.append(float(np.mean(found)) if found else math.nan)
        if means:
            out[tid] = math.nan if any(math.isnan(m) for m in means) else min(means)
    return out


def paper_per_seed(manifest: Manifest, seed: int = 0) -> pd.DataFrame:
    """The paper's values of every measured (non-published) cell as one seed's records.

    Handy as a reference: :func:`evaluate_claims` on it gives every testable claim's paper
    delta with ``n == 1`` ("sign only", agreeing with the paper).
    """
    records = [
        {"table": t.id, "row": r.index, "column": c.key, "seed": seed,
         "measured": math.nan if r.paper.get(c.key) is None else r.paper[c.key]}
        for t in manifest.tables.values() for r in t.rows if not r.published
        for c in t.columns
    ]
    return pd.DataFrame.from_records(records, columns=list(PER_SEED_COLUMNS))


def claim_settings(wcfg: Mapping[str, Any], synthetic: str = "synthetic") -> dict[str, Any]:
    """The workflow config's ``claims:`` as :func:`write_tables` takes them: the learnability
    floor, whether the stand-in's limits apply (only with generated stand-in data) and
    whether the models are the tiny setting (whose costs are not the paper's architecture's).
    ``synthetic``: the data source name of the generated stand-in."""
    claims = wcfg.get("claims") or {}
    return {"floor": float(claims.get("learnability_floor_ap50", 10.0)),
            "stand_in_limits": (wcfg["data"]["source"] == synthetic
                                and bool(claims.get("stand_in_limits", True))),
            "tiny": bool((wcfg.get("model") or {}).get("tiny", False))}
