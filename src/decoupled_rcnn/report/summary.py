"""Facts for the report's first screen and its qualitative figures, read from declared files.

* :func:`compute_seconds`: the training and evaluation time the declared metrics files
  record (each experiment and seed's training once, every evaluation);
* :func:`qualitative_views`: Fig. 4 and Fig. 5 with the captions their JSON records carry,
  or why a figure is not there;
* :func:`custom_data_context`: with your own dataset, its name, classes and box counts
  (from the prepared-data summary) and the setting notice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from decoupled_rcnn.reproduction.plan.layout import Layout

__all__ = ["QUALITATIVE_FIGURES", "compute_seconds", "custom_data_context",
           "qualitative_views"]

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
