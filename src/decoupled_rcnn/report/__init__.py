"""The paper-style HTML report (jinja2): claims, the selected tables, figures, provenance.

:func:`render_report` reads only what the tables step wrote (cells, per-seed runs, claims),
the provenance of the declared metrics files and the declared figures. The first screen
answers "did it work": whether the models learned (each table's baseline AP and AP50, and
the learnability gate's outcome in words), then the setting, experiments finished / failed /
missing, the claims' verdicts, compute time and links to every table. Then come the paper's
Fig. 4 and Fig. 5 reproduced, the claims, the tables (each with its figures beside it) and
one card per experiment with its training curves and provenance.

Each cell shows our value (the mean over seeds) and its spread (sd and n); a benchmark
column (speed, FLOPs, parameters) is one measurement per experiment, shown once. Secondary,
on hover or with the "show the paper's values" switch: the paper's value and either the
difference to the paper with its 95 % t interval (real data) or this row's difference to its
baseline row, paired by seed, with its interval, beside the paper's difference (stand-in
data, where levels are not comparable); benchmarks show their ratio to the baseline row
beside the paper's ratio. A cell is coloured only where the interval excludes 0
(:attr:`~decoupled_rcnn.reproduction.results.stats.PairedT.decided`), neutral otherwise.
Cells without a measurement say why (missing, failed, COCO server, published value of
another detector) and never show a number in place of ours.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from decoupled_rcnn.report.claims import claims_context
from decoupled_rcnn.reproduction.figures.measured import figure_caption
from decoupled_rcnn.reproduction.manifest import Manifest, Table
from decoupled_rcnn.reproduction.results.read import (
    FAILED,
    MISSING,
    OK,
    PUBLISHED,
    SERVER,
    UNDEFINED,
)

__all__ = ["COCO_SUBMIT_URL", "render_report"]

COCO_SUBMIT_URL = "https://cocodataset.org/#upload"
_STATUS_TEXT = {MISSING: "missing", FAILED: "failed", SERVER: "COCO server",
                PUBLISHED: "published", UNDEFINED: "undefined"}


def _fmt(value: Any, decimals: int, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:+.{decimals}f}" if signed else f"{value:.{decimals}f}"


def _href(path: str | None, report_dir: Path) -> str:
    if not path:
        return ""
    target = Path(path)
    if not target.is_absolute():
        target = Path.cwd() / target
    return Path(os.path.relpath(target, report_dir)).as_posix()


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _interval(cell: pd.Series, prefix: str, decimals: int) -> str:
    low, high = cell[f"{prefix}_ci_low"], cell[f"{prefix}_ci_high"]
    if _nan(low) or _nan(high):
        return ""
    return f" [{_fmt(low, decimals, signed=True)}, {_fmt(high, decimals, signed=True)}]"


def _tone(cell: pd.Series, shapes: bool, higher_is_better: bool) -> str:
    """The cell's colour: only where the paired t interval over seeds excludes 0.

    Stand-in (``shapes``): ``agree`` / ``disagree`` with the sign of the paper's difference
    to the baseline row; ``decided`` (no red or green) where the paper's difference is 0.
    Real data: ``better`` / ``worse`` than the paper's value. Empty (neutral) otherwise.
    """
    prefix = "minus_baseline" if shapes else "ours_minus_paper"
    if not bool(cell[f"{prefix}_decided"]):
        return ""
    ours = float(cell[prefix])
    if not shapes:
        return "better" if (ours > 0) == higher_is_better else "worse"
    paper = cell["paper_minus_baseline"]
    if _nan(paper) or paper == 0:
        return "decided"
    return "agree" if (ours > 0) == (paper > 0) else "disagree"


def _benchmark_view(view: dict[str, Any], cell: pd.Series) -> dict[str, Any]:
    """One measurement per experiment: no spread; its ratio to the baseline row's, beside
    the paper's ratio (never a difference between our CPU time and the paper's GPU time)."""
    view["spread_title"] = "one measurement per experiment (no spread over seeds)"
    ratio, paper = cell["ratio_to_baseline"], cell["paper_ratio_to_baseline"]
    if not _nan(ratio):
        view["delta"] = f"×{ratio:.2f} vs paper " + ("–" if _nan(paper) else f"×{paper:.2f}")
        view["delta_kind"] = "ratio"
    return view


def _cell_view(cell: pd.Series, manifest: Manifest, shapes: bool) -> dict[str, Any]:
    metric = manifest.metrics[cell["metric"]]
    decimals = int(cell["decimals"])
    paper = "n/a" if cell["paper_na"] else _fmt(cell["paper"], decimals)
    view = {"status": cell["status"], "status_text": _STATUS_TEXT.get(cell["status"], ""),
            "measured": "", "spread": "", "spread_title": "", "paper": paper, "delta": "",
            "delta_class": "", "delta_kind": "", "evaluation": cell["evaluation"]}
    if cell["status"] != OK:
        return view
    view["measured"] = _fmt(cell["measured"], decimals)
    if bool(cell["per_experiment"]) or metric.kind != "accuracy":
        return _benchmark_view(view, cell)
    n = int(cell["n"])
    if n > 1:
        view["spread"] = f"sd {_fmt(cell['sd_over_seeds'], decimals)} (n={n})"
        view["spread_title"] = f"sample standard deviation over {n} seeds"
    prefix = "minus_baseline" if shapes else "ours_minus_paper"
    if _nan(cell[prefix]):
        return view
    view["delta"] = (_fmt(cell[prefix], decimals, signed=True)
                     + _interval(cell, prefix, decimals))
    if shapes:
        view["delta"] += f" vs paper {_fmt(cell['paper_minus_baseline'], decimals, signed=True)}"
    view["delta_kind"] = "shape" if shapes else "paper"
    view["delta_class"] = _tone(cell, shapes, metric.higher_is_better)
    return view


def _learned_context(manifest: Manifest, tables: Sequence[str], cells: pd.DataFrame,
                     claims: pd.DataFrame | None) -> dict[str, Any]:
    """The first screen's "did the models learn?": baselines, the gate's words, whether the
    claims file carries the gate's reasons at all (``why`` / ``reason``)."""
    from decoupled_rcnn.report.summary import baseline_views, gate_outcome

    return {"baselines": baseline_views(manifest, tables, cells),
            "gate": gate_outcome(claims),
            "gate_checked": claims is not None and bool({"why", "reason"} & set(claims.columns))}


