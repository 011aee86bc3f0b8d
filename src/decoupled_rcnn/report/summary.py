"""Facts for the report's first screen and its qualitative figures, read from declared files.

* :func:`compute_seconds`: the training and evaluation time the declared metrics files
  record (each experiment and seed's training once, every evaluation);
* :func:`qualitative_views`: Fig. 4 and Fig. 5 with the captions their JSON records carry,
  or why a figure is not there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from decoupled_rcnn.reproduction.layout import Layout

__all__ = ["QUALITATIVE_FIGURES", "compute_seconds", "qualitative_views"]

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
