"""Paper tables from measured results: mean over seeds, spread, the paper's value, tests.

Results come from the files a rule declares (:func:`~.read.read_results`), each named by the
results layout: ``<experiment>/seed<k>/<test>/metrics.json`` and ``<experiment>/benchmark.json``.
A metrics file holds::

    {"status": "ok",                        # or "failed" (then "error" says why)
     "metrics": {"AP": 0.562, "AP50": 0.817, ...},
     "provenance": {"config": ..., "dataset": ..., "schedule": ..., "commit": ...,
                    "hardware": ..., "wall_time_s": ..., "log": ...}}

Accuracy metrics (AP ...) are fractions in [0, 1] as :mod:`decoupled_rcnn.evaluation` and the
COCO server write them; ``"units": "percent"`` says they are already percent. Tables show
percent, like the paper. Benchmark metrics are in their own units (seconds per image, GFLOPs,
millions of parameters) and belong to the experiment, not to a seed.

Three frames come out (pandas, long form):

* ``runs``: one record per (table, row, column, seed): that seed's measured value;
  ``per_experiment`` is true for a benchmark column, whose one measurement per experiment is
  repeated in every seed's record (so per-seed statistics can pair it);
* ``cells``: one record per table cell:

  - ``measured`` (mean over the seeds that finished; a benchmark's single measurement),
    ``sd_over_seeds`` (sample sd, NaN with one value), ``n`` (values behind ``measured``:
    seeds, or 1 for a benchmark), ``per_experiment``, ``paper`` (the paper's value);
  - ``ours_minus_paper`` (accuracy only: mean of the per-seed differences to the paper's
    value) with ``_sd``, ``_n``, ``_ci_low``, ``_ci_high`` (one-sample t, 95 %) and
    ``_decided`` (the interval excludes 0);
  - ``baseline_row`` (the row it is compared with: the row's own ``baseline:`` or the
    table's), ``minus_baseline`` (accuracy: mean over seeds of this row minus the baseline
    row, paired by seed) with the same ``_sd`` ... ``_decided`` fields
    (:func:`~decoupled_rcnn.reproduction.results.stats.paired_t`), beside
    ``paper_minus_baseline``; benchmarks: ``ratio_to_baseline`` beside
    ``paper_ratio_to_baseline`` (a ratio, never a difference between our CPU time and the
    paper's GPU time);
* one CSV per table in the paper's layout.

A cell whose evaluation is absent, failed, or lacks the metric is never given a number: its
``measured`` stays NaN and its ``status`` says why (``missing``, ``failed``, ``server`` for
COCO test-dev numbers only the evaluation server can produce, ``published`` for other
detectors' rows, ``undefined`` for a metric written as ``null``); a training that failed
(its failure record, layout kind ``train_failed``, e.g. a NaN loss) makes every evaluation
of it ``failed``, with the reason (:func:`read_declared`). A row whose experiment
shares another experiment's run (same network, data and schedule) says so in ``run``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from decoupled_rcnn.provenance import write_atomic
from decoupled_rcnn.reproduction.manifest import Manifest, Table
from decoupled_rcnn.reproduction.results.read import (
    FAILED,
    MISSING,
    OK,
    PUBLISHED,
    SERVER,
    UNDEFINED,
    EvalResult,
    Results,
)
from decoupled_rcnn.reproduction.results.stats import paired_t


def _seed_status(result: EvalResult | None, metric: str, accuracy: bool,
                 server_only: bool) -> tuple[str, float]:
    if result is not None and result.status == FAILED:
        return FAILED, math.nan
    if result is not None and metric in result.metrics:
        return OK, result.value(metric, accuracy)
    if result is not None and metric in result.undefined:
        return UNDEFINED, math.nan
    if server_only and accuracy:
        return SERVER, math.nan
    return MISSING, math.nan


def build_runs(manifest: Manifest, results: Results, seeds: Sequence[int],
               tables: Sequence[str] | None = None) -> pd.DataFrame:
    """One record per (table, row, column, seed): that seed's value and status."""
    records = []
    for table in _tables(manifest, tables):
        for row in table.rows:
            for column in table.columns:
                ev = row.evaluation(column)
                metric = manifest.metrics[column.metric]
                base = {"table": table.id, "row": row.index, "column": column.key,
                        "metric": column.metric, "per_experiment": metric.kind == "benchmark",
                        "experiment": row.experiment or "",
                        "evaluation": ev.key if ev else ""}
                if ev is None:
                    records.append({**base, "seed": -1, "measured": math.nan,
                                    "status": PUBLISHED})
                    continue
                per_seed = results.of(ev.key)
                server_only = manifest.tests[ev.test].server_only
                for seed in seeds:
                    result = per_seed.get(seed)
                    if metric.kind == "benchmark":
                        result = results.benchmark(ev.experiment)
                    status, value = _seed_status(result, column.metric,
                                                 metric.kind == "accuracy", server_only)
                    records.append({**base, "seed": seed, "measured": value, "status": status})
    return pd.DataFrame.from_records(records)