def _table_view(manifest: Manifest, table: Table, cells: pd.DataFrame,
                aliases: Mapping[str, str], shapes: bool) -> dict[str, Any]:
    sub = cells[cells["table"] == table.id]
    rows, previous, group = [], None, None
    baseline = getattr(table, "baseline", None)
    for row in table.rows:
        mine = sub[sub["row"] == row.index].set_index("column")
        labels = [row.labels.get(c, "") for c in table.label_columns]
        # Like the paper, leading label cells that repeat the row above are left blank.
        shown, same = [], previous is not None
        for i, value in enumerate(labels):
            same = same and previous[i] == value
            shown.append("" if same and i < len(labels) - 1 else value)
        previous = labels
        rows.append({
            "index": row.index, "labels": shown, "experiment": row.experiment or "",
            "run": aliases.get(row.experiment or "", ""),
            "test": row.test if row.experiment else "", "note": row.note,
            "baseline": table.baseline_of(row.index) == row.index,
            "group": row.group if row.group != group else None,
            "cells": [_cell_view(mine.loc[c.key], manifest, shapes) for c in table.columns],
        })
        group = row.group
    statuses = sub[sub["status"] != PUBLISHED]["status"]
    return {"id": table.id, "title": table.title, "note": table.note,
            "measured": int((statuses == OK).sum()), "cells": int(len(statuses)),
            "failed": int((statuses == FAILED).sum()),
            "label_columns": list(table.label_columns), "baseline": baseline,
            "columns": [{"key": c.key, "label": c.label} for c in table.columns], "rows": rows}


def _experiment_views(manifest: Manifest, tables: Sequence[str],
                      provenance: Mapping[str, Mapping[str, Any]],
                      aliases: Mapping[str, str], report_dir: Path,
                      curves: Mapping[str, str | Path]) -> list[dict[str, Any]]:
    using = {e: [t for t in ts if t in tables] for e, ts in manifest.tables_using().items()}
    shared: dict[str, list[str]] = {}
    for alias, run in aliases.items():
        shared.setdefault(run, []).append(alias)
    views = []
    for exp in manifest.experiments_for(list(tables)):
        if exp.id in aliases:
            continue
        entry = provenance.get(exp.id, {})
        prov = entry.get("provenance", {})
        ev_views = []
        for ev in manifest.evaluations_for(list(tables)):
            if aliases.get(ev.experiment, ev.experiment) != exp.id:
                continue
            per_seed = entry.get("evaluations", {}).get(ev.test, {})
            statuses = {s["status"] for s in per_seed.values()} or {MISSING}
            status = FAILED if FAILED in statuses else OK if statuses == {OK} else MISSING
            errors = "; ".join(s["error"] for s in per_seed.values() if s["error"])
            submission = next((s["submission"] for s in per_seed.values() if s["submission"]),
                              "")
            if any(ev.test == v["test"] for v in ev_views):
                continue
            ev_views.append({"test": ev.test, "status": status, "seeds": len(per_seed),
                             "status_text": _STATUS_TEXT.get(status, status), "error": errors,
                             "server_only": manifest.tests[ev.test].server_only,
                             "submission": _href(submission, report_dir)})
        wall = prov.get("wall_time_s")
        views.append({
            "id": exp.id, "tables": sorted({t for e in [exp.id, *shared.get(exp.id, [])]
                                            for t in using.get(e, [])}, key=list(tables).index),
            "shared": shared.get(exp.id, []), "model": exp.model, "backbone": exp.backbone,
            "config": prov.get("config") or exp.config,
            "train_config": _href(prov.get("train_config"), report_dir),
            "overrides": " ".join(f"{k}={v}" for k, v in exp.overrides.items()),
            "dataset": prov.get("dataset") or f"{exp.dataset} (planned)",
            "schedule": prov.get("schedule") or f"{exp.schedule} (planned)",
            "commit": prov.get("commit", ""), "hardware": prov.get("hardware", ""),
            "wall_time": str(_dt.timedelta(seconds=round(float(wall)))) if wall else "",
            "log": _href(prov.get("log"), report_dir), "evaluations": ev_views,
            "status": _overall(ev_views),
            "curve": _href(str(curves[exp.id]), report_dir) if exp.id in curves else "",
        })
    return views


