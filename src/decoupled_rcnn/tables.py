"""Paper tables from measured results: measured, paper and delta for every cell (pandas).

Results are keyed by evaluation, ``"<experiment>/<test>"`` (a bare ``"<experiment>"`` means
the ``default`` test setting). Each value is the content of a metrics JSON file, or its path::

    {"status": "ok",                        # or "failed" (then "error" says why)
     "metrics": {"AP": 0.562, "AP50": 0.817, "s_per_img": 0.11, ...},
     "provenance": {"config": ..., "dataset": ..., "schedule": ..., "commit": ...,
                    "hardware": ..., "wall_time_s": ..., "log": ...}}

Accuracy metrics (AP ...) are fractions in [0, 1] as :mod:`decoupled_rcnn.evaluation` and the
COCO server write them; ``"units": "percent"`` in the payload says they are already percent.
Tables show percent, like the paper. Benchmark metrics are in their own units (seconds per
image, GFLOPs, millions of parameters).

A flat mapping of metric names to numbers is accepted too. A cell whose evaluation is absent,
failed, or lacks the metric is never given a number: its ``measured`` stays NaN and its
``status`` says why (``missing``, ``failed``, ``server`` for COCO test-dev numbers that only
the evaluation server can produce, ``published`` for other detectors' rows, ``undefined`` for
a metric the evaluation wrote as ``null``, e.g. AP_L on data without large objects).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from decoupled_rcnn.datasets.common import is_finite_number
from decoupled_rcnn.manifest import DEFAULT_TEST, Evaluation, Manifest, Table

OK, MISSING, FAILED, SERVER, PUBLISHED = "ok", "missing", "failed", "server", "published"
UNDEFINED = "undefined"  # the run finished but the metric has nothing to measure (None)
METRICS_FILE = "metrics.json"
BENCHMARK_FILE = "benchmark.json"


@dataclass
class EvalResult:
    """What one evaluation produced (or that it failed), merged from its result files."""

    status: str  # "ok" or "failed"
    metrics: dict[str, float] = field(default_factory=dict)  # as written (see ``units``)
    provenance: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    sources: list[str] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)  # metric -> "fraction" | "percent"
    undefined: set[str] = field(default_factory=set)  # metrics written as null

    def value(self, metric: str, accuracy: bool) -> float:
        """``metric`` as the tables show it: accuracy in percent, benchmarks as written."""
        value = self.metrics[metric]
        fraction = self.units.get(metric, "fraction") == "fraction"
        return round(value * 100, 10) if accuracy and fraction else value


def _from_payload(payload: Mapping[str, Any], source: str = "") -> EvalResult:
    if "metrics" in payload or "status" in payload:
        metrics = payload.get("metrics") or {}
        status = str(payload.get("status", OK))
    else:
        metrics, status = payload, OK
    numbers = {}
    undefined = {key for key, value in metrics.items() if value is None}
    for key, value in metrics.items():
        if is_finite_number(value):
            numbers[key] = float(value)
    units = str(payload.get("units", "fraction"))
    result = EvalResult(status=FAILED if status != OK else OK, metrics=numbers,
                        provenance=dict(payload.get("provenance") or {}),
                        error=str(payload.get("error", "")), sources=[source] if source else [],
                        units=dict.fromkeys(numbers, units), undefined=undefined)
    if units not in ("fraction", "percent"):
        result.status, result.error = FAILED, f"{source}: unknown units {units!r}"
    return result


def _read(path: Path) -> EvalResult:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        return EvalResult(status=FAILED, error=f"unreadable {path}: {err}", sources=[str(path)])
    if not isinstance(payload, Mapping):
        return EvalResult(status=FAILED, error=f"{path}: not a JSON object", sources=[str(path)])
    return _from_payload(payload, str(path))


def _merge(base: EvalResult, extra: EvalResult) -> EvalResult:
    """Benchmark numbers join the evaluation's; a failure on either side is kept."""
    status = FAILED if FAILED in (base.status, extra.status) else OK
    metrics = {**base.metrics, **extra.metrics}
    provenance = {**extra.provenance, **base.provenance}
    errors = "; ".join(e for e in (base.error, extra.error) if e)
    units = {**base.units, **extra.units}
    undefined = (base.undefined | extra.undefined) - set(metrics)
    return EvalResult(status, metrics, provenance, errors, base.sources + extra.sources, units,
                      undefined)


