"""The paper-style HTML report (jinja2): claims, the selected tables, figures, provenance.

:func:`render_report` reads only what the tables step wrote (cells, per-seed runs, claims),
the provenance of the declared metrics files and the declared figures. The first screen
answers "did it work" (setting, experiments finished / failed / missing, the claims' verdicts,
compute time, links to every table), then come the paper's Fig. 4 and Fig. 5 reproduced, the
claims, the tables (each with its figures beside it) and one card per experiment with its
training curves and provenance. Each cell shows our value (the mean over seeds, with its
spread); the paper's value and either the difference to the paper (real data) or the
*shape*, this row's difference to the table's baseline row beside the paper's (stand-in
data, where levels are not comparable), are secondary: on hover, or in every cell with the
"show the paper's values" switch. Cells without a measurement say why (missing, failed, COCO
server, published value of another detector) and never show a number in place of ours.
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

from decoupled_rcnn.reproduction.figures.measured import figure_caption
from decoupled_rcnn.reproduction.manifest import Manifest, Table
from decoupled_rcnn.reproduction.results.tables import (
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


def _tone(delta: float, higher_is_better: bool) -> str:
    if not delta or math.isnan(delta):
        return ""
    return "better" if (delta > 0) == higher_is_better else "worse"


def _cell_view(cell: pd.Series, manifest: Manifest, shapes: bool) -> dict[str, Any]:
    metric = manifest.metrics[cell["metric"]]
    decimals = int(cell["decimals"])
    paper = "n/a" if cell["paper_na"] else _fmt(cell["paper"], decimals)
    view = {"status": cell["status"], "status_text": _STATUS_TEXT.get(cell["status"], ""),
            "measured": "", "spread": "", "paper": paper, "delta": "", "delta_class": "",
            "delta_kind": "", "evaluation": cell["evaluation"]}
    if cell["status"] != OK:
        return view
    view["measured"] = _fmt(cell["measured"], decimals)
    if int(cell["n"]) > 1:
        view["spread"] = f"± {_fmt(cell['std'], decimals)} (n={int(cell['n'])})"
    accuracy = metric.kind == "accuracy"
    if shapes and accuracy:
        if not math.isnan(cell["shape"]):
            view["delta"] = (f"{_fmt(cell['shape'], decimals, signed=True)} vs paper "
                             f"{_fmt(cell['paper_shape'], decimals, signed=True)}")
            view["delta_kind"] = "shape"
            agree = cell["shape"] * cell["paper_shape"] > 0 if cell["paper_shape"] else False
            view["delta_class"] = "better" if agree else "worse"
    elif not cell["paper_na"]:
        view["delta"] = _fmt(float(cell["delta"]), decimals, signed=True)
        view["delta_kind"] = "paper"
        if accuracy:
            view["delta_class"] = _tone(float(cell["delta"]), metric.higher_is_better)
    return view


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
            "baseline": baseline == row.index,
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


def _claim_views(claims: pd.DataFrame | None) -> list[dict[str, Any]]:
    if claims is None or claims.empty:
        return []
    views = []
    for record in claims.to_dict("records"):
        n = int(record.get("n") or 0)
        mean = record.get("mean")
        ours = _fmt(mean, 2, signed=True)
        if n > 1:
            ours += f" ± {_fmt(record.get('se'), 2)} (s.e., n={n})"
        views.append({**record, "ours": ours,
                      "paper_text": _fmt(record.get("paper_delta"), 2, signed=True)})
    return views


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
        provenance: :func:`~decoupled_rcnn.reproduction.results.tables.read_provenance` of the
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
    claim_views = _claim_views(claims)
    verdicts: dict[str, int] = {}
    for claim in claim_views:
        verdicts[claim["verdict"]] = verdicts.get(claim["verdict"], 0) + 1
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("decoupled_rcnn.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    html = env.get_template("index.html.j2").render(
        paper=manifest.paper, tables=views, counts=counts, context=context, shapes=shapes,
        experiments=experiments, exp_counts=exp_counts, seeds=list(seeds),
        claims=claim_views, verdicts=verdicts,
        qualitative=[{**q, "src": _href(str(q["src"]), report_dir) if q.get("src") else ""}
                     for q in qualitative],
        compute=(str(_dt.timedelta(seconds=round(compute_s))) if compute_s else ""),
        rule_time=[] if rule_time is None else rule_time.to_dict("records"),
        claim_rule=str(claims["rule"].iloc[0]) if claims is not None and len(claims) else "",
        tests=manifest.tests, submit_url=COCO_SUBMIT_URL,
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    from decoupled_rcnn.provenance import write_atomic

    # All of the page or none of it: a kill mid-write never leaves a half index.html.
    write_atomic(out, lambda f: f.write(html.encode("utf-8")))
    return out
