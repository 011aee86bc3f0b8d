"""The paper-style HTML report (jinja2): every table, the figures and each run's provenance.

:func:`render_report` lays every table out as in the paper; each cell shows our value, the
paper's and the difference. Cells without a measurement say why (missing, failed, COCO
server, published value of another detector) and never show a number in place of ours.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from decoupled_rcnn.manifest import Manifest, Metric, Table
from decoupled_rcnn.tables import (
    FAILED,
    MISSING,
    OK,
    PUBLISHED,
    SERVER,
    UNDEFINED,
    build_cells,
)
from decoupled_rcnn.tables import normalize_results as _normalize

COCO_SUBMIT_URL = "https://cocodataset.org/#upload"
_STATUS_TEXT = {MISSING: "missing", FAILED: "failed", SERVER: "COCO server",
                PUBLISHED: "published", UNDEFINED: "undefined"}
_PROVENANCE_KEYS = ("config", "dataset", "schedule", "commit", "hardware", "wall_time_s", "log")


def _fmt(value: float, decimals: int, signed: bool = False) -> str:
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


def _cell_view(cell: pd.Series, metric: Metric) -> dict[str, Any]:
    decimals = int(cell["decimals"])
    paper = "n/a" if cell["paper_na"] else _fmt(cell["paper"], decimals)
    view = {"status": cell["status"], "status_text": _STATUS_TEXT.get(cell["status"], ""),
            "measured": "", "paper": paper, "delta": "", "delta_class": "",
            "evaluation": cell["evaluation"]}
    if cell["status"] == OK:
        view["measured"] = _fmt(cell["measured"], decimals)
        if not cell["paper_na"]:
            delta = float(cell["delta"])
            view["delta"] = _fmt(delta, decimals, signed=True)
            if metric.kind == "accuracy" and delta:
                better = delta > 0 if metric.higher_is_better else delta < 0
                view["delta_class"] = "better" if better else "worse"
    return view


def _table_view(manifest: Manifest, table: Table, cells: pd.DataFrame) -> dict[str, Any]:
    sub = cells[cells["table"] == table.id]
    rows, previous, group = [], None, None
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
            "test": row.test if row.experiment else "", "note": row.note,
            "group": row.group if row.group != group else None,
            "cells": [_cell_view(mine.loc[c.key], manifest.metrics[c.metric])
                      for c in table.columns],
        })
        group = row.group
    return {"id": table.id, "title": table.title, "note": table.note,
            "label_columns": list(table.label_columns),
            "columns": [{"key": c.key, "label": c.label} for c in table.columns], "rows": rows}


def _experiment_views(manifest: Manifest, results: Mapping[str, Any],
                      report_dir: Path) -> list[dict[str, Any]]:
    using = manifest.tables_using()
    views = []
    for exp in manifest.unique_experiments():
        evals = [ev for ev in manifest.evaluations() if ev.experiment == exp.id]
        prov: dict[str, Any] = {}
        ev_views = []
        for ev in evals:
            res = results.get(ev.key)
            test = manifest.tests[ev.test]
            if res is None:
                status = MISSING
            else:
                status = res.status
                for key, value in res.provenance.items():
                    prov.setdefault(key, value)
            submission = res.provenance.get("submission", "") if res else ""
            ev_views.append({"test": ev.test, "status": status,
                             "status_text": _STATUS_TEXT.get(status, status),
                             "error": res.error if res else "", "server_only": test.server_only,
                             "submission": _href(submission, report_dir) if submission else "",
                             "log": _href(res.provenance.get("log"), report_dir) if res else ""})
        wall = prov.get("wall_time_s")
        views.append({
            "id": exp.id, "tables": using.get(exp.id, []), "model": exp.model,
            "backbone": exp.backbone,
            "config": prov.get("config") or exp.config,
            "overrides": " ".join(f"{k}={v}" for k, v in exp.overrides.items()),
            "dataset": prov.get("dataset") or f"{exp.dataset} (planned)",
            "schedule": prov.get("schedule") or f"{exp.schedule} (planned)",
            "commit": prov.get("commit", ""), "hardware": prov.get("hardware", ""),
            "wall_time": str(_dt.timedelta(seconds=round(float(wall)))) if wall else "",
            "log": _href(prov.get("log"), report_dir), "evaluations": ev_views,
            "status": _overall(ev_views),
        })
    return views


def _overall(ev_views: list[dict[str, Any]]) -> str:
    statuses = {e["status"] for e in ev_views}
    if FAILED in statuses:
        return FAILED
    if statuses == {OK}:
        return OK
    return "partial" if OK in statuses else MISSING


def render_report(manifest: Manifest, results: Mapping[str, Any], out: str | Path,
                  figures: Mapping[str, str | Path] | None = None,
                  context: Mapping[str, Any] | None = None) -> Path:
    """Render ``index.html`` for every table of ``manifest``.

    Args:
        manifest: the loaded manifest.
        results: ``"<experiment>/<test>"`` -> metrics payload or path (see
            :mod:`decoupled_rcnn.tables`); absent evaluations show as missing.
        out: the HTML file to write (its folder is created).
        figures: figure name (``table_<ID>_ap_vs_iou`` / ``table_<ID>_sweep``) -> image path;
            images are linked relative to the report.
        context: extra facts for the header, e.g. ``{"workflow_config": ...,
            "setting": "generated stand-in data, tiny model: not comparable to the paper"}``.

    Returns:
        The path written.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report_dir = out.parent.resolve()
    results = _normalize(results)
    cells = build_cells(manifest, results)
    figures = {k: _href(str(v), report_dir) for k, v in (figures or {}).items()}
    tables = []
    for table in manifest.tables.values():
        view = _table_view(manifest, table, cells)
        view["figures"] = [(name, src) for name, src in figures.items()
                           if name.startswith(f"table_{table.id}_")]
        tables.append(view)
    counts = cells[cells["status"] != PUBLISHED]["status"].value_counts().to_dict()
    experiments = _experiment_views(manifest, results, report_dir)
    exp_counts: dict[str, int] = {}
    for view in experiments:
        exp_counts[view["status"]] = exp_counts.get(view["status"], 0) + 1
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("decoupled_rcnn.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    html = env.get_template("index.html.j2").render(
        paper=manifest.paper, tables=tables, counts=counts, context=dict(context or {}),
        experiments=experiments, exp_counts=exp_counts,
        tests=manifest.tests, submit_url=COCO_SUBMIT_URL,
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        provenance_keys=_PROVENANCE_KEYS,
    )
    out.write_text(html, encoding="utf-8")
    return out