def normalize_results(results: Mapping[str, Any]) -> dict[str, EvalResult]:
    """Key results by ``experiment/test``; values may be dicts, paths or :class:`EvalResult`."""
    out: dict[str, EvalResult] = {}
    for key, value in results.items():
        key = key if "/" in key else f"{key}/{DEFAULT_TEST}"
        if isinstance(value, EvalResult):
            result = value
        elif isinstance(value, str | Path):
            result = _read(Path(value))
        else:
            result = _from_payload(value)
        out[key] = _merge(out[key], result) if key in out else result
    return out


def load_results(manifest: Manifest, root: str | Path) -> dict[str, EvalResult]:
    """Read ``<root>/<experiment>/<test>/metrics.json`` (+ ``benchmark.json``) that exist.

    A benchmark file next to the metrics file wins; ``<root>/<experiment>/benchmark.json`` is
    the fallback (architecture-level numbers shared by the experiment's test settings).
    """
    root = Path(root)
    out: dict[str, EvalResult] = {}
    for ev in manifest.evaluations():
        folder = root / ev.experiment / ev.test
        parts = [_read(folder / METRICS_FILE)] if (folder / METRICS_FILE).is_file() else []
        bench = folder / BENCHMARK_FILE
        if not bench.is_file():
            bench = root / ev.experiment / BENCHMARK_FILE
        if bench.is_file():
            parts.append(_read(bench))
        if parts:
            result = parts[0]
            for extra in parts[1:]:
                result = _merge(result, extra)
            out[ev.key] = result
    return out


def _cell_status(manifest: Manifest, ev: Evaluation | None, metric: str,
                 results: Mapping[str, EvalResult]) -> tuple[str, float]:
    if ev is None:
        return PUBLISHED, math.nan
    result = results.get(ev.key)
    if result is not None and result.status == FAILED:
        return FAILED, math.nan
    accuracy = manifest.metrics[metric].kind == "accuracy"
    if result is not None and metric in result.metrics:
        return OK, result.value(metric, accuracy)
    if result is not None and metric in result.undefined:
        return UNDEFINED, math.nan
    if manifest.tests[ev.test].server_only and accuracy:
        return SERVER, math.nan
    return MISSING, math.nan


def build_cells(manifest: Manifest, results: Mapping[str, Any]) -> pd.DataFrame:
    """One row per table cell: measured, the paper's value, delta and status (long form)."""
    results = normalize_results(results)
    records = []
    for table in manifest.tables.values():
        for row in table.rows:
            for column in table.columns:
                ev = row.evaluation(column)
                status, measured = _cell_status(manifest, ev, column.metric, results)
                paper = row.paper[column.key]
                paper = math.nan if paper is None else paper
                records.append({
                    "table": table.id, "row": row.index, "group": row.group,
                    "column": column.key, "column_label": column.label,
                    "metric": column.metric, "experiment": row.experiment or "",
                    "test": ev.test if ev else "", "evaluation": ev.key if ev else "",
                    "measured": measured, "paper": paper,
                    "delta": round(measured - paper, 10),
                    "paper_na": row.paper[column.key] is None, "status": status,
                    "decimals": manifest.metrics[column.metric].decimals,
                })
    return pd.DataFrame.from_records(records)


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


