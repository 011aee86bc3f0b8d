"""Paper tables from measured results: mean over seeds, spread, the paper's value, delta.

Results come from the files a rule declares (:func:`read_results`), each named by the
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
* ``cells``: one record per table cell: ``measured`` (mean over the seeds that finished),
  ``std`` (sample standard deviation, NaN with one seed), ``n``, the paper's value, ``delta``
  (ours − paper), and the *shape*: ``shape`` (this row minus the table's baseline row, mean
  of the per-seed differences) beside ``paper_shape`` (the same difference in the paper);
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

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from decoupled_rcnn.datasets.common import is_finite_number
from decoupled_rcnn.provenance import write_atomic
from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.manifest import Manifest, Table

OK, MISSING, FAILED, SERVER, PUBLISHED = "ok", "missing", "failed", "server", "published"
UNDEFINED = "undefined"  # the run finished but the metric has nothing to measure (None)


@dataclass
class EvalResult:
    """What one result file says (or that it could not be read)."""

    status: str  # "ok" or "failed"
    metrics: dict[str, float] = field(default_factory=dict)  # as written (see ``units``)
    provenance: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    source: str = ""
    percent: bool = False  # accuracy values are already percent
    undefined: set[str] = field(default_factory=set)  # metrics written as null

    def value(self, metric: str, accuracy: bool) -> float:
        """``metric`` as the tables show it: accuracy in percent, benchmarks as written."""
        value = self.metrics[metric]
        return round(value * 100, 10) if accuracy and not self.percent else value


@dataclass
class Results:
    """Every declared result: per evaluation and seed, and per experiment (benchmark)."""

    evaluations: dict[str, dict[int, EvalResult]] = field(default_factory=dict)
    benchmarks: dict[str, EvalResult] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)

    def of(self, evaluation: str) -> dict[int, EvalResult]:
        """Seed -> result of ``<experiment>/<test>`` (an alias reads its run's results)."""
        experiment, _, test = evaluation.partition("/")
        return self.evaluations.get(f"{self.aliases.get(experiment, experiment)}/{test}", {})

    def benchmark(self, experiment: str) -> EvalResult | None:
        return self.benchmarks.get(self.aliases.get(experiment, experiment))


def parse_payload(payload: Any, source: str = "") -> EvalResult:
    """An :class:`EvalResult` from a decoded metrics / benchmark JSON document."""
    if not isinstance(payload, Mapping):
        return EvalResult(status=FAILED, error=f"{source}: not a JSON object", source=source)
    metrics = payload.get("metrics") or {}
    units = str(payload.get("units", "fraction"))
    result = EvalResult(
        status=OK if str(payload.get("status", OK)) == OK else FAILED,
        metrics={k: float(v) for k, v in metrics.items() if is_finite_number(v)},
        provenance=dict(payload.get("provenance") or {}), error=str(payload.get("error", "")),
        source=source, percent=units == "percent",
        undefined={k for k, v in metrics.items() if v is None})
    if units not in ("fraction", "percent"):
        result.status, result.error = FAILED, f"{source}: unknown units {units!r}"
    return result


def read_result(path: str | Path) -> EvalResult:
    """One result file; an unreadable or malformed one is a failed result, never a number."""
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        return EvalResult(status=FAILED, error=f"unreadable {path}: {err}", source=str(path))
    return parse_payload(payload, str(path))


def read_declared(layout: Layout, path: str | Path) -> EvalResult:
    """A declared metrics file, or the failure of the training it evaluates.

    A training's failure record (layout kind ``train_failed``, e.g. a NaN loss) wins over a
    metrics file: it exists only while the newest training of that experiment and seed has
    failed, so an older metrics file beside it is not a result of what is configured now.
    """
    record = layout.train_failure_of(path)
    if record is not None and record.is_file():
        try:
            payload = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            payload = {"error": f"unreadable failure record: {err}"}
        payload = payload if isinstance(payload, Mapping) else {}
        return EvalResult(status=FAILED, source=str(record),
                          error=f"training failed: {payload.get('error', '')}".rstrip(": "),
                          provenance={"log": payload.get("log", "")})
    return read_result(path)


def read_results(layout: Layout, metrics: Sequence[str | Path],
                 benchmarks: Sequence[str | Path] = (),
                 aliases: Mapping[str, str] | None = None) -> Results:
    """Read exactly the declared metrics and benchmark files (paths from the layout).

    A metrics file whose training failed reads as that failure (:func:`read_declared`).

    Raises:
        ValueError: a path that is not a metrics / benchmark file of ``layout``.
    """
    out = Results(aliases=dict(aliases or {}))
    for path in metrics:
        key = layout.metrics_key(path)
        out.evaluations.setdefault(key.evaluation, {})[key.seed] = read_declared(layout, path)
    for path in benchmarks:
        out.benchmarks[layout.metrics_key(path).experiment] = read_result(path)
    return out


def read_provenance(layout: Layout, metrics: Sequence[str | Path]) -> dict[str, dict]:
    """Experiment -> {"status", "error", "provenance", "evaluations": {test: {seed: ...}}}."""
    found: dict[str, dict] = {}
    for path in metrics:
        key = layout.metrics_key(path)
        result = read_declared(layout, path)
        entry = found.setdefault(key.experiment, {"provenance": {}, "evaluations": {}})
        for name, value in result.provenance.items():
            entry["provenance"].setdefault(name, value)
        entry["evaluations"].setdefault(key.test, {})[key.seed] = {
            "status": result.status, "error": result.error,
            "submission": result.provenance.get("submission", ""),
            "log": result.provenance.get("log", "")}
    return found


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
                        "metric": column.metric, "experiment": row.experiment or "",
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


def build_cells(manifest: Manifest, runs: pd.DataFrame,
                aliases: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Aggregate :func:`build_runs` over seeds: mean, spread, paper, delta, shape."""
    aliases = aliases or {}
    records = []
    by_cell = {key: group for key, group in runs.groupby(["table", "row", "column"], sort=False)}
    for (tid, row_index, column_key), group in by_cell.items():
        table = manifest.tables[tid]
        row = table.rows[row_index - 1]
        column = table.column(column_key)
        status = _cell_status(set(group["status"]))
        ok = group[group["status"] == OK]
        measured = float(ok["measured"].mean()) if status == OK else math.nan
        std = float(ok["measured"].std(ddof=1)) if status == OK and len(ok) > 1 else math.nan
        paper = row.paper[column_key]
        shape, shape_std, paper_shape = _shape(table, row_index, column_key, ok, by_cell)
        records.append({
            "table": tid, "row": row_index, "group": row.group, "column": column_key,
            "column_label": column.label, "metric": column.metric,
            "experiment": row.experiment or "",
            "run": aliases.get(row.experiment or "", row.experiment or ""),
            "test": group["evaluation"].iloc[0].partition("/")[2],
            "evaluation": group["evaluation"].iloc[0],
            "measured": measured, "std": std, "n": len(ok) if status == OK else 0,
            "paper": math.nan if paper is None else paper,
            "delta": round(measured - paper, 10) if paper is not None else math.nan,
            "shape": shape, "shape_std": shape_std, "paper_shape": paper_shape,
            "paper_na": paper is None, "status": status,
            "decimals": manifest.metrics[column.metric].decimals,
        })
    return pd.DataFrame.from_records(records)


def _shape(table: Table, row_index: int, column: str, ok: pd.DataFrame,
           by_cell: Mapping[tuple, pd.DataFrame]) -> tuple[float, float, float]:
    """(mean, std) over seeds of this row minus the baseline row, and the paper's difference."""
    baseline = getattr(table, "baseline", None)
    if baseline is None or baseline == row_index:
        return math.nan, math.nan, math.nan
    base_paper = table.rows[baseline - 1].paper.get(column)
    paper = table.rows[row_index - 1].paper.get(column)
    paper_shape = (round(paper - base_paper, 10) if paper is not None and base_paper is not None
                   else math.nan)
    base = by_cell.get((table.id, baseline, column))
    if base is None or base["status"].eq(PUBLISHED).all():
        return math.nan, math.nan, paper_shape
    base_ok = base[base["status"] == OK].set_index("seed")["measured"]
    diffs = (ok.set_index("seed")["measured"] - base_ok).dropna()
    if diffs.empty:
        return math.nan, math.nan, paper_shape
    std = float(diffs.std(ddof=1)) if len(diffs) > 1 else math.nan
    return float(diffs.mean()), std, paper_shape


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


_CELL_FIELDS = ("measured", "std", "n", "paper", "delta", "shape", "paper_shape", "status")


def build_table(manifest: Manifest, table_id: str, cells: pd.DataFrame) -> pd.DataFrame:
    """The paper's layout for one table: label columns, then the cell fields per column.

    Returns:
        One row per paper row, in the paper's order; columns ``<label columns>``,
        ``experiment``, ``run``, ``test``, ``status`` and ``<key>_<field>`` for every value
        column and each field of ``measured, std, n, paper, delta, shape, paper_shape,
        status``.
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
