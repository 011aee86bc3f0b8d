"""What the workflow's figure rules do: figures, curves, Fig. 4 and Fig. 5, one function each.

Like :mod:`decoupled_rcnn.reproduction.pipeline` (the other rules), each takes the workflow
config and the rule's declared files, and reads back what a path holds through
:class:`~decoupled_rcnn.reproduction.plan.layout.Layout`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from decoupled_rcnn.paths import REPO_ROOT
from decoupled_rcnn.reproduction.manifest import Manifest, load_manifest
from decoupled_rcnn.reproduction.plan.compose import experiment_config
from decoupled_rcnn.reproduction.plan.layout import Layout

__all__ = ["FIG4_NAMES", "make_curve_file", "make_curve_files", "make_fig4_file", "make_fig5_file",
           "make_figure_files"]


def make_figure_files(wcfg: Mapping[str, Any], cells_csv: str | Path,
                      figures: Sequence[str | Path]) -> None:
    """AP-vs-IoU and sweep figures (measured beside the paper) from the tables' cells."""
    import pandas as pd

    from decoupled_rcnn.reproduction.figures.measured import make_figures

    names = {Path(f).stem: Path(f) for f in figures}
    manifest = load_manifest(REPO_ROOT / wcfg["manifest"])
    make_figures(manifest, pd.read_csv(cells_csv), names, wcfg["tables"])


def make_curve_file(wcfg: Mapping[str, Any], train_infos: Sequence[str | Path],
                    out: str | Path) -> None:
    """One experiment's training curves (every seed) from mmengine's scalar logs."""
    from decoupled_rcnn.reproduction.figures.curves import make_curves

    layout = Layout.from_config(wcfg)
    experiment = layout.parse("curves", out)["experiment"]
    seeds = {int(layout.parse("train_info", p)["seed"]): p for p in train_infos}
    make_curves(experiment, seeds, out)


def make_curve_files(wcfg: Mapping[str, Any], train_infos: Sequence[str | Path],
                     outs: Sequence[str | Path]) -> None:
    """Every experiment's training curves in one process (the curves rule: one job).

    Args:
        wcfg: the workflow config.
        train_infos: the declared train info files of every experiment and seed.
        outs: the declared curve PNGs, one per experiment; each gets its own seeds' infos.
    """
    layout = Layout.from_config(wcfg)
    by_experiment: dict[str, list[str | Path]] = {}
    for info in train_infos:
        by_experiment.setdefault(layout.parse("train_info", info)["experiment"], []).append(info)
    for out in outs:
        make_curve_file(wcfg, by_experiment.get(layout.parse("curves", out)["experiment"], []),
                        out)


def _detections_of(layout: Layout, metrics: str | Path) -> Path:
    """The detections file an evaluation wrote (recorded in its metrics file)."""
    recorded = json.loads(Path(metrics).read_text(encoding="utf-8")).get("detections")
    if recorded:
        return Path(recorded)
    key = layout.metrics_key(metrics)
    prefix = layout.path("detections", experiment=key.experiment, seed=key.seed, test=key.test)
    return Path(f"{prefix}.bbox.json")


def _split_of(wcfg: Mapping[str, Any], layout: Layout, metrics: str | Path,
              manifest: Manifest) -> tuple[Path, Path]:
    """The annotation file and image folder an evaluation was scored on."""
    from decoupled_rcnn.reproduction.figures.detections import split_files

    key = layout.metrics_key(metrics)
    return split_files(experiment_config(wcfg, key.experiment, test_id=key.test,
                                         manifest=manifest))


FIG4_NAMES = ("FPN", "Decoupled R-CNN, cascaded regression")


def make_fig4_file(wcfg: Mapping[str, Any], metrics: Sequence[str | Path], out: str | Path,
                   info: str | Path) -> None:
    """Fig. 4: the FPN baseline's and Decoupled R-CNN's boxes on the same validation images.

    Args:
        metrics: the baseline's and the Decoupled R-CNN's metrics files (one seed each).
    """
    from decoupled_rcnn.reproduction.figures.detections import make_fig4

    layout = Layout.from_config(wcfg)
    manifest = load_manifest(REPO_ROOT / wcfg["manifest"])
    ann, images = _split_of(wcfg, layout, metrics[0], manifest)
    make_fig4(ann, images, [_detections_of(layout, m) for m in metrics], FIG4_NAMES, out, info,
              experiments=[layout.metrics_key(m).experiment for m in metrics],
              seed=int(wcfg["seed"]))


def make_fig5_file(wcfg: Mapping[str, Any], metrics: str | Path, out: str | Path,
                   info: str | Path) -> None:
    """Fig. 5: the final model's detections at score >= 0.6, worst cases by matched IoU."""
    from decoupled_rcnn.reproduction.figures.detections import make_fig5

    layout = Layout.from_config(wcfg)
    ann, images = _split_of(wcfg, layout, metrics, load_manifest(REPO_ROOT / wcfg["manifest"]))
    make_fig5(ann, images, _detections_of(layout, metrics), layout.metrics_key(metrics).experiment,
              out, info, seed=int(wcfg["seed"]))