def _overall(ev_views: list[dict[str, Any]]) -> str:
    statuses = {e["status"] for e in ev_views}
    if FAILED in statuses:
        return FAILED
    if statuses == {OK}:
        return OK
    return "partial" if OK in statuses else MISSING


def render_report(manifest: Manifest, cells: pd.DataFrame, out: str | Path, *,
                  tables: Sequence[str] | None = None, runs: pd.DataFrame | None = None,
                  claims: pd.DataFrame | None = None,
                  provenance: Mapping[str, Mapping[str, Any]] | None = None,
                  figures: Mapping[str, str | Path] | None = None,
                  aliases: Mapping[str, str] | None = None, seeds: Sequence[int] = (0,),
                  context: Mapping[str, Any] | None = None,
                  curves: Mapping[str, str | Path] | None = None,
                  qualitative: Sequence[Mapping[str, Any]] = (),
                  compute_s: float | None = None,
                  learnability_floor: float | None = None,
                  rule_time: pd.DataFrame | None = None) -> Path:
    """Render ``index.html`` for the selected tables.

    Args:
        manifest: the loaded manifest.
        cells: the tables step's cells
            (:func:`~decoupled_rcnn.reproduction.results.tables.build_cells`).
        out: the HTML file to write (its folder is created).
        tables: the tables to show, in order (default: every table in ``cells``).
        runs: the per-seed values (:func:`~decoupled_rcnn.reproduction.results.tables.build_runs`).
        claims: the claims' verdicts
            (:func:`~decoupled_rcnn.reproduction.results.claims.evaluate_claims`).
        provenance: :func:`~decoupled_rcnn.reproduction.results.read.read_provenance` of the
            declared metrics files.
        figures: figure name (``table_<ID>_*``) -> image path, linked relative to the report.
        aliases: experiment -> the experiment whose run it shares.
        seeds: the training seeds.
        context: header facts; ``setting`` is shown as a notice, ``synthetic`` switches the
            cells from "difference to the paper" to "shape" (and names the data stand-in).
        curves: training experiment -> its training-curve PNG.
        qualitative: Fig. 4 and Fig. 5
            (:func:`decoupled_rcnn.report.summary.qualitative_views`).
        compute_s: training and evaluation seconds the metrics files record.
        learnability_floor: the baseline AP50 (percent) a table needs for its claims to be
            decided, printed with the procedure (None: not stated).
        rule_time: jobs, wall and CPU seconds per rule
            (:func:`decoupled_rcnn.reproduction.results.rule_time.rule_times`).

    Returns:
        The path written.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report_dir = out.parent.resolve()
    context = dict(context or {})
    shapes = bool(context.pop("synthetic", False))
    tables = list(tables or dict.fromkeys(cells["table"]))
    aliases = dict(aliases or {})
    cells = cells[cells["table"].isin(tables)]
    figures = {k: _href(str(v), report_dir) for k, v in (figures or {}).items()}
    views = []
    for tid in tables:
        view = _table_view(manifest, manifest.tables[tid], cells, aliases, shapes)
        view["figures"] = [(name, src, figure_caption(manifest, name))
                           for name, src in figures.items() if name.startswith(f"table_{tid}_")]
        views.append(view)
    counts = cells[cells["status"] != PUBLISHED]["status"].value_counts().to_dict()
    experiments = _experiment_views(manifest, tables, provenance or {}, aliases, report_dir,
                                    curves or {})
    exp_counts: dict[str, int] = {}
    for view in experiments:
        exp_counts[view["status"]] = exp_counts.get(view["status"], 0) + 1
    claim_context = claims_context(manifest, claims, learnability_floor)
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("decoupled_rcnn.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    html = env.get_template("index.html.j2").render(
        paper=manifest.paper, tables=views, counts=counts, context=context, shapes=shapes,
        experiments=experiments, exp_counts=exp_counts, seeds=list(seeds),
        **claim_context,
        qualitative=[{**q, "src": _href(str(q["src"]), report_dir) if q.get("src") else ""}
                     for q in qualitative],
        compute=(str(_dt.timedelta(seconds=round(compute_s))) if compute_s else ""),
        rule_time=[] if rule_time is None else rule_time.to_dict("records"),
        tests=manifest.tests, submit_url=COCO_SUBMIT_URL,
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        **_learned_context(manifest, tables, cells, claims),
    )
    from decoupled_rcnn.provenance import write_atomic

    # All of the page or none of it: a kill mid-write never leaves a half index.html.
    write_atomic(out, lambda f: f.write(html.encode("utf-8")))
    return out
