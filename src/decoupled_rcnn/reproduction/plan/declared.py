"""The files the tables, figures and report rules read and write: one list for everyone.

The Snakefile declares them (``existing=False``) and ``decoupled-rcnn tables`` / ``report``
read exactly them outside Snakemake, never anything else in the results folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from decoupled_rcnn.reproduction.plan.layout import Layout
from decoupled_rcnn.reproduction.plan.selection import Selection, benchmark_experiments, select


def declared_results(wcfg: Mapping[str, Any], existing: bool = True,
                     selection: Selection | None = None) -> dict[str, Any]:
    """The files the tables, figures and report rules of ``wcfg`` read and write.

    The one list: the rules declare these (``existing=False``) and ``decoupled-rcnn tables`` /
    ``report`` read them outside Snakemake, never anything else in the results folder.

    Args:
        wcfg: the workflow config.
        existing: keep only the inputs present now (metrics: also those whose training
            failed: they read as failed, never as a number).
        selection: the selection of ``wcfg`` when the caller has it (the Snakefile).

    Returns:
        Lists of paths under ``metrics``, ``benchmarks``, ``curves``, ``qualitative`` (Fig. 4
        and Fig. 5 with their records, empty without their pair), ``tables`` and
        ``figures``; single paths under ``cells``, ``runs`` and ``claims``.
    """
    from decoupled_rcnn.reproduction.figures.measured import figure_names
    from decoupled_rcnn.reproduction.figures.qualitative import fig4_pair

    layout = Layout.from_config(wcfg)
    selection = selection or select(wcfg)
    metrics = [Path(p) for p in selection.metrics_files(layout)]
    benches = [layout.path("benchmark", experiment=e) for e in benchmark_experiments(
        selection.manifest, wcfg["tables"], selection.experiments)]
    curves = [layout.path("curves", experiment=e) for e in selection.experiments]
    qualitative = ([layout.path(k) for k in ("fig4", "fig4_info", "fig5", "fig5_info")]
                   if fig4_pair(selection.evaluations, selection.run_of) else [])
    if existing:
        metrics = [p for p in metrics if p.is_file() or layout.train_failure_of(p).is_file()]
        benches = [p for p in benches if p.is_file()]
        curves = [p for p in curves if p.is_file()]
        qualitative = [p for p in qualitative if p.is_file()]
    return {"metrics": metrics, "benchmarks": benches, "curves": curves,
            "qualitative": qualitative,
            "tables": [layout.path("table", table=t) for t in wcfg["tables"]],
            "cells": layout.path("cells"), "runs": layout.path("runs"),
            "claims": layout.path("claims"),
            "figures": [layout.path("figure", name=n)
                        for n in figure_names(selection.manifest, wcfg["tables"])]}
