"""The workflow on your own dataset: Table V's two experiments on a generated VOC-XML dataset
with non-VOC classes and on a COCO-json dataset with non-COCO categories, each to a report."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mmengine.config import Config

pytestmark = [pytest.mark.slow, pytest.mark.workflow]

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from custom_testlib import (  # noqa: E402
    COCO_CLASSES,
    COCO_COUNTS,
    VOC_CLASSES,
    VOC_COUNTS,
    coco_custom,
    make_coco_dataset,
    make_voc_dataset,
    voc_custom,
)

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TABLE_V = ("voc_r101_dec_c3_reg070_l100", "voc_r101_dec_c3_reg085_l100")


def _run(workdir: Path, custom: dict, pretrained: bool) -> subprocess.CompletedProcess:
    config = workdir / "custom.yaml"
    config.write_text(yaml.safe_dump({
        "tables": ["V"], "results_dir": "results", "report": "reports/index.html",
        "data": {"source": "custom", "custom": custom},
        "model": {"tiny": True, "pretrained": pretrained, "pretrain": {"iters": 4}},
        "schedule": {"kind": "short",
                     "short": {"iters": 4, "lr": 0.01, "batch_size": 2, "warmup_iters": 1,
                               "checkpoint_interval": 2}},
    }))
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(config), "--cores", "2"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert result.returncode == 0, result.stderr[-4000:]
    return result


@pytest.fixture(scope="module")
def voc_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("custom_voc")
    data = make_voc_dataset(workdir / "widgets")
    return workdir, _run(workdir, voc_custom(data), pretrained=True)


@pytest.fixture(scope="module")
def coco_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("custom_coco")
    data = make_coco_dataset(workdir / "cells")
    return workdir, _run(workdir, coco_custom(data), pretrained=False)


def _check_run(workdir: Path, name: str, fmt: str, classes: tuple[str, ...],
               counts: dict[str, dict[str, int]]) -> str:
    for exp in TABLE_V:
        metrics = json.loads((workdir / "results" / "experiments" / exp / "seed0" / "default"
                              / "metrics.json").read_text())
        assert metrics["status"] == "ok"
        assert metrics["provenance"]["dataset"] == f"custom: {name}"
        assert "voc07_11point" in metrics["metrics"]  # COCO-style first, 11-point beside
        assert all(v is None or 0.0 <= v <= 1.0 for k, v in metrics["metrics"].items()
                   if k != "voc07_11point")
        work = workdir / "results" / "experiments" / exp / "seed0" / "train" / "work"
        composed = Config.fromfile(work / "config.py", import_custom_modules=False)
        for split in ("train", "test"):
            dataset = composed[f"{split}_dataloader"].dataset
            assert tuple(dataset.metainfo.classes) == classes
        assert composed.model.roi_head.cls_head.num_classes == len(classes)
    html = (workdir / "reports" / "index.html").read_text()
    assert re.findall(r'<table class="paper-table" data-table="([IVX]+)"', html) == ["V"]
    assert f"{name} ({fmt}, {len(classes)} classes" in html
    expected = ", ".join(f"{c} {counts['train'][c]} / {counts['val'][c]}" for c in classes)
    assert f"{expected} (boxes train / val)" in html
    assert "vs base" in html and "your data" in html  # shapes, not deltas to the paper
    return html


def test_voc_format_dataset_with_its_own_classes_runs_to_a_report(voc_run):
    workdir, result = voc_run
    # prepare_data, pretrain, 2 x train, curves, 2 x evaluate, tables, figures, report, all
    assert "11 of 11 steps (100%) done" in result.stderr
    _check_run(workdir, "widgets", "voc", VOC_CLASSES, VOC_COUNTS)
    converted = json.loads((workdir / "results" / "data" / "custom" / "val.json").read_text())
    assert [c["name"] for c in converted["categories"]] == list(VOC_CLASSES)
    assert [i["file_name"] for i in converted["images"]] == ["img04.jpg", "img09.png"]
    pretrain = next((workdir / "results" / "pretrain").glob("*/backbone.json"))
    assert json.loads(pretrain.read_text())  # pre-trained on the custom training split


def test_coco_json_dataset_with_its_own_categories_runs_to_a_report(coco_run):
    workdir, result = coco_run
    assert "10 of 10 steps (100%) done" in result.stderr  # no pretrain
    _check_run(workdir, "cells", "coco", COCO_CLASSES, COCO_COUNTS)
    detections = json.loads(next((workdir / "results" / "experiments" / TABLE_V[0] / "seed0"
                                  / "default").glob("*.bbox.json")).read_text())
    assert {d["category_id"] for d in detections} <= {7, 3}  # the json's ids, not 1..N