def build_table(manifest: Manifest, table_id: str, cells: pd.DataFrame) -> pd.DataFrame:
    """The paper's layout for one table: label columns, then measured/paper/delta per column.

    Args:
        manifest: the loaded manifest.
        table_id: roman numeral, e.g. ``"III"``.
        cells: the output of :func:`build_cells`.

    Returns:
        One row per paper row, in the paper's order; columns ``<label columns>``,
        ``experiment``, ``test``, ``status`` and ``<key>_measured``, ``<key>_paper``,
        ``<key>_delta``, ``<key>_status`` for every value column.
    """
    table: Table = manifest.tables[table_id]
    sub = cells[cells["table"] == table_id]
    records = []
    for row in table.rows:
        mine = sub[sub["row"] == row.index].set_index("column")
        record: dict[str, Any] = {"row": row.index}
        record.update({c: row.labels.get(c, "") for c in table.label_columns})
        record.update(experiment=row.experiment or "", test=row.test if row.experiment else "",
                      status=_row_status(mine["status"]))
        for column in table.columns:
            cell = mine.loc[column.key]
            record[f"{column.key}_measured"] = cell["measured"]
            record[f"{column.key}_paper"] = cell["paper"]
            record[f"{column.key}_delta"] = cell["delta"]
            record[f"{column.key}_status"] = cell["status"]
        records.append(record)
    return pd.DataFrame.from_records(records)


def write_tables(manifest: Manifest, results: Mapping[str, Any], out_dir: str | Path,
                 tables: list[str] | None = None) -> dict[str, Path]:
    """Write ``table_<ID>.csv`` per table and ``cells.csv`` (long form); return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    cells = build_cells(manifest, results)
    written = {}
    for tid in tables or list(manifest.tables):
        path = out_dir / f"table_{tid}.csv"
        build_table(manifest, tid, cells).to_csv(path, index=False)
        written[tid] = path
    cells_path = out_dir / "cells.csv"
    cells.to_csv(cells_path, index=False)
    written["cells"] = cells_path
    return written


def estimate_gpu_hours(manifest: Manifest, experiment_id: str) -> float:
    """Estimated GPU-hours to train and evaluate one experiment (``cost_model``; see manifest).

    Training: epochs x ceil(train images / total batch) iterations x s/iteration for the
    backbone x the variant's factor, on ``gpus_per_run`` GPUs. Evaluation: each of the
    experiment's test settings over its split on one GPU. These are labelled estimates.
    """
    cost = manifest.cost_model
    exp = manifest.experiments[experiment_id]
    schedule = manifest.schedules[exp.schedule]
    gpus = int(cost["gpus_per_run"])
    batch = gpus * int(cost["images_per_gpu"])
    iters = schedule.epochs * math.ceil(cost["train_images"][exp.dataset] / batch)
    factor = float(cost["model_factor"].get(exp.model, 1.0))
    if schedule.multiscale:
        factor *= float(cost.get("multiscale_factor", 1.0))
    train_h = iters * float(cost["s_per_iter"][exp.backbone]) * factor * gpus / 3600
    eval_h = 0.0
    for ev in manifest.evaluations():
        if ev.experiment != experiment_id:
            continue
        split = manifest.tests[ev.test].split
        key = exp.dataset if split == "val" else f"{exp.dataset}_{split}"
        eval_h += cost["eval_images"][key] * cost["test_s_per_img"][exp.backbone] * factor / 3600
    return train_h + eval_h


def plan_table(manifest: Manifest, tables: list[str] | None = None) -> pd.DataFrame:
    """Per table: rows, experiments, evaluations, shared experiments and estimated GPU-hours.

    ``gpu_hours_alone`` counts every experiment the table needs; ``gpu_hours_new`` counts
    only those no earlier (selected) table needs, so the column sums to the estimate of
    running the selected tables (default: all).
    """
    counts = manifest.counts_per_table()
    seen: set[str] = set()
    records = []
    for tid in tables or list(manifest.tables):
        table = manifest.tables[tid]
        exps = table.experiments()
        new = [e for e in exps if e not in seen]
        seen.update(exps)
        records.append({
            "table": tid, **counts[tid], "new_experiments": len(new),
            "gpu_hours_alone": sum(estimate_gpu_hours(manifest, e) for e in exps),
            "gpu_hours_new": sum(estimate_gpu_hours(manifest, e) for e in new),
        })
    return pd.DataFrame.from_records(records)
