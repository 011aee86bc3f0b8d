"""Facts for the report's first screen and its qualitative figures, read from declared files.

* :func:`compute_seconds`: the training and evaluation time the declared metrics files
  record (each experiment and seed's training once, every evaluation);
* :func:`qualitative_views`: Fig. 4 and Fig. 5 with the captions their JSON records carry,
  or why a figure is not there;
* :func:`custom_data_context`: with your own dataset, its name, classes and box counts
  (from the prepared-data summary) and the setting notice;
* :func:`baseline_views` and :func:`gate_outcome`: whether the models learned (each table's
  reference rows' AP and AP50) and what the learnability gate decided, in words.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from decoupled_rcnn.reproduction.manifest import Manifest
from decoupled_rcnn.reproduction.plan.layout import Layout

__all__ = ["GATE_TEXT", "QUALITATIVE_FIGURES", "baseline_views", "compute_seconds",
           "custom_data_context", "gate_outcome", "qualitative_views"]

#: Layout kind -> title of each qualitative figure, in report order.
QUALITATIVE_FIGURES = {
    "fig4": "Fig. 4: FPN vs Decoupled R-CNN boxes on the same images",
    "fig5": "Fig. 5: the final model's detections at score ≥ 0.6",
}


def _read(path: str | Path) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def compute_seconds(layout: Layout, metrics: Sequence[str | Path]) -> float:
    """Seconds of training (each experiment and seed once) and evaluation the files record.

    Args:
        layout: the results layout the metrics files belong to.
        metrics: declared metrics files; missing or failed ones add nothing. The benchmark
            is not included.
    """
    trained: dict[tuple[str, int | None], float] = {}
    tested = 0.0
    for path in metrics:
        prov = _read(path).get("provenance", {})
        key = layout.metrics_key(path)
        wall = prov.get("wall_time_s")
        if isinstance(wall, int | float):
            trained.setdefault((key.experiment, key.seed), float(wall))
        test = prov.get("test_wall_time_s")
        if isinstance(test, int | float):
            tested += float(test)
    return sum(trained.values()) + tested


def qualitative_views(layout: Layout, files: Sequence[str | Path],
                      missing: str = "") -> list[dict[str, Any]]:
    """Fig. 4 and Fig. 5 as the report shows them.

    Args:
        layout: the results layout (the figures' paths are its ``fig4`` / ``fig5`` kinds).
        files: the declared PNGs and JSON records (may be empty).
        missing: why the figures were not produced, shown in place of a figure.

    Returns:
        Per figure: ``id``, ``title``, and either ``src`` (the PNG) and ``caption`` and
        ``images`` (the chosen images and why) or ``missing`` (the reason).
    """
    given = {Path(f).as_posix() for f in files}
    views = []
    for kind, title in QUALITATIVE_FIGURES.items():
        png, info = layout.path(kind), layout.path(f"{kind}_info")
        view: dict[str, Any] = {"id": kind, "title": title}
        if png.as_posix() in given:
            record = _read(info) if info.as_posix() in given else {}
            view.update(src=png, caption=record.get("caption", ""),
                        images=record.get("images", []))
        else:
            view["missing"] = missing or "not produced by this workflow run"
        views.append(view)
    return views


def custom_data_context(custom: Mapping[str, Any], ready: str | Path | None) -> dict[str, str]:
    """Header facts of a report on your own dataset.

    Args:
        custom: ``data.custom`` of the workflow config.
        ready: the prepared-data summary (``data_ready``: classes and per-split counts).

    Returns:
        ``setting`` (the notice), ``dataset`` (name, format, class count) and ``classes``
        (each class with its train / val box counts).
    """
    summary = (_read(ready) if ready else {}).get("custom", {})
    name = summary.get("name") or custom.get("name") or "custom"
    classes = list(summary.get("classes", []))
    splits = summary.get("splits", {})
    counts = ", ".join(
        f"{c} " + " / ".join(str(splits.get(s, {}).get("per_class", {}).get(c, 0))
                             for s in ("train", "val")) for c in classes)
    images = " / ".join(str(splits.get(s, {}).get("images", "?")) for s in ("train", "val"))
    return {
        "setting": (f"your own dataset {name!r} ({len(classes)} classes), scored COCO-style "
                    "(pycocotools) on its val split, every table's test setting included: "
                    "levels are not comparable to the paper's VOC/COCO numbers, so tables "
                    "compare shapes (each row's difference to its table's baseline row, beside "
                    "the paper's difference)"),
        "dataset": f"{name} ({summary.get('format') or custom.get('format')}, "
                   f"{len(classes)} classes; images train / val: {images})",
        "classes": f"{counts} (boxes train / val)",
    }


#: The text the learnability gate's claims start with (results/claims.py), in ``verdict``
#: or in the reason column beside it.
GATE_TEXT = "not decided: the baseline did not learn"


def _accuracy(cells: pd.DataFrame, evaluation: str, metric: str) -> tuple[float, int]:
    """(mean over seeds, n) of ``metric`` for ``evaluation`` in any selected table's cells."""
    found = cells[(cells["evaluation"] == evaluation) & (cells["metric"] == metric)
                  & (cells["status"] == "ok")]
    if found.empty:
        return math.nan, 0
    first = found.iloc[0]
    return float(first["measured"]), int(first["n"])


def baseline_views(manifest: Manifest, tables: Sequence[str],
                   cells: pd.DataFrame) -> list[dict[str, Any]]:
    """Each selected table's reference rows with their AP and AP50 (mean over seeds).

    A table that does not show AP50 (e.g. Table II) takes it from another selected table
    with the same evaluation (same run and test setting); a value found nowhere is NaN.

    Returns:
        Per table with a baseline: ``table``, ``measured`` (any reference row has AP or
        AP50) and ``rows``: ``row``, ``label``, ``AP``, ``AP50``, ``n`` (seeds behind AP50,
        else AP).
    """
    views = []
    for tid in tables:
        table = manifest.tables[tid]
        rows = []
        for index in table.baseline_rows():
            row = table.row(index)
            evaluation = f"{row.experiment}/{row.test}"
            ap, n_ap = _accuracy(cells, evaluation, "AP")
            ap50, n_ap50 = _accuracy(cells, evaluation, "AP50")
            label = ", ".join(str(v) for v in row.labels.values() if v not in ("", None))
            rows.append({"row": index, "label": label, "AP": ap, "AP50": ap50,
                         "n": n_ap50 or n_ap})
        if rows:
            measured = any(not math.isnan(r["AP"]) or not math.isnan(r["AP50"]) for r in rows)
            views.append({"table": tid, "rows": rows, "measured": measured})
    return views


def gate_outcome(claims: pd.DataFrame | None) -> list[str]:
    """The learnability gate's outcome in words: one sentence per table it stopped.

    Read from the claims file: a claim whose ``verdict`` or reason (``why`` / ``reason``)
    starts with :data:`GATE_TEXT`. Empty when the gate stopped nothing (or no claims).
    """
    if claims is None or claims.empty:
        return []
    found: dict[str, str] = {}
    columns = [c for c in ("verdict", "why", "reason") if c in claims.columns]
    for record in claims.to_dict("records"):
        for column in columns:
            text = record.get(column)
            if isinstance(text, str) and text.startswith(GATE_TEXT):
                found.setdefault(str(record.get("table", "")), text)
                break
    return [f"Table {tid}: {text}; its claims get no verdict."
            for tid, text in sorted(found.items())]