def _cell_status(statuses: set[str]) -> str:
    for status in (PUBLISHED, FAILED, OK, UNDEFINED, SERVER):
        if status in statuses:
            return status
    return MISSING


def _nan_stats() -> dict[str, float | int | bool]:
    return {"ci_low": math.nan, "ci_high": math.nan, "n": 0, "sd": math.nan,
            "mean": math.nan, "decided": False}


def _t_fields(prefix: str, diffs: Sequence[float]) -> dict[str, Any]:
    """``<prefix>`` (mean), ``_sd``, ``_n``, ``_ci_low``, ``_ci_high``, ``_decided``."""
    if len(diffs):
        test = paired_t(list(diffs))
        stats = {"mean": test.mean, "sd": test.sd, "n": test.n, "ci_low": test.ci_low,
                 "ci_high": test.ci_high, "decided": test.decided}
    else:
        stats = _nan_stats()
    return {prefix: stats["mean"], **{f"{prefix}_{k}": v for k, v in stats.items()
                                      if k != "mean"}}


def build_cells(manifest: Manifest, runs: pd.DataFrame,
                aliases: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Aggregate :func:`build_runs` over seeds (the columns are listed in the module doc)."""
    aliases = aliases or {}
    records = []
    by_cell = {key: group for key, group in runs.groupby(["table", "row", "column"], sort=False)}
    for (tid, row_index, column_key), group in by_cell.items():
        table = manifest.tables[tid]
        row = table.rows[row_index - 1]
        column = table.column(column_key)
        metric = manifest.metrics[column.metric]
        once = metric.kind == "benchmark"
        status = _cell_status(set(group["status"]))
        ok = group[group["status"] == OK]
        if once:  # one measurement per experiment, copied into every seed's record
            ok = ok.head(1)
        measured = float(ok["measured"].mean()) if status == OK else math.nan
        paper = row.paper[column_key]
        vs_paper = ([] if paper is None or once or status != OK
                    else [round(v - paper, 10) for v in ok["measured"]])
        base = table.baseline_of(row_index)
        records.append({
            "table": tid, "row": row_index, "group": row.group, "column": column_key,
            "column_label": column.label, "metric": column.metric,
            "experiment": row.experiment or "",
            "run": aliases.get(row.experiment or "", row.experiment or ""),
            "test": group["evaluation"].iloc[0].partition("/")[2],
            "evaluation": group["evaluation"].iloc[0],
            "measured": measured, "sd_over_seeds": (float(ok["measured"].std(ddof=1))
                                                    if len(ok) > 1 else math.nan),
            "n": len(ok) if status == OK else 0, "per_experiment": once,
            "paper": math.nan if paper is None else paper,
            **_t_fields("ours_minus_paper", vs_paper),
            "baseline_row": base if base is not None else math.nan,
            **_versus_baseline(table, row_index, column_key, ok, by_cell, once),
            "paper_na": paper is None, "status": status,
            "decimals": metric.decimals,
        })
    return pd.DataFrame.from_records(records)


def _versus_baseline(table: Table, row_index: int, column: str, ok: pd.DataFrame,
                     by_cell: Mapping[tuple, pd.DataFrame], once: bool) -> dict[str, Any]:
    """This row against its reference row, ours and the paper's.

    Accuracy: ``minus_baseline`` (mean of the per-seed differences, paired by seed) with its
    sd, n, t interval and whether the interval excludes 0 (``minus_baseline_decided``),
    beside ``paper_minus_baseline``. Benchmarks (one measurement per experiment):
    ``ratio_to_baseline`` beside ``paper_ratio_to_baseline``; no test.
    """
    out: dict[str, Any] = {**_t_fields("minus_baseline", []), "paper_minus_baseline": math.nan,
                           "ratio_to_baseline": math.nan, "paper_ratio_to_baseline": math.nan}
    baseline = table.baseline_of(row_index)
    if baseline is None or baseline == row_index:
        return out
    base_paper = table.rows[baseline - 1].paper.get(column)
    paper = table.rows[row_index - 1].paper.get(column)
    if paper is not None and base_paper is not None:
        if once:
            out["paper_ratio_to_baseline"] = paper / base_paper if base_paper else math.nan
        else:
            out["paper_minus_baseline"] = round(paper - base_paper, 10)
    base = by_cell.get((table.id, baseline, column))
    if base is None or base["status"].eq(PUBLISHED).all():
        return out
    base_ok = base[base["status"] == OK].set_index("seed")["measured"]
    if once:
        if len(ok) and len(base_ok) and base_ok.iloc[0]:
            out["ratio_to_baseline"] = float(ok["measured"].iloc[0] / base_ok.iloc[0])
        return out
    diffs = (ok.set_index("seed")["measured"] - base_ok).dropna()
    out.update(_t_fields("minus_baseline", [round(v, 10) for v in diffs]))
    return out


def _row_status(statuses: pd.Series) -> str:
    found = set(statuses) - {UNDEFINED} or {UNDEFINED}
    if found <= {OK, UNDEFINED}:
        return found.pop()
    for status in (PUBLISHED, FAILED):
        if status in found:
            return status
    if OK in found:
        return "partial"
    return SERVER if SERVER in found else MISSING


_CELL_FIELDS = ("measured", "sd_over_seeds", "n", "paper", "ours_minus_paper", "minus_baseline",
                "minus_baseline_decided", "paper_minus_baseline", "ratio_to_baseline",
                "paper_ratio_to_baseline", "status")


def build_table(manifest: Manifest, table_id: str, cells: pd.DataFrame) -> pd.DataFrame:
    """The paper's layout for one table: label columns, then the cell fields per column.

    Returns:
        One row per paper row, in the paper's order; columns ``<label columns>``,
        ``experiment``, ``run``, ``test``, ``status`` and ``<key>_<field>`` for every value
        column and each field of :data:`_CELL_FIELDS` (``measured``, ``sd_over_seeds``,
        ``n``, ``paper``, ``ours_minus_paper``, ``minus_baseline`` ...).
    """
    table: Table = manifest.tables[table_id]
    sub = cells[cells["table"] == table_id]
    records = []
    for row in table.rows:
        mine = sub[sub["row"] == row.index].set_index("column")
        first = mine.iloc[0]
        record: dict[str, Any] = {"row": row.index}
        record.update({c: row.labels.get(c, "") for c in table.label_columns})
        record.update(experiment=row.experiment or "", run=first["run"],
                      test=row.test if row.experiment else "",
                      status=_row_status(mine["status"]))
        for column in table.columns:
            cell = mine.loc[column.key]
            record.update({f"{column.key}_{name}": cell[name] for name in _CELL_FIELDS})
        records.append(record)
    return pd.DataFrame.from_records(records)


def _tables(manifest: Manifest, tables: Sequence[str] | None) -> list[Table]:
    return [manifest.tables[t] for t in (tables or list(manifest.tables))]


def write_tables(manifest: Manifest, results: Results, *, tables: Mapping[str, str | Path],
                 cells: str | Path, runs: str | Path, claims: str | Path | None = None,
                 seeds: Sequence[int] | None = None,
                 aliases: Mapping[str, str] | None = None,
                 claim_settings: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write each table's CSV (``tables``: table id -> path), the cells, runs and claims.

    Args:
        seeds: the seeds to expect (default: every seed found in ``results``).
        claim_settings: ``floor`` (the learnability floor on the baseline's AP50, percent;
            absent: no gate), ``stand_in_limits`` and ``tiny`` (bools) for
            :func:`~decoupled_rcnn.reproduction.results.claims.evaluate_claims`.
    """
    if seeds is None:
        seeds = sorted({s for per in results.evaluations.values() for s in per}) or [0]
    run_frame = build_runs(manifest, results, seeds, list(tables))
    cell_frame = build_cells(manifest, run_frame, aliases or results.aliases)
    written: dict[str, Path] = {}
    for tid, path in tables.items():
        written[tid] = _to_csv(build_table(manifest, tid, cell_frame), path)
    written["cells"] = _to_csv(cell_frame, cells)
    written["runs"] = _to_csv(run_frame, runs)
    if claims is not None:
        from decoupled_rcnn.reproduction.results.claims import baseline_ap50, evaluate_claims

        chosen = set(tables)
        settings = dict(claim_settings or {})
        gate = (baseline_ap50(manifest, results, seeds, list(manifest.tables))
                if "floor" in settings else None)
        verdicts = evaluate_claims(
            manifest, run_frame, [c.id for c in manifest.claims.values() if c.table in chosen],
            aliases=aliases or results.aliases, gate=gate,
            floor=float(settings.get("floor", 0.0)),
            stand_in_limits=bool(settings.get("stand_in_limits", False)),
            tiny=bool(settings.get("tiny", False)))
        written["claims"] = _to_csv(verdicts, claims)
    return written


def _to_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    text = frame.to_csv(index=False).encode("utf-8")
    return write_atomic(path, lambda f: f.write(text))
