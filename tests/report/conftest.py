"""The whole report rendered from fixed files: tables, figures, curves, Fig. 4 and Fig. 5.

Metrics come from ``tests/data/results``; the training logs (mmengine ``scalars.json``) and
the two detectors' detections on the session's tiny COCO split are written here, from fixed
numbers, so every kind of figure the report links exists on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from results_testlib import fixture_files, fixture_layout, fixture_results

#: Experiments of the fixture that get training logs (one decoupled with two seeds).
CURVE_EXPERIMENTS = {"voc_r101_dec_reg085": (0, 1), "voc_r50_dec": (0,),
                     "coco1x_r101_cascade_rcnn": (0,), "coco2x_r101_dec_c3": (0,)}


def write_scalars(work_dir: Path, stages: int, seed: int, iters: int = 40) -> None:
    """An mmengine ``scalars.json`` with RPN and per-stage losses and sample counts."""
    run = work_dir / "20260101_000000" / "vis_data"
    run.mkdir(parents=True, exist_ok=True)
    lines = []
    for it in range(10, iters + 1, 10):
        decay = 1.0 / (1 + it / 10) + 0.01 * seed
        record = {"lr": 0.02, "loss_rpn_cls": 0.7 * decay, "loss_rpn_bbox": 0.3 * decay}
        for s in range(stages):
            record |= {f"s{s}.loss_cls": decay * (1 + s), f"s{s}.loss_bbox": decay / 2,
                       f"s{s}.acc": 90.0, f"s{s}.num_pos_cls": 20.0 + it + s,
                       f"s{s}.num_pos_reg": 10.0 + it / 2, f"s{s}.num_reg": 128.0}
        record["loss"] = sum(v for k, v in record.items() if "loss" in k)
        lines.append(json.dumps({**record, "iter": it, "step": it}))
    (run / "scalars.json").write_text("\n".join(lines) + "\n")


def write_detections(tiny_coco, out: Path, jitter: float, fp_score: float) -> Path:
    """Every object's box moved by ``jitter`` px (score 0.9), plus one false positive."""
    dets = []
    for ann in tiny_coco.annotations["annotations"]:
        x, y, w, h = ann["bbox"]
        dets.append({"image_id": ann["image_id"], "category_id": ann["category_id"],
                     "bbox": [x + jitter, y + jitter * (ann["id"] % 3), w - jitter, h],
                     "score": 0.9})
    for img in tiny_coco.annotations["images"]:
        dets.append({"image_id": img["id"], "category_id": 1, "bbox": [2, 2, 20, 20],
                     "score": fp_score})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dets))
    return out


@pytest.fixture(scope="module")
def full_report(tmp_path_factory, tiny_coco):
    """(manifest, report path, layout) of a report with every figure kind."""
    from decoupled_rcnn.report import render_report
    from decoupled_rcnn.report.summary import compute_seconds, qualitative_views
    from decoupled_rcnn.reproduction.figures.curves import make_curves
    from decoupled_rcnn.reproduction.figures.detections import make_fig4, make_fig5
    from decoupled_rcnn.reproduction.figures.measured import make_figures
    from decoupled_rcnn.reproduction.manifest import load_manifest
    from decoupled_rcnn.reproduction.plan.layout import Layout
    from decoupled_rcnn.reproduction.results.claims import evaluate_claims
    from decoupled_rcnn.reproduction.results.read import read_provenance
    from decoupled_rcnn.reproduction.results.tables import build_cells, build_runs

    root = tmp_path_factory.mktemp("full_report")
    layout = Layout(root / "results", root / "reports" / "index.html")
    manifest = load_manifest()
    runs = build_runs(manifest, fixture_results(), [0, 1])
    cells = build_cells(manifest, runs)
    figures = make_figures(manifest, cells, layout.report.parent / "figures")
    curves = {}
    for exp, seeds in CURVE_EXPERIMENTS.items():
        infos = {}
        for seed in seeds:
            work = layout.path("train_work", experiment=exp, seed=seed)
            write_scalars(work, stages=1 if "cascade" not in exp else 3, seed=seed)
            infos[seed] = layout.path("train_info", experiment=exp, seed=seed)
            infos[seed].write_text(json.dumps({"work_dir": str(work)}))
        curves[exp] = make_curves(exp, infos, layout.path("curves", experiment=exp))
    ann = tiny_coco.root / tiny_coco.ann_file
    dets = [write_detections(tiny_coco, root / f"dets_{name}.json", jitter, fp)
            for name, jitter, fp in (("fpn", 5.0, 0.3), ("dec", 1.0, 0.7))]
    images = tiny_coco.root / tiny_coco.img_prefix
    make_fig4(ann, images, dets, ["FPN", "Decoupled R-CNN"], layout.path("fig4"),
              layout.path("fig4_info"), experiments=["voc_r101_faster", "voc_r101_dec_c3"])
    make_fig5(ann, images, dets[1], "voc_r101_dec_c3", layout.path("fig5"),
              layout.path("fig5_info"))
    qualitative = [layout.path(k) for k in ("fig4", "fig4_info", "fig5", "fig5_info")]
    metrics, _ = fixture_files()
    out = render_report(manifest, cells, layout.report, runs=runs,
                        claims=evaluate_claims(manifest, runs),
                        provenance=read_provenance(fixture_layout(), metrics), figures=figures,
                        seeds=[0, 1], curves=curves,
                        qualitative=qualitative_views(layout, qualitative),
                        compute_s=compute_seconds(fixture_layout(), metrics),
                        context={"setting": "generated stand-in data: not comparable",
                                 "synthetic": True})
    return manifest, out, layout
